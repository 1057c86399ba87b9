"""Detector-like 2D noise for training the lifter (``tools/train_lifter.py --noise``).

The profile is what ``benchmarks/studies/lifter_confidence.py noise`` measures on the tuning
half of the rendered benchmark: BlazePose's hips and shoulders sit inside the body model's
surface landmarks (a systematic offset, :func:`apply_torso_bias`), and each keypoint scatters
around its target with a median error and a share of outliers (:func:`detector_noise`), both
in units of the body's image height.
"""

from __future__ import annotations

import numpy as np

from blender_smplify.core.lifter import LAYOUT, MIRROR
from blender_smplify.core.lifter import NUM_POINTS as NUM

#: The keypoints (indices) whose systematic detector offset :func:`apply_torso_bias` models.
TORSO_BIAS_POINTS = {
    "hips": [LAYOUT.index("left_hip"), LAYOUT.index("right_hip")],
    "shoulders": [LAYOUT.index("left_shoulder"), LAYOUT.index("right_shoulder")],
}


def apply_torso_bias(xy: np.ndarray, bias: dict[str, float]) -> np.ndarray:
    """Keypoints (N, 33, 2) with the hips and shoulders where the detector puts them: each hip
    moved toward the other by ``hip_inward`` of the hip line, each shoulder toward the other by
    ``shoulder_inward`` and toward the hips by ``shoulder_down`` of the torso (in 2D, exact for
    a 3D move under an affine camera)."""
    out = xy.copy()
    hips, shoulders = TORSO_BIAS_POINTS["hips"], TORSO_BIAS_POINTS["shoulders"]
    for idx, f in ((hips, bias["hip_inward"]), (shoulders, bias["shoulder_inward"])):
        a, b = xy[:, idx[0]], xy[:, idx[1]]
        out[:, idx[0]] += f * (b - a)
        out[:, idx[1]] += f * (a - b)
    down = xy[:, hips].mean(1) - xy[:, shoulders].mean(1)
    out[:, shoulders] += bias["shoulder_down"] * down[:, None]
    return out


def detector_noise(xy: np.ndarray, profile: dict, rng: np.random.Generator) -> np.ndarray:
    """2D errors (N, 33, 2) like the detector's for clean keypoints xy (N, 33, 2).

    ``profile`` (``benchmarks/studies/lifter_confidence.py noise``): per keypoint the median
    error and the share of errors beyond 10 %, both in units of the body's image height, after
    the torso's systematic offset (:func:`apply_torso_bias`, applied before). Each
    keypoint's error is Gaussian with that median radius (σ = median / √(2 ln 2)), scaled per
    sample by 0.5–1.5; with the profile's probability it is instead an outlier 10–30 % of the
    height away in a random direction.
    """
    n = len(xy)
    median = np.array([profile["keypoints"][k]["median"] for k in LAYOUT.names])
    outlier = np.array([profile["keypoints"][k]["beyond_10pct"] for k in LAYOUT.names])
    height = np.ptp(xy, axis=1).max(1)[:, None]  # (N, 1) pixels
    sigma = median / np.sqrt(2 * np.log(2)) * rng.uniform(0.5, 1.5, (n, 1)) * height
    err = rng.standard_normal((n, NUM, 2)) * sigma[:, :, None]
    far = rng.random((n, NUM)) < outlier
    angle = rng.uniform(0, 2 * np.pi, (n, NUM))
    radius = rng.uniform(0.1, 0.3, (n, NUM)) * height
    jump = np.stack([np.cos(angle), np.sin(angle)], axis=2) * radius[:, :, None]
    return np.where(far[:, :, None], jump, err)


# ---- the detector's own errors, resampled ------------------------------------------------------

HIPS = TORSO_BIAS_POINTS["hips"]
SHOULDERS = TORSO_BIAS_POINTS["shoulders"]
#: Below this length (in units of the body's image height) the 2D torso gives no direction and
#: the residuals stay in the image's own axes.
MIN_TORSO = 0.08


