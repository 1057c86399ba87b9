"""Pure NumPy geometry of the rig: bone tails and rolls, and SMPL rotations as bone-local ones.

Frames used here (all right-handed, metres):

* SMPL model frame: y up, the body faces +z, its left side at +x.
* Armature frame: the SMPL frame turned by ``S = SMPL_TO_BLENDER`` (z up, the body faces -y).
  The rest mesh and the bones' rest positions live here.
* Blender world: the fit's OpenCV camera frame turned by ``C = CAMERA_TO_BLENDER`` (the camera
  at the origin looks along +y, z up). The armature object is only translated, so the armature
  frame keeps the world's axes.

SMPL pose rotations R_k are parent-relative but expressed in world-aligned frames (every SMPL
rest frame is the identity). Blender poses a bone in its own rest frame B_k (columns: x, y along
the bone, z), so the local rotation is ``L_k = B_k^T (S R_k S^T) B_k`` for k > 0 and
``L_0 = B_0^T (C R_0 S^T) B_0`` for the root, whose parent frame is the world (an upright person
facing the camera has R_0 = half turn about x, which gives L_0 = I).
"""

from __future__ import annotations

import numpy as np

from ..core.axes import CAMERA_TO_BLENDER, SMPL_TO_BLENDER
from ..core.joints import SMPL_PARENTS, J

#: For joints with several children, the child the bone points at.
MAIN_CHILD = {J["pelvis"]: J["spine1"], J["spine3"]: J["neck"]}
#: Leaf bones continue their parent's direction, this long relative to the parent segment
#: (SMPL's head joint is mid-skull, its hand joints at the knuckles, its foot joints at the toes).
LEAF_LENGTH = {J["head"]: 1.5, J["left_hand"]: 1.0, J["right_hand"]: 1.0}
LEAF_LENGTH_DEFAULT = 0.6
#: Shortest bone (Blender deletes bones of zero length).
MIN_LENGTH = 0.02
FORWARD = np.array([0.0, -1.0, 0.0])  # the body's front in the armature frame
UP = np.array([0.0, 0.0, 1.0])


def bone_tails(heads: np.ndarray, parents: np.ndarray = SMPL_PARENTS) -> np.ndarray:
    """Bone tails (24, 3) for bone heads (24, 3) at the joints (armature frame).

    A bone points at its (main) child joint, so rotating it moves exactly the limb segment the
    SMPL joint rotates; leaves (head, hands, feet) continue their parent segment.
    """
    heads = np.asarray(heads, dtype=np.float64)
    children: dict[int, list[int]] = {}
    for k, p in enumerate(parents):
        if p >= 0:
            children.setdefault(int(p), []).append(k)
    tails = np.empty_like(heads)
    for k in range(len(heads)):
        kids = children.get(k, [])
        if kids:
            tails[k] = heads[MAIN_CHILD.get(k, kids[0])]
        else:
            segment = heads[k] - heads[parents[k]]
            tails[k] = heads[k] + LEAF_LENGTH.get(k, LEAF_LENGTH_DEFAULT) * segment
        direction = tails[k] - heads[k]
        length = np.linalg.norm(direction)
        if length < MIN_LENGTH:
            direction = UP if length < 1e-9 else direction / length
            tails[k] = heads[k] + MIN_LENGTH * direction
    return tails


