"""The person mask as the silhouette term reads it: BlazePose's crop mask on a finer grid, its
edge at the probability level that matches the true outline.

BlazePose's landmark model gives a 256 × 256 person probability in its crop
(``Detection.crop_mask``). The silhouette term (``silhouette.SilhouetteTarget``) thresholds
the grid's cells at ``silhouette.THRESHOLD`` and places the outline at the centres of the
outermost person cells (its distance transform is zero there, its boundary points sit
there): half a cell inside the cells' edge. On the shape benchmark's renders a cell is about
2.5 image px, so the fit saw the body 1.3–2 px (5–8 mm) narrower per side than the mask
says, while the mask's own 0.5 crossing (bilinear between cell centres) lies within 0.3 px of
the true edge (``benchmarks/mask_accuracy.py``; docs/fit_silhouette.md, "The person mask
against the truth").

:func:`refined_silhouette` resamples the mask bilinearly onto a grid ``upsample`` times finer
(only over the person's box), so the half-cell shift shrinks by that factor, and moves the
probability level ``level`` to the term's threshold (a monotone map, linear on either side),
so the outline lies where the mask crosses ``level``. Both are calibrated on the benchmark's
tuning half.
"""

from __future__ import annotations

import numpy as np

from .silhouette import THRESHOLD, Silhouette

#: Grid cells per BlazePose mask cell along each axis.
UPSAMPLE = 2
#: The mask probability that lies on the true outline (calibrated on the tuning half).
LEVEL = 0.25
#: Probability below which a cell is not considered part of the person's box.
FLOOR = 0.02
#: Cells of margin around the person's box (in mask cells).
MARGIN = 3


def refined_silhouette(detection, upsample: int = UPSAMPLE, level: float = LEVEL) -> Silhouette:
    """The detection's person mask for the silhouette term: over the person's box, on a grid
    ``upsample`` times finer than the crop's (bilinear), the probability p mapped linearly on
    either side of ``level`` (0 → 0, ``level`` → ``silhouette.THRESHOLD``, 1 → 1), so that the
    term's threshold falls where p = ``level``.

    Parameters
    ----------
    detection : a ``detector.Detection`` (``crop_mask`` (256, 256), ``crop``).
    upsample : grid cells per mask cell along each axis (≥ 1).
    level : the mask probability put on the outline, in (0, 1).

    Returns
    -------
    Silhouette : probability (S, T) float32 over the person's box, and its affine to image px.
    """
    mask = np.asarray(detection.crop_mask, dtype=np.float32)
    if mask.ndim != 2:
        raise ValueError(f"a crop mask must be (S, S), got shape {mask.shape}")
    if int(upsample) != upsample or upsample < 1:
        raise ValueError(f"upsample must be a whole number ≥ 1, got {upsample}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    return refine_grid(mask, detection.crop.crop_to_image(), int(upsample), float(level))


def refine_grid(
    probability: np.ndarray, to_image: np.ndarray, upsample: int, level: float
) -> Silhouette:
    """:func:`refined_silhouette` on a probability grid (S, T) with its (2, 3) affine to image
    px (continuous grid coordinates, cell (i, j) covering [j, j + 1) × [i, i + 1))."""
    r0, r1, c0, c1 = person_box(probability)
    k = upsample
    # 1. centres of the fine cells in the coarse grid's continuous coordinates, as indices
    #    into the coarse array (cell centres at whole numbers)
    u = c0 + (np.arange((c1 - c0) * k) + 0.5) / k - 0.5
    v = r0 + (np.arange((r1 - r0) * k) + 0.5) / k - 0.5
    box = np.asarray(probability, dtype=np.float32)[r0:r1, c0:c1]
    fine = interpolate_axis(interpolate_axis(box, v - r0, 0), u - c0, 1)
    # 2. the level onto the threshold, linearly on either side of it (monotone: the term
    #    reads the mask through its threshold)
    moved = np.where(
        fine < level,
        fine * (THRESHOLD / level),
        THRESHOLD + (fine - level) * ((1.0 - THRESHOLD) / (1.0 - level)),
    )
    # 3. fine grid coordinates (a, b) = k · (coarse − (c0, r0)): image = A (a / k + c0, ...)
    a = np.asarray(to_image, dtype=np.float64)
    lin = a[:, :2] / k
    offset = a[:, 2] + a[:, :2] @ np.array([c0, r0], dtype=np.float64)
    return Silhouette(
        np.clip(moved, 0.0, 1.0).astype(np.float32), np.hstack([lin, offset[:, None]])
    )


def interpolate_axis(grid: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``grid`` along ``axis`` at array positions x (N,) (positions
    beyond the ends take the end sample): the axis becomes N long. Elementwise (no BLAS call:
    threaded matrix products stall on a busy machine)."""
    n = grid.shape[axis]
    x = np.clip(x, 0.0, n - 1.0)
    i = np.minimum(np.floor(x).astype(int), max(n - 2, 0))
    f = (x - i).astype(grid.dtype)
    shape = [1, 1]
    shape[axis] = len(x)
    f = f.reshape(shape)
    lower = np.take(grid, i, axis=axis)
    upper = np.take(grid, np.minimum(i + 1, n - 1), axis=axis)
    return lower + f * (upper - lower)


def person_box(probability: np.ndarray) -> tuple[int, int, int, int]:
    """Rows r0:r1 and columns c0:c1 of the cells above FLOOR, with MARGIN cells around them,
    clipped to the grid (the whole grid when no cell is above FLOOR)."""
    rows = np.flatnonzero((probability > FLOOR).any(axis=1))
    cols = np.flatnonzero((probability > FLOOR).any(axis=0))
    h, w = probability.shape
    if not len(rows):
        return 0, h, 0, w
    return (
        max(rows[0] - MARGIN, 0),
        min(rows[-1] + 1 + MARGIN, h),
        max(cols[0] - MARGIN, 0),
        min(cols[-1] + 1 + MARGIN, w),
    )
