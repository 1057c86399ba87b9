"""Study: the learned 2D→3D lifter (``core/lifter.py``) on the rendered benchmark with exact 3D
truth (``benchmarks/rendered_3d.py``'s cached renders, read only).

For each render: the lifter's 3D points *alone*, lifted from the detector's keypoints and from
the exact 2D keypoints (``rendered_eval.truth_keypoints``), placed with their hips on the truth's
and measured as ``depth_metrics`` measures a fit (the 12 limb joints: PA-MPJPE, limb segments
backwards in depth), beside BlazePose's own world landmarks; with ``--fit``, also the fit
without and with the lifted points as its world-landmark evidence (``fit(..., world=
WorldLandmarks(points=lifted, visibility=confidence))``; needs a fit that takes ``world``).

    .venv/bin/python benchmarks/studies/lifter.py [--cache benchmarks/out/rendered_3d/seed0]
        [--limit N] [--every 2] [--model FILE.onnx] [--fit] [--variants JSON]
        [--out /tmp/lifter_rendered.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402
import rendered_eval as re_  # noqa: E402

from blender_smplify.core.joints import J  # noqa: E402

PARTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def alone(points: np.ndarray, names: tuple[str, ...], truth: np.ndarray) -> dict:
    """Limb measures of 33 hip-centred camera-frame points (33, 3) placed on the true pelvis:
    their limb joints replace the truth's (others stay true)."""
    pred = truth.copy()
    idx = {n: i for i, n in enumerate(names)}
    hips = 0.5 * (points[idx["left_hip"]] + points[idx["right_hip"]])
    for s in ("left", "right"):
        for part in PARTS:
            pred[J[f"{s}_{part}"]] = truth[J["pelvis"]] + points[idx[f"{s}_{part}"]] - hips
    back, counted = dm.backwards_segments(pred, truth)
    return {"backwards": back, "segments": counted,
            "pa12": 1e3 * dm.pa_mpjpe(pred, truth, dm.LIMB_JOINTS)}  # fmt: skip


def world_in_camera(det, info) -> np.ndarray:
    """BlazePose's world landmarks turned into the camera frame (crop turn and ray)."""
    from blender_smplify.core.lifter import ray_rotations

    c, s = np.cos(det.crop.rotation), np.sin(det.crop.rotation)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    w, h = info["image_size"]
    ray = ray_rotations(np.asarray(det.crop.centre, float)[None], np.array([info["focal_px"]]),
                        np.array([[w / 2, h / 2]]))[0]  # fmt: skip
    return det.world @ (ray @ R).T


def run_case(png, info, ctx) -> dict:
    from blender_smplify.core.errors import NoPersonFound
    from blender_smplify.core.image_io import load_image

    w, h = info["image_size"]
    principal = np.array([w / 2, h / 2])
    truth = np.array(info["joints_camera"])
    names = ctx["names"]
    row = {"name": png.stem, "category": info["category"]}
    truth_model = ctx["truth_models"][info["gender"]]
    sources = {"truth2d": re_.truth_keypoints(truth_model, info, "blazepose33")}
    det = None
    try:
        det = ctx["detector"].detect(load_image(png))
        sources["detector"] = det.keypoints
        row["blazepose_world"] = alone(world_in_camera(det, info), names, truth)
    except NoPersonFound:
        row["detector"] = None
    for source, kp in sources.items():
        t0 = time.perf_counter()
        lifted = ctx["lifter"].lift(kp.xy, kp.confidence, info["focal_px"], principal)
        out = {"lift_ms": 1e3 * (time.perf_counter() - t0),
               "alone": alone(lifted.points, names, truth)}  # fmt: skip
        mirrored = ctx["lifter_tta"].lift(kp.xy, kp.confidence, info["focal_px"], principal)
        out["alone_tta"] = alone(mirrored.points, names, truth)
        if ctx["fit"]:  # the fits take the mirror-averaged points, as lifted_world does
            out.update(fits(kp, info, mirrored, ctx, truth, det if source == "detector" else None))
        row[source] = out
    return row


