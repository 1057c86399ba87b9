"""Pinhole camera of the fit: projection, its Jacobian, and the focal length of a photo.

The camera sits at the origin of the OpenCV frame (x right, y down, z forward) with the
principal point at the image centre and square pixels:

    u = f · X / Z + c_x,    v = f · Y / Z + c_y.

Focal length: from the photo's EXIF ``FocalLengthIn35mmFilm`` when present (the 35 mm
equivalent is defined on the diagonal: f_px = f_35 · diag_px / 43.27 mm), otherwise
:data:`DEFAULT_FOV_DEG` on the image diagonal. The default was chosen by measurement
(``benchmarks/studies/focal_guess.py``, docs/fit.md): with photos taken through 26, 35,
50 and 70 mm-equivalent lenses and fitted with a guessed field of view, the median PA-MPJPE and
MPJPE averaged over the lenses are lowest at 60°, and within 2 mm of it from 40° to 75°.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from .errors import CameraError
from .image_bytes import FOCAL_35MM, exif_tags

log = logging.getLogger(__name__)

#: Diagonal field of view assumed when the focal length is unknown, degrees.
DEFAULT_FOV_DEG = 60.0
#: Diagonal of a 35 mm film frame (36 x 24 mm), mm.
FILM_DIAGONAL_MM = math.hypot(36.0, 24.0)
#: Points closer to the camera plane than this (m) are clamped when projected.
MIN_DEPTH = 1e-3


def principal_point(image_size: tuple[int, int]) -> np.ndarray:
    """Image centre (2,) in pixels for image_size (width, height)."""
    return np.array([image_size[0] / 2.0, image_size[1] / 2.0])


def focal_from_fov(image_size: tuple[int, int], fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Focal length in pixels giving a diagonal field of view ``fov_deg`` for image_size (w, h)."""
    diag = math.hypot(float(image_size[0]), float(image_size[1]))
    return 0.5 * diag / math.tan(math.radians(fov_deg) / 2.0)


def focal_from_35mm(focal_35mm: float, image_size: tuple[int, int]) -> float:
    """Focal length in pixels from a 35 mm-equivalent focal length in mm."""
    return (
        float(focal_35mm)
        * math.hypot(float(image_size[0]), float(image_size[1]))
        / (FILM_DIAGONAL_MM)
    )


def focal_from_exif(path: str | Path, image_size: tuple[int, int]) -> float | None:
    """Focal length in pixels from EXIF FocalLengthIn35mmFilm, or None when the photo lacks it.

    ``image_size`` is the (width, height) of the image as the fit sees it (after EXIF rotation;
    the diagonal, and so the result, does not depend on the rotation). Reads JPEG and TIFF EXIF
    without Pillow, so it works inside Blender too; unreadable EXIF is not an error.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)  # EXIF sits in the first segments (APP1 ≤ 64 KB)
    except OSError as exc:
        log.debug("no EXIF focal length in %s: %s", path, exc)
        return None
    value = exif_tags(head).get(FOCAL_35MM)
    if value is None:
        return None
    if not (5.0 <= value <= 2000.0):
        return None
    return focal_from_35mm(value, image_size)


def check_focal(focal: float | None) -> float | None:
    """A focal length given by the user, in pixels, as a float; None stays None (choose one).

    Raises CameraError unless it is a finite positive number (0 is refused, not taken as unset).
    """
    if focal is None:
        return None
    try:
        value = float(focal)
    except (TypeError, ValueError):
        raise CameraError(f"focal length must be a number of pixels, got {focal!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise CameraError(f"focal length must be a positive number of pixels, got {value:g}")
    return value


def choose_focal(
    focal: float | None, image_path: str | Path | None, image_size: tuple[int, int]
) -> tuple[float, str]:
    """The focal length of a photo in pixels, and where it came from.

    In order: the given ``focal`` (checked by :func:`check_focal`), the photo's EXIF 35 mm
    equivalent, :data:`DEFAULT_FOV_DEG` on the diagonal of ``image_size`` (width, height).

    Returns
    -------
    focal : pixels.
    source : "given", "EXIF 35 mm equivalent" or "default 60° diagonal field of view".
    """
    given = check_focal(focal)
    if given is not None:
        return given, "given"
    if image_path is not None and Path(image_path).is_file():
        from_exif = focal_from_exif(image_path, image_size)
        if from_exif is not None:
            return from_exif, "EXIF 35 mm equivalent"
    return focal_from_fov(image_size), f"default {DEFAULT_FOV_DEG:g}° diagonal field of view"


def project(points: np.ndarray, focal: float, centre: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) of camera-frame points (N, 3)."""
    z = np.maximum(points[:, 2], MIN_DEPTH)
    return focal * points[:, :2] / z[:, None] + centre


def project_with_jacobian(
    points: np.ndarray, focal: float, centre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 2) and d pixels / d points (N, 2, 3).

    du/dX = f/Z, du/dZ = −f X/Z², likewise for v; points behind MIN_DEPTH have a zero
    depth derivative (the projection is clamped there).
    """
    z = np.maximum(points[:, 2], MIN_DEPTH)
    inv = focal / z
    uv = points[:, :2] * inv[:, None] + centre
    jac = np.zeros((len(points), 2, 3))
    jac[:, 0, 0] = inv
    jac[:, 1, 1] = inv
    front = points[:, 2] > MIN_DEPTH
    jac[:, :, 2] = np.where(front[:, None], -points[:, :2] * (inv / z)[:, None], 0.0)
    return uv, jac
