"""A small synthetic SMPL-format body with human proportions, for fit tests and benchmarks.

Vertices sit on rings around each bone (skinned to the bone's joint, blended near the joints),
the joint regressor averages a ring of vertices around each joint, and ten shape directions
change height, girth and limb proportions. Surface landmarks (``keypoint_regressor``) average a
few vertices, like the open body model's.
"""

from __future__ import annotations

import numpy as np

from blender_smplify.core.joints import SMPL_JOINT_NAMES, SMPL_PARENTS, J

# Rest joints (m), SMPL axes: x the body's left, y up, z forward; T-pose.
REST_JOINTS = {
    "pelvis": (0.0, 0.0, 0.0),
    "left_hip": (0.08, -0.08, 0.0),
    "right_hip": (-0.08, -0.08, 0.0),
    "spine1": (0.0, 0.1, -0.01),
    "left_knee": (0.1, -0.46, 0.01),
    "right_knee": (-0.1, -0.46, 0.01),
    "spine2": (0.0, 0.23, 0.01),
    "left_ankle": (0.1, -0.86, -0.03),
    "right_ankle": (-0.1, -0.86, -0.03),
    "spine3": (0.0, 0.29, 0.02),
    "left_foot": (0.11, -0.92, 0.1),
    "right_foot": (-0.11, -0.92, 0.1),
    "neck": (0.0, 0.5, -0.01),
    "left_collar": (0.07, 0.42, 0.0),
    "right_collar": (-0.07, 0.42, 0.0),
    "head": (0.0, 0.6, 0.04),
    "left_shoulder": (0.18, 0.45, -0.01),
    "right_shoulder": (-0.18, 0.45, -0.01),
    "left_elbow": (0.44, 0.45, -0.03),
    "right_elbow": (-0.44, 0.45, -0.03),
    "left_wrist": (0.69, 0.45, -0.02),
    "right_wrist": (-0.69, 0.45, -0.02),
    "left_hand": (0.78, 0.45, -0.02),
    "right_hand": (-0.78, 0.45, -0.02),
}
LANDMARKS = {
    # name: (joint it hangs on, offset from the joint)
    "nose": ("head", (0.0, 0.02, 0.11)),
    "left_eye": ("head", (0.035, 0.06, 0.09)),
    "right_eye": ("head", (-0.035, 0.06, 0.09)),
    "left_ear": ("head", (0.075, 0.04, 0.0)),
    "right_ear": ("head", (-0.075, 0.04, 0.0)),
    "mouth_left": ("head", (0.025, -0.02, 0.09)),
    "mouth_right": ("head", (-0.025, -0.02, 0.09)),
    "left_heel": ("left_ankle", (0.0, -0.06, -0.05)),
    "right_heel": ("right_ankle", (0.0, -0.06, -0.05)),
    "left_big_toe": ("left_foot", (0.0, -0.02, 0.1)),
    "right_big_toe": ("right_foot", (0.0, -0.02, 0.1)),
    "left_hip_surface": ("left_hip", (0.05, 0.06, 0.0)),
    "right_hip_surface": ("right_hip", (-0.05, 0.06, 0.0)),
    "left_index": ("left_hand", (0.07, 0.0, 0.0)),
    "right_index": ("right_hand", (-0.07, 0.0, 0.0)),
}
RADIUS = {
    "pelvis": 0.13,
    "spine1": 0.13,
    "spine2": 0.14,
    "spine3": 0.14,
    "neck": 0.05,
    "head": 0.09,
    "collar": 0.05,
    "hip": 0.08,
    "knee": 0.055,
    "ankle": 0.04,
    "foot": 0.03,
    "shoulder": 0.05,
    "elbow": 0.04,
    "wrist": 0.03,
    "hand": 0.03,
}


def _radius(name: str) -> float:
    return RADIUS.get(name, RADIUS.get(name.split("_", 1)[-1], 0.04))


def make_toy_body(num_betas: int = 10, seed: int = 0, with_landmarks: bool = True):
    """The toy body as a BodyModel."""
    from blender_smplify.core.body_model import BodyModel

    data = toy_body_arrays(num_betas, seed, with_landmarks)
    return BodyModel.from_arrays(**data, source="smplify toy body")


