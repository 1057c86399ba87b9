"""Retarget CMU motion capture (BVH) to SMPL pose vectors, for the pose prior and benchmarks.

Method. For every SMPL joint j one BVH joint b(j) is chosen whose rotation drives the same body
segment (the thigh for ``left_hip``, the forearm for ``left_elbow``, ...). With G_b the BVH
global rotation of that joint, expressed in SMPL axes (y up, the body at rest facing +z, x to
the body's left), the SMPL global rotation relative to SMPL's T-posed rest is

    R_j(frame) = G_b(frame) · G_b(rest)^T · C_j^T,

where "rest" is a reference pose of the source rig and C_j is the rotation taking the segment's
direction in that rest pose to its direction in the SMPL template (the smallest such rotation
for limbs; for the torso also matching the body's left-right axis). Hence R_j carries the
template's segment onto the mocap segment, including the mocap's twist. SMPL's local rotation is
R_parent^T · R_j, stored as axis-angle.

Rest poses: the 31-joint CMU files (``cmu_cgspeed``) use their own zero-channel rest pose (arms
hanging down), parsed from each file. The Reallusion ``CC_Base`` files (``cmu_iclone_ccbase``)
share one rig; its rest is the clean T-pose in frame 0 of trial 007_03 (not every file starts
with a T-pose), and frame 0 of every file (the added T-pose) is dropped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from .bvh import BvhMotion, forward_kinematics, read_bvh

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MOCAP_DIR = REPO_ROOT.parent / "shared" / "data" / "mocap"
OPEN_MODEL_PATH = REPO_ROOT / "blender_smplify" / "data" / "open_body_neutral.npz"

SMPL_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee",
    "spine2", "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot",
    "neck", "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip
SMPL_PARENTS = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18,
                         19, 20, 21])  # fmt: skip
_J = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}

#: Rough SMPL-like T-pose joint positions (metres, y up, facing +z), used only when the open
#: body model is not available. Written for this tool from a typical adult's proportions.
ROUGH_TEMPLATE_JOINTS = np.array([
    [0.000, -0.223, 0.028], [0.070, -0.314, 0.021], [-0.068, -0.314, 0.023],
    [-0.002, -0.109, 0.002], [0.104, -0.676, 0.037], [-0.105, -0.674, 0.039],
    [0.006, 0.020, 0.029], [0.088, -1.097, -0.017], [-0.089, -1.093, -0.023],
    [0.005, 0.075, 0.030], [0.119, -1.152, 0.105], [-0.118, -1.150, 0.118],
    [-0.009, 0.290, 0.010], [0.079, 0.194, 0.018], [-0.086, 0.191, 0.015],
    [0.003, 0.379, 0.061], [0.173, 0.225, 0.013], [-0.173, 0.224, 0.017],
    [0.427, 0.210, -0.015], [-0.422, 0.211, -0.011], [0.670, 0.224, -0.012],
    [-0.668, 0.223, -0.017], [0.754, 0.215, -0.028], [-0.759, 0.216, -0.028],
])  # fmt: skip

# SMPL joint -> BVH joint driving the same segment, per skeleton family. "tips" name the BVH
# joint that ends a segment with no SMPL child (head, feet, hands).
_CMU_SIDE = {
    "hip": "{L}Hip", "knee": "{L}Knee", "ankle": "{L}Ankle", "foot": "{L}Toe",
    "collar": "{L}Collar", "shoulder": "{L}Shoulder", "elbow": "{L}Elbow", "wrist": "{L}Wrist",
    "hand": "{l}hand",
}
_MB_SIDE = {
    "hip": "{L}UpLeg", "knee": "{L}Leg", "ankle": "{L}Foot", "foot": "{L}ToeBase",
    "collar": "{L}Shoulder", "shoulder": "{L}Arm", "elbow": "{L}ForeArm", "wrist": "{L}Hand",
    "hand": "{L}FingerBase",
}
_CC_SIDE = {
    "hip": "CC_Base_{S}_Thigh", "knee": "CC_Base_{S}_Calf", "ankle": "CC_Base_{S}_Foot",
    "foot": "CC_Base_{S}_ToeBase", "collar": "CC_Base_{S}_Clavicle",
    "shoulder": "CC_Base_{S}_Upperarm", "elbow": "CC_Base_{S}_Forearm",
    "wrist": "CC_Base_{S}_Hand", "hand": "CC_Base_{S}_Hand",
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
            resolved_tips[name] = pattern.format(L=subs[0], S=subs[1])
    return {"map": mapping, "tips": resolved_tips}


FAMILIES = {
    "cmu31": _family(
        {"pelvis": "Hips", "spine1": "lowerback", "spine2": "Chest", "spine3": "Chest2",
         "neck": "Neck", "head": "Head"},
        _CMU_SIDE, {"foot": "{L}Toe_end", "hand": "{S}Fingers", "head": "Head_end"}),
    "cmu_mb": _family(
        {"pelvis": "Hips", "spine1": "LowerBack", "spine2": "Spine", "spine3": "Spine1",
         "neck": "Neck1", "head": "Head"},
        _MB_SIDE, {"foot": "{L}ToeBase_end", "hand": "{L}HandIndex1", "head": "Head_end"}),
    "ccbase": _family(
        {"pelvis": "CC_Base_Hip", "spine1": "CC_Base_Waist", "spine2": "CC_Base_Spine01",
         "spine3": "CC_Base_Spine02", "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head"},
        _CC_SIDE, {"foot": "CC_Base_{S}_MidToe1", "hand": "CC_Base_{S}_Mid1"}),
}
CCBASE_REST = ("cmu_iclone_ccbase/subjects/007/007_03.bvh", 0)

#: Whole trials left out of the prior's training (different subjects and motion types), for
#: evaluating the prior and as ground truth for the fit benchmark.
HELD_OUT_TRIALS: tuple[str, ...] = (
    "iclone/001_14", "iclone/002_05", "iclone/002_09", "iclone/005_07", "iclone/005_15",
    "iclone/006_05", "iclone/006_11", "iclone/007_09",
    "cgspeed/08_02", "cgspeed/16_15", "cgspeed/35_01", "cgspeed/113_25", "cgspeed/141_19",
)


def list_trials(mocap_dir: str | Path = DEFAULT_MOCAP_DIR) -> dict[str, Path]:
    """All BVH trials under ``mocap_dir`` by name (``iclone/002_01``, ``cgspeed/02_01``)."""
    mocap_dir = Path(mocap_dir)
    trials = {}
    for p in sorted((mocap_dir / "cmu_iclone_ccbase").glob("subjects/*/*.bvh")):
        trials[f"iclone/{p.stem}"] = p
    for p in sorted((mocap_dir / "cmu_cgspeed").glob("*.bvh")):
        trials[f"cgspeed/{p.stem}"] = p
    if not trials:
        raise FileNotFoundError(f"no BVH files under {mocap_dir}")
    return trials


def trial_fps(trial: str) -> float:
    """Frame rate of a trial's poses as returned by :func:`load_smpl_poses`."""
    return 60.0 if trial.startswith("iclone/") else 120.0


