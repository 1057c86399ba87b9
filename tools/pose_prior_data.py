"""Motion capture as SMPL poses: trial lists, held-out split and loaders (numpy, scipy).

The fit benchmark draws ground-truth poses from motions the pose prior never saw::

    from tools.pose_prior_data import load_held_out_cases, load_held_out_poses
    poses = load_held_out_poses()          # {CMU trial: (N, 72)}, near-duplicate frames removed
    cases = load_held_out_cases()          # {category: (N, 72)}: CMU trials, unseen HDM05
                                           # activities, HDM05 test actors

HDM05 (``../shared/data/mocap_extra/hdm05_ccbysa``, ASF/AMC, 120 fps, CC BY-SA 3.0) is read by
``asf_amc.py`` and retargeted like the BVH files, each actor's zero-dof ASF pose as the rest
(see :func:`load_hdm05_poses`).

Data: ``../shared/data/mocap`` (see its SOURCES.md), read in place. Two conversions of CMU
trials: ``cmu_iclone_ccbase`` (Reallusion CC_Base rig, 60 fps; frame 0 is an added T-pose and is
dropped; the rig's rest is the T-pose in frame 0 of 007_03, since not every file starts with
one) and ``cmu_cgspeed`` (31-joint CMU skeleton, 120 fps; each file's own zero-channel rest
pose, arms hanging). Four walks are in both folders; from them a constant per-joint correction
maps the 31-joint conversion onto the CC_Base one (:func:`calibrate_cmu31`). Retargeting itself
is in ``retarget_bvh.py``.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from .asf_amc import read_amc, read_asf
from .bvh import read_bvh
from .retarget_bvh import (
    ROUGH_TEMPLATE_JOINTS,
    SMPL_JOINT_NAMES,
    fit_calibration,
    global_to_pose,
    retarget,
)

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MOCAP_DIR = REPO_ROOT.parent / "shared" / "data" / "mocap"
DEFAULT_HDM05_DIR = REPO_ROOT.parent / "shared" / "data" / "mocap_extra" / "hdm05_ccbysa"
OPEN_MODEL_PATH = REPO_ROOT / "blender_smplify" / "data" / "open_body_neutral.npz"

CCBASE_REST = ("cmu_iclone_ccbase/subjects/007/007_03.bvh", 0)

#: Whole trials left out of the prior's training (different subjects and motion types), for
#: evaluating the prior and as ground truth for the fit benchmark.
HELD_OUT_TRIALS: tuple[str, ...] = (
    "iclone/001_14",
    "iclone/002_05",
    "iclone/002_09",
    "iclone/005_07",
    "iclone/005_15",
    "iclone/006_05",
    "iclone/006_11",
    "iclone/007_09",
    "cgspeed/08_02",
    "cgspeed/16_15",
    "cgspeed/35_01",
    "cgspeed/113_25",
    "cgspeed/141_19",
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
    """Frame rate of a trial's poses as returned by :func:`load_smpl_poses` (HDM05: 120)."""
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


#: Trials present in both folders (same capture, two conversions), as (iclone, cgspeed) names.
DUPLICATE_TRIALS = (
    ("iclone/002_01", "cgspeed/02_01"),
    ("iclone/002_02", "cgspeed/02_02"),
    ("iclone/006_01", "cgspeed/06_01"),
    ("iclone/007_01", "cgspeed/07_01"),
    ("iclone/005_06", "cgspeed/05_06"),
)