def toy_body_arrays(num_betas: int = 10, seed: int = 0, with_landmarks: bool = True) -> dict:
    """SMPL-format arrays (the names of an SMPL .npz) of the toy body."""
    rng = np.random.default_rng(seed)
    rest = np.array([REST_JOINTS[n] for n in SMPL_JOINT_NAMES])
    children = {j: [c for c in range(24) if SMPL_PARENTS[c] == j] for j in range(24)}
    verts, weights, ring_of = [], [], {}
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)

    def ring(centre, axis, radius, w):
        axis = axis / np.linalg.norm(axis)
        u = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
        u /= np.linalg.norm(u)
        v = np.cross(axis, u)
        idx = []
        for a in angles:
            idx.append(len(verts))
            verts.append(centre + radius * (np.cos(a) * u + np.sin(a) * v))
            weights.append(w)
        return idx

    for j, name in enumerate(SMPL_JOINT_NAMES):
        kids = children[j]
        end = rest[kids[0]] if kids else rest[j] + (rest[j] - rest[SMPL_PARENTS[j]]) * 0.4
        if name == "head":
            end = rest[j] + np.array([0.0, 0.15, 0.0])
        axis = end - rest[j]
        wj = np.zeros(24)
        wj[j] = 1.0
        # ring around the joint itself (regressor), blended with the parent
        wb = wj.copy()
        if j > 0:
            wb = 0.5 * wj
            wb[SMPL_PARENTS[j]] += 0.5
        ring_of[j] = ring(rest[j], axis, _radius(name), wb)
        for t in (0.33, 0.66):
            ring(rest[j] + t * axis, axis, _radius(name), wj)
    landmark_rows = []
    for lname, (jname, off) in LANDMARKS.items():
        j = J[jname]
        wj = np.zeros(24)
        wj[j] = 1.0
        base = len(verts)
        for d in ((0.005, 0, 0), (-0.005, 0, 0), (0, 0.005, 0)):
            verts.append(rest[j] + np.array(off) + np.array(d))
            weights.append(wj)
        landmark_rows.append((base, lname))
    v_template = np.array(verts)
    V = len(v_template)
    weights = np.array(weights)
    J_regressor = np.zeros((24, V))
    for j, idx in ring_of.items():
        J_regressor[j, idx] = 1.0 / len(idx)
    # shape space: height scale, girth, leg length, arm length, random smooth fields
    centred = v_template - v_template.mean(axis=0)
    shapedirs = np.zeros((V, 3, num_betas))
    shapedirs[:, 1, 0] = 0.06 * centred[:, 1]
    owner = np.argmax(weights, axis=1)
    axis_pt = rest[owner]
    out = v_template - axis_pt
    out[:, 1] *= 0.3
    if num_betas > 1:
        shapedirs[:, :, 1] = 0.08 * out
    if num_betas > 2:
        legs = np.isin(
            owner,
            [
                J[n]
                for n in (
                    "left_hip",
                    "right_hip",
                    "left_knee",
                    "right_knee",
                    "left_ankle",
                    "right_ankle",
                    "left_foot",
                    "right_foot",
                )
            ],
        )
        shapedirs[legs, 1, 2] = 0.04 * (v_template[legs, 1] + 0.1)
    for b in range(3, num_betas):
        coef = rng.normal(size=(4, 3)) * 0.01
        feats = np.stack([np.ones(V), v_template[:, 0], v_template[:, 1], v_template[:, 2]], 1)
        shapedirs[:, :, b] = feats @ coef
    keypoint_regressor = np.zeros((len(landmark_rows), V))
    for i, (base, _) in enumerate(landmark_rows):
        keypoint_regressor[i, base : base + 3] = 1.0 / 3.0
    kintree = np.stack([np.where(SMPL_PARENTS < 0, 4294967295, SMPL_PARENTS), np.arange(24)])
    data = {
        "v_template": v_template,
        "shapedirs": shapedirs,
        "posedirs": np.zeros((V, 3, 207)),
        "J_regressor": J_regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": np.zeros((0, 3), dtype=np.int64),
    }
    if with_landmarks:
        data.update(
            keypoint_regressor=keypoint_regressor, landmark_names=[n for _, n in landmark_rows]
        )
    return data


def make_placeholder_prior(seed: int = 0, components: int = 3, std: float = 0.35):
    """A stand-in pose GMM (for tests only): means near the rest pose, isotropic spread."""
    from blender_smplify.core.priors import PosePrior

    rng = np.random.default_rng(seed)
    means = rng.normal(scale=0.1, size=(components, 69))
    chol = np.repeat((np.eye(69) / std)[None], components, axis=0)
    weights = np.full(components, 1.0 / components)
    log_norm = np.full(components, -0.5 * 69 * np.log(2 * np.pi) - 69 * np.log(std))
    return PosePrior(means, chol, -np.log(weights) - log_norm)


def random_pose(rng, scale: float = 0.3) -> np.ndarray:
    """A random body pose (72,) facing the camera (global orientation about x by π)."""
    from blender_smplify.core.priors import JOINT_LIMIT_LOWER, JOINT_LIMIT_UPPER

    pose = rng.normal(scale=scale, size=72)
    pose = np.clip(pose, JOINT_LIMIT_LOWER + 0.05, JOINT_LIMIT_UPPER - 0.05)
    pose[:3] = (np.pi, 0.0, 0.0)
    return pose
