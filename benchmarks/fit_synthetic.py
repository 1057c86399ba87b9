"""Synthetic benchmark of the SMPLify fit: accuracy and speed on held-out mocap poses.

Ground truth: poses from the motion-capture trials held out of the pose prior's training
(``tools.pose_prior_data.HELD_OUT_TRIALS``), shapes β ~ N(0, I), the body 2-6 m in front of a
1000 px-high pinhole camera (f = 1000 px, 750 × 1000 image) turned by a random yaw about the
vertical. Keypoints of the layout are projected, get Gaussian noise (σ = 3 px), and 10 % of them
(plus any outside the image) are dropped. The fit gets the true focal length.

Reported per method: median and 90th percentile of PA-MPJPE (mm, 24 joints after a similarity
Procrustes alignment), MPJPE (mm, pelvis-aligned), 2D reprojection error (px, fitted keypoints
vs the noisy input ones that were kept) and fit time (ms). The baseline is the same fit with
forward finite-difference Jacobians (``FitOptions(jacobian="2-point")``) on the first cases.

    .venv/bin/python benchmarks/fit_synthetic.py [--cases 100] [--layout smpl24]
        [--baseline-cases 10] [--split held-out|held-out-activities|held-out-all|train]
        [--model SMPL.pkl] [--mocap-dir DIR]
        [--png benchmarks/out/fit_synthetic.png]

The data (mocap BVH files) and where they come from: ``benchmarks/DATA.md``. The studies of the
fit's design choices (landmark offsets, detector hips, default focal length) are in
``benchmarks/studies/`` and build their cases with this module's functions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))  # depth_metrics, also when imported as a module

from depth_metrics import pa_mpjpe

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.errors import ModelFileError
from blender_smplify.core.fit import FitOptions, fit
from blender_smplify.core.keypoints import Keypoints2D, get_layout
from blender_smplify.core.objective import SmplifyWeights
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues
from tools.pose_prior_data import (
    DEFAULT_MOCAP_DIR,
    HDM05_HELD_OUT_CLASSES,
    HELD_OUT_TRIALS,
    clean_poses,
    list_trials,
    load_held_out_cases,
    load_held_out_poses,
    load_smpl_poses,
)

IMAGE_SIZE = (750, 1000)
FOCAL = 1000.0


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose the body model and the cases (shared with the studies)."""
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument(
        "--split",
        choices=("held-out", "held-out-activities", "held-out-all", "train"),
        default="held-out",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="body model file (default: the open model)")
    parser.add_argument(
        "--mocap-dir",
        type=Path,
        default=None,
        help="the mocap folder (default: ../shared/data/mocap; see benchmarks/DATA.md)",
    )


def prepare(args: argparse.Namespace) -> tuple[BodyModel, str, np.ndarray, np.random.Generator]:
    """Model, its name, the ground-truth poses (cases, 72) and the random generator that goes on
    to make the cases; the fit is warmed up (caches, imports) and the set-up printed."""
    model, model_name, poses, _, rng = prepare_labelled(args)
    return model, model_name, poses, rng


def prepare_labelled(
    args: argparse.Namespace,
) -> tuple[BodyModel, str, np.ndarray, list[str], np.random.Generator]:
    """:func:`prepare`, with each pose's trial or activity (cases,) after the poses."""
    rng = np.random.default_rng(args.seed)
    model, model_name = load_model(args.model)
    poses, labels = load_labelled_poses(args.split, args.cases, rng, args.mocap_dir)
    warm_up = Keypoints2D(
        "smpl24", np.random.default_rng(0).uniform(300, 400, (24, 2)), np.ones(24)
    )
    fit(model, warm_up, IMAGE_SIZE, FOCAL)
    print(
        f"model: {model_name}; {len(poses)} cases from the {args.split} mocap trials; noise "
        f"3 px, 10 % dropped; {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} px"
    )
    return model, model_name, poses, labels, rng


def load_model(path: str | None) -> tuple[BodyModel, str]:
    """The body model to fit and its name; a missing or unreadable file ends the run with its
    error (there is no stand-in body)."""
    try:
        model = BodyModel.load(path)
    except ModelFileError as exc:
        raise SystemExit(f"error: {exc}") from exc
    return model, "open body model" if path is None else path


