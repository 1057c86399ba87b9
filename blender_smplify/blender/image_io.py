"""Pixels in and out of Blender images, and Blender's own loader as the core's image decoder.

Three things here read pixels back from Blender: a photo decoded by Blender (inside Blender,
where Pillow is absent), a Blender image used as the photo (pasted, generated or packed), and the
preview render's layers. All three go through :func:`image_pixels`, so they share one policy:

- rows top first, four channels (grey repeated, alpha 1 where the image has none);
- colour as displayed: float buffers (16-bit PNG, EXR, generated float images) hold
  scene-linear, premultiplied values in Blender, and are un-premultiplied and encoded to sRGB;
  byte buffers are stored that way already;
- straight alpha, composited onto the core's grey ``BACKGROUND`` when a photo is needed
  (:func:`photo_pixels`), as the core's Pillow path does.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import bpy
import numpy as np

from ..core import image_io as core_image_io
from ..core.errors import ImageError
from ..core.image_io import Decoder, check_size, composite

log = logging.getLogger(__name__)


def image_pixels(image: bpy.types.Image) -> np.ndarray:
    """A Blender image's pixels as displayed: (H, W, 4) float32 RGBA in [0, 1], top row first.

    Float buffers are un-premultiplied and encoded from linear to sRGB; alpha is straight.
    """
    width, height = (int(v) for v in image.size)
    channels = int(image.channels)
    buffer = np.empty(width * height * channels, dtype=np.float32)
    image.pixels.foreach_get(buffer)
    values = buffer.reshape(height, width, channels)[::-1]  # Blender stores the bottom row first
    if channels >= 3:
        colour = values[..., :3]
    else:
        colour = np.repeat(values[..., :1], 3, axis=2)
    if channels in (2, 4):
        alpha = values[..., -1:]
    else:
        alpha = np.ones((height, width, 1), np.float32)
    if image.is_float:
        covered = alpha > 0
        colour = linear_to_srgb(np.where(covered, colour / np.where(covered, alpha, 1), colour))
    rgba = np.concatenate([colour, alpha], axis=2)
    return np.ascontiguousarray(np.clip(rgba, 0.0, 1.0), dtype=np.float32)


def photo_pixels(image: bpy.types.Image, name: str | None = None) -> np.ndarray:
    """A Blender image as a photo: (H, W, 3) uint8 RGB, top row first, alpha on grey.

    Refuses (ImageError, naming ``name`` or the image) what a photo file would be refused for:
    an empty, too small or too large image.
    """
    name = name or f"image '{image.name}'"
    width, height = (int(v) for v in image.size)
    if width == 0 or height == 0:
        raise ImageError(f"{name}: not an image, or a format Blender cannot read")
    check_size(name, width, height)  # the limits a photo file has
    return on_grey(image_pixels(image))


def on_grey(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) float RGBA in [0, 1] composited onto the core's grey: (H, W, 3) uint8."""
    return composite(rgba[..., :3] * 255.0, rgba[..., 3] * 255.0)


def set_image_pixels(image: bpy.types.Image, rgba: np.ndarray) -> None:
    """Write (H, W, 4) RGBA in [0, 1], top row first, into a Blender image of that size."""
    image.pixels.foreach_set(np.ascontiguousarray(rgba[::-1], dtype=np.float32).ravel())


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1) on linear values, clipped to [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def decode_with_blender(path: Path) -> np.ndarray:
    """Decode an image file with ``bpy.data.images.load``: a core ``image_io.Decoder``.

    Returns (H, W, 3) uint8 RGB as stored (the core applies the EXIF orientation and has checked
    the file for truncation); the temporary Blender image is removed.
    """
    try:
        image = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as exc:
        raise ImageError(
            f"{path}: not an image, or a format Blender cannot read ({exc})"
        ) from None
    try:
        return photo_pixels(image, str(path))
    finally:
        bpy.data.images.remove(image)


def image_decoder() -> Decoder | None:
    """The decoder for ``core.image_io.load_image``: None (Pillow) when Pillow is installed,
    else Blender's loader."""
    return None if importlib.util.find_spec("PIL") is not None else decode_with_blender


def load_image(path: str | Path) -> np.ndarray:
    """A photo file as (H, W, 3) uint8 RGB, upright: ``core.image_io.load_image`` with
    :func:`image_decoder`."""
    return core_image_io.load_image(path, decode=image_decoder())


def load_image_bpy(path: str | Path) -> np.ndarray:
    """A photo file as (H, W, 3) uint8 RGB, upright, always decoded by Blender."""
    return core_image_io.load_image(path, decode=decode_with_blender)
