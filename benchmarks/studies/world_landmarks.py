"""Study: BlazePose's world landmarks in the fit (bone directions and the facing decision).

Synthetic cases as ``benchmarks/fit_synthetic.py`` makes them (held-out mocap poses, β ~ N(0, I),
2-6 m from a 1000 px camera, any yaw including back views), fitted from ``blazepose33``
keypoints (3 px noise, 10 % dropped) and simulated BlazePose world landmarks: the true
landmarks (hip-centred) + Gaussian noise (σ per axis, default 4 cm: 6.4 cm mean 3D error) with
each of the 8 limb segments flipped in depth with probability ``--flip`` (its child end and
everything below it moved to the mirrored depth), visibilities U(0.7, 1), given in the frame
BlazePose uses (the view along the ray through the person, ``world_landmarks.py``), optionally
turned by a further random tilt (``--tilt`` degrees) that the conversion does not know.

Reported per variant: PA-MPJPE (24 joints) median / p90, the share of limb segments backwards
in depth (segments whose true |Δz| / length > 0.3 whose fitted Δz has the other sign), facing
right (the fitted root's forward direction within 90° of the true one in the horizontal
plane), the same for the simulated landmarks alone, and fit time.

    .venv/bin/python benchmarks/studies/world_landmarks.py [--cases 60] [--seed 0]
        [--noise 0.04] [--flip 0.05] [--tilt 0] [--variants base,facing,w50]
        [--split held-out|train]

Variants: ``base`` (no landmarks), ``facing`` (landmarks decide the facing only), ``wL``
(term with λw = L, σ 0.5), ``wLsS`` (σ = S), suffix ``nf`` (no facing decision).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fit_synthetic as fs  # read-only use of its case generation
from depth_metrics import LIMB_SEGMENTS

from blender_smplify.core import fit as fit_module
from blender_smplify.core.fit import FitOptions, fit
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.keypoints import Keypoints2D, get_layout
from blender_smplify.core.objective import SmplifyWeights
from blender_smplify.core.rotation import rodrigues
from blender_smplify.core.world_landmarks import WorldLandmarks, ray_rotation

#: SMPL limb segments scored for depth (parent joint, child joint).
LIMBS = LIMB_SEGMENTS
#: blazepose33 limb segments flipped in the simulation: (parent, child, landmarks that move).
FLIPPABLE = tuple(
    (f"{s}_{a}", f"{s}_{b}", tuple(f"{s}_{m}" for m in moved))
    for s in ("left", "right")
    for a, b, moved in (
        ("shoulder", "elbow", ("elbow", "wrist", "pinky", "index", "thumb")),
        ("elbow", "wrist", ("wrist", "pinky", "index", "thumb")),
        ("hip", "knee", ("knee", "ankle", "heel", "foot_index")),
        ("knee", "ankle", ("ankle", "heel", "foot_index")),
    )
)
CENTRE = np.array([fs.IMAGE_SIZE[0] / 2, fs.IMAGE_SIZE[1] / 2])


def simulate_world(kp_points, names, rng, noise, flip, tilt_deg):
    """BlazePose-like world landmarks (33, 3) in BlazePose's frame, and the crop centre."""
    idx = {n: i for i, n in enumerate(names)}
    hips = 0.5 * (kp_points[idx["left_hip"]] + kp_points[idx["right_hip"]])
    w = kp_points - hips
    for a, b, moved in FLIPPABLE:
        if rng.uniform() < flip:
            dz = w[idx[b], 2] - w[idx[a], 2]
            w[[idx[m] for m in moved], 2] -= 2.0 * dz
    w = w + rng.normal(scale=noise, size=w.shape)
    crop_centre = fs.FOCAL * hips[:2] / hips[2] + CENTRE
    R = ray_rotation(crop_centre, fs.FOCAL, CENTRE)
    if tilt_deg > 0:
        axis = rng.normal(size=3)
        R = R @ rodrigues(np.radians(tilt_deg) * axis / np.linalg.norm(axis))
    return w @ R, crop_centre  # camera = R · bp, so bp = Rᵀ · camera (rows: w @ R)


def backwards(fitted, truth):
    """(backwards, counted) limb segments: true |Δz|/length > 0.3, fitted Δz of other sign."""
    bad = count = 0
    for a, b in LIMBS:
        d = truth[b] - truth[a]
        if abs(d[2]) / np.linalg.norm(d) > 0.3:
            count += 1
            bad += np.sign(fitted[b, 2] - fitted[a, 2]) != np.sign(d[2])
    return int(bad), count


def facing_right(R_fit, R_true):
    f, t = R_fit[:, 2][[0, 2]], R_true[:, 2][[0, 2]]
    return float(f @ t) > 0


