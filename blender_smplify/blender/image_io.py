"""Decode an image file with Blender's own loader (Pillow is not part of Blender).

``blender_smplify.core.image_io.load_image`` calls :func:`load_image_bpy` when Pillow is
missing and bpy is importable, so the same function works inside Blender. The result matches
the Pillow path: (H, W, 3) uint8 RGB, upright (EXIF orientation read by the core's small
parser, since Blender ignores it), alpha composited onto grey, the same size limits.
"""

from __future__ import annotations

import logging
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import ImageError
from ..core.image_io import BACKGROUND, apply_orientation, check_size, exif_orientation

log = logging.getLogger(__name__)


def load_image_bpy(path: str | Path) -> np.ndarray:
    """Read an image file through ``bpy.data.images.load``.

    Parameters
    ----------
    path : image file.

    Returns
    -------
    (H, W, 3) uint8 RGB, top row first.

    Raises
    ------
    ImageError
        Blender cannot read it, it is truncated (JPEG / PNG without their end marker),
        too large or too small.
    """
    path = Path(path)
    data = path.read_bytes()
    _check_complete(path, data)
    try:
        image = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as exc:
        raise ImageError(
            f"{path}: not an image, or a format Blender cannot read ({exc})"
        ) from None
    try:
        width, height = (int(v) for v in image.size)
        if width == 0 or height == 0:
            raise ImageError(f"{path}: not an image, or a format Blender cannot read")
        check_size(path, width, height)
        channels = int(image.channels)
        pixels = np.empty(width * height * channels, dtype=np.float32)
        image.pixels.foreach_get(pixels)
        is_float = bool(image.is_float)
    finally:
        bpy.data.images.remove(image)
    rgba = pixels.reshape(height, width, channels)[::-1]  # Blender stores the bottom row first
    if is_float:  # float buffers (16-bit PNG, EXR, ...) hold scene-linear values
        rgba = rgba.copy()
        rgba[..., :3] = _linear_to_srgb(rgba[..., :3]) if channels >= 3 else _linear_to_srgb(rgba)
    rgb = _to_rgb(np.clip(rgba, 0.0, 1.0), channels)
    return apply_orientation(rgb, exif_orientation(data))


def _to_rgb(values: np.ndarray, channels: int) -> np.ndarray:
    """(H, W, C) floats in [0, 1] -> (H, W, 3) uint8 composited onto grey."""
    if channels == 1:
        color, alpha = np.repeat(values, 3, axis=2), None
    elif channels == 2:
        color, alpha = np.repeat(values[..., :1], 3, axis=2), values[..., 1:2]
    else:
        color = values[..., :3]
        alpha = values[..., 3:4] if channels == 4 else None
    out = color * 255.0
    if alpha is not None:
        out = out * alpha + BACKGROUND * (1.0 - alpha)
    return np.ascontiguousarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _check_complete(path: Path, data: bytes) -> None:
    """Refuse JPEG / PNG files cut short (Blender would decode them silently as grey).

    Data after the image (the video of a phone's motion photo, padding) is allowed: the JPEG
    needs an end marker after its first scan, the PNG an IEND chunk, wherever the file ends.
    """
    if data[:2] == b"\xff\xd8" and not _jpeg_complete(data):
        raise ImageError(f"{path}: truncated or damaged image file (JPEG end marker missing)")
    if data[:8] == b"\x89PNG\r\n\x1a\n" and not _png_complete(data):
        raise ImageError(f"{path}: truncated or damaged image file (PNG end chunk missing)")


def _jpeg_complete(data: bytes) -> bool:
    """An end-of-image marker follows the first start-of-scan (segments before it skipped by
    their lengths, so an EXIF thumbnail's own end marker does not count)."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
        elif marker == 0xDA:  # start of scan: entropy-coded data holds no FF D9 but the end
            return data.find(b"\xff\xd9", pos) != -1
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return False


def _png_complete(data: bytes) -> bool:
    """The chunks, walked by their lengths, reach an IEND chunk inside the file."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        if kind == b"IEND":
            return True
        pos += 12 + length  # length, type, data, CRC
    return False
