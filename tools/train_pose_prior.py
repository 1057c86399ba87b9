"""Learn the SMPL body-pose prior (a Gaussian mixture) from the CMU motion capture in BVH.

Usage (from the repository root, in a venv with numpy, scipy and scikit-learn)::

    python tools/train_pose_prior.py [--mocap-dir ../shared/data/mocap] \
        [--out blender_smplify/data/pose_prior.npz]

Steps: retarget every trial to SMPL poses (``tools/pose_prior_data.py``), drop the 31-joint
copies of trials that the CC_Base folder also holds, keep a frame only when some joint has turned
by more than ``--min-change`` degrees since the last kept frame, leave out
:data:`HELD_OUT_TRIALS`, add left-right mirrored copies of the training frames, fit an
``--components``-component full-covariance mixture on the 69 body-pose numbers, and report the
held-out average log-likelihood per frame next to a single Gaussian's.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.bvh import read_bvh  # noqa: E402
from tools.pose_prior_data import (  # noqa: E402
    CCBASE_REST,
    DEFAULT_MOCAP_DIR,
    DUPLICATE_TRIALS,
    HELD_OUT_TRIALS,
    REPO_ROOT,
    duplicate_pairs,
    list_trials,
    load_smpl_poses,
    spike_free,
    subsample,
    template_joints,
    trial_fps,
)
from tools.retarget_bvh import (  # noqa: E402
    SMPL_JOINT_NAMES,
    bone_direction_errors,
    fit_calibration,
    global_to_pose,
)

logger = logging.getLogger("train_pose_prior")

#: Training trials set aside to choose the covariance floor and shrinkage (then used in training).
VALIDATION_TRIALS = (
    "iclone/001_08",
    "iclone/002_07",
    "iclone/005_11",
    "iclone/006_09",
    "iclone/007_05",
    "cgspeed/12_01",
    "cgspeed/29_01",
    "cgspeed/46_01",
)

CMU_ACKNOWLEDGEMENT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created "
    "with funding from NSF EIA-0196217."
)
_LEFT_RIGHT = np.array(
    [
        SMPL_JOINT_NAMES.index(
            n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
        )
        for n in SMPL_JOINT_NAMES
    ]
)


def mirror(body_pose: np.ndarray) -> np.ndarray:
    """Left-right mirror images of body poses (N, 69): swap sides, negate y and z of rotations."""
    full = np.concatenate([np.zeros((len(body_pose), 3)), body_pose], axis=1).reshape(-1, 24, 3)
    out = full[:, _LEFT_RIGHT] * np.array([1.0, -1.0, -1.0])
    return out.reshape(-1, 72)[:, 3:]


def gaussian_log_likelihood(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; mean, cov) per row of x (N, D)."""
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, (x - mean).T)
    return (
        -0.5 * (z**2).sum(0) - np.log(np.diag(chol)).sum() - 0.5 * x.shape[1] * np.log(2 * np.pi)
    )


