"""Retarget BVH motion capture to SMPL rotations (numpy and scipy only).

Method. For every SMPL joint j one BVH joint b(j) is chosen whose rotation drives the same body
segment (the thigh for ``left_hip``, the forearm for ``left_elbow``, ...). With G_b the BVH
global rotation of that joint, expressed in SMPL axes (y up, the body at rest facing +z, x to
the body's left), the SMPL global rotation relative to SMPL's T-posed template is

    R_j(frame) = G_b(frame) · G_b(rest)^T · C_j^T,

where "rest" is a reference pose of the source rig and C_j turns the segment's direction in that
rest pose onto its direction in the template: the smallest such rotation for limbs, identity for
pelvis, spine, neck and head (both rigs stand upright at rest). So R_j carries the template's
segment onto the mocap segment, with the mocap's twist. SMPL's local rotation is R_parent^T R_j.

Supported skeletons: the 31-joint CMU conversion (``Hips, LHipJoint, LeftHip, ..., lowerback,
Chest, Chest2, ...``), the MotionBuilder-named CMU conversion (``LeftUpLeg, ...``), the
Reallusion ``CC_Base_*`` rig and Acclaim ASF/AMC skeletons as in HDM05 and CMU (``root, lfemur,
ltibia, ..., lowerback, upperback, thorax, ...``, read by ``tools/asf_amc.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from blender_smplify.core.joints import SMPL_JOINT_NAMES, SMPL_PARENTS

from .bvh import BvhMotion, forward_kinematics

_J = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}

#: Rough SMPL-like T-pose joint positions (metres, y up, facing +z), used only when the open
#: body model is not available. Written for this tool from a typical adult's proportions.
ROUGH_TEMPLATE_JOINTS = np.array(
    [
        [0.000, -0.223, 0.028],
        [0.070, -0.314, 0.021],
        [-0.068, -0.314, 0.023],
        [-0.002, -0.109, 0.002],
        [0.104, -0.676, 0.037],
        [-0.105, -0.674, 0.039],
        [0.006, 0.020, 0.029],
        [0.088, -1.097, -0.017],
        [-0.089, -1.093, -0.023],
        [0.005, 0.075, 0.030],
        [0.119, -1.152, 0.105],
        [-0.118, -1.150, 0.118],
        [-0.009, 0.290, 0.010],
        [0.079, 0.194, 0.018],
        [-0.086, 0.191, 0.015],
        [0.003, 0.379, 0.061],
        [0.173, 0.225, 0.013],
        [-0.173, 0.224, 0.017],
        [0.427, 0.210, -0.015],
        [-0.422, 0.211, -0.011],
        [0.670, 0.224, -0.012],
        [-0.668, 0.223, -0.017],
        [0.754, 0.215, -0.028],
        [-0.759, 0.216, -0.028],
    ]
)

# SMPL joint -> BVH joint driving the same segment, per skeleton family. "tips" name the BVH
# joint that ends a segment with no SMPL child (head, feet, hands).
_CMU_SIDE = {
    "hip": "{L}Hip",
    "knee": "{L}Knee",
    "ankle": "{L}Ankle",
    "foot": "{L}Toe",
    "collar": "{L}Collar",
    "shoulder": "{L}Shoulder",
    "elbow": "{L}Elbow",
    "wrist": "{L}Wrist",
    "hand": "{l}hand",
}
_MB_SIDE = {
    "hip": "{L}UpLeg",
    "knee": "{L}Leg",
    "ankle": "{L}Foot",
    "foot": "{L}ToeBase",
    "collar": "{L}Shoulder",
    "shoulder": "{L}Arm",
    "elbow": "{L}ForeArm",
    "wrist": "{L}Hand",
    "hand": "{L}FingerBase",
}
_ACCLAIM_SIDE = {
    "hip": "{l}femur",
    "knee": "{l}tibia",
    "ankle": "{l}foot",
    "foot": "{l}toes",
    "collar": "{l}clavicle",
    "shoulder": "{l}humerus",
    "elbow": "{l}radius",  # the proximal forearm; {l}wrist is its distal part (forearm twist)
    "wrist": "{l}hand",
    "hand": "{l}fingers",
}
_CC_SIDE = {
    "hip": "CC_Base_{S}_Thigh",
    "knee": "CC_Base_{S}_Calf",
    "ankle": "CC_Base_{S}_Foot",
    "foot": "CC_Base_{S}_ToeBase",
    "collar": "CC_Base_{S}_Clavicle",
    "shoulder": "CC_Base_{S}_Upperarm",
    "elbow": "CC_Base_{S}_Forearm",
    "wrist": "CC_Base_{S}_Hand",
    "hand": "CC_Base_{S}_Hand",
}


def _family(center: dict[str, str], side: dict[str, str], tips: dict[str, str]) -> dict:
    mapping = dict(center)
    for part, pattern in side.items():
        for prefix, subs in (("left", ("Left", "l", "L")), ("right", ("Right", "r", "R"))):
            mapping[f"{prefix}_{part}"] = pattern.format(L=subs[0], l=subs[1], S=subs[2])
    resolved_tips = {}
    for joint, pattern in tips.items():
        for prefix, subs in (("left", ("Left", "L", "L")), ("right", ("Right", "R", "R"))):
            name = f"{prefix}_{joint}" if joint in ("foot", "hand") else joint
            resolved_tips[name] = pattern.format(L=subs[0], S=subs[1], l=subs[1].lower())
    return {"map": mapping, "tips": resolved_tips}


FAMILIES = {
    "cmu31": _family(
        {
            "pelvis": "Hips",
            "spine1": "lowerback",
            "spine2": "Chest",
            "spine3": "Chest2",
            "neck": "Neck",
            "head": "Head",
        },
        _CMU_SIDE,
        {"foot": "{L}Toe_end", "hand": "{S}Fingers", "head": "Head_end"},
    ),
    "cmu_mb": _family(
        {
            "pelvis": "Hips",
            "spine1": "LowerBack",
            "spine2": "Spine",
            "spine3": "Spine1",
            "neck": "Neck1",
            "head": "Head",
        },
        _MB_SIDE,
        {"foot": "{L}ToeBase_end", "hand": "{L}HandIndex1", "head": "Head_end"},
    ),
    "ccbase": _family(
        {
            "pelvis": "CC_Base_Hip",
            "spine1": "CC_Base_Waist",
            "spine2": "CC_Base_Spine01",
            "spine3": "CC_Base_Spine02",
            "neck": "CC_Base_NeckTwist01",
            "head": "CC_Base_Head",
        },
        _CC_SIDE,
        {"foot": "CC_Base_{S}_MidToe1", "hand": "CC_Base_{S}_Mid1"},
    ),
    "acclaim": _family(
        {
            "pelvis": "root",
            "spine1": "lowerback",
            "spine2": "upperback",
            "spine3": "thorax",
            "neck": "lowerneck",
            "head": "head",
        },
        _ACCLAIM_SIDE,
        {"foot": "{l}toes_end", "hand": "{l}fingers_end", "head": "head_end"},
    ),
}


def _detect_family(bvh: BvhMotion) -> str:
    if "CC_Base_Hip" in bvh.names:
        return "ccbase"
    if "LeftUpLeg" in bvh.names:
        return "cmu_mb"
    if "LeftHip" in bvh.names and "lowerback" in bvh.names:
        return "cmu31"
    if "lfemur" in bvh.names and "upperback" in bvh.names:
        return "acclaim"
    raise ValueError(
        f"unknown skeleton starting at {bvh.names[0]!r} (expected the CMU 31-joint, CMU "
        "MotionBuilder, Reallusion CC_Base or Acclaim ASF bone names)"
    )


def _first_distinct(bvh: BvhMotion, pos: np.ndarray, start: int, origin: np.ndarray) -> np.ndarray:
    """Position of ``start``, or of its first descendant not at ``origin`` if it lies there."""
    j = start
    children = [[] for _ in bvh.names]
    for k, p in enumerate(bvh.parents):
        if p >= 0:
            children[p].append(k)
    while np.linalg.norm(pos[j] - origin) < 1e-6 * (1.0 + np.abs(pos).max()):
        if not children[j]:
            raise ValueError(f"joint {bvh.names[start]} has no distinct descendant")
        j = children[j][0]
    return pos[j]


#: Joints whose rest is taken as the template's as is (C_j = I): both rigs stand upright at rest.
_TORSO = ("pelvis", "spine1", "spine2", "spine3", "neck", "head")


def _swing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation (3, 3) turning direction ``source`` onto direction ``target``."""
    a, b = source / np.linalg.norm(source), target / np.linalg.norm(target)
    v, c = np.cross(a, b), float(a @ b)
    if c < -0.999:
        raise ValueError("rest segment points opposite to the template's")
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def _rest_corrections(
    bvh: BvhMotion, fam: dict, rest_pos: np.ndarray, axes: np.ndarray, template: np.ndarray
) -> list[tuple[int, np.ndarray]]:
    """Per SMPL joint: the driving BVH joint's index and C_j (3, 3) (see module docstring)."""
    mapping, tips = fam["map"], fam["tips"]
    out = []
    for name in SMPL_JOINT_NAMES:
        j, b = _J[name], bvh.index(mapping[name])
        kids = [c for c in range(24) if SMPL_PARENTS[c] == j]
        origin = axes @ rest_pos[b]
        if name in _TORSO:
            out.append((b, np.eye(3)))
            continue
        if kids:
            c = kids[0]
            child = bvh.index(mapping[SMPL_JOINT_NAMES[c]])
            d_src = axes @ _first_distinct(bvh, rest_pos, child, rest_pos[b]) - origin
            d_tpl = template[c] - template[j]
        elif name in tips and np.linalg.norm(rest_pos[bvh.index(tips[name])] - rest_pos[b]) > 1e-6:
            d_src = axes @ rest_pos[bvh.index(tips[name])] - origin
            if name.endswith("foot"):
                d_tpl = np.array([0.0, 0.0, 1.0])  # toes point forward
            else:  # hands continue the forearm
                d_tpl = template[j] - template[SMPL_PARENTS[j]]
        else:
            out.append((b, np.eye(3)))
            continue
        out.append((b, _swing(d_src, d_tpl)))
    return out


