"""The SMPL kinematic tree: the only place joint indices and names live."""

from __future__ import annotations

import numpy as np

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)

SMPL_PARENTS: np.ndarray = np.array(
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
)

NUM_JOINTS = len(SMPL_JOINT_NAMES)

#: Joint index by name, e.g. ``J["left_elbow"] == 18``.
J: dict[str, int] = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}


def mirror_joint_name(name: str) -> str:
    """Name of the joint on the other side of the body ("left_knee" -> "right_knee")."""
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


#: Index permutation that swaps left and right joints.
MIRROR_PERMUTATION: np.ndarray = np.array([J[mirror_joint_name(n)] for n in SMPL_JOINT_NAMES])