def body_frames(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2D body frame of keypoints xy (N, 33, 2): the rotations (N, 2, 2) whose columns are
    the unit vector down the torso (shoulders' midpoint → hips' midpoint) and the one 90° from
    it, and the body's image height (N,): its largest extent along those two axes (so that
    it turns with the body). A torso shorter than ``MIN_TORSO`` of the image extent keeps the
    image axes (down = +y)."""
    extent = np.ptp(xy, axis=1).max(1)
    down = xy[:, HIPS].mean(1) - xy[:, SHOULDERS].mean(1)
    length = np.linalg.norm(down, axis=1)
    down = np.where((length > MIN_TORSO * extent)[:, None],
                    down / np.maximum(length, 1e-12)[:, None], [0.0, 1.0])  # fmt: skip
    side = np.stack([-down[:, 1], down[:, 0]], axis=1)
    frames = np.stack([down, side], axis=2)
    height = np.ptp(np.einsum("nji,nkj->nki", frames, xy), axis=1).max(1)
    return frames, height


def residual_bank(
    truth_xy: np.ndarray, truth_seen: np.ndarray, detector_xy: np.ndarray, kept: np.ndarray
) -> dict[str, np.ndarray]:
    """The detector's errors on M renders, in a frame that carries over to other bodies.

    Parameters
    ----------
    truth_xy : (M, 33, 2) exact keypoints (pixels); truth_seen : (M, 33) bool, inside the
    image; detector_xy : (M, 33, 2) detected keypoints; kept : (M, 33) bool, the keypoints
    the lifter uses (confidence ≥ ``MIN_CONFIDENCE``).

    Returns
    -------
    {"residuals": (M, 33, 2) detection − truth in the body frame of the truth
    (:func:`body_frames`: down the torso, across it) over the body's image height, NaN where
    the keypoint was dropped or outside the image; "kept": (M, 33) bool}
    """
    frames, height = body_frames(truth_xy)
    local = np.einsum("mji,mkj->mki", frames, detector_xy - truth_xy) / height[:, None, None]
    valid = truth_seen & kept & np.all(np.isfinite(local), axis=2)
    return {"residuals": np.where(valid[:, :, None], local, np.nan), "kept": kept.astype(bool)}


def mirror_residuals(residuals: np.ndarray) -> np.ndarray:
    """Residuals (..., 33, 2) in the body frame of the left-right mirrored body: left and right
    keypoints swapped, the across-the-torso component negated."""
    out = residuals[..., MIRROR, :].copy()
    out[..., 1] *= -1
    return out


def empirical_noise(
    xy: np.ndarray,
    bank: dict[str, np.ndarray],
    rng: np.random.Generator,
    correlated: bool = True,
    scale: tuple[float, float] = (0.75, 1.25),
    mirror: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """2D errors (N, 33, 2) and kept keypoints (N, 33) resampled from the detector's own
    (:func:`residual_bank`) for clean keypoints xy (N, 33, 2).

    ``correlated``: each sample takes all 33 residuals and the dropping pattern of one render
    (the detector's errors are correlated across the body); a residual the render lacks is
    drawn from another render. Otherwise every keypoint's residual and whether it is kept come
    from a render of its own. Each residual set is mirrored left-right half of the time (with
    ``mirror``) and scaled by a factor drawn from ``scale``, then turned into the sample's body
    frame (:func:`body_frames`) and scaled by its image height.
    """
    res, kept = bank["residuals"], bank["kept"]
    n, m = len(xy), len(res)
    pick = rng.integers(0, m, (n, 1) if correlated else (n, NUM))
    pick = np.broadcast_to(pick, (n, NUM))
    local = res[pick, np.arange(NUM)]  # (N, 33, 2)
    keep = kept[pick, np.arange(NUM)]
    gap = np.isnan(local[:, :, 0]) & keep
    for k in np.flatnonzero(gap.any(0)):  # residuals the picked render lacks: from others
        have = np.flatnonzero(~np.isnan(res[:, k, 0]))
        if len(have):
            local[gap[:, k], k] = res[rng.choice(have, gap[:, k].sum()), k]
    keep &= ~np.isnan(local[:, :, 0])
    local = np.nan_to_num(local)
    flip = rng.random(n) < (0.5 if mirror else 0.0)
    local[flip] = mirror_residuals(local[flip])
    keep[flip] = keep[flip][:, MIRROR]
    frames, height = body_frames(xy)
    size = rng.uniform(*scale, n) * height
    return np.einsum("nij,nkj->nki", frames, local) * size[:, None, None], keep