def template_joints(model_path: str | Path | None = None) -> tuple[np.ndarray, str]:
    """SMPL rest joint positions (24, 3) and a description of where they came from.

    Uses the open body model's ``J_regressor @ v_template`` when the file exists, else
    :data:`ROUGH_TEMPLATE_JOINTS`.
    """
    path = Path(model_path) if model_path is not None else OPEN_MODEL_PATH
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            joints = np.asarray(data["J_regressor"]) @ np.asarray(data["v_template"])
        return joints.astype(np.float64), f"rest joints of {path.name}"
    return ROUGH_TEMPLATE_JOINTS.copy(), "rough built-in SMPL-like T-pose joints"


def _detect_family(bvh: BvhMotion) -> str:
    if "CC_Base_Hip" in bvh.names:
        return "ccbase"
    if "LeftUpLeg" in bvh.names:
        return "cmu_mb"
    if "LeftHip" in bvh.names and "lowerback" in bvh.names:
        return "cmu31"
    raise ValueError("unknown BVH skeleton (not CMU 31-joint nor Reallusion CC_Base)")


def _first_distinct(bvh: BvhMotion, pos: np.ndarray, start: int, origin: np.ndarray) -> np.ndarray:
    """Position of ``start`` or, if it coincides with ``origin``, of its first descendant that does not."""
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