def fits(kp, info, lifted, ctx, truth, det=None) -> dict:
    """The fit in each variant: no 3D evidence, BlazePose's world landmarks (detector only),
    the lifted points as world landmarks."""
    from blender_smplify.core.fit import fit
    from blender_smplify.core.objective import SmplifyWeights
    from blender_smplify.core.world_landmarks import WorldLandmarks

    model = ctx["models"]["neutral"]
    out = {}
    for name, (source, weights) in ctx["variants"].items():
        if source == "blazepose" and det is None:
            continue
        world = {
            "none": None,
            "blazepose": WorldLandmarks.from_detection(det) if det is not None else None,
            "lifter": WorldLandmarks(lifted.points, lifted.visibility),
        }[source]
        t0 = time.process_time()
        res = fit(model, kp, tuple(info["image_size"]), info["focal_px"],
                  weights=SmplifyWeights(**weights), world=world)  # fmt: skip
        m = dm.case_metrics(np.asarray(res.joints_3d), truth)
        m["ms"] = 1e3 * (time.process_time() - t0)
        out[name] = m
    return out


def summary(rows: list[dict | None], pa: str) -> str:
    got = [r for r in rows if r is not None]
    if not got:
        return "–"
    back, seg = sum(r["backwards"] for r in got), sum(r["segments"] for r in got)
    values = np.array([r[pa] for r in got])
    text = (f"{np.median(values):5.0f} / {np.percentile(values, 90):4.0f} mm  backwards "
            f"{100 * back / max(seg, 1):5.1f} % ({back}/{seg})")  # fmt: skip
    judged = [r["facing_right"] for r in got if r.get("facing_right") is not None]
    if judged:
        text += f"  facing right {100 * np.mean(judged):.1f} % ({sum(judged)}/{len(judged)})"
    return text


def print_tables(results: list[dict], measures: list[tuple[str, str, str]]) -> None:
    categories = sorted({r["category"] for r in results}) + ["all"]
    for title, pick, pa in measures:
        print(f"\n{title} (PA-MPJPE {pa[2:]} median / p90)")
        for cat in categories:
            rows = [pick(r) for r in results if cat == "all" or r["category"] == cat]
            print(f"  {cat:<16} n={len(rows):<3} {summary(rows, pa)}")


def _get(*keys):
    def pick(row):
        for k in keys:
            row = row.get(k) if isinstance(row, dict) else None
        return row

    return pick


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--every", type=int, default=1, help="every n-th render")
    ap.add_argument("--model", type=Path, default=None, help="lifter ONNX file")
    ap.add_argument("--fit", action="store_true", help="also fit without / with the lifter")
    ap.add_argument(
        "--variants",
        default='{"without": ["none", {}], "blazepose": ["blazepose", {}], '
        '"lifted": ["lifter", {}]}',
        help="JSON {name: [none|blazepose|lifter, {SmplifyWeights fields}]} of the fits",
    )
    ap.add_argument("--out", type=Path, default=Path("/tmp/lifter_rendered.json"))
    args = ap.parse_args(argv)
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.detector import JointDetector
    from blender_smplify.core.lifter import LAYOUT, Lifter

    ctx = {"models": {g: BodyModel.load(gender=g) for g in ("neutral", "female", "male")},
           "truth_models": re_.truth_models(args.cache), "detector": JointDetector(),
           "lifter": Lifter(args.model),
           "lifter_tta": Lifter(args.model, mirror_average=True), "names": LAYOUT.names,
           "fit": args.fit,
           "variants": json.loads(args.variants)}  # fmt: skip
    cases = re_.load_cases(args.cache, None, args.limit)[:: args.every]
    start, results = time.perf_counter(), []
    for k, (png, info) in enumerate(cases):
        results.append(run_case(png, info, ctx))
        if (k + 1) % 25 == 0:
            print(f"{k + 1}/{len(cases)} renders, {time.perf_counter() - start:.0f} s", flush=True)
    args.out.write_text(json.dumps(results, default=float))
    print(f"{len(results)} renders from {args.cache}, {time.perf_counter() - start:.0f} s")
    measures = [("BlazePose world landmarks alone (detector)", _get("blazepose_world"), "pa12")]
    for source in ("detector", "truth2d"):
        measures.append((f"lifter alone ({source})", _get(source, "alone"), "pa12"))
        measures.append((f"lifter alone, mirror-averaged ({source})", _get(source, "alone_tta"),
                         "pa12"))  # fmt: skip
        if args.fit:
            measures += [(f"fit {name} ({source})", _get(source, name), "pa24")
                         for name in ctx["variants"]]  # fmt: skip
    print_tables(results, measures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
