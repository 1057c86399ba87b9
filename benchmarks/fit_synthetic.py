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
        [--baseline-cases 10] [--split held-out|train] [--png benchmarks/out/fit_synthetic.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender_smplify.core.errors import ModelFileError  # noqa: E402
from blender_smplify.core.fit import FitOptions, fit  # noqa: E402
from blender_smplify.core.fit_kinematics import kinematics_from_model  # noqa: E402
from blender_smplify.core.keypoints import Keypoints2D, get_layout  # noqa: E402
from blender_smplify.core.objective import SmplifyWeights  # noqa: E402
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues  # noqa: E402

IMAGE_SIZE = (750, 1000)
FOCAL = 1000.0


def load_model(path: str | None):
    from blender_smplify.core.body_model import BodyModel

    if path == "toy":
        sys.path.insert(0, str(ROOT / "tests" / "core"))
        from smplify_toy import make_toy_body

        return make_toy_body(), "synthetic toy body (tests/core/smplify_toy.py)"
    try:
        return BodyModel.load(path), "open body model" if path is None else path
    except TypeError:  # open model file newer than the loader: read its arrays directly
        from blender_smplify.core.body_model import open_model_path
        from blender_smplify.core.model_io import read_model_file

        data = read_model_file(path or open_model_path("neutral"))
        data.pop("gender", None)
        return BodyModel.from_arrays(**data), "open body model"
    except ModelFileError as exc:
        sys.path.insert(0, str(ROOT / "tests" / "core"))
        from smplify_toy import make_toy_body

        print(f"note: {exc}; using the synthetic toy body", file=sys.stderr)
        return make_toy_body(), "synthetic toy body (tests/core/smplify_toy.py)"


def load_poses(split: str, cases: int, rng: np.random.Generator) -> np.ndarray:
    """(cases, 72) mocap poses sampled evenly over the trials of a split."""
    from tools.pose_prior_data import HELD_OUT_TRIALS, list_trials, load_smpl_poses

    if split == "held-out":
        trials = list(HELD_OUT_TRIALS)
    else:
        trials = [t for t in list_trials() if t not in HELD_OUT_TRIALS]
        trials = list(rng.choice(trials, size=min(12, len(trials)), replace=False))
    poses = load_smpl_poses(trials=trials, template=prior_template())
    per = int(np.ceil(cases / len(poses)))
    out = []
    for motion in poses.values():
        idx = rng.choice(len(motion), size=min(per, len(motion)), replace=False)
        out.extend(motion[idx])
    out = np.array(out)
    return out[rng.permutation(len(out))[:cases]]


def prior_template() -> np.ndarray | None:
    """Rest joints the shipped pose prior was retargeted with (its provenance says which):
    ground truth must be retargeted the same way, or its poses mean something else."""
    import json

    from blender_smplify.core.priors import DEFAULT_POSE_PRIOR
    from tools.pose_prior_data import ROUGH_TEMPLATE_JOINTS

    with np.load(DEFAULT_POSE_PRIOR) as data:
        provenance = json.loads(str(data["provenance"])) if "provenance" in data else {}
    template = str(provenance.get("template", ""))
    return ROUGH_TEMPLATE_JOINTS if template.startswith("rough") else None


def make_case(model, kin, layout, pose, rng):
    """Ground truth (pose, betas, transl), joints (24, 3), keypoints and their clean pixels."""
    nb = kin.num_betas
    betas = rng.normal(size=nb)
    yaw = rng.uniform(-np.pi, np.pi)
    # camera frame: upright (π about x), turned by the yaw, after the mocap's own root rotation
    root = rodrigues(np.array([np.pi, 0, 0])) @ rodrigues(np.array([0, yaw, 0])) @ rodrigues(
        pose[:3]
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
    p, g = pred - pred.mean(0), gt - gt.mean(0)
    U, S, Vt = np.linalg.svd(g.T @ p)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.diag([1.0, 1.0, d])
    R = U @ D @ Vt
    s = (S * np.diag(D)).sum() / (p**2).sum()
    return float(np.linalg.norm(s * p @ R.T - g, axis=1).mean())


def run_case(model, layout, kp_points, truth_joints, options, weights, rng_noise, keep):
    """Fit one case; returns metrics."""
    centre = np.array([IMAGE_SIZE[0] / 2, IMAGE_SIZE[1] / 2])
    clean = FOCAL * kp_points[:, :2] / kp_points[:, 2:] + centre
    xy = clean + rng_noise
    conf = keep & (xy[:, 0] >= 0) & (xy[:, 0] < IMAGE_SIZE[0]) & (xy[:, 1] >= 0) & (
        xy[:, 1] < IMAGE_SIZE[1]
    )
    kp = Keypoints2D(layout.name, xy, conf.astype(float))
    t0 = time.perf_counter()
    res = fit(model, kp, IMAGE_SIZE, FOCAL, weights=weights, options=options)
    seconds = time.perf_counter() - t0
    fitted = fit_points(model, layout, res)
    proj = FOCAL * fitted[:, :2] / fitted[:, 2:] + centre
    reproj = np.linalg.norm(proj - xy, axis=1)[conf & (layout.weights > 0)].mean()
    joints = res.joints_3d
    pa = procrustes_error(joints, truth_joints)
    mpjpe = np.linalg.norm((joints - joints[0]) - (truth_joints - truth_joints[0]), axis=1).mean()
    return {"pa": 1e3 * pa, "mpjpe": 1e3 * mpjpe, "reproj": reproj, "ms": 1e3 * seconds,
            "iterations": res.iterations, "flipped": bool(res.pose[0] < 1.5)}  # fmt: skip


_KIN_CACHE: dict = {}


def fit_points(model, layout, res) -> np.ndarray:
    from blender_smplify.core.fit import _setup

    setup = _setup(model, layout.name, len(res.betas), True)
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
    for panel, (key, label, top) in enumerate((("pa", "PA-MPJPE (mm)", 150.0),
                                               ("ms", "fit time (ms)", 300.0))):  # fmt: skip
        x0, y0, w, h = 40 + panel * 440, 40, 400, 290
        values = np.clip([r[key] for r in rows], 0, top * 0.999)
        counts, edges = np.histogram(values, bins=30, range=(0, top))
        scale = h / max(counts.max(), 1)
        for i, c in enumerate(counts):
            bx = x0 + i * w / 30
            draw.rectangle([bx, y0 + h - c * scale, bx + w / 30 - 2, y0 + h], fill=(70, 110, 180))
        draw.line([x0, y0 + h, x0 + w, y0 + h], fill="black")
        med = float(np.median([r[key] for r in rows]))
        mx = x0 + min(med, top) / top * w
        draw.line([mx, y0, mx, y0 + h], fill=(200, 40, 40), width=2)
        draw.text((x0, y0 + h + 8), f"{label}: 0 .. {top:g} (last bin: overflow); "
                  f"red = median {med:.1f}", fill="black")  # fmt: skip
        for frac in (0.0, 0.5, 1.0):
            draw.text((x0 + frac * w - 8, y0 + h + 22), f"{frac * top:g}", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--baseline-cases", type=int, default=10)
    ap.add_argument("--layout", default="smpl24")
    ap.add_argument("--split", choices=("held-out", "train"), default="held-out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=None,
                    help="body model file, or 'toy' (default: the open model)")  # fmt: skip
    ap.add_argument("--png", default=str(ROOT / "benchmarks" / "out" / "fit_synthetic.png"))
    ap.add_argument("--pose-weight", type=float, default=None, help="final λθ (tuning)")
    ap.add_argument("--shape-weight", type=float, default=None, help="final λβ (tuning)")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    model, model_name = load_model(args.model)
    layout = get_layout(args.layout)
    weights = SmplifyWeights()
    if args.pose_weight is not None or args.shape_weight is not None:
        pw = args.pose_weight or weights.pose_prior[-1]
        sw = args.shape_weight or weights.shape_prior[-1]
        weights = SmplifyWeights(
            pose_prior=tuple(pw * w / 4.78 for w in (404.0, 404.0, 57.4, 4.78)),
            shape_prior=tuple(sw * w / 5.0 for w in (100.0, 50.0, 10.0, 5.0)),
        )
    poses = load_poses(args.split, args.cases, rng)
    from blender_smplify.core.fit import _setup

    kin = _setup(model, layout.name, 10, True).kin
    point_index = _setup(model, layout.name, 10, True).point_index
    cases = []
    for pose in poses:
        gt_pose, betas, transl, pts = make_case(model, kin, layout, pose, rng)
        noise = rng.normal(scale=3.0, size=(len(layout), 2))
        keep = rng.uniform(size=len(layout)) >= 0.1
        cases.append((pts[point_index], pts[:24], noise, keep, gt_pose))
    # warm-up (caches, imports) outside the timings
    fit(model, Keypoints2D(layout.name, FOCAL * cases[0][0][:, :2] / cases[0][0][:, 2:] + 400,
                           np.ones(len(layout))), IMAGE_SIZE, FOCAL)  # fmt: skip

    analytic = [run_case(model, layout, c[0], c[1], FitOptions(), weights, c[2], c[3])
                for c in cases]  # fmt: skip
    nb = min(args.baseline_cases, len(cases))
    baseline = [run_case(model, layout, c[0], c[1], FitOptions(jacobian="2-point"), weights,
                         c[2], c[3]) for c in cases[:nb]]  # fmt: skip

    print(f"model: {model_name}; layout {layout.name}; {len(cases)} cases from the "
          f"{args.split} mocap trials; noise 3 px, 10 % dropped; f = {FOCAL:g} px, "
          f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}")  # fmt: skip
    header = f"{'method':<28}{'PA-MPJPE mm':>16}{'MPJPE mm':>16}{'reproj px':>14}{'time ms':>16}"
    print(header)
    print(f"{'':<28}{'median / p90':>16}{'median / p90':>16}{'median / p90':>14}"
          f"{'median / p90':>16}")  # fmt: skip
    for name, rows in ((f"analytic dogleg (n={len(analytic)})", analytic),
                       (f"2-point FD (n={len(baseline)})", baseline),
                       (f"analytic, same {nb} cases", analytic[:nb])):  # fmt: skip
        if not rows:
            continue
        cells = [summary(rows, k) for k in ("pa", "mpjpe", "reproj", "ms")]
        print(f"{name:<28}" + "".join(f"{a:>8.1f} / {b:<5.1f}" for a, b in cells))
    times = np.array([r["ms"] for r in analytic])
    print(f"max fit time {times.max():.0f} ms; fits over 1 s: {(times > 1000).sum()}; "
          f"median iterations {np.median([r['iterations'] for r in analytic]):.0f}")
    if baseline:
        ratio = np.median([r["ms"] for r in baseline]) / np.median(
            [r["ms"] for r in analytic[:nb]]
        )
        print(f"speed-up of analytic Jacobians over 2-point finite differences "
              f"(median time, same {nb} cases): {ratio:.1f}x")  # fmt: skip
    write_histogram(Path(args.png), analytic,
                    f"fit_synthetic: {layout.name}, {len(cases)} held-out mocap cases, "
                    f"{model_name}")  # fmt: skip
    print(f"histogram: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
