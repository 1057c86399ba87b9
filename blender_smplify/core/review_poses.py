"""Standard garment-review poses as SMPL body poses (bpy-free).

Garment tools fit a pattern on an A- or T-posed avatar and judge the fit with the arms down and
in motion. Each pose here is an SMPL pose (72,) with the root left at zero (the caller keeps the
avatar's own facing): axis-angle per joint, parent-relative, in the SMPL frame (x: the body's
left, y: up, z: forward). Left and right mirror each other except in the stride. Every pose lies
inside the fit's joint limits (:func:`.priors.within_joint_limits`), and none pushes an arm into
the torso or a thigh into the belly of the open models (tested with winding numbers).

Conventions: an arm raised in the T-pose goes down by turning about z (the left arm by −z); a
thigh swings forward by turning about −x; a knee bends by +x.
"""

from __future__ import annotations

import numpy as np

from .joints import J
from .rotation import matrix_to_rotvec, rodrigues

#: how far the arms come down from the T-pose in the arms-down pose (degrees). Lower, the open
#: models' upper arms sink into the chest under linear blend skinning (65°: a heavy or a wide
#: body had 1–9 of 260 upper-arm points inside; 60°: none at β = 0, 1 at ±2 σ).
ARMS_DOWN_DEG = 60.0
#: the poses a panel offers, in its order
REVIEW_POSES = ("T", "A", "ARMS_DOWN", "WALK", "SIT")
POSE_LABELS = {
    "T": "T-pose",
    "A": "A-pose",
    "ARMS_DOWN": "Arms down",
    "WALK": "Walking stride",
    "SIT": "Sitting",
}


def review_pose(name: str) -> np.ndarray:
    """The SMPL pose (72,) of a review pose (root rotation zero).

    Raises KeyError for an unknown name (the names are :data:`REVIEW_POSES`).
    """
    joints = _POSES[name]()
    pose = np.zeros((24, 3))
    for joint, rotvec in joints.items():
        pose[J[joint]] = rotvec
    return pose.ravel()


def _arms(down_deg: float, swing_deg: float = 0.0, elbow_deg: float = 0.0) -> dict:
    """Both arms lowered by ``down_deg`` from the T-pose, then swung forward by ``swing_deg``,
    the forearms bent forward by ``elbow_deg``."""
    return {
        **_arm("left", down_deg, swing_deg, elbow_deg),
        **_arm("right", down_deg, swing_deg, elbow_deg),
    }


def _arm(side: str, down_deg: float, swing_deg: float, elbow_deg: float) -> dict:
    sign = 1.0 if side == "left" else -1.0
    down = _about((0, 0, 1), -sign * down_deg)
    swing = _about((1, 0, 0), -swing_deg)  # about the body's x: a hanging arm swings forward
    return {
        f"{side}_shoulder": matrix_to_rotvec(rodrigues(swing) @ rodrigues(down)),
        # in the upper arm's own frame the forearm bends forward about −y (the left one)
        f"{side}_elbow": _about((0, -sign, 0), elbow_deg),
    }


def _about(axis, degrees: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    return axis / np.linalg.norm(axis) * np.radians(degrees)


def _t_pose() -> dict:
    return {}


def _a_pose() -> dict:
    return _arms(45.0)


def _arms_down() -> dict:
    return _arms(ARMS_DOWN_DEG)


def _walk() -> dict:
    return {
        **_arm("left", ARMS_DOWN_DEG, -15.0, 10.0),
        **_arm("right", ARMS_DOWN_DEG, 15.0, 20.0),
        "left_hip": _about((1, 0, 0), -25.0),  # left leg forward
        "left_knee": _about((1, 0, 0), 10.0),
        "left_ankle": _about((1, 0, 0), -5.0),
        "right_hip": _about((1, 0, 0), 15.0),  # right leg back, knee bent to push off
        "right_knee": _about((1, 0, 0), 25.0),
        "right_ankle": _about((1, 0, 0), 10.0),
    }


def _sit() -> dict:
    return {
        **_arms(60.0, 20.0, 30.0),
        "left_hip": _about((1, 0, 0), -90.0),
        "right_hip": _about((1, 0, 0), -90.0),
        "left_knee": _about((1, 0, 0), 90.0),
        "right_knee": _about((1, 0, 0), 90.0),
    }


_POSES = {"T": _t_pose, "A": _a_pose, "ARMS_DOWN": _arms_down, "WALK": _walk, "SIT": _sit}