def load_poses(
    split: str, cases: int, rng: np.random.Generator, mocap_dir: Path | None = None
) -> np.ndarray:
    """(cases, 72) mocap poses sampled evenly over the trials or activities of a split, cleaned
    as the prior's training data (glitch frames and near-duplicates dropped).

    Splits: "held-out", the CMU trials held out of the prior (``HELD_OUT_TRIALS``);
    "held-out-activities", the HDM05 activities the prior never saw (``HDM05_HELD_OUT_CLASSES``:
    lying down, front kicks, basketball throws; all actors); "held-out-all", every held-out
    category of ``load_held_out_cases`` (also the HDM05 actors never trained on); "train".
    """
    return load_labelled_poses(split, cases, rng, mocap_dir)[0]


def load_labelled_poses(
    split: str, cases: int, rng: np.random.Generator, mocap_dir: Path | None = None
) -> tuple[np.ndarray, list[str]]:
    """:func:`load_poses` (the same draws), with each pose's trial or category (cases,)."""
    try:
        poses = _split_poses(split, rng, mocap_dir)
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc} (the mocap data: see benchmarks/DATA.md)") from exc
    if not poses:
        raise SystemExit(f"error: no mocap trials found in {mocap_dir or DEFAULT_MOCAP_DIR}")
    per = int(np.ceil(cases / len(poses)))
    out, names = [], []
    for name, motion in poses.items():
        idx = rng.choice(len(motion), size=min(per, len(motion)), replace=False)
        out.extend(motion[idx])
        names.extend([name] * len(idx))
    order = rng.permutation(len(out))[:cases]
    return np.array(out)[order], [names[i] for i in order]


def _split_poses(
    split: str, rng: np.random.Generator, mocap_dir: Path | None
) -> dict[str, np.ndarray]:
    """Cleaned poses (N, 72) per trial or category: the held-out ones, or 12 random training
    trials."""
    if split == "held-out":
        return load_held_out_poses() if mocap_dir is None else load_held_out_poses(mocap_dir)
    if split in ("held-out-activities", "held-out-all"):
        cases = load_held_out_cases() if mocap_dir is None else load_held_out_cases(mocap_dir)
        if split == "held-out-activities":
            return {f"hdm05/{c}": cases[f"hdm05/{c}"] for c in HDM05_HELD_OUT_CLASSES}
        return cases
    folder = DEFAULT_MOCAP_DIR if mocap_dir is None else mocap_dir
    trials = [t for t in list_trials(folder) if t not in HELD_OUT_TRIALS]
    trials = list(rng.choice(trials, size=min(12, len(trials)), replace=False))
    loaded = load_smpl_poses(folder, trials)
    return {t: clean_poses(t, p) for t, p in loaded.items()}


def make_case(model, kin, layout, pose, rng, beta_scale=1.0):
    """Ground truth (pose, betas, transl), joints (24, 3), keypoints and their clean pixels;
    β ~ N(0, I) times ``beta_scale`` (the same draws for any scale)."""
    nb = kin.num_betas
    betas = beta_scale * rng.normal(size=nb)
    yaw = rng.uniform(-np.pi, np.pi)
    # camera frame: upright (π about x), turned by the yaw, after the mocap's own root rotation
    root = (
        rodrigues(np.array([np.pi, 0, 0])) @ rodrigues(np.array([0, yaw, 0])) @ rodrigues(pose[:3])
    )
    pose = pose.copy()
    pose[:3] = matrix_to_rotvec(root)
    pts, _ = kin.evaluate(pose, betas, np.zeros(3), jacobian=False)
    depth = rng.uniform(2.0, 6.0)
    centre = pts[:24].mean(axis=0)
    transl = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.1, 0.1), depth]) - centre
    pts = pts + transl
    return pose, betas, transl, pts


