"""Pose on the rendered benchmark, detector path as the pipeline runs it, on one half.

    .venv/bin/python benchmarks/studies/keypoint_targets_pose.py --half report \\
        [--detections CACHE.pkl] [--weights '{"shape_prior": [...]}'] [--save out.json]
        [--blazepose-world]

For the keypoint-target study (``keypoint_targets.py``): every render of
``benchmarks/out/rendered_3d/seed0`` in ``--half`` (index within its category even: tuning,
odd: report), its detection (from ``--detections``, a pickle {png path: image hash, image
hash: Detection} of ``pipeline.detector().detect``, else detected here), the lifter's points as
3D evidence when ``pipeline.WORLD_FROM_LIFTER`` (as ``pipeline.detect_and_fit``), the neutral
model and the true focal length (as ``rendered_3d.py evaluate``); then PA-MPJPE 24, limb
segments backwards and facing as ``rendered_eval.summarise`` counts them. Only the detector
path: the truth-2D fits of ``rendered_3d.py evaluate`` project the layout's own targets.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import depth_metrics as dm
from rendered_eval import summarise

from blender_smplify.core import pipeline
from blender_smplify.core.camera import principal_point
from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.fit import fit
from blender_smplify.core.image_io import load_image
from blender_smplify.core.lifter import lifted_world
from blender_smplify.core.objective import SmplifyWeights
from blender_smplify.core.world_landmarks import WorldLandmarks

CACHE = ROOT / "benchmarks" / "out" / "rendered_3d" / "seed0"


def detection_of(png: Path, detections: dict | None):
    """The cached detection of ``png`` (or a fresh one); raises what the detector raised."""
    found = detections.get(detections.get(str(png))) if detections else None
    if found is None:
        found = pipeline.detector().detect(load_image(png))
    if isinstance(found, Exception):
        raise found
    return found


def run(
    half: str,
    detections: dict | None,
    weights: SmplifyWeights | None,
    lifter: bool = True,
    folder: Path = CACHE,
) -> list[dict]:
    model = pipeline.load_model("neutral")
    rows = []
    for js in sorted(folder.glob("*.json")):
        if (int(js.stem.rsplit("_", 1)[1]) % 2 == 0) != (half == "tuning"):
            continue
        info = json.loads(js.read_text())
        size = tuple(info["image_size"])
        try:
            detection = detection_of(js.with_suffix(".png"), detections)
        except SmplifyError:
            rows.append({"name": js.stem, "category": info["category"], "detector": None})
            continue
        kp = detection.keypoints
        world = WorldLandmarks.from_detection(detection)
        if lifter and pipeline.WORLD_FROM_LIFTER:
            world = lifted_world(kp, info["focal_px"], principal_point(size))
        start = time.perf_counter()
        res = fit(model, kp, size, info["focal_px"], weights=weights, world=world)
        row = dm.case_metrics(np.asarray(res.joints_3d), np.array(info["joints_camera"]))
        row.update(ms=1e3 * (time.perf_counter() - start), cpu_ms=0.0)
        rows.append({"name": js.stem, "category": info["category"], "detector": row})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tuning", "report"), default="tuning")
    parser.add_argument("--detections", default="")
    parser.add_argument("--weights", default="", help="SmplifyWeights fields as JSON")
    parser.add_argument("--save", default="")
    parser.add_argument("--folder", default=str(CACHE), help="the rendered benchmark's renders")
    parser.add_argument(
        "--blazepose-world",
        action="store_true",
        help="BlazePose's own world landmarks as the 3D evidence instead of the lifter's points",
    )
    args = parser.parse_args(argv)
    detections = pickle.loads(Path(args.detections).read_bytes()) if args.detections else None
    fields = json.loads(args.weights) if args.weights else {}
    weights = SmplifyWeights(**{k: tuple(v) for k, v in fields.items()}) if fields else None
    start = time.perf_counter()
    rows = run(args.half, detections, weights, not args.blazepose_world, Path(args.folder))
    s = summarise([r["detector"] for r in rows])
    seg, judged = s["segments"], s["facing_judged"]
    print(
        f"{args.half} half, {s['n']} photos, {s['missed']} missed: PA-MPJPE 24 median "
        f"{s['pa24']:.1f} / p90 {s['pa24_p90']:.1f} mm; backwards "
        f"{100 * s['backwards'] / seg:.1f} % ({s['backwards']}/{seg}); facing right "
        f"{100 * s['facing_right'] / judged:.1f} % ({s['facing_right']}/{judged}); "
        f"fit ms median {s['ms']:.0f}; {time.perf_counter() - start:.0f} s"
    )
    if args.save:
        Path(args.save).write_text(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
