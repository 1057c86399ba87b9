"""Load a photo as an (H, W, 3) uint8 RGB array, or fail with an ImageError that says why.

Decoding uses Pillow (imported lazily). Inside Blender, where Pillow is absent, the same
function decodes with Blender's own image loader (``blender_smplify.blender.image_io``),
imported only when Pillow is missing and ``bpy`` can be imported.

What is handled: EXIF orientation; grayscale, palette, RGBA / LA (composited on a neutral grey
background), 16-bit and 32-bit integer, float, CMYK and YCbCr images; multi-frame files (first
frame). What is refused with :class:`~.errors.ImageError`: missing or empty files, non-images,
truncated files, images over :data:`MAX_PIXELS` (decompression bombs) and degenerate sizes.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import struct
import warnings
from pathlib import Path

import numpy as np

from .errors import ImageError

log = logging.getLogger(__name__)

MAX_PIXELS = 100_000_000
"""Largest accepted image, in pixels (width × height)."""

MIN_SIDE = 8
"""Smallest accepted width or height, in pixels."""

BACKGROUND = 128
"""Grey level that transparent pixels are composited onto."""


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB.

    Parameters
    ----------
    path : image file (JPEG, PNG, TIFF, BMP, WebP, GIF, ... whatever the decoder reads).

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
    if importlib.util.find_spec("PIL") is not None:
        return _load_with_pillow(path)
    if importlib.util.find_spec("bpy") is not None:
        from ..blender.image_io import load_image_bpy

        return load_image_bpy(path)
    raise ImageError(f"{path}: cannot decode images: neither Pillow nor Blender is available")


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
    from PIL import Image, ImageOps, UnidentifiedImageError

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


# ----------------------------------------------------------------------------- EXIF without Pillow
#: EXIF tags read here: orientation, the Exif sub-IFD pointer, focal length in 35 mm film.
ORIENTATION, EXIF_IFD, FOCAL_35MM = 0x0112, 0x8769, 0xA405


def exif_tags(data: bytes) -> dict[int, int]:
    """Integer-valued EXIF tags (IFD0 and the Exif sub-IFD) of a JPEG's or TIFF's bytes.

    Only single SHORT or LONG values are read (orientation, focal length in 35 mm film); {} when
    the data has no readable EXIF. Needs no Pillow, so it also serves inside Blender.
    """
    tiff = data if data[:2] in (b"II", b"MM") else _jpeg_exif_block(data)
    if tiff is None:
        return {}
    try:
        endian = {b"II": "<", b"MM": ">"}[tiff[:2]]
        (ifd,) = struct.unpack(endian + "I", tiff[4:8])
        tags = _ifd_integers(tiff, ifd, endian)
    except (KeyError, struct.error):
        return {}
    try:
        if EXIF_IFD in tags:
            tags.update(_ifd_integers(tiff, tags[EXIF_IFD], endian))
    except struct.error:
        pass  # a broken Exif sub-IFD leaves IFD0's tags (the orientation) usable
    return tags


def _jpeg_exif_block(data: bytes) -> bytes | None:
    """The TIFF structure inside a JPEG's APP1 "Exif" segment, or None."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return data[pos + 10 : pos + 2 + length]
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no more metadata
            break
        pos += 2 + length
    return None


def _ifd_integers(tiff: bytes, ifd: int, endian: str) -> dict[int, int]:
    (count,) = struct.unpack(endian + "H", tiff[ifd : ifd + 2])
    tags = {}
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        tag, kind, n = struct.unpack(endian + "HHI", entry[:8])
        if n == 1 and kind == 3:  # SHORT
            tags[tag] = struct.unpack(endian + "H", entry[8:10])[0]
        elif n == 1 and kind == 4:  # LONG
            tags[tag] = struct.unpack(endian + "I", entry[8:12])[0]
    return tags


def exif_orientation(data: bytes) -> int:
    """EXIF orientation tag (1..8) of a JPEG's bytes; 1 when absent or unreadable.

    Used by the Blender decoding path (Blender's loader ignores EXIF orientation).
    """
    value = exif_tags(data).get(ORIENTATION, 1)
    return value if 1 <= value <= 8 else 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an (H, W, C) array stored with EXIF ``orientation`` upright (as Pillow's exif_transpose)."""
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
