"""Measures of a fitted body against the exact 3D truth, both as SMPL joints (24, 3) in the same
camera frame (OpenCV: x right, y down, z forward; the camera at the origin).

- **PA-MPJPE**: mean joint distance after the similarity transform (rotation, translation,
  scale) that best aligns the fit to the truth (Procrustes; Umeyama 1991, Eqs. 34-42).
- **MPJPE**: mean joint distance after moving the fit's pelvis onto the truth's.
- **Limb segments backwards in depth**: the 8 limb segments (upper arms, forearms, thighs,
  shins). The depth of a segment a → b is Δ = (b − a) · r̂, with r̂ the unit ray from the camera
  to the segment's midpoint: how far b lies beyond a along the line of sight, the one direction a
  photo cannot show. A segment *counts* when the truth points clearly toward or away from the
  camera, |Δ| / |b − a| > :data:`CLEAR_DEPTH` (0.3, about 17° or more out of the image plane);
  it is *backwards* when the fit's Δ (along its own ray) has the other sign.
- **Facing**: the torso's forward direction f = (hips' and shoulders' left-to-right sum) ×
  (pelvis → neck), normalised; it faces the camera when f · r̂ < 0, with r̂ the ray to the
  pelvis. Judged only where the truth is clear, |f · r̂| > :data:`CLEAR_FACING` (0.5: within
  60° of facing straight toward or away from the camera); *right* when the signs agree.
"""

from __future__ import annotations

import numpy as np

from blender_smplify.core.edit_terms import LIMB_SEGMENTS as EDITABLE_SEGMENTS
from blender_smplify.core.joints import J
from blender_smplify.core.keypoints import LIMB_JOINTS as LIMB_JOINT_NAMES

#: |Δ| / length above which a truth segment counts as pointing toward / away from the camera.
CLEAR_DEPTH = 0.3
#: |f · r̂| above which the truth's torso counts as facing toward / away from the camera.
CLEAR_FACING = 0.5

LIMB_JOINTS = np.array([J[name] for name in LIMB_JOINT_NAMES])
LIMB_SEGMENTS = tuple((J[parent], J[child]) for parent, child in EDITABLE_SEGMENTS.items())


def similarity_align(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``pred`` (N, 3) moved by the similarity transform that best fits it to ``truth`` (N, 3)
    in least squares (rotation without reflection)."""
    p, g = pred - pred.mean(axis=0), truth - truth.mean(axis=0)
    U, S, Vt = np.linalg.svd(g.T @ p)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    scale = (S * np.diag(D)).sum() / (p**2).sum()
    return scale * p @ R.T + truth.mean(axis=0)


def pa_mpjpe(pred: np.ndarray, truth: np.ndarray, joints: np.ndarray | None = None) -> float:
    """Mean distance (same unit as the input) of ``joints`` (default all) after aligning the
    fit to the truth on those joints by a similarity transform."""
    sel = slice(None) if joints is None else joints
    aligned = similarity_align(pred[sel], truth[sel])
    return float(np.linalg.norm(aligned - truth[sel], axis=1).mean())


def mpjpe(pred: np.ndarray, truth: np.ndarray, joints: np.ndarray | None = None) -> float:
    """Mean distance of ``joints`` (default all) after moving the fit's pelvis onto the truth's."""
    sel = slice(None) if joints is None else joints
    moved = pred - pred[J["pelvis"]] + truth[J["pelvis"]]
    return float(np.linalg.norm(moved[sel] - truth[sel], axis=1).mean())


def segment_depths(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth Δ (8,) of each limb segment along the ray to its midpoint, and its length (8,)."""
    a = joints[[s[0] for s in LIMB_SEGMENTS]]
    b = joints[[s[1] for s in LIMB_SEGMENTS]]
    ray = (a + b) / 2
    ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", b - a, ray), np.linalg.norm(b - a, axis=1)


def backwards_segments(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """(backwards, counted): limb segments whose truth points clearly toward or away from the
    camera, and of those the ones the fit points the other way."""
    depth, length = segment_depths(truth)
    clear = np.abs(depth) / length > CLEAR_DEPTH
    fitted, _ = segment_depths(pred)
    wrong = clear & (np.sign(fitted) != np.sign(depth))
    return int(wrong.sum()), int(clear.sum())


def torso_forward(joints: np.ndarray) -> np.ndarray:
    """Unit forward direction (3,) of the torso (the chest's outward normal)."""
    across = (
        joints[J["left_hip"]]
        - joints[J["right_hip"]]
        + joints[J["left_shoulder"]]
        - joints[J["right_shoulder"]]
    )
    up = joints[J["neck"]] - joints[J["pelvis"]]
    forward = np.cross(across, up)
    return forward / np.linalg.norm(forward)


def facing_toward(joints: np.ndarray) -> float:
    """−f · r̂: +1 facing the camera squarely, −1 facing straight away."""
    ray = joints[J["pelvis"]] / np.linalg.norm(joints[J["pelvis"]])
    return float(-torso_forward(joints) @ ray)


def facing_right(pred: np.ndarray, truth: np.ndarray) -> bool | None:
    """Whether the fit faces toward / away from the camera as the truth does; None when the
    truth is not clearly either."""
    t = facing_toward(truth)
    if abs(t) <= CLEAR_FACING:
        return None
    return bool(np.sign(facing_toward(pred)) == np.sign(t))


def case_metrics(pred: np.ndarray, truth: np.ndarray) -> dict:
    """All measures of one fit, distances in mm."""
    back, counted = backwards_segments(pred, truth)
    return {
        "pa24": 1e3 * pa_mpjpe(pred, truth),
        "pa12": 1e3 * pa_mpjpe(pred, truth, LIMB_JOINTS),
        "mpjpe24": 1e3 * mpjpe(pred, truth),
        "mpjpe12": 1e3 * mpjpe(pred, truth, LIMB_JOINTS),
        "backwards": back,
        "segments": counted,
        "facing_right": facing_right(pred, truth),
    }


def sign_figures(p: np.ndarray, away: np.ndarray) -> dict:
    """Share wrong, log loss, Brier score and expected calibration error (10 bins) of
    probabilities p (N,) against the truth away (N,) bool."""
    if len(p) == 0:
        return {}
    q = np.clip(p, 1e-6, 1 - 1e-6)
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(p[bins == b].mean() - away[bins == b].mean()) * (bins == b).mean()
              for b in range(10) if (bins == b).any())  # fmt: skip
    return {
        "wrong": float(((p > 0.5) != away).mean()),
        "log_loss": float(-np.mean(np.where(away, np.log(q), np.log(1 - q)))),
        "brier": float(np.mean((p - away) ** 2)),
        "ece": float(ece),
    }
