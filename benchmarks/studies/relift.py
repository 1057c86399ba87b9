"""Study: lift again from the fitted body's own keypoints, then fit again (issue 9).

The lifter was trained on keypoints projected from bodies; the detector's have outliers
(feet, face, hands) that the fit's robust data term discounts but the lifter does not.
Lifting the first fit's reprojected keypoints gives the lifter a body-consistent input.

    .venv/bin/python benchmarks/studies/relift.py --work W --half tuning --save W/relift.json
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
sys.path.insert(2, str(ROOT / "benchmarks/studies"))

import depth_metrics as dm  # noqa: E402
import fit_lsp  # noqa: E402
import lifter_confidence as lc  # noqa: E402
import rendered_eval as re_  # noqa: E402


def blended(keypoints, fitted_xy, threshold, size):
    """The detector's keypoints where the fit's reprojection is within ``threshold`` × the
    body's image size of them, the reprojection elsewhere (threshold 0: reprojection only)."""
    from blender_smplify.core.keypoints import Keypoints2D

    far = np.linalg.norm(keypoints.xy - fitted_xy, axis=1) > threshold * size
    xy = np.where(far[:, None], fitted_xy, keypoints.xy)
    conf = np.asarray(keypoints.confidence, dtype=float).copy()
    if threshold == 0:
        conf = np.where(conf > 0, np.maximum(conf, 0.9), 0.0)
    return Keypoints2D(keypoints.layout, xy, conf)


def run_case(info, kp, model, variants, detected):
    from blender_smplify.core.fit import fit
    from blender_smplify.core.lifter import lifted_world

    w, h = info["image_size"]
    principal = np.array([w / 2, h / 2])
    truth = np.array(info["joints_camera"])
    keypoints = lc.cached_keypoints(kp, "detector")
    if keypoints is None:
        return None
    out = {}
    c0 = time.process_time()
    world = lifted_world(keypoints, info["focal_px"], principal)
    first = fit(model, keypoints, (w, h), info["focal_px"], world=world, detected=detected)
    first_ms = 1e3 * (time.process_time() - c0)
    out["shipped"] = {**dm.case_metrics(np.asarray(first.joints_3d), truth), "cpu_ms": first_ms}
    xy = fit_lsp.fitted_keypoints(model, first, "blazepose33")
    seen = xy[np.asarray(keypoints.confidence) > 0.3]
    size = float(np.ptp(seen, axis=0).max()) if len(seen) else 1.0
    for name, threshold in variants.items():
        c0 = time.process_time()
        again = blended(keypoints, xy, threshold, size)
        world2 = lifted_world(again, info["focal_px"], principal)
        second = fit(model, keypoints, (w, h), info["focal_px"], world=world2, detected=detected)
        ms = first_ms + 1e3 * (time.process_time() - c0)
        out[name] = {**dm.case_metrics(np.asarray(second.joints_3d), truth), "cpu_ms": ms}
    return out


def main(argv=None) -> int:
    from blender_smplify.core.body_model import BodyModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--world-cache", type=Path, default=None)
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    ap.add_argument("--variants", default='{"reproj": 0.0, "outliers 0.05": 0.05}')
    ap.add_argument("--save", type=Path, default=None)
    args = ap.parse_args(argv)
    variants = json.loads(args.variants)
    model = BodyModel.load(gender="neutral")
    keypoints = lc.load_keypoints(args.work)
    world_cache = args.world_cache or args.work / "bp_world.npz"
    cases = [(png, info) for png, info in re_.load_cases(args.cache, None, None)
             if args.half == "all" or lc.half_of(png.stem) == args.half]  # fmt: skip
    rows, start = [], time.perf_counter()
    for k, (png, info) in enumerate(cases):
        detected = lc.detected_landmarks(world_cache, png.stem, info)
        row = run_case(info, keypoints[png.stem], model, variants, detected)
        rows.append({"name": png.stem, "category": info["category"], "detector": row})
        if (k + 1) % 30 == 0:
            print(f"{k + 1}/{len(cases)}, {time.perf_counter() - start:.0f} s", flush=True)
    if args.save:
        args.save.write_text(json.dumps({"rows": rows}, default=float))
    lc.print_tables(rows, ["shipped", *variants], sources=("detector",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
