"""Study: what the depth-hypothesis search (``FitOptions.depth_search``) costs on real photos.

The 300 LSP development photos' cached detections (``benchmarks/fit_lsp.py``'s cache), fitted
with the default focal length from their blazepose33 keypoints, each photo twice in a row
(without and with the search, the order alternating), so both see the same machine load;
with ``--lifter`` the fits get the shipped lifter's points as the product's pipeline does, with
``--detected`` also BlazePose's own world landmarks from the cache (the search's other votes,
as the pipeline passes them).

    .venv/bin/python benchmarks/studies/depth_search_speed.py [--cache NPZ] [--limit N]
        [--lifter] [--detected] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.camera import focal_from_fov
    from blender_smplify.core.fit import FitOptions, fit
    from blender_smplify.core.keypoints import Keypoints2D
    from blender_smplify.core.lifter import Lifter, lifted_world
    from blender_smplify.core.world_landmarks import WorldLandmarks

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/lsp_detections.npz")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--lifter", action="store_true")
    ap.add_argument("--detected", action="store_true", help="BlazePose's landmarks vote too")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    dets = dict(np.load(args.cache))
    model = BodyModel.load(gender="neutral")
    lifter = Lifter(None, mirror_average=True) if args.lifter else None
    variants = {"without": FitOptions(depth_search=False), "search": FitOptions()}
    times = {v: {"wall": [], "cpu": []} for v in variants}
    flipped = 0
    start = time.perf_counter()
    names = dets["names"][: args.limit]
    for k in range(len(names)):
        if not dets["found"][k]:
            continue
        kp = Keypoints2D("blazepose33", dets["xy"][k], dets["confidence"][k])
        size = tuple(int(v) for v in dets["size"][k])
        world = detected = None
        if args.detected:
            rotation, centre = float(dets["crop_rotation"][k]), dets["crop_centre"][k]
            detected = WorldLandmarks(dets["world"][k], dets["visibility"][k], rotation, centre)
        if lifter is not None:
            focal = focal_from_fov(size)
            world = lifted_world(kp, focal, np.array(size) / 2.0, lifter)
        order = list(variants) if k % 2 == 0 else list(variants)[::-1]
        for _ in range(args.repeat):
            poses = {}
            for name in order:
                t0, c0 = time.perf_counter(), time.process_time()
                res = fit(model, kp, size, world=world, options=variants[name], detected=detected)
                times[name]["wall"].append(1e3 * (time.perf_counter() - t0))
                times[name]["cpu"].append(1e3 * (time.process_time() - c0))
                poses[name] = res.pose
            flipped += not np.allclose(poses["without"], poses["search"])
    fits = len(times["without"]["wall"])
    print(f"{fits} fits per variant, {time.perf_counter() - start:.0f} s, lifter: {args.lifter}, "
          f"detected: {args.detected}")  # fmt: skip
    for name, t in times.items():
        w, c = np.array(t["wall"]), np.array(t["cpu"])
        print(f"{name:8s} wall ms median {np.median(w):.0f} / p90 {np.percentile(w, 90):.0f} / "
              f"max {w.max():.0f}; CPU ms median {np.median(c):.0f} / p90 "
              f"{np.percentile(c, 90):.0f}")  # fmt: skip
    print(f"fits the search changed: {flipped} of {fits}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