def mixture_arrays(weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> dict:
    """The arrays shipped in pose_prior.npz, including the sum-of-squares form.

    ``precisions_cholesky[k]`` is lower triangular L with inverse(cov_k) = L L^T, and
    ``-log(w_k N(x; mu_k, cov_k)) = 0.5 ||L^T (x - mu_k)||^2 - log_normalizers[k]``.
    """
    d = means.shape[1]
    prec_chol = np.empty_like(covariances)
    log_norm = np.empty(len(weights))
    for k, cov in enumerate(covariances):
        prec = np.linalg.inv(cov)
        prec = 0.5 * (prec + prec.T)
        prec_chol[k] = np.linalg.cholesky(prec)
        log_norm[k] = (
            np.log(weights[k]) - 0.5 * d * np.log(2 * np.pi) + np.log(np.diag(prec_chol[k])).sum()
        )
    return {
        "weights": weights,
        "means": means,
        "covariances": covariances,
        "precisions_cholesky": prec_chol,
        "log_normalizers": log_norm,
    }


def mixture_log_likelihood(x: np.ndarray, arrays: dict) -> np.ndarray:
    """log sum_k w_k N(x; mu_k, cov_k) per row, from the shipped arrays."""
    terms = []
    for k in range(len(arrays["weights"])):
        r = (x - arrays["means"][k]) @ arrays["precisions_cholesky"][k]
        terms.append(arrays["log_normalizers"][k] - 0.5 * (r**2).sum(1))
    terms = np.stack(terms, axis=1)
    top = terms.max(1)
    return top + np.log(np.exp(terms - top[:, None]).sum(1))


def min_component_energy(x: np.ndarray, arrays: dict) -> np.ndarray:
    """min_k -log(w_k N(x; mu_k, cov_k)) per row: the pose-prior energy of SMPLify."""
    terms = [
        0.5 * (((x - m) @ chol) ** 2).sum(1) - c
        for m, chol, c in zip(
            arrays["means"], arrays["precisions_cholesky"], arrays["log_normalizers"], strict=True
        )
    ]
    return np.min(terms, axis=0)


def fit_mixture(
    x: np.ndarray, components: int, reg: float, shrinks: list[float], seed: int
) -> dict[float, dict]:
    """EM fit (scikit-learn), then each component covariance pulled towards the global one.

    Returns
    -------
    dict
        shrink weight -> shipped arrays (see :func:`mixture_arrays`).
    """
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(
        components,
        covariance_type="full",
        reg_covar=reg,
        n_init=1,
        max_iter=300,
        random_state=seed,
    ).fit(x)
    glob = np.cov(x.T) + reg * np.eye(x.shape[1])
    return {
        a: mixture_arrays(gmm.weights_, gmm.means_, (1 - a) * gmm.covariances_ + a * glob)
        for a in shrinks
    }


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
    for a, b in (("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("shoulder", "elbow"),
                 ("elbow", "wrist"))
)  # fmt: skip


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
        logger.info("limb bone directions vs mocap, %s: median %.1f to %.1f deg", t,
                    min(out[t].values()), max(out[t].values()))  # fmt: skip
    return out


def collect(
    mocap_dir: Path, min_change: float, max_speed: float = 1500.0
) -> tuple[dict, dict, dict]:
    """Subsampled body poses per trial for training and held-out, and frame counts."""
    drop = {cgs for _, cgs in DUPLICATE_TRIALS}
    poses = load_smpl_poses(mocap_dir)
    train, held, counts = {}, {}, {}
    for trial, pose in poses.items():
        if trial in drop:
            continue
        clean = pose[spike_free(pose, trial_fps(trial), max_speed)]
        keep = subsample(clean, min_change)
        counts[trial] = (len(pose), len(clean), len(keep))
        (held if trial in HELD_OUT_TRIALS else train)[trial] = clean[keep, 3:]
    return train, held, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mocap-dir", type=Path, default=DEFAULT_MOCAP_DIR)
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "blender_smplify" / "data" / "pose_prior.npz"
    )
    parser.add_argument("--components", type=int, default=8)
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
        "--reg-covar",
        type=float,
        nargs="+",
        default=[1e-4, 1e-3],
        help="candidate covariance floors (rad^2), chosen on validation trials",
    )
    parser.add_argument(
        "--shrink",
        type=float,
        nargs="+",
        default=[0.0, 0.1, 0.2, 0.3, 0.5],
        help="candidate weights pulling each component's covariance towards "
        "the global one, chosen on validation trials",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, default=None, help="write figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.time()
    agreement = retarget_agreement(args.mocap_dir)
    directions = bone_direction_check(
        args.mocap_dir, ("iclone/005_07", "iclone/002_05", "cgspeed/16_15", "cgspeed/35_01")
    )
    train, held, counts = collect(args.mocap_dir, args.min_change, args.max_speed)
    x_train = np.concatenate(list(train.values()))
    x_train = np.concatenate([x_train, mirror(x_train)])
    x_held = np.concatenate(list(held.values()))
    logger.info(
        "retargeted %d trials in %.0f s: %d training frames (with mirrors), %d held-out",
        len(counts),
        time.time() - t0,
        len(x_train),
        len(x_held),
    )

    val_names = [t for t in train if t in VALIDATION_TRIALS]
    x_fit = np.concatenate([v for t, v in train.items() if t not in VALIDATION_TRIALS])
    x_fit = np.concatenate([x_fit, mirror(x_fit)])
    x_val = np.concatenate([train[t] for t in val_names])
    scores = {}
    for reg in args.reg_covar:
        arrays_by_shrink = fit_mixture(x_fit, args.components, reg, args.shrink, args.seed)
        for shrink, arrays in arrays_by_shrink.items():
            scores[(reg, shrink)] = float(mixture_log_likelihood(x_val, arrays).mean())
            logger.info(
                "validation (%d frames of %d trials): reg_covar %g shrink %g: "
                "mean log-likelihood %.2f",
                len(x_val),
                len(val_names),
                reg,
                shrink,
                scores[(reg, shrink)],
            )
    reg, shrink = max(scores, key=scores.get)
    arrays = fit_mixture(x_train, args.components, reg, [shrink], args.seed)[shrink]
    held_ll = float(mixture_log_likelihood(x_held, arrays).mean())
    train_ll = float(mixture_log_likelihood(x_train, arrays).mean())
    cov = np.cov(x_train.T) + reg * np.eye(x_train.shape[1])
    single = float(gaussian_log_likelihood(x_held, x_train.mean(0), cov).mean())
    per_trial = {t: float(mixture_log_likelihood(v, arrays).mean()) for t, v in held.items()}
    energy = min_component_energy(x_held, arrays)
    logger.info(
        "held-out min-component energy (what the fit minimises): median %.1f, 90th "
        "percentile %.1f; at the mixture mean %.1f",
        np.median(energy),
        np.percentile(energy, 90),
        min_component_energy((arrays["weights"] @ arrays["means"])[None], arrays)[0],
    )
    logger.info(
        "chosen reg_covar %g, shrink %g: held-out mean log-likelihood per frame %.2f "
        "(single Gaussian %.2f), training %.2f",
        reg,
        shrink,
        held_ll,
        single,
        train_ll,
    )
    for t, v in per_trial.items():
        logger.info("  held-out %s: %.2f", t, v)
    tpl_source = template_joints()[1]
    provenance = {
        "description": "Gaussian mixture over the SMPL body pose (69 axis-angle numbers, joints "
        "1..23), learned from CMU motion capture by tools/train_pose_prior.py",
        "acknowledgement": CMU_ACKNOWLEDGEMENT,
        "template": tpl_source,
        "training_trials": sorted(train),
        "held_out_trials": sorted(held),
        "training_frames": int(len(x_train)),
        "held_out_frames": int(len(x_held)),
        "min_change_deg": args.min_change,
        "reg_covar": reg,
        "shrink_to_global_covariance": shrink,
        "validation_trials": val_names,
        "validation_log_likelihood": {f"{r} {a}": v for (r, a), v in scores.items()},
        "held_out_log_likelihood_per_trial": per_trial,
        "retarget_agreement_duplicates": agreement,
        "limb_bone_direction_median_deg": directions,
        "held_out_min_component_energy_median": float(np.median(energy)),
        "held_out_min_component_energy_p90": float(np.percentile(energy, 90)),
        "held_out_log_likelihood": held_ll,
        "held_out_log_likelihood_single_gaussian": single,
        "training_log_likelihood": train_ll,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        **{k: v.astype(np.float64) for k, v in arrays.items()},
        held_out_trials=np.array(sorted(held)),
        training_trials=np.array(sorted(train)),
        provenance=np.array(json.dumps(provenance)),
        template_joints=template_joints()[0],
        acknowledgement=np.array(CMU_ACKNOWLEDGEMENT),
    )
    logger.info("wrote %s (%d bytes)", args.out, args.out.stat().st_size)
    if args.report:
        provenance["frame_counts"] = counts
        args.report.write_text(json.dumps(provenance, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
