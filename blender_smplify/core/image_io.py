"""Load a photo as an (H, W, 3) uint8 RGB array, or fail with an ImageError that says why.

:func:`load_image` checks the file, then decodes it with Pillow (imported lazily), or with the
decoder its caller passes in: inside Blender, where Pillow is absent, the Blender layer passes
Blender's own loader (``blender_smplify.blender.image_io``). The core never imports it: bytes
go up, callables come down.

What is handled: EXIF orientation; grayscale, palette, RGBA / LA (composited on a neutral grey
background), 16-bit and 32-bit integer, float, CMYK and YCbCr images; multi-frame files (first
frame). What is refused with :class:`~.errors.ImageError`: missing or empty files, non-images,
truncated files, images over :data:`MAX_PIXELS` (decompression bombs) and degenerate sizes.
"""

from __future__ import annotations

import logging
import os
import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import ImageError
from .image_bytes import check_complete, exif_orientation

log = logging.getLogger(__name__)

MAX_PIXELS = 100_000_000
"""Largest accepted image, in pixels (width × height)."""

MIN_SIDE = 8
"""Smallest accepted width or height, in pixels."""

BACKGROUND = 128
"""Grey level that transparent pixels are composited onto."""

Decoder = Callable[[Path], np.ndarray]
"""``decode(path) -> (H, W, 3) uint8 RGB`` as stored in the file (rows top first, EXIF
orientation not applied), calling :func:`check_size` before it decodes the pixels; raises
:class:`ImageError` for a file it cannot read."""


def load_image(path: str | os.PathLike, *, decode: Decoder | None = None) -> np.ndarray:
    """Read an image file as RGB.

    Parameters
    ----------
    path : image file (JPEG, PNG, TIFF, BMP, WebP, GIF, ... whatever the decoder reads).
    decode : the decoder to use instead of Pillow (see :data:`Decoder`). Its file is checked
        for truncation first (JPEG, PNG), and its pixels are turned upright by the file's EXIF
        orientation afterwards.

    Returns
    -------
    image : (H, W, 3) uint8 RGB, upright (EXIF orientation applied), C-contiguous.

    Raises
    ------
    ImageError
        The file is missing, empty, not an image, truncated, larger than ``MAX_PIXELS``
        or smaller than ``MIN_SIDE``; the message names the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if not path.is_file():
        raise ImageError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    if decode is None:
        return _load_with_pillow(path)
    data = path.read_bytes()
    check_complete(path, data)
    return apply_orientation(decode(path), exif_orientation(data))


def check_size(path: Path, width: int, height: int) -> None:
    """Refuse degenerate and over-large images before their pixels are decoded."""
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{path}: image too large ({width} x {height} = {width * height / 1e6:.0f} "
            f"megapixels; the limit is {MAX_PIXELS / 1e6:.0f})"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"{path}: image too small ({width} x {height} pixels)")


def _load_with_pillow(path: Path) -> np.ndarray:
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError:
        raise ImageError(f"{path}: cannot decode images: Pillow is not installed") from None

    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 Mpx and refuses above 179 Mpx; our own limit is checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                check_size(path, *img.size)
                img.load()
                img = ImageOps.exif_transpose(img)
                return to_rgb(img)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: image too large (decompression bomb refused: {exc})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image, or a format that cannot be read") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason or isinstance(exc, EOFError):
            raise ImageError(f"{path}: truncated or damaged image file ({reason})") from None
        raise ImageError(f"{path}: cannot decode the image ({reason})") from None


def to_rgb(img) -> np.ndarray:
    """Convert a decoded Pillow image of any mode to (H, W, 3) uint8 RGB.

    Parameters
    ----------
    img : PIL.Image.Image, already loaded.

    Returns
    -------
    (H, W, 3) uint8; alpha is composited onto grey ``BACKGROUND``; high bit depths are scaled.
    """
    mode = img.mode
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
        mode = img.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return gray_to_rgb(high_depth_to_uint8(np.asarray(img), mode))
    if mode in ("1", "L"):
        return gray_to_rgb(np.asarray(img.convert("L")))
    if mode in ("LA", "La"):
        return gray_to_rgb(
            composite(
                np.asarray(img.convert("LA"))[..., :1], np.asarray(img.convert("LA"))[..., 1]
            )
        )
    if mode in ("RGBA", "RGBa"):
        rgba = np.asarray(img.convert("RGBA"))
        return composite(rgba[..., :3], rgba[..., 3])
    return np.ascontiguousarray(np.asarray(img.convert("RGB")), dtype=np.uint8)


def high_depth_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale a 16/32-bit integer or float single-channel array to uint8.

    Integer data are taken as 16-bit when they fit (the usual 16-bit PNG/TIFF), else scaled
    by their maximum; float data as [0, 1] when they fit, else clipped to [0, 255].
    """
    values = values.astype(np.float64)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    if mode == "F":
        scale = 255.0 if top <= 1.0 else 1.0
    else:
        scale = 255.0 / 65535.0 if top <= 65535 else 255.0 / max(top, 1.0)
    out = np.nan_to_num(values * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 1) uint8 -> (H, W, 3) uint8."""
    gray = gray.reshape(gray.shape[0], gray.shape[1])
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def composite(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite (H, W, C) uint8 colour with (H, W) uint8 alpha onto grey ``BACKGROUND``."""
    a = alpha.astype(np.float32)[..., None] / 255.0
    out = color.astype(np.float32) * a + BACKGROUND * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an (H, W, C) array stored with EXIF ``orientation`` upright (as exif_transpose)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(image)) if op else image
