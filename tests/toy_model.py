"""A small synthetic SMPL-format body model for tests: valid tree, random, well-formed arrays."""

from __future__ import annotations

import numpy as np

from blender_smplify.core.joints import SMPL_PARENTS, J

# Rough SMPL T-pose joint positions (metres, y-up, facing +z), left side at +x.
_REST = {
    "pelvis": (0.0, 0.93, 0.0),
    "left_hip": (0.09, 0.84, 0.0),
    "right_hip": (-0.09, 0.84, 0.0),
    "spine1": (0.0, 1.04, -0.02),
    "left_knee": (0.11, 0.47, 0.0),
    "right_knee": (-0.11, 0.47, 0.0),
    "spine2": (0.0, 1.17, 0.0),
    "left_ankle": (0.12, 0.07, -0.04),
    "right_ankle": (-0.12, 0.07, -0.04),
    "spine3": (0.0, 1.22, 0.02),
    "left_foot": (0.13, 0.02, 0.08),
    "right_foot": (-0.13, 0.02, 0.08),
    "neck": (0.0, 1.44, 0.0),
    "left_collar": (0.08, 1.37, 0.0),
    "right_collar": (-0.08, 1.37, 0.0),
    "head": (0.0, 1.52, 0.04),
    "left_shoulder": (0.18, 1.40, -0.01),
    "right_shoulder": (-0.18, 1.40, -0.01),
    "left_elbow": (0.44, 1.40, -0.03),
    "right_elbow": (-0.44, 1.40, -0.03),
    "left_wrist": (0.70, 1.40, -0.02),
    "right_wrist": (-0.70, 1.40, -0.02),
    "left_hand": (0.78, 1.40, -0.02),
    "right_hand": (-0.78, 1.40, -0.02),
}

TOY_LANDMARKS = ("nose", "left_heel", "right_heel")


def toy_rest_joints() -> np.ndarray:
    """(24, 3) rough SMPL rest joints in joint order."""
    rest = np.zeros((24, 3))
    for name, position in _REST.items():
        rest[J[name]] = position
    return rest


def toy_model_arrays(rng: np.random.Generator, verts_per_joint: int = 8, num_betas: int = 10):
    """SMPL-named arrays of a toy body: vertices scattered around each joint's bone."""
    rest = toy_rest_joints()
    V = 24 * verts_per_joint
    owner = np.repeat(np.arange(24), verts_per_joint)
    parent_pos = rest[np.maximum(SMPL_PARENTS, 0)]
    along = rng.uniform(0, 1, V)[:, None]
    v_template = parent_pos[owner] * along + rest[owner] * (1 - along)
    v_template += rng.normal(0, 0.03, (V, 3))
    # Skinning: mostly the owner joint, some of its parent and one random joint.
    weights = np.zeros((V, 24))
    weights[np.arange(V), owner] = rng.uniform(0.5, 1.0, V)
    weights[np.arange(V), np.maximum(SMPL_PARENTS[owner], 0)] += rng.uniform(0, 0.4, V)
    weights[np.arange(V), rng.integers(0, 24, V)] += rng.uniform(0, 0.1, V)
    weights /= weights.sum(axis=1, keepdims=True)
    # Joint regressor: each joint from its own vertices, placed so J(β=0) = rest.
    J_regressor = np.zeros((24, V))
    for j in range(24):
        mine = np.flatnonzero(owner == j)[:4]
        J_regressor[j, mine] = rng.uniform(0.5, 1.0, len(mine))
        J_regressor[j] /= J_regressor[j].sum()
        v_template[mine] += rest[j] - J_regressor[j, mine] @ v_template[mine]
    shapedirs = rng.normal(0, 0.01, (V, 3, num_betas))
    posedirs = rng.normal(0, 0.002, (V, 3, 207))
    kintree_table = np.stack([SMPL_PARENTS, np.arange(24)]).astype(np.int64)
    kintree_table[0, 0] = 2**32 - 1
    faces = np.stack([np.arange(V - 2), np.arange(1, V - 1), np.arange(2, V)], axis=1)
    keypoint_regressor = np.zeros((len(TOY_LANDMARKS), V))
    for i, joint in enumerate(("head", "left_ankle", "right_ankle")):
        mine = np.flatnonzero(owner == J[joint])[4:7]
        keypoint_regressor[i, mine] = (0.2, 0.3, 0.5)
    return {
        "v_template": v_template,
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "J_regressor": J_regressor,
        "weights": weights,
        "kintree_table": kintree_table,
        "f": faces,
        "keypoint_regressor": keypoint_regressor,
        "landmark_names": np.array(TOY_LANDMARKS),
    }