def _time_aligned(
    a: np.ndarray, b: np.ndarray, max_shift: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Shift two global-rotation sequences (F, 24, 3, 3) to best agree; return the overlap."""
    best = None
    for off in range(-max_shift, max_shift + 1):
        aa, bb = a[max(off, 0) :], b[max(-off, 0) :]
        m = min(len(aa), len(bb))
        tr = np.einsum("fjab,fjab->", aa[:m], bb[:m]) / (m * 24)
        if best is None or tr > best[0]:
            best = (tr, aa[:m], bb[:m])
    return best[1], best[2]


def duplicate_pairs(
    mocap_dir: str | Path = DEFAULT_MOCAP_DIR,
    calibration: dict[int, np.ndarray] | None = None,
    template: np.ndarray | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Time-aligned global rotations of each duplicated trial in both conversions.

    Returns
    -------
    dict
        cgspeed trial name -> (iclone (M, 24, 3, 3), cgspeed (M, 24, 3, 3)) at 60 fps.
    """
    mocap_dir = Path(mocap_dir)
    trials = list_trials(mocap_dir)
    if template is None:
        template = template_joints()[0]
    cc_rest = read_bvh(mocap_dir / CCBASE_REST[0])
    out = {}
    for icl, cgs in DUPLICATE_TRIALS:
        if icl not in trials or cgs not in trials:
            logger.warning("duplicated trial %s / %s not under %s", icl, cgs, mocap_dir)
            continue
        a = retarget(read_bvh(trials[icl]), cc_rest, CCBASE_REST[1], template)[1:]
        b = retarget(read_bvh(trials[cgs]), template=template, calibration=calibration)[::2]
        out[cgs] = _time_aligned(a, b)
    return out


_CALIBRATION_CACHE: dict[tuple[str, bytes], dict[int, np.ndarray]] = {}


def calibrate_cmu31(
    mocap_dir: str | Path = DEFAULT_MOCAP_DIR, template: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """Constant corrections that bring the 31-joint CMU conversion onto the CC_Base one.

    The two conversions of the four duplicated walks disagree by a fixed rotation per joint
    (about 20 degrees of roll at the feet, because the CMU rest pose spreads the legs with the
    feet flat, and 10 to 20 degrees at the collars). Per joint, the rotation D minimising
    sum_f |R_cmu31(f) D - R_ccbase(f)|^2 (orthogonal Procrustes) is that correction.

    Returns
    -------
    dict
        SMPL joint index -> (3, 3) rotation, for the joints not in ``_CALIBRATION_SKIP``.
    """
    if template is None:
        template = template_joints()[0]
    key = (str(Path(mocap_dir).resolve()), np.asarray(template, dtype=np.float64).tobytes())
    if key in _CALIBRATION_CACHE:
        return _CALIBRATION_CACHE[key]
    available = list_trials(mocap_dir)
    absent = [t for pair in DUPLICATE_TRIALS[:4] for t in pair if t not in available]
    if absent:
        raise FileNotFoundError(
            f"calibrating the 31-joint CMU files needs the trials held in both folders; "
            f"missing under {mocap_dir}: {absent}"
        )
    pairs = duplicate_pairs(mocap_dir, calibration=None, template=template)
    result = fit_calibration({t: p for t, p in pairs.items() if t != "cgspeed/05_06"})
    _CALIBRATION_CACHE[key] = result
    return result


def load_smpl_poses(
    mocap_dir: str | Path = DEFAULT_MOCAP_DIR,
    trials: list[str] | tuple[str, ...] | None = None,
    template: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
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
        if not t.startswith("iclone/") and "LeftUpLeg" in bvh.names:
            logger.warning("%s: MotionBuilder-named CMU skeleton, retargeted uncalibrated", t)
        if t.startswith("iclone/"):
            if cc_rest is None:
                cc_rest = read_bvh(mocap_dir / CCBASE_REST[0])
            rot = retarget(bvh, cc_rest, CCBASE_REST[1], template)[1:]
        else:
            calibration = calibrate_cmu31(mocap_dir, template)
            rot = retarget(bvh, template=template, calibration=calibration)
        out[t] = global_to_pose(rot)
        logger.debug("%s: %d frames", t, len(out[t]))
    return out


def joint_speeds(pose: np.ndarray) -> np.ndarray:
    """Largest body-joint rotation between consecutive frames (F - 1,), degrees."""
    mats = Rotation.from_rotvec(pose[:, 3:].reshape(-1, 3)).as_matrix().reshape(-1, 23, 3, 3)
    cos = (np.einsum("fjab,fjab->fj", mats[1:], mats[:-1]) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).max(1)


def spike_free(pose: np.ndarray, fps: float, max_speed: float = 1500.0) -> np.ndarray:
    """Mask (F,) of frames not next to a joint turning faster than ``max_speed`` deg/s.

    Such jumps are capture or conversion glitches (a foot or wrist flipping in one frame).
    """
    fast = joint_speeds(pose) * fps > max_speed
    ok = np.ones(len(pose), dtype=bool)
    ok[1:][fast] = False
    ok[:-1][fast] = False
    return ok


def subsample(pose: np.ndarray, min_change_deg: float) -> np.ndarray:
    """Indices of kept frames: the first, then each where some joint turned by more than
    ``min_change_deg`` since the last kept frame."""
    mats = Rotation.from_rotvec(pose[:, 3:].reshape(-1, 3)).as_matrix().reshape(-1, 23, 3, 3)
    keep = [0]
    cos_bound = np.cos(np.radians(min_change_deg))
    for f in range(1, len(pose)):
        rel = np.einsum("jba,jbc->jac", mats[keep[-1]], mats[f])
        if ((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0).min() < cos_bound:
            keep.append(f)
    return np.array(keep)


#: Hinge joints and the body-pose axis (sign included) they flex about (see ``retarget_bvh``).
_HINGES = {
    "left_knee": (0, 1.0),
    "right_knee": (0, 1.0),
    "left_elbow": (1, -1.0),
    "right_elbow": (1, 1.0),
}


def plausible_hinges(pose: np.ndarray, max_overextension_deg: float = 30.0) -> np.ndarray:
    """Mask (F,) of frames where no knee or elbow bends backwards by more than the limit.

    Some HDM05 knees are written past 180 degrees of flexion (up to 261), which is the same
    rotation as a knee bent far backwards: marker-solver failures in deep squats and kneeling.
    """
    body = pose[:, 3:].reshape(len(pose), 23, 3)
    ok = np.ones(len(pose), dtype=bool)
    for name, (axis, sign) in _HINGES.items():
        flexion = sign * body[:, SMPL_JOINT_NAMES.index(name) - 1, axis]
        ok &= flexion > -np.radians(max_overextension_deg)
    return ok


def clean_poses(
    trial: str, pose: np.ndarray, min_change_deg: float = 5.0, max_speed: float = 1500.0
) -> np.ndarray:
    """Frames of one trial without glitches and near-duplicates (as used to train the prior):
    frames next to a joint turning too fast or with a knee or elbow bent backwards are
    dropped, then only frames where some joint turned by ``min_change_deg`` are kept."""
    clean = pose[spike_free(pose, trial_fps(trial), max_speed) & plausible_hinges(pose)]
    return clean[subsample(clean, min_change_deg)]


def load_held_out_poses(
    mocap_dir: str | Path = DEFAULT_MOCAP_DIR, min_change_deg: float = 5.0
) -> dict[str, np.ndarray]:
    """Cleaned SMPL poses (N, 72) of :data:`HELD_OUT_TRIALS`, the prior's unseen motions."""
    poses = load_smpl_poses(mocap_dir, HELD_OUT_TRIALS)
    return {t: clean_poses(t, p, min_change_deg) for t, p in poses.items()}


# ---- HDM05 -----------------------------------------------------------------------------------

#: HDM05 activities never used for training: each is a category the CMU trials lack (kneeling
#: and lying on the floor, kicking, throwing), and each has a relative that is trained on
#: (going down in depositFloorR and squat1Reps, a raised knee in elbowToKnee1RepsLelbowStart,
#: arms overhead in grabHighR), so they measure how the prior generalises beyond its activities.
HDM05_HELD_OUT_CLASSES: tuple[str, ...] = ("lieDownFloor", "kickLFront1Reps", "throwBasketball")

#: HDM05 actors never used for training (the data's ``test/`` folder), in every activity.
HDM05_HELD_OUT_ACTORS: tuple[str, ...] = ("mm", "tr")


@dataclass(frozen=True)
class Hdm05Clip:
    """One HDM05 clip: its AMC file, the actor's ASF, activity class, actor and folder split."""

    amc: Path
    asf: Path
    activity: str
    actor: str
    split: str  # "train" or "test": the folder it is in


def list_hdm05_clips(root: str | Path = DEFAULT_HDM05_DIR) -> dict[str, Hdm05Clip]:
    """All HDM05 clips by name (``hdm05/HDM_bd_squat1Reps_001``) from ``manifest.csv``."""
    root = Path(root)
    manifest = root / "manifest.csv"
    if not manifest.exists():
        raise FileNotFoundError(f"no HDM05 manifest.csv under {root} (see its SOURCES.md)")
    clips = {}
    with manifest.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            amc = root / row["path"]
            name = "hdm05/" + amc.name.removesuffix(".amc").removesuffix("_120")
            asf = root / "asf" / f"HDM_{row['actor']}.asf"
            clips[name] = Hdm05Clip(
                amc, asf, row["class"], row["actor"], row["path"].split("/")[0]
            )
    return clips


def is_hdm05_training_clip(clip: Hdm05Clip) -> bool:
    """Whether the prior may train on a clip: neither a held-out activity nor actor."""
    return clip.activity not in HDM05_HELD_OUT_CLASSES and clip.actor not in HDM05_HELD_OUT_ACTORS


def load_hdm05_poses(
    root: str | Path = DEFAULT_HDM05_DIR,
    classes: list[str] | tuple[str, ...] | None = None,
    split: str | None = None,
    template: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """SMPL poses (N, 72) per HDM05 clip, every frame at 120 fps.

    Each actor's ASF rest (zero dofs: a T-pose with the legs spread) is the retargeting rest;
    torso joints take it as upright, limbs are turned onto the template's (``retarget_bvh.py``).

    Parameters
    ----------
    root : path
        The ``hdm05_ccbysa`` folder (``asf/``, ``train/``, ``test/``, ``manifest.csv``).
    classes : sequence of str, optional
        Activity classes to load (e.g. :data:`HDM05_HELD_OUT_CLASSES`); default all.
    split : {"train", "held-out"}, optional
        "train": clips :func:`is_hdm05_training_clip` allows; "held-out": the others
        (held-out activities of any actor and every activity of held-out actors); default all.
    template : numpy.ndarray, optional
        (24, 3) SMPL rest joints; default :func:`template_joints`.

    Returns
    -------
    dict
        Clip name -> (N, 72) float64 axis-angle poses; ``list_hdm05_clips()[name].activity``
        is its class.
    """
    if split not in (None, "train", "held-out"):
        raise ValueError(f"split must be None, 'train' or 'held-out', not {split!r}")
    clips = list_hdm05_clips(root)
    known = {c.activity for c in clips.values()}
    unknown = sorted(set(classes or ()) - known)
    if unknown:
        raise KeyError(f"HDM05 classes not under {root}: {unknown} (known: {sorted(known)})")
    if template is None:
        template = template_joints()[0]
    skeletons: dict[Path, object] = {}
    out = {}
    for name, clip in clips.items():
        if classes is not None and clip.activity not in classes:
            continue
        if split is not None and is_hdm05_training_clip(clip) != (split == "train"):
            continue
        if clip.asf not in skeletons:
            skeletons[clip.asf] = read_asf(clip.asf)
        motion = read_amc(clip.amc, skeletons[clip.asf])
        out[name] = global_to_pose(retarget(motion, template=template))
    return out


HELD_OUT_CMU = "cmu/held_out_trials"
HELD_OUT_HDM05_ACTORS = "hdm05/held_out_actors"


def load_held_out_cases(
    mocap_dir: str | Path = DEFAULT_MOCAP_DIR,
    hdm05_dir: str | Path = DEFAULT_HDM05_DIR,
    min_change_deg: float = 5.0,
) -> dict[str, np.ndarray]:
    """Cleaned poses (N, 72) the prior never saw, by category.

    Returns
    -------
    dict
        ``"cmu/held_out_trials"``: :data:`HELD_OUT_TRIALS`; ``"hdm05/<class>"`` for each of
        :data:`HDM05_HELD_OUT_CLASSES` (all actors); ``"hdm05/held_out_actors"``: the trained
        activities performed by :data:`HDM05_HELD_OUT_ACTORS`.
    """
    cmu = load_held_out_poses(mocap_dir, min_change_deg)
    cases = {HELD_OUT_CMU: np.concatenate(list(cmu.values()))}
    clips = list_hdm05_clips(hdm05_dir)
    held = load_hdm05_poses(hdm05_dir, split="held-out")
    for activity in HDM05_HELD_OUT_CLASSES:
        cases[f"hdm05/{activity}"] = np.concatenate(
            [
                clean_poses(n, p, min_change_deg)
                for n, p in held.items()
                if clips[n].activity == activity
            ]
        )
    cases[HELD_OUT_HDM05_ACTORS] = np.concatenate(
        [
            clean_poses(n, p, min_change_deg)
            for n, p in held.items()
            if clips[n].activity not in HDM05_HELD_OUT_CLASSES
        ]
    )
    return cases
