"""Detector-like 2D noise for training the lifter (``tools/train_lifter.py --noise``).

The profile is what ``benchmarks/studies/lifter_confidence.py noise`` measures on the tuning
half of the rendered benchmark: BlazePose's hips and shoulders sit inside the body model's
surface landmarks (a systematic offset, :func:`apply_torso_bias`), and each keypoint scatters
around its target with a median error and a share of outliers (:func:`detector_noise`), both
in units of the body's image height.
"""

from __future__ import annotations

import numpy as np

from blender_smplify.core.lifter import LAYOUT
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