def _world_axes(rest_pos: np.ndarray, bvh: BvhMotion, fam: dict) -> np.ndarray:
    """Rotation (3, 3) from BVH world axes (y up) to SMPL axes with the rest body facing +z."""
    m = fam["map"]
    left = rest_pos[bvh.index(m["left_hip"])] - rest_pos[bvh.index(m["right_hip"])]
    up = np.array([0.0, 1.0, 0.0])
    x = left - up * (up @ left)
    x /= np.linalg.norm(x)
    return np.stack([x, up, np.cross(x, up)])


def retarget(
    bvh: BvhMotion,
    rest: BvhMotion | None = None,
    rest_frame: int = 0,
    template: np.ndarray = ROUGH_TEMPLATE_JOINTS,
    calibration: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """SMPL global rotations (F, 24, 3, 3) relative to the template T-pose, in SMPL axes.

    Parameters
    ----------
    bvh : BvhMotion
        The motion.
    rest, rest_frame : BvhMotion, int, optional
        File and frame holding the rig's reference pose; default: ``bvh`` with zero channels.
    template : numpy.ndarray
        (24, 3) SMPL rest joints of the body model the poses are for.
    calibration : dict, optional
        SMPL joint index -> (3, 3) constant rotation applied on the template side to 31-joint
        CMU files (see :func:`calibrate_cmu31`).
    """
    family = _detect_family(bvh)
    fam = FAMILIES[family]
    if rest is None:
        rest_rot, rest_pos = forward_kinematics(bvh, np.zeros((1, bvh.motion.shape[1])))
    else:
        rest_rot, rest_pos = forward_kinematics(rest, rest.motion[rest_frame : rest_frame + 1])
        ref = rest
        rest_rot = {n: rest_rot[0, ref.index(n)] for n in ref.names}
    rest_src = rest if rest is not None else bvh
    rest_pos = rest_pos[0]
    axes = _world_axes(rest_pos, rest_src, fam)
    corr = _rest_corrections(rest_src, fam, rest_pos, axes, template)
    glob_rot, _ = forward_kinematics(bvh)
    out = np.empty((glob_rot.shape[0], 24, 3, 3))
    for j, (b_rest, c_j) in enumerate(corr):
        name = rest_src.names[b_rest]
        g0 = rest_rot[name] if rest is not None else rest_rot[0, b_rest]
        g = glob_rot[:, bvh.index(name)]
        out[:, j] = axes @ g @ g0.T @ axes.T @ c_j.T
        if calibration and family == "cmu31" and j in calibration:
            out[:, j] = out[:, j] @ calibration[j]
    return out


#: Joints that :func:`calibrate_cmu31` leaves alone: their offset between the two conversions
#: differs from trial to trial (the hands are barely captured).
_CALIBRATION_SKIP = ("neck", "left_wrist", "right_wrist", "left_hand", "right_hand")


def fit_calibration(pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[int, np.ndarray]:
    """Per-joint Procrustes rotation D with R_cmu31 D ~ R_ccbase over all pairs' frames.

    ``pairs`` as returned by :func:`duplicate_pairs` with ``calibration=None``.
    """
    result = {}
    for j, name in enumerate(SMPL_JOINT_NAMES):
        if name in _CALIBRATION_SKIP:
            continue
        s = sum(np.einsum("fba,fbc->ac", b[:, j], a[:, j]) for a, b in pairs.values())
        u, _, vt = np.linalg.svd(s)
        result[j] = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    return result


def global_to_pose(global_rot: np.ndarray) -> np.ndarray:
    """SMPL axis-angle pose (F, 72) from global rotations (F, 24, 3, 3)."""
    n = global_rot.shape[0]
    local = np.empty_like(global_rot)
    local[:, 0] = global_rot[:, 0]
    parents = global_rot[:, SMPL_PARENTS[1:]]
    local[:, 1:] = np.swapaxes(parents, -1, -2) @ global_rot[:, 1:]
    return Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(n, 72)


def bone_direction_errors(
    bvh: BvhMotion,
    pose: np.ndarray,
    template: np.ndarray,
    rest: BvhMotion | None = None,
    rest_frame: int = 0,
    skip_first: int = 0,
) -> dict[str, np.ndarray]:
    """Angle (degrees) between each SMPL bone posed by ``pose`` and the same mocap segment.

    Parameters
    ----------
    bvh : BvhMotion
        The motion ``pose`` was retargeted from.
    pose : numpy.ndarray
        (F, 72) poses from :func:`load_smpl_poses` (``skip_first`` frames of ``bvh`` dropped).
    template : numpy.ndarray
        (24, 3) SMPL rest joints the poses refer to.

    Returns
    -------
    dict
        "parent-child" bone name -> (F,) angles, for bones whose mocap segment is non-degenerate.
    """
    fam = FAMILIES[_detect_family(bvh)]
    src = rest if rest is not None else bvh
    if rest is None:
        rest_pos = forward_kinematics(bvh, np.zeros((1, bvh.motion.shape[1])))[1][0]
    else:
        rest_pos = forward_kinematics(rest, rest.motion[rest_frame : rest_frame + 1])[1][0]
    axes = _world_axes(rest_pos, src, fam)
    pos = forward_kinematics(bvh)[1][skip_first:] @ axes.T
    n = len(pose)
    local = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3)
    glob = np.empty_like(local)
    glob[:, 0] = local[:, 0]
    for j in range(1, 24):
        glob[:, j] = glob[:, SMPL_PARENTS[j]] @ local[:, j]
    out = {}
    for c in range(1, 24):
        p = SMPL_PARENTS[c]
        bp, bc = (
            bvh.index(fam["map"][SMPL_JOINT_NAMES[p]]),
            bvh.index(fam["map"][SMPL_JOINT_NAMES[c]]),
        )
        seg = pos[:, bc] - pos[:, bp]
        if np.linalg.norm(seg, axis=1).min() < 1e-6:
            continue
        bone = glob[:, p] @ (template[c] - template[p])
        cos = np.einsum("fa,fa->f", seg, bone) / (
            np.linalg.norm(seg, axis=1) * np.linalg.norm(bone, axis=1)
        )
        out[f"{SMPL_JOINT_NAMES[p]}-{SMPL_JOINT_NAMES[c]}"] = np.degrees(
            np.arccos(np.clip(cos, -1.0, 1.0))
        )
    return out
