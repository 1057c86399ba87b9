"""Rest poses other than SMPL's T-pose, and moving a skinned body from one rest to another.

A rest pose is a set of SMPL rotations P (24, 3, 3), parent-relative in world-aligned frames,
like any SMPL pose. The body resting in P is SMPL's body posed by P (Loper et al. 2015, Eq. 2-4
without pose blend shapes):

    v_P = Σ_k w_k U_k(P, J) v_T,     U_k(P, J) = G_k(P, J) G_k(0, J)^-1 = [A_k | t_k − A_k J_k]

where A_k (global rotation) and t_k (posed joint) come from forward kinematics of the rest joints
J. Each vertex's blended transform M_v = Σ_k w_k U_k is affine and invertible, so a body moves
from rest P1 to rest P2 exactly through the T-pose: v_P2 = M_v(P2) M_v(P1)^-1 v_P1. U_k is
affine in J, and J(β) = J_template + J_dirs β is affine in β, so a shape key (the body at
β = e_i, with joints J_template + J_dirs e_i) moved this way with its own joints keeps the
relative shape-key blend exact: Basis + Σ β_i (K_i − Basis) moves to SMPL's body of shape β in P2.

Linear blend skinning does not compose (skinning a re-posed rest is not skinning the T-pose
with the product of the transforms), so a posed body bound to the new rest differs from the one
bound to the old rest where weights blend; :func:`solve_rest` gives the rest points that make the
new binding reproduce a posed body exactly (the rest switch keeps that difference in the pose
corrective shape key).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .errors import SmplifyError
from .joints import SMPL_PARENTS, J
from .lbs import depth_levels, rigid_transforms
from .rotation import rodrigues

#: Rest poses by name, as the angle (degrees) each upper arm is lowered from SMPL's T-pose:
#: ``t`` SMPL's own, ``a`` the A-pose garment tools fit in, ``down`` arms hanging with a hand's
#: width between hand and thigh (steeper lets skinned upper arms cut into the chest).
ARM_DROP_DEG: dict[str, float] = {"t": 0.0, "a": 45.0, "down": 75.0}
REST_POSES: tuple[str, ...] = tuple(ARM_DROP_DEG)
LEVELS = depth_levels(SMPL_PARENTS)


def check_rest_pose(name: str) -> str:
    """``name`` if it names a rest pose, else a SmplifyError listing the choices."""
    if name not in ARM_DROP_DEG:
        raise SmplifyError(
            f"unknown rest pose '{name}': choose one of {', '.join(REST_POSES)} "
            "(t: SMPL's T-pose, a: arms 45° down, down: arms down)"
        )
    return name


def rest_rotations(name: str) -> np.ndarray:
    """SMPL rotations (24, 3, 3) of a named rest pose (SMPL frame: y up, left arm along +x).

    Only the shoulder joints turn, about the body's forward axis z: the left arm (+x) down
    toward −y by a turn of −angle, the right arm (−x) by +angle.
    """
    angle = np.radians(ARM_DROP_DEG[check_rest_pose(name)])
    rotvecs = np.zeros((24, 3))
    rotvecs[J["left_shoulder"], 2] = -angle
    rotvecs[J["right_shoulder"], 2] = angle
    return rodrigues(rotvecs)


def posed_joints(joints: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Joints (24, 3) of a body whose T-pose joints are ``joints`` (24, 3), posed by
    ``rotations`` (24, 3, 3) about the root joint (which stays in place)."""
    return rigid_transforms(rotations, joints, SMPL_PARENTS, LEVELS)[1]


def unposed_joints(heads: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Inverse of :func:`posed_joints`: T-pose joints (24, 3) from joints posed by ``rotations``.

    J_k = J_p + A_p^T (t_k − t_p), one tree level at a time (A_p the parent's global rotation,
    which does not depend on the joints).
    """
    global_rot = rigid_transforms(rotations, np.zeros((24, 3)), SMPL_PARENTS, LEVELS)[0]
    joints = np.array(heads, dtype=np.float64)
    for level in LEVELS:
        parents = SMPL_PARENTS[level]
        # Joint[k, a] = Joint[p, a] + sum_b A[p, b, a] * (t[k, b] − t[p, b])
        offsets = np.einsum("kba,kb->ka", global_rot[parents], heads[level] - heads[parents])
        joints[level] = joints[parents] + offsets
    return joints


def rest_transforms(rotations: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """U_k (24, 3, 4) = [A_k | t_k − A_k J_k]: each bone's rigid move from the T-pose body with
    joints ``joints`` (24, 3) to the body posed by ``rotations`` (24, 3, 3)."""
    A, t = rigid_transforms(rotations, joints, SMPL_PARENTS, LEVELS)
    return np.concatenate([A, (t - np.einsum("kab,kb->ka", A, joints))[:, :, None]], axis=2)


def blend(weights, transforms: np.ndarray) -> np.ndarray:
    """Per-vertex blended transforms M_v (V, 3, 4) from skinning weights (V, K) and bone
    transforms (K, 3, 4): Blended[v] = sum_k weights[v, k] * transforms[k] / sum_k weights[v, k].

    ``weights`` may be a dense array or a SciPy sparse matrix (a few bones per vertex: about 20
    times faster). Rows are normalised, and a vertex of no bone keeps the identity, as
    Blender's armature modifier does.
    """
    weights = sparse.csr_matrix(weights)
    count = transforms.shape[0]
    total = np.asarray(weights.sum(axis=1)).ravel()
    unweighted = total <= 0
    normalised = sparse.diags(1.0 / np.where(unweighted, 1.0, total)) @ weights
    blended = np.asarray(normalised @ transforms.reshape(count, 12)).reshape(-1, 3, 4)
    blended[unweighted] = np.eye(3, 4)
    return blended


def apply(blended: np.ndarray, points: np.ndarray) -> np.ndarray:
    """M_v p_v for blended transforms (V, 3, 4) and points (V, 3)."""
    return np.einsum("vab,vb->va", blended[:, :, :3], points) + blended[:, :, 3]


def solve_rest(blended: np.ndarray, posed: np.ndarray) -> np.ndarray:
    """Rest points (V, 3) that blended transforms (V, 3, 4) carry onto ``posed`` (V, 3):
    p_v = M_v^-1 (x_v − b_v), exact per vertex (SmplifyError if a blend is degenerate)."""
    linear = blended[:, :, :3]
    det = np.linalg.det(linear)
    if np.any(np.abs(det) < 1e-6):
        bad = int(np.sum(np.abs(det) < 1e-6))
        raise SmplifyError(f"{bad} vertices have degenerate skinning (weights cancel out)")
    return np.linalg.solve(linear, (posed - blended[:, :, 3])[:, :, None])[:, :, 0]


def change_rest(
    points: np.ndarray,
    weights: np.ndarray,
    joints: np.ndarray,
    old: np.ndarray,
    new: np.ndarray,
) -> np.ndarray:
    """Move a body (or one shape key of it) from rest pose ``old`` to rest pose ``new``.

    Parameters
    ----------
    points : (V, 3) the body resting in ``old``.
    weights : (V, 24) skinning weights, dense or sparse.
    joints : (24, 3) its T-pose joints (for a shape key: the joints of that key's shape).
    old, new : (24, 3, 3) rest rotations.

    Returns
    -------
    (V, 3) the same body resting in ``new``: back to the T-pose, then forward (exact, see the
    module docstring).
    """
    weights = sparse.csr_matrix(weights)
    to_old = blend(weights, rest_transforms(old, joints))
    to_new = blend(weights, rest_transforms(new, joints))
    return apply(to_new, solve_rest(to_old, points))
