"""Study: the world-landmark term on the rendered benchmark with exact 3D truth (read-only use of
another branch's ``benchmarks/rendered_eval.py`` and its cached renders).

Each cached render is detected once and fitted from the detector's keypoints (neutral model, true
focal length) in several variants (``--variants``, names of ``presets`` below): without the world
landmarks, with them (bone-direction term and facing decision; the default λw and λw = 50),
and with the facing decision only (λw = 0). Per category: PA-MPJPE (24 joints) median / p90,
limb segments backwards, facing right, as ``depth_metrics.py`` defines them; and the
landmarks' own depth errors. CPU times: the first variant of each render runs right after the
detector and comes out 20-30 % slower whatever it is; compare the others.

    .venv/bin/python benchmarks/studies/world_rendered.py [--render-tree TREE]
        [--cache DIR] [--limit N] [--variants without,world] [--every 2 --offset 1]
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--render-tree", type=Path, default=ROOT)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--variants", default="without,world,world λ50,facing only")
    ap.add_argument("--every", type=int, default=1, help="every n-th render (with --offset)")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/out/world_rendered.json")
    args = ap.parse_args(argv)
    sys.path.append(str(args.render_tree / "benchmarks"))  # after ours: our blender_smplify
    import depth_metrics as dm
    import rendered_eval as re_

    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.detector import JointDetector
    from blender_smplify.core.errors import NoPersonFound
    from blender_smplify.core.fit import fit
    from blender_smplify.core.image_io import load_image
    from blender_smplify.core.objective import SmplifyWeights
    from blender_smplify.core.world_landmarks import WorldLandmarks

    cache = args.cache or args.render_tree / "benchmarks/out/rendered_3d/seed0"
    cases = re_.load_cases(cache, None, args.limit)
    detector, model = JointDetector(), BodyModel.load()  # the neutral model, as theirs
    presets = {
        "without": (None, SmplifyWeights()),
        "world": ("w", SmplifyWeights()),
        "world λ50": ("w", SmplifyWeights(world=50.0)),
        "facing only": ("w", SmplifyWeights(world=0.0)),
    }
    variants = {name: presets[name] for name in args.variants.split(",")}
    cases = cases[args.offset :: args.every]
    results = []
    for png, info in cases:
        try:
            det = detector.detect(load_image(png))
        except NoPersonFound:
            results.append({"category": info["category"], **{v: None for v in variants}})
            continue
        row = {"category": info["category"], "name": png.stem}
        for name, (world, weights) in variants.items():
            wl = WorldLandmarks.from_detection(det) if world else None
            c0 = time.process_time()
            res = fit(
                model,
                det.keypoints,
                tuple(info["image_size"]),
                info["focal_px"],
                weights=weights,
                world=wl,
            )
            m = dm.case_metrics(np.asarray(res.joints_3d), np.array(info["joints_camera"]))
            m.update(ms=1e3 * (time.process_time() - c0))
            row[name] = m
        row["landmarks"] = landmarks_alone(det, info, dm)
        results.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, default=float))
    print(f"{len(results)} renders from {cache}")
    print_tables(results, list(variants))
    alone = [r["landmarks"] for r in results if r.get("landmarks")]
    back, seg = sum(a["backwards"] for a in alone), sum(a["segments"] for a in alone)
    pa12 = np.array([a["pa12"] for a in alone])
    print(
        f"\nBlazePose's world landmarks alone (camera frame, hips on the true pelvis): limb "
        f"segments backwards {100 * back / max(seg, 1):.1f} % ({back}/{seg}); PA-MPJPE of the "
        f"12 limb joints median {np.median(pa12):.0f} / p90 {np.percentile(pa12, 90):.0f} mm"
    )
    return 0


def landmarks_alone(det, info, dm) -> dict:
    """Depth and PA-MPJPE (12 limb joints) of the detector's world landmarks themselves."""
    from blender_smplify.core.detector import B
    from blender_smplify.core.joints import J
    from blender_smplify.core.world_landmarks import WorldLandmarks

    w, h = info["image_size"]
    cam = WorldLandmarks.from_detection(det).in_camera(info["focal_px"], np.array([w / 2, h / 2]))
    truth = np.array(info["joints_camera"])
    pred = truth.copy()
    hips = 0.5 * (cam[B["left_hip"]] + cam[B["right_hip"]])
    for s in ("left", "right"):
        for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            pred[J[f"{s}_{part}"]] = truth[J["pelvis"]] + cam[B[f"{s}_{part}"]] - hips
    back, counted = dm.backwards_segments(pred, truth)
    return {
        "backwards": back,
        "segments": counted,
        "pa12": 1e3 * dm.pa_mpjpe(pred, truth, dm.LIMB_JOINTS),
    }


def summary(rows: list) -> str:
    """One line of figures over rows of ``depth_metrics.case_metrics`` (None: missed)."""
    fitted = [r for r in rows if r is not None]
    if not fitted:
        return f"n={len(rows)} all missed"
    pa = np.array([r["pa24"] for r in fitted])
    back, seg = sum(r["backwards"] for r in fitted), sum(r["segments"] for r in fitted)
    judged = [r["facing_right"] for r in fitted if r["facing_right"] is not None]
    ms = np.array([r["ms"] for r in fitted])
    return (
        f"n={len(rows):<3} missed {len(rows) - len(fitted)}  PA24 {np.median(pa):.0f} / "
        f"{np.percentile(pa, 90):.0f}  backwards {100 * back / max(seg, 1):.1f} % "
        f"({back}/{seg})  facing right {sum(judged)}/{len(judged)}  CPU ms "
        f"{np.median(ms):.0f} / {np.percentile(ms, 90):.0f}"
    )


def print_tables(results: list[dict], variants: list[str]) -> None:
    categories = sorted({r["category"] for r in results})
    for name in variants:
        print(f"\n{name} (fit ms = CPU time)")
        for cat in categories + ["all"]:
            rows = [r.get(name) for r in results if cat == "all" or r["category"] == cat]
            print(f"{cat:<14} {summary(rows)}")


if __name__ == "__main__":
    sys.exit(main())