def roll_targets(heads: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """Where each bone's local z axis should point (24, 3): the body's front.

    With z forward, every bone bends forward and back about its local x axis (knees, elbows,
    spine alike). Bones that point forward themselves (feet) take z up instead.
    """
    direction = tails - heads
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    along_forward = np.abs(direction @ FORWARD) > 0.7
    return np.where(along_forward[:, None], UP[None], FORWARD[None])


def local_rotations(
    rotations: np.ndarray, bone_frames: np.ndarray, rest: np.ndarray | None = None
) -> np.ndarray:
    """Bone-local rotation matrices (24, 3, 3) from SMPL rotations.

    Parameters
    ----------
    rotations : (24, 3, 3) SMPL rotation matrices R_k (joint 0: global orientation in the
        fit's camera frame).
    bone_frames : (24, 3, 3) rest orientation B_k of each bone in the armature frame
        (columns x, y, z; y along the bone).
    rest : (24, 3, 3) SMPL rotations P_k of the rig's rest pose (None: SMPL's T-pose).
    """
    S, C = SMPL_TO_BLENDER, CAMERA_TO_BLENDER
    relative = _relative_to_rest(rotations, rest)
    # world-aligned rotation of each joint in the armature frame: S R_k S^T, root: C R_0 S^T
    aligned = S @ relative @ S.T
    aligned[0] = C @ relative[0] @ S.T
    # L_k = B_k^T aligned_k B_k
    return np.swapaxes(bone_frames, 1, 2) @ aligned @ bone_frames


def _relative_to_rest(rotations: np.ndarray, rest: np.ndarray | None) -> np.ndarray:
    """SMPL rotations R_k re-expressed for a rig resting in pose P: Ap_k R_k P_k^T Ap_k^T.

    A bone's skinning rotation is its posed global rotation times the inverse of its rest one,
    A_k(R) A_k(P)^T; relative to the parent's it is A_p(P) R_k P_k^T A_p(P)^T, with A_p(P) the
    parent's global rest rotation (identity for the root). P = I gives R_k back.
    """
    if rest is None:
        return np.array(rotations, dtype=np.float64)
    parent_rest = _parent_rest_rotations(rest)
    return parent_rest @ rotations @ np.swapaxes(rest, 1, 2) @ np.swapaxes(parent_rest, 1, 2)


def _parent_rest_rotations(rest: np.ndarray) -> np.ndarray:
    """Global rest rotation (24, 3, 3) of each joint's parent (identity for the root)."""
    global_rest = np.empty_like(rest)
    global_rest[0] = rest[0]
    for k in range(1, len(SMPL_PARENTS)):  # parents come before their children
        global_rest[k] = global_rest[SMPL_PARENTS[k]] @ rest[k]
    parent = np.broadcast_to(np.eye(3), rest.shape).copy()
    parent[1:] = global_rest[SMPL_PARENTS[1:]]
    return parent


def armature_location(rest_pelvis: np.ndarray, transl: np.ndarray) -> np.ndarray:
    """World location (3,) of the armature object so that the rest pelvis lands on the posed one.

    SMPL keeps the root joint at J_0 + transl (camera frame), the armature has it at S J_0.
    """
    rest_pelvis = np.asarray(rest_pelvis, dtype=np.float64)
    return CAMERA_TO_BLENDER @ (rest_pelvis + np.asarray(transl)) - SMPL_TO_BLENDER @ rest_pelvis


def smpl_rotations(
    local: np.ndarray,
    bone_frames: np.ndarray,
    object_rotation: np.ndarray,
    rest: np.ndarray | None = None,
) -> np.ndarray:
    """Inverse of :func:`local_rotations`: SMPL rotations (24, 3, 3) from a posed rig.

    Parameters
    ----------
    local : (24, 3, 3) bone-local pose rotations L_k (``matrix_basis``).
    bone_frames : (24, 3, 3) rest orientations B_k (armature frame).
    object_rotation : (3, 3) world rotation of the armature object (identity as built).
    rest : (24, 3, 3) SMPL rotations P_k of the rig's rest pose (None: SMPL's T-pose).

    With aligned_k = B_k L_k B_k^T: X_k = S^T aligned_k S for k > 0 and
    X_0 = C^T (object_rotation aligned_0) S; then R_k = Ap_k^T X_k Ap_k P_k.
    """
    S, C = SMPL_TO_BLENDER, CAMERA_TO_BLENDER
    aligned = bone_frames @ local @ np.swapaxes(bone_frames, 1, 2)
    rotations = S.T @ aligned @ S
    rotations[0] = C.T @ object_rotation @ aligned[0] @ S
    if rest is None:
        return rotations
    parent_rest = _parent_rest_rotations(rest)
    return np.swapaxes(parent_rest, 1, 2) @ rotations @ parent_rest @ rest
