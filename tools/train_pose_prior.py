"""Learn the SMPL body-pose prior (a Gaussian mixture) from CMU (BVH) and HDM05 (ASF/AMC) mocap.

Usage (from the repository root, in a venv with numpy, scipy and scikit-learn)::

    python tools/train_pose_prior.py [--out blender_smplify/data/pose_prior.npz] \
        [--cache /tmp/pose_prior_frames.npz] [--components 8 16 32] [--reg-covar ...]

Steps: retarget every CMU trial and HDM05 clip to SMPL poses (``tools/pose_prior_data.py``),
drop the 31-joint copies of trials that the CC_Base folder also holds, drop glitch frames (a
joint turning faster than ``--max-speed``, a knee or elbow bent backwards) and keep a frame only
when some joint has turned by more than ``--min-change`` degrees since the last kept frame;
leave out the held-out split (CMU :data:`HELD_OUT_TRIALS`, the HDM05 activities
:data:`HDM05_HELD_OUT_CLASSES` and actors :data:`HDM05_HELD_OUT_ACTORS`); add left-right
mirrored copies of the training frames; fit full-covariance mixtures for every candidate
(components x covariance floor x shrink towards the global covariance, ``pose_prior_mixture``),
report each one's log-likelihood on the training frames and on every held-out category (CMU
trials, each unseen HDM05 activity, unseen HDM05 actors), and write the one with the best
average over the categories. The shipped file was chosen by the fit among these candidates
(``tools/compare_pose_priors.py``; see ``blender_smplify/data/pose_prior.md``) and is rebuilt by
naming its settings: ``--components 16 --floor 0 --shrink 0.3``. Deterministic: EM starts
from a k-means seeded by ``--seed``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.asf_amc import read_amc, read_asf  # noqa: E402
from tools.bvh import read_bvh  # noqa: E402
from tools.pose_prior_data import (  # noqa: E402
    CCBASE_REST,
    DEFAULT_HDM05_DIR,
    DEFAULT_MOCAP_DIR,
    DUPLICATE_TRIALS,
    HDM05_HELD_OUT_ACTORS,
    HDM05_HELD_OUT_CLASSES,
    HELD_OUT_TRIALS,
    REPO_ROOT,
    clean_poses,
    duplicate_pairs,
    list_hdm05_clips,
    list_trials,
    load_hdm05_poses,
    load_held_out_cases,
    load_smpl_poses,
    template_joints,
)
from tools.pose_prior_mixture import (  # noqa: E402
    Candidate,
    fit_em,
    gaussian_log_likelihood,
    min_component_energy,
    mirror,
    regularised,
    scores,
)
from tools.retarget_bvh import (  # noqa: E402
    SMPL_JOINT_NAMES,
    bone_direction_errors,
    fit_calibration,
    global_to_pose,
)

logger = logging.getLogger("train_pose_prior")

SHIPPED = REPO_ROOT / "blender_smplify" / "data" / "pose_prior.npz"

CMU_ACKNOWLEDGEMENT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created "
    "with funding from NSF EIA-0196217."
)
HDM05_ACKNOWLEDGEMENT = "The data used in this project was obtained from HDM05."
HDM05_CITATION = (
    "M. Müller, T. Röder, M. Clausen, B. Eberhardt, B. Krüger, A. Weber. Documentation Mocap "
    "Database HDM05. Technical report CG-2007-2, Universität Bonn, June 2007."
)
LICENCE = (
    "CC BY-SA 4.0 (the file adapts HDM05, licensed CC BY-SA 3.0, whose share-alike clause "
    "allows a later version); the CMU data is free for all uses."
)


def retarget_agreement(mocap_dir: Path) -> dict[str, dict]:
    """How well the two conversions of each duplicated trial agree after retargeting.

    For each 31-joint walk, the calibration is fitted on the other walks only (leave one out);
    05_06 (MotionBuilder-named skeleton) is compared uncalibrated.

    Returns
    -------
    dict
        trial -> {"mean_deg": mean local-rotation difference over all frames and 23 joints,
        "mean_deg_without_hands": the same without wrists and hands, "median_deg": per joint}.
    """
    pairs = duplicate_pairs(mocap_dir, calibration=None)
    body = [
        j
        for j in range(1, 24)
        if "wrist" not in SMPL_JOINT_NAMES[j] and "hand" not in SMPL_JOINT_NAMES[j]
    ]
    out = {}
    for trial, (a, b) in pairs.items():
        if trial != "cgspeed/05_06":
            others = {t: p for t, p in pairs.items() if t not in (trial, "cgspeed/05_06")}
            b = b.copy()
            for j, d in fit_calibration(others).items():
                b[:, j] = b[:, j] @ d
        pa, pb = global_to_pose(a)[:, 3:], global_to_pose(b)[:, 3:]
        diff = Rotation.from_rotvec(pa.reshape(-1, 3)).inv() * Rotation.from_rotvec(
            pb.reshape(-1, 3)
        )
        ang = np.degrees(diff.magnitude()).reshape(len(pa), 23)
        out[trial] = {
            "frames": len(pa),
            "mean_deg": round(float(ang.mean()), 2),
            "mean_deg_without_hands": round(float(ang[:, [j - 1 for j in body]].mean()), 2),
            "median_deg": {
                SMPL_JOINT_NAMES[j + 1]: round(float(np.median(ang[:, j])), 1) for j in range(23)
            },
        }
        logger.info(
            "retarget agreement %s: mean %.1f deg (%.1f without wrists and hands)",
            trial,
            out[trial]["mean_deg"],
            out[trial]["mean_deg_without_hands"],
        )
    return out


_LIMB_BONES = tuple(
    f"{side}_{a}-{side}_{b}"
    for side in ("left", "right")
    for a, b in (
        ("hip", "knee"),
        ("knee", "ankle"),
        ("ankle", "foot"),
        ("shoulder", "elbow"),
        ("elbow", "wrist"),
    )
)


def bone_direction_check(mocap_dir: Path, trials: tuple[str, ...]) -> dict[str, dict]:
    """Median angle (degrees) between posed template limb bones and the mocap limb segments."""
    template = template_joints()[0]
    available = list_trials(mocap_dir)
    poses = load_smpl_poses(mocap_dir, trials, template)
    cc_rest = read_bvh(Path(mocap_dir) / CCBASE_REST[0])
    out = {}
    for t in trials:
        bvh = read_bvh(available[t])
        if t.startswith("iclone/"):
            errors = bone_direction_errors(bvh, poses[t], template, cc_rest, CCBASE_REST[1], 1)
        else:
            errors = bone_direction_errors(bvh, poses[t], template)
        out[t] = {b: round(float(np.median(errors[b])), 2) for b in _LIMB_BONES if b in errors}
        logger.info(
            "limb bone directions vs mocap, %s: median %.1f to %.1f deg",
            t,
            min(out[t].values()),
            max(out[t].values()),
        )
    return out


def hdm05_direction_check(hdm05_dir: Path, clips: tuple[str, ...]) -> dict[str, dict]:
    """Median angle (degrees) between posed template limb bones and the ASF limb segments."""
    template = template_joints()[0]
    info = list_hdm05_clips(hdm05_dir)
    out = {}
    for name in clips:
        clip = info[name]
        poses = load_hdm05_poses(hdm05_dir, classes=[clip.activity], template=template)
        errors = bone_direction_errors(
            read_amc(clip.amc, read_asf(clip.asf)), poses[name], template
        )
        out[name] = {b: round(float(np.median(errors[b])), 2) for b in _LIMB_BONES if b in errors}
    return out


def collect(
    mocap_dir: Path, hdm05_dir: Path, min_change: float, max_speed: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, tuple[int, int]]]:
    """Cleaned body poses (N, 69) per training trial or clip, per held-out category, and the
    frame counts (raw, kept) per training trial or clip."""
    drop = {cgs for _, cgs in DUPLICATE_TRIALS} | set(HELD_OUT_TRIALS)
    cmu = load_smpl_poses(mocap_dir, [t for t in list_trials(mocap_dir) if t not in drop])
    hdm05 = load_hdm05_poses(hdm05_dir, split="train")
    train, counts = {}, {}
    for name, pose in (cmu | hdm05).items():
        train[name] = clean_poses(name, pose, min_change, max_speed)[:, 3:]
        counts[name] = (len(pose), len(train[name]))
    held = {k: v[:, 3:] for k, v in load_held_out_cases(mocap_dir, hdm05_dir, min_change).items()}
    return train, held, counts


def load_or_collect(args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """:func:`collect`, or its result read from ``args.cache`` (written there the first time).

    The frames are retargeted onto the template's rest bones, so a cache written for another
    template (the open models rebuilt since) is collected again and overwritten."""
    template = template_key()
    if args.cache is not None and args.cache.exists():
        with np.load(args.cache, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("template") == template:
                train = {k: data[f"train:{k}"] for k in meta["train"]}
                held = {k: data[f"held:{k}"] for k in meta["held"]}
                logger.info("read retargeted frames from %s", args.cache)
                return train, held, {k: tuple(v) for k, v in meta["counts"].items()}
        logger.info("%s was retargeted onto another template: collecting again", args.cache)
    train, held, counts = collect(args.mocap_dir, args.hdm05_dir, args.min_change, args.max_speed)
    if args.cache is not None:
        meta = {"train": list(train), "held": list(held), "counts": counts, "template": template}
        np.savez(
            args.cache,
            meta=np.array(json.dumps(meta)),
            **{f"train:{k}": v for k, v in train.items()},
            **{f"held:{k}": v for k, v in held.items()},
        )
    return train, held, counts


def template_key() -> str:
    """A short fingerprint of the template's rest joints (the frames and EM results depend on
    them): the first 12 hex digits of their SHA-256 at 0.1 mm."""
    joints = np.round(template_joints()[0] * 1e4).astype(np.int64)
    return hashlib.sha256(joints.tobytes()).hexdigest()[:12]


def cached_em(args: argparse.Namespace, x_train: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """:func:`fit_em` on the training frames, or its result from ``args.cache``'s folder (named
    by the template, since the frames are)."""
    path = None
    if args.cache is not None:
        name = f"{args.cache.stem}_em_K{k}_seed{args.seed}_{template_key()}.npz"
        path = args.cache.with_name(name)
        if path.exists():
            with np.load(path) as data:
                return {key: data[key] for key in data.files}
    em = fit_em(x_train, k, args.seed, max_iter=args.max_iter)
    if path is not None:
        np.savez(path, **em)
    return em


def table(rows: dict[str, dict[str, float]], held: list[str]) -> str:
    """Markdown table: one row per prior, columns train, each held-out category, their mean."""
    cols = ["train", *held, "held_out_mean"]
    lines = ["| prior | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{s[c]:.1f}" for c in cols) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mocap-dir", type=Path, default=DEFAULT_MOCAP_DIR)
    parser.add_argument("--hdm05-dir", type=Path, default=DEFAULT_HDM05_DIR)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument(
        "--compare",
        type=Path,
        default=SHIPPED,
        help="a prior to score beside the candidates (default: the shipped one)",
    )
    parser.add_argument("--cache", type=Path, default=None, help="npz of the retargeted frames")
    parser.add_argument("--components", type=int, nargs="+", default=[8, 16])
    parser.add_argument(
        "--min-change",
        type=float,
        default=5.0,
        help="keep a frame when a joint turned by more than this (degrees)",
    )
    parser.add_argument(
        "--max-speed",
        type=float,
        default=1500.0,
        help="drop frames next to a joint turning faster (deg/s): glitches",
    )
    parser.add_argument(
        "--floor",
        type=float,
        nargs="+",
        default=[0.0, 1e-3],
        help="candidate covariance floors added after EM (rad^2)",
    )
    parser.add_argument(
        "--shrink",
        type=float,
        nargs="+",
        default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9],
        help="candidate weights pulling each component's covariance towards the global one",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", type=int, default=100, help="EM iterations at most")
    parser.add_argument(
        "--skip-checks",
        action="store_true",
        help="skip the retargeting checks (duplicate trials, bone directions)",
    )
    parser.add_argument("--report", type=Path, default=None, help="write figures as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.time()
    checks = {}
    if not args.skip_checks:
        checks["retarget_agreement_duplicates"] = retarget_agreement(args.mocap_dir)
        checks["limb_bone_direction_median_deg"] = bone_direction_check(
            args.mocap_dir, ("iclone/005_07", "iclone/002_05", "cgspeed/16_15", "cgspeed/35_01")
        ) | hdm05_direction_check(
            args.hdm05_dir, ("hdm05/HDM_bd_squat1Reps_001", "hdm05/HDM_bk_grabHighR_007")
        )
    train, held, counts = load_or_collect(args)
    x_train = np.concatenate(list(train.values()))
    x_train = np.concatenate([x_train, mirror(x_train)])
    logger.info(
        "%d training trials and clips in %.0f s: %d frames with mirrors; held out: %s",
        len(train),
        time.time() - t0,
        len(x_train),
        {k: len(v) for k, v in held.items()},
    )

    rows, arrays_by = {}, {}
    x_score = x_train[::5]  # the training log-likelihood on every fifth frame (speed)
    if args.compare.exists():
        with np.load(args.compare, allow_pickle=False) as data:
            old = {
                k: data[k] for k in ("weights", "means", "precisions_cholesky", "log_normalizers")
            }
        rows[f"previous ({args.compare.name}, K={len(old['weights'])})"] = scores(
            old, x_train, held
        )
    for k in args.components:
        t1 = time.time()
        em = cached_em(args, x_train, k)
        for cand, arrays in regularised(em, x_train, args.floor, args.shrink).items():
            arrays_by[cand] = arrays
            rows[cand.label()] = scores(arrays, x_score, held)
            logger.info(
                "%s: %s", cand.label(), {n: round(v, 1) for n, v in rows[cand.label()].items()}
            )
        logger.info("K=%d: fitted and scored in %.0f s", k, time.time() - t1)
    best = max(arrays_by, key=lambda c: rows[c.label()]["held_out_mean"])
    arrays = arrays_by[best]
    logger.info("chosen: %s\n%s", best.label(), table(rows, list(held)))
    write(args, arrays, best, rows, train, held, counts, checks, x_train)
    return 0


def write(args, arrays, best: Candidate, rows, train, held, counts, checks, x_train) -> None:
    """Save the chosen mixture with its provenance (and the figures as JSON if asked)."""
    x_cmu = held[next(iter(held))]
    cov = np.cov(x_train.T) + (best.floor + 1e-4) * np.eye(x_train.shape[1])
    single = float(gaussian_log_likelihood(x_cmu, x_train.mean(0), cov).mean())
    energy = {n: min_component_energy(x, arrays) for n, x in held.items()}
    provenance = {
        "description": "Gaussian mixture over the SMPL body pose (69 axis-angle numbers, joints "
        "1..23), learned from CMU and HDM05 motion capture by tools/train_pose_prior.py",
        "acknowledgement": [CMU_ACKNOWLEDGEMENT, HDM05_ACKNOWLEDGEMENT],
        "citation": HDM05_CITATION,
        "licence": LICENCE,
        "template": template_joints()[1],
        "training_trials": sorted(train),
        "held_out_trials": sorted(HELD_OUT_TRIALS),
        "held_out_hdm05_classes": list(HDM05_HELD_OUT_CLASSES),
        "held_out_hdm05_actors": list(HDM05_HELD_OUT_ACTORS),
        "training_frames": int(len(x_train)),
        "held_out_frames": {n: int(len(x)) for n, x in held.items()},
        "min_change_deg": args.min_change,
        "components": best.components,
        "reg_covar_during_em": 1e-4,
        "covariance_floor": best.floor,
        "shrink_to_global_covariance": best.shrink,
        "seed": args.seed,
        "log_likelihood_per_frame": rows,
        "held_out_log_likelihood": rows[best.label()][next(iter(held))],
        "held_out_log_likelihood_single_gaussian": single,
        "training_log_likelihood": rows[best.label()]["train"],
        "held_out_min_component_energy_median": {
            n: float(np.median(e)) for n, e in energy.items()
        },
        **checks,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        **{k: v.astype(np.float64) for k, v in arrays.items()},
        held_out_trials=np.array(sorted(HELD_OUT_TRIALS)),
        training_trials=np.array(sorted(train)),
        provenance=np.array(json.dumps(provenance)),
        template_joints=template_joints()[0],
        acknowledgement=np.array(" ".join([CMU_ACKNOWLEDGEMENT, HDM05_ACKNOWLEDGEMENT])),
        licence=np.array(LICENCE),
    )
    logger.info("wrote %s (%d bytes)", args.out, args.out.stat().st_size)
    if args.report:
        provenance["frame_counts"] = counts
        args.report.write_text(json.dumps(provenance, indent=1))


if __name__ == "__main__":
    sys.exit(main())