def _frame(primary: np.ndarray, secondary: np.ndarray | None) -> np.ndarray:
    """Orthonormal frame (3, 3), columns: primary, secondary made orthogonal, their cross product."""
    e1 = primary / np.linalg.norm(primary)
    if secondary is None:
        return e1[:, None]
    e2 = secondary - e1 * (e1 @ secondary)
    e2 /= np.linalg.norm(e2)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=1)


def _align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation taking source frame/direction onto target (smallest rotation for a direction)."""
    if source.shape[1] == 3:
        return target @ source.T
    a, b = source[:, 0], target[:, 0]
    v, c = np.cross(a, b), float(a @ b)
    if c < -0.999:
        raise ValueError("rest segment points opposite to the template's")
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


_TORSO = ("pelvis", "spine1", "spine2", "spine3", "neck", "head")


TORSO_IDENTITY = True


def _rest_corrections(bvh, fam, rest_pos, axes, template, torso_identity=None):
    """Per SMPL joint: BVH joint index and C_j (3, 3) (see module docstring)."""
    mapping, tips = fam["map"], fam["tips"]
    torso_identity = TORSO_IDENTITY if torso_identity is None else torso_identity
    src = {n: axes @ rest_pos[bvh.index(b)] for n, b in mapping.items()}
    children = {n: [c for c in range(24) if SMPL_PARENTS[c] == _J[n]] for n in SMPL_JOINT_NAMES}
    left_src = src["left_hip"] - src["right_hip"]
    left_tpl = template[_J["left_hip"]] - template[_J["right_hip"]]
    out = []
    for name in SMPL_JOINT_NAMES:
        j, b = _J[name], bvh.index(mapping[name])
        kids = children[name]
        if name == "spine3":
            kids = [_J["neck"]]
        if name == "pelvis":
            kids = [_J["spine1"]]
        if kids:
            c = kids[0]
            child_pos = axes @ _first_distinct(bvh, rest_pos, bvh.index(mapping[SMPL_JOINT_NAMES[c]]),
                                               rest_pos[b])
            d_src, d_tpl = child_pos - src[name], template[c] - template[j]
        elif name in tips and np.linalg.norm(
                rest_pos[bvh.index(tips[name])] - rest_pos[b]) > 1e-6:
            d_src = axes @ rest_pos[bvh.index(tips[name])] - src[name]
            if name == "head":
                d_tpl = np.array([0.0, 1.0, 0.0])
            elif name.endswith("foot"):
                d_tpl = np.array([0.0, 0.0, 1.0])
            else:
                d_tpl = template[j] - template[SMPL_PARENTS[j]]
        else:
            out.append((b, np.eye(3)))
            continue
        if name in _TORSO and torso_identity:
            out.append((b, np.eye(3)))
            continue
        second = name in _TORSO
        c_j = _align(_frame(d_src, left_src if second else None),
                     _frame(d_tpl, left_tpl if second else None))
        out.append((b, c_j))
    return out


def _world_axes(rest_pos: np.ndarray, bvh: BvhMotion, fam: dict) -> np.ndarray:
    """Rotation (3, 3) from BVH world axes (y up) to SMPL axes with the rest body facing +z."""
    m = fam["map"]
    left = rest_pos[bvh.index(m["left_hip"])] - rest_pos[bvh.index(m["right_hip"])]
    up = np.array([0.0, 1.0, 0.0])
    x = left - up * (up @ left)
    x /= np.linalg.norm(x)
    return np.stack([x, up, np.cross(x, up)])


def retarget(bvh: BvhMotion, rest: BvhMotion | None = None, rest_frame: int = 0,
             template: np.ndarray | None = None, calibrate: bool = True) -> np.ndarray:
    """SMPL global rotations (F, 24, 3, 3) relative to the template T-pose, in SMPL axes.

    Parameters
    ----------
    bvh : BvhMotion
        The motion.
    rest, rest_frame : BvhMotion, int, optional
        File and frame holding the rig's reference pose; default: ``bvh`` with zero channels.
    template : numpy.ndarray, optional
        (24, 3) SMPL rest joints; default :func:`template_joints`.
    calibrate : bool
        Apply :data:`CMU31_CALIBRATION` to 31-joint CMU files.
    """
    family = _detect_family(bvh)
    fam = FAMILIES[family]
    if template is None:
        template = template_joints()[0]
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
        if calibrate and family == "cmu31" and SMPL_JOINT_NAMES[j] in CMU31_CALIBRATION:
            out[:, j] = out[:, j] @ Rotation.from_rotvec(
                np.radians(CMU31_CALIBRATION[SMPL_JOINT_NAMES[j]])).as_matrix()
    return out


#: Trials present in both folders (same capture, two conversions), as (iclone, cgspeed) names.
DUPLICATE_TRIALS = (("iclone/002_01", "cgspeed/02_01"), ("iclone/002_02", "cgspeed/02_02"),
                    ("iclone/006_01", "cgspeed/06_01"), ("iclone/007_01", "cgspeed/07_01"),
                    ("iclone/005_06", "cgspeed/05_06"))

#: Constant per-joint corrections (axis-angle, degrees, applied on the template side) that bring
#: the 31-joint CMU conversion onto the CC_Base one, fitted by :func:`calibrate_cmu31` on the
#: four duplicated walks. The two conversions disagree by a fixed ~20 degree roll of the feet
#: (the CMU rest pose spreads the legs with the feet flat), and a fixed collar/shoulder offset.
#: Neck, wrists and hands are left alone: there the offset differs between trials.
CMU31_CALIBRATION: dict[str, tuple[float, float, float]] = {
    "pelvis": (-0.01, 0.52, 0.27), "left_hip": (-0.97, -0.55, 0.1),
    "right_hip": (-0.98, 1.61, 0.1), "spine1": (-0.04, 0.53, -0.14),
    "left_knee": (0.68, 1.87, 0.1), "right_knee": (0.35, -1.09, -0.31),
    "spine2": (0.0, 0.53, -0.12), "left_ankle": (-0.21, -1.91, 20.07),
    "right_ankle": (-4.13, 2.72, -20.18), "spine3": (0.06, 0.55, 0.0),
    "left_foot": (-9.61, 3.82, 18.98), "right_foot": (-9.31, -2.69, -19.29),
    "left_collar": (-3.89, 9.05, -15.8), "right_collar": (-2.15, -7.8, 17.81),
    "head": (0.01, 0.44, -0.47), "left_shoulder": (5.47, -0.27, -1.33),
    "right_shoulder": (6.62, 0.21, 1.33), "left_elbow": (-1.21, 0.1, 0.49),
    "right_elbow": (1.91, -0.07, -0.0),
}
_CALIBRATION_SKIP = ("neck", "left_wrist", "right_wrist", "left_hand", "right_hand")


def _time_aligned(a: np.ndarray, b: np.ndarray, max_shift: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Shift two global-rotation sequences (F, 24, 3, 3) to best agree; return the overlap."""
    best = None
    for off in range(-max_shift, max_shift + 1):
        aa, bb = a[max(off, 0):], b[max(-off, 0):]
        m = min(len(aa), len(bb))
        tr = np.einsum("fjab,fjab->", aa[:m], bb[:m]) / (m * 24)
        if best is None or tr > best[0]:
            best = (tr, aa[:m], bb[:m])
    return best[1], best[2]