def make_cases(model, layout, n, rng, args):
    setup = get_setup(model, layout.name, 10, True)
    poses = fs.load_poses(args.split, n, rng)
    cases = []
    for pose in poses:
        pose_t, _, _, pts = fs.make_case(model, setup.kin, layout, pose, rng)
        kp = pts[setup.point_index]
        xy = fs.FOCAL * kp[:, :2] / kp[:, 2:] + CENTRE + rng.normal(scale=3.0, size=(len(kp), 2))
        keep = rng.uniform(size=len(kp)) >= 0.1
        inside = (
            (xy >= 0).all(axis=1) & (xy[:, 0] < fs.IMAGE_SIZE[0]) & (xy[:, 1] < fs.IMAGE_SIZE[1])
        )
        world, crop_centre = simulate_world(
            kp, layout.names, rng, args.noise, args.flip, args.tilt
        )
        vis = rng.uniform(0.7, 1.0, size=len(kp))
        cases.append(
            {
                "xy": xy,
                "conf": (keep & inside).astype(float),
                "joints": pts[:24],
                "root": rodrigues(pose_t[:3]),
                "world": WorldLandmarks(world, vis, 0.0, crop_centre),
                "kp": kp,
            }
        )
    return cases


def run(model, layout, cases, variant):
    weights, world_facing, use_world = SmplifyWeights(), fit_module.WORLD_FACING, True
    if variant == "base":
        use_world = False
    elif variant == "facing":
        weights = SmplifyWeights(world=0.0)
    elif variant.startswith("w"):  # w50, w50nf (no facing), w50s0.3 (sigma)
        spec = variant[1:]
        if spec.endswith("nf"):
            world_facing, spec = np.inf, spec[:-2]
        lam, _, sigma = spec.partition("s")
        weights = SmplifyWeights(world=float(lam), world_sigma=float(sigma or 0.5))
    fit_module.WORLD_FACING = world_facing
    rows = []
    try:
        for c in cases:
            kp = Keypoints2D(layout.name, c["xy"], c["conf"])
            t0 = time.process_time()
            res = fit(
                model,
                kp,
                fs.IMAGE_SIZE,
                fs.FOCAL,
                weights=weights,
                options=FitOptions(),
                world=c["world"] if use_world else None,
            )
            cpu = time.process_time() - t0
            bad, count = backwards(res.joints_3d, c["joints"])
            rows.append(
                {
                    "pa": 1e3 * fs.procrustes_error(res.joints_3d, c["joints"]),
                    "bad": bad,
                    "count": count,
                    "ms": 1e3 * cpu,
                    "facing": facing_right(rodrigues(res.pose[:3]), c["root"]),
                    "retry": any("poorly" in w for w in res.warnings),
                }
            )
    finally:
        fit_module.WORLD_FACING = 0.3
    return rows


def landmarks_alone(cases, layout):
    """Backwards share of the simulated landmarks themselves (camera frame, known rotation)."""
    idx = {n: i for i, n in enumerate(layout.names)}
    bad = count = 0
    for c in cases:
        cam = c["world"].in_camera(fs.FOCAL, CENTRE)
        for s in ("left", "right"):
            for a, b in (
                ("shoulder", "elbow"),
                ("elbow", "wrist"),
                ("hip", "knee"),
                ("knee", "ankle"),
            ):
                d = c["kp"][idx[f"{s}_{b}"]] - c["kp"][idx[f"{s}_{a}"]]
                if abs(d[2]) / np.linalg.norm(d) > 0.3:
                    count += 1
                    fz = cam[idx[f"{s}_{b}"], 2] - cam[idx[f"{s}_{a}"], 2]
                    bad += np.sign(fz) != np.sign(d[2])
    return bad / max(count, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=0.04)
    ap.add_argument("--flip", type=float, default=0.05)
    ap.add_argument("--tilt", type=float, default=0.0)
    ap.add_argument("--variants", default="base,facing,w20,w50,w100,w50nf")
    ap.add_argument(
        "--split",
        choices=("held-out", "train"),
        default="held-out",
        help="mocap trials: choose weights on train, report on held-out",
    )
    args = ap.parse_args(argv)
    model, _ = fs.load_model(None)
    layout = get_layout("blazepose33")
    cases = make_cases(model, layout, args.cases, np.random.default_rng(args.seed), args)
    fit(
        model, Keypoints2D(layout.name, cases[0]["xy"], cases[0]["conf"]), fs.IMAGE_SIZE, fs.FOCAL
    )  # warm-up
    print(
        f"{len(cases)} {args.split} cases, blazepose33, world noise "
        f"{args.noise * 100:g} cm/axis, {args.flip:.0%} limb flips, tilt {args.tilt:g}°; "
        "simulated landmarks alone: "
        f"{landmarks_alone(cases, layout):.1%} limb segments backwards"
    )
    print(
        f"{'variant':<12}{'PA med':>8}{'PA p90':>8}{'backwards':>11}{'facing':>8}"
        f"{'retry':>7}{'CPU ms med/p90':>16}"
    )
    for variant in args.variants.split(","):
        rows = run(model, layout, cases, variant)
        pa = np.array([r["pa"] for r in rows])
        ms = np.array([r["ms"] for r in rows])
        bad = sum(r["bad"] for r in rows) / max(sum(r["count"] for r in rows), 1)
        face = np.mean([r["facing"] for r in rows])
        retry = sum(r["retry"] for r in rows)
        print(
            f"{variant:<12}{np.median(pa):>8.1f}{np.percentile(pa, 90):>8.1f}{bad:>11.1%}"
            f"{face:>8.0%}{retry:>7d}{np.median(ms):>9.0f} / {np.percentile(ms, 90):<5.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
