"""SMPL linear blend skinning as flat NumPy functions (Loper et al. 2015, SMPL, Sec. 3)."""

from __future__ import annotations

import numpy as np

from .rotation import rodrigues


def blend_shapes(betas: np.ndarray, shapedirs: np.ndarray) -> np.ndarray:
    """Shape displacements (V, 3) from betas (B,) and shapedirs (V, 3, B)."""
    # Displacement[v, k] = sum_l betas[l] * shapedirs[v, k, l]; one matrix-vector product
    V = shapedirs.shape[0]
    return (shapedirs.reshape(V * 3, -1)[:, : len(betas)] @ betas).reshape(V, 3)


def pose_features(rotations: np.ndarray) -> np.ndarray:
    """SMPL pose-blend-shape features (207,) from rotations (24, 3, 3): (R_j − I), j ≥ 1."""
    return (rotations[1:] - np.eye(3)).reshape(-1)


def depth_levels(parents: np.ndarray) -> list[np.ndarray]:
    """Joints grouped by tree depth (root first), so kinematics run one level at a time."""
    depth = np.zeros(len(parents), dtype=int)
    for j in range(1, len(parents)):
        depth[j] = depth[parents[j]] + 1
    return [np.flatnonzero(depth == d) for d in range(1, depth.max() + 1)]


def rigid_transforms(
    rotations: np.ndarray, rest_joints: np.ndarray, parents: np.ndarray, levels: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics: global rotations A (24, 3, 3) and posed joints t (24, 3).

    A_j = A_parent · R_j and t_j = t_parent + A_parent · (J_j − J_parent), with A_root = R_root
    and t_root = J_root; computed as 4×4 transforms G_j = G_parent · [R_j | J_j − J_parent],
    one matrix product per tree level.
    """
    local = np.zeros((len(parents), 4, 4))
    local[:, :3, :3] = rotations
    local[:, :3, 3] = rest_joints
    local[1:, :3, 3] -= rest_joints[parents[1:]]
    local[:, 3, 3] = 1.0
    world = local.copy()
    for joints in levels:
        world[joints] = world[parents[joints]] @ local[joints]
    return world[:, :3, :3], world[:, :3, 3]


def lbs(
    betas: np.ndarray,
    pose: np.ndarray,
    v_template: np.ndarray,
    shapedirs: np.ndarray,
    posedirs: np.ndarray | None,
    J_regressor: np.ndarray,
    parents: np.ndarray,
    lbs_weights: np.ndarray,
    levels: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """SMPL forward pass.

    Parameters
    ----------
    betas : (B,) shape coefficients, B ≤ shapedirs.shape[2].
    pose : (24, 3) axis-angle per joint, parent-relative; joint 0 the global orientation.
    v_template : (V, 3); shapedirs : (V, 3, B); posedirs : (V, 3, 207) or None (all zero);
    J_regressor : (24, V); parents : (24,); lbs_weights : (V, 24).

    Returns
    -------
    vertices : (V, 3) and joints : (24, 3), before translation.
    """
    # 1. Add shape blend shapes
    v_shaped = v_template + blend_shapes(betas, shapedirs)
    # 2. Regress the rest joints from the shaped mesh
    rest_joints = J_regressor @ v_shaped
    # 3. Add pose blend shapes
    rotations = rodrigues(pose)
    if posedirs is not None:
        # Offset[v, k] = sum_p posedirs[v, k, p] * features[p], as one (3V, 207) product
        V = v_shaped.shape[0]
        v_shaped = v_shaped + (posedirs.reshape(V * 3, 207) @ pose_features(rotations)).reshape(
            V, 3
        )
    # 4. Forward kinematics
    A, t = rigid_transforms(rotations, rest_joints, parents, levels)
    # 5. Skinning: T_j = [A_j | t_j − A_j J_j] moves rest points rigidly with joint j
    offsets = t - np.einsum("jab,jb->ja", A, rest_joints)
    transforms = np.concatenate([A.reshape(-1, 9), offsets], axis=1)  # (24, 12)
    # Blended[v, :] = sum_j lbs_weights[v, j] * transforms[j, :]
    blended = lbs_weights @ transforms
    rot = blended[:, :9].reshape(-1, 3, 3)
    vertices = np.einsum("vab,vb->va", rot, v_shaped) + blended[:, 9:]
    return vertices, t