def duplicate_pairs(mocap_dir: str | Path = DEFAULT_MOCAP_DIR, calibrate: bool = True,
                    template: np.ndarray | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Time-aligned global rotations of each duplicated trial in both conversions.

    Returns
    -------
    dict
        cgspeed trial name -> (iclone (M, 24, 3, 3), cgspeed (M, 24, 3, 3)) at 60 fps.
    """
    mocap_dir = Path(mocap_dir)
    trials = list_trials(mocap_dir)
    cc_rest = read_bvh(mocap_dir / CCBASE_REST[0])
    out = {}
    for icl, cgs in DUPLICATE_TRIALS:
        a = retarget(read_bvh(trials[icl]), cc_rest, CCBASE_REST[1], template)[1:]
        b = retarget(read_bvh(trials[cgs]), template=template, calibrate=calibrate)[::2]
        out[cgs] = _time_aligned(a, b)
    return out


def calibrate_cmu31(mocap_dir: str | Path = DEFAULT_MOCAP_DIR,
                    template: np.ndarray | None = None) -> dict[str, tuple[float, float, float]]:
    """Fit :data:`CMU31_CALIBRATION` from the duplicated walks (rotation averaging per joint)."""
    pairs = duplicate_pairs(mocap_dir, calibrate=False, template=template)
    result = {}
    for j, name in enumerate(SMPL_JOINT_NAMES):
        if name in _CALIBRATION_SKIP:
            continue
        s = np.zeros((3, 3))
        for trial, (a, b) in pairs.items():
            if trial == "cgspeed/05_06":
                continue
            s += np.einsum("fba,fbc->ac", b[:, j], a[:, j])
        u, _, vt = np.linalg.svd(s)
        d = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
        result[name] = tuple(round(float(v), 2) for v in np.degrees(Rotation.from_matrix(d).as_rotvec()))
    return result


def global_to_pose(global_rot: np.ndarray) -> np.ndarray:
    """SMPL axis-angle pose (F, 72) from global rotations (F, 24, 3, 3)."""
    n = global_rot.shape[0]
    local = np.empty_like(global_rot)
    local[:, 0] = global_rot[:, 0]
    parents = global_rot[:, SMPL_PARENTS[1:]]
    local[:, 1:] = np.swapaxes(parents, -1, -2) @ global_rot[:, 1:]
    return Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(n, 72)


def load_smpl_poses(mocap_dir: str | Path = DEFAULT_MOCAP_DIR,
                    trials: list[str] | tuple[str, ...] | None = None,
                    template: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """SMPL poses (N, 72) per trial: global orientation then the 69 body-pose numbers.

    Parameters
    ----------
    mocap_dir : path
        Folder with ``cmu_iclone_ccbase/`` and ``cmu_cgspeed/`` (see its SOURCES.md).
    trials : sequence of str, optional
        Trial names as in :func:`list_trials` (e.g. :data:`HELD_OUT_TRIALS`); default all.
    template : numpy.ndarray, optional
        (24, 3) SMPL rest joints; default :func:`template_joints`.

    Returns
    -------
    dict
        Trial name -> (N, 72) float64 axis-angle poses, every frame (iclone at 60 fps without
        its added first frame, cgspeed at 120 fps).
    """
    mocap_dir = Path(mocap_dir)
    available = list_trials(mocap_dir)
    names = list(available) if trials is None else list(trials)
    missing = [t for t in names if t not in available]
    if missing:
        raise KeyError(f"trials not found under {mocap_dir}: {missing}")
    if template is None:
        template = template_joints()[0]
    cc_rest = None
    out = {}
    for t in names:
        bvh = read_bvh(available[t])
        if t.startswith("iclone/"):
            if cc_rest is None:
                cc_rest = read_bvh(mocap_dir / CCBASE_REST[0])
            rot = retarget(bvh, cc_rest, CCBASE_REST[1], template)[1:]
        else:
            rot = retarget(bvh, template=template)
        out[t] = global_to_pose(rot)
        logger.debug("%s: %d frames", t, len(out[t]))
    return out
