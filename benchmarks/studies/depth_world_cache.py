"""Cache BlazePose's own world landmarks of every render (``benchmarks/rendered_3d.py``'s
cache, read only) in the camera frame, for ``depth_hypotheses.py judge --world-cache``:

    .venv/bin/python benchmarks/studies/depth_world_cache.py --cache DIR --out W/bp_world.npz
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import rendered_eval as re_  # noqa: E402


def main(argv=None) -> int:
    from rendered_detections import detected

    from blender_smplify.core.detector import JointDetector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    detector = JointDetector()
    names, points, visibility = [], [], []
    start = time.perf_counter()
    for png, info in re_.load_cases(args.cache, None, None):
        _, _, cam, vis = detected(detector, png, info)
        names.append(png.stem), points.append(cam), visibility.append(vis)
    np.savez(
        args.out, name=np.array(names), points=np.array(points), visibility=np.array(visibility)
    )
    print(f"{len(names)} renders in {time.perf_counter() - start:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