def procrustes_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean joint error (m) after the similarity transform best aligning pred to gt."""
    return pa_mpjpe(pred, gt)


def run_case(
    model,
    layout,
    kp_points,
    truth_joints,
    options,
    weights,
    noise,
    keep,
    focal_true=FOCAL,
    focal_fit=None,
    fit_layout=None,
):
    """Fit one case (keypoints ``kp_points`` (K, 3) seen by a camera of focal ``focal_true``,
    fitted as ``fit_layout`` with ``focal_fit``, default the true one); returns metrics."""
    centre = np.array([IMAGE_SIZE[0] / 2, IMAGE_SIZE[1] / 2])
    xy = focal_true * kp_points[:, :2] / kp_points[:, 2:] + centre + noise
    conf = (
        keep
        & (xy[:, 0] >= 0)
        & (xy[:, 0] < IMAGE_SIZE[0])
        & (xy[:, 1] >= 0)
        & (xy[:, 1] < IMAGE_SIZE[1])
    )
    fit_layout = fit_layout or layout
    kp = Keypoints2D(fit_layout.name, xy, conf.astype(float))
    focal_fit = focal_true if focal_fit is None else focal_fit
    t0, c0 = time.perf_counter(), time.process_time()
    res = fit(model, kp, IMAGE_SIZE, focal_fit, weights=weights, options=options)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    fitted = fit_points(model, fit_layout, res)
    proj = focal_fit * fitted[:, :2] / fitted[:, 2:] + centre
    reproj = np.linalg.norm(proj - xy, axis=1)[conf & (fit_layout.weights > 0)].mean()
    joints = res.joints_3d
    pa = procrustes_error(joints, truth_joints)
    mpjpe = np.linalg.norm((joints - joints[0]) - (truth_joints - truth_joints[0]), axis=1).mean()
    return {
        "pa": 1e3 * pa,
        "mpjpe": 1e3 * mpjpe,
        "reproj": reproj,
        "ms": 1e3 * seconds,
        "cpu": 1e3 * cpu,
        "iterations": res.iterations,
    }


def fit_points(model, layout, res) -> np.ndarray:
    from blender_smplify.core.fit_setup import get_setup

    setup = get_setup(model, layout.name, len(res.betas), True)
    pts, _ = setup.kin.evaluate(res.pose, res.betas, res.transl, jacobian=False)
    return pts[setup.point_index]


def summary(rows: list[dict], key: str) -> tuple[float, float]:
    values = np.array([r[key] for r in rows])
    return float(np.median(values)), float(np.percentile(values, 90))


def write_histogram(path: Path, rows: list[dict], title: str) -> None:
    """Two histograms (PA-MPJPE, fit time) drawn with Pillow."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (900, 380), "white")
    draw = ImageDraw.Draw(img)
    draw.text((20, 8), title, fill="black")
    for panel, (key, label, top) in enumerate(
        (("pa", "PA-MPJPE (mm)", 150.0), ("ms", "fit time (ms)", 300.0))
    ):
        x0, y0, w, h = 40 + panel * 440, 40, 400, 290
        values = np.clip([r[key] for r in rows], 0, top * 0.999)
        counts, _ = np.histogram(values, bins=30, range=(0, top))
        scale = h / max(counts.max(), 1)
        for i, c in enumerate(counts):
            bx = x0 + i * w / 30
            draw.rectangle([bx, y0 + h - c * scale, bx + w / 30 - 2, y0 + h], fill=(70, 110, 180))
        draw.line([x0, y0 + h, x0 + w, y0 + h], fill="black")
        med = float(np.median([r[key] for r in rows]))
        mx = x0 + min(med, top) / top * w
        draw.line([mx, y0, mx, y0 + h], fill=(200, 40, 40), width=2)
        draw.text(
            (x0, y0 + h + 8),
            f"{label}: 0 .. {top:g} (last bin: overflow); red = median {med:.1f}",
            fill="black",
        )
        for frac in (0.0, 0.5, 1.0):
            draw.text((x0 + frac * w - 8, y0 + h + 22), f"{frac * top:g}", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def make_cases(model, layout, poses, rng, beta_scale=1.0):
    """Ground-truth keypoints (K, 3), joints (24, 3), noise (K, 2) and kept flags (K,); the
    bodies' β drawn as :func:`make_case` draws them."""
    from blender_smplify.core.fit_setup import get_setup

    setup = get_setup(model, layout.name, 10, True)
    cases = []
    for pose in poses:
        _, _, _, pts = make_case(model, setup.kin, layout, pose, rng, beta_scale)
        noise = rng.normal(scale=3.0, size=(len(layout), 2))
        keep = rng.uniform(size=len(layout)) >= 0.1
        cases.append((pts[setup.point_index], pts[:24], noise, keep))
    return cases


def table(results: list[tuple[str, list[dict]]]) -> None:
    """Median / 90th percentile per method; time = wall clock, CPU = this process's CPU time
    (what the wall time would be on an idle machine: the fit runs on one thread)."""
    print(
        f"{'method':<34}{'PA-MPJPE mm':>16}{'MPJPE mm':>16}{'reproj px':>14}{'time ms':>16}"
        f"{'CPU ms':>16}"
    )
    print(
        f"{'':<34}"
        + f"{'median / p90':>16}" * 2
        + f"{'median / p90':>14}"
        + f"{'median / p90':>16}" * 2
    )
    for name, rows in results:
        if rows:
            cells = [summary(rows, k) for k in ("pa", "mpjpe", "reproj", "ms", "cpu")]
            print(f"{name:<34}" + "".join(f"{a:>8.1f} / {b:<5.1f}" for a, b in cells))


def category_table(rows: list[dict], labels: list[str]) -> None:
    """PA-MPJPE median / p90 / mean per held-out category (the activities the prior never saw
    among them), by name."""
    pa = np.array([r["pa"] for r in rows])
    names = np.array(labels)
    print(f"{'category':<34}{'cases':>6}{'PA-MPJPE mm median / p90 / mean':>34}")
    for name in sorted(set(labels)):
        x = pa[names == name]
        print(
            f"{name:<34}{len(x):>6}"
            f"{np.median(x):>16.1f} / {np.percentile(x, 90):.1f} / {x.mean():.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_case_arguments(ap)
    ap.add_argument("--baseline-cases", type=int, default=10)
    ap.add_argument("--layout", default="smpl24")
    ap.add_argument(
        "--beta-scale",
        type=float,
        default=1.0,
        help="scale the bodies' shape draws (same random numbers): 0 = every body the mean one",
    )
    ap.add_argument("--png", default=str(ROOT / "benchmarks" / "out" / "fit_synthetic.png"))
    args = ap.parse_args(argv)

    layout = get_layout(args.layout)
    model, model_name, poses, labels, rng = prepare_labelled(args)
    weights = SmplifyWeights()
    cases = make_cases(model, layout, poses, rng, args.beta_scale)
    load_before = os.getloadavg()[0]
    analytic = [
        run_case(model, layout, c[0], c[1], FitOptions(), weights, c[2], c[3]) for c in cases
    ]
    nb = min(args.baseline_cases, len(cases))
    finite_differences = FitOptions(jacobian="2-point")
    baseline = [
        run_case(model, layout, c[0], c[1], finite_differences, weights, c[2], c[3])
        for c in cases[:nb]
    ]
    print(f"layout {layout.name}; f = {FOCAL:g} px, known to the fit")
    table(
        [
            (f"analytic dogleg (n={len(analytic)})", analytic),
            (f"2-point finite diff. (n={len(baseline)})", baseline),
            (f"analytic, same {nb} cases", analytic[:nb]),
        ]
    )
    times = np.array([r["ms"] for r in analytic])
    cpu = np.array([r["cpu"] for r in analytic])
    iterations = np.median([r["iterations"] for r in analytic])
    print(
        f"max fit time {times.max():.0f} ms wall, {cpu.max():.0f} ms CPU; fits over 1 s: "
        f"{(times > 1000).sum()}; median iterations {iterations:.0f}; load average before the "
        f"run {load_before:.1f}, after {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)"
    )
    if baseline:
        for key, what in (("ms", "wall"), ("cpu", "CPU")):
            ratio = np.median([r[key] for r in baseline]) / np.median(
                [r[key] for r in analytic[:nb]]
            )
            print(
                "speed-up of analytic Jacobians over 2-point finite differences "
                f"(median {what} time, same {nb} cases): {ratio:.0f}x"
            )
    title = f"fit_synthetic: {layout.name}, {len(cases)} {args.split} mocap cases, {model_name}"
    if args.split in ("held-out-activities", "held-out-all"):
        category_table(analytic, labels)
    write_histogram(Path(args.png), analytic, title)
    print(f"histogram: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
