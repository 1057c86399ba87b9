"""Study: does the silhouette stage make the pose worse? PA-MPJPE with and without the person
mask on a subset of the rendered benchmark with exact 3D truth (``rendered_3d.py``'s cached
renders, read only).

The first ``--per-category`` photos of every category are detected once; each is fitted as the
pipeline fits it (the lifter's 3D evidence, the neutral model, the true focal length) without
and with ``Silhouette.from_detection``; ``depth_metrics.case_metrics`` measures both against
the truth (PA-MPJPE over 24 joints and over the 12 limb joints, limb segments backwards).

    .venv/bin/python benchmarks/studies/silhouette_pose.py
        [--cache /work/main/benchmarks/out/rendered_3d/seed0] [--per-category 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402
from rendered_eval import load_cases  # noqa: E402

from blender_smplify.core.camera import principal_point  # noqa: E402
from blender_smplify.core.errors import NoPersonFound  # noqa: E402
from blender_smplify.core.fit import fit  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.lifter import lifted_world  # noqa: E402
from blender_smplify.core.pipeline import detector, load_model  # noqa: E402
from blender_smplify.core.silhouette import Silhouette  # noqa: E402

DEFAULT = ROOT / "benchmarks" / "out" / "rendered_3d" / "seed0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=str(DEFAULT))
    parser.add_argument("--per-category", type=int, default=4)
    args = parser.parse_args(argv)
    per = defaultdict(int)
    cases = []
    for png, info in load_cases(Path(args.cache), None, None):
        if per[info["category"]] < args.per_category:
            per[info["category"]] += 1
            cases.append((png, info))
    model, det = load_model("neutral"), detector(2)
    rows = {"without": [], "with": []}
    cpu = {"without": [], "with": []}
    start = time.perf_counter()
    for png, info in cases:
        try:
            d = det.detect(load_image(png))
        except NoPersonFound:
            continue
        size, focal = tuple(info["image_size"]), info["focal_px"]
        world = lifted_world(d.keypoints, focal, principal_point(size))
        truth = np.array(info["joints_camera"])
        for key, sil in (("without", None), ("with", Silhouette.from_detection(d))):
            c0 = time.process_time()
            res = fit(model, d.keypoints, size, focal, world=world, silhouette=sil)
            cpu[key].append(time.process_time() - c0)
            rows[key].append(dm.case_metrics(np.asarray(res.joints_3d), truth))
    n = len(rows["with"])
    print(f"{n} renders ({args.per_category} per category) from {args.cache}")
    print("| mask | PA-MPJPE 24 median / p90 | limbs (12) median / p90 | backwards | CPU ms |")
    print("|---|---|---|---|---|")
    for key in rows:
        pa24 = np.array([r["pa24"] for r in rows[key]])
        pa12 = np.array([r["pa12"] for r in rows[key]])
        back = sum(r["backwards"] for r in rows[key]) / max(
            sum(r["segments"] for r in rows[key]), 1
        )
        print(
            f"| {key} | {np.median(pa24):.0f} / {np.percentile(pa24, 90):.0f} | "
            f"{np.median(pa12):.0f} / {np.percentile(pa12, 90):.0f} | {100 * back:.1f} % | "
            f"{1000 * np.median(cpu[key]):.0f} |"
        )
    diff = np.array([b["pa24"] - a["pa24"] for a, b in zip(rows["without"], rows["with"])])
    print(
        f"per photo, with minus without (PA-MPJPE 24): median {np.median(diff):+.1f} mm, "
        f"worse by > 10 mm in {int(np.sum(diff > 10))}, better by > 10 mm in "
        f"{int(np.sum(diff < -10))}; {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
