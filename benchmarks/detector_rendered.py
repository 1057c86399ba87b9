"""The joint detector on the rendered 3D benchmark's photos: misses and limb PCK per category.

    python benchmarks/detector_rendered.py [--cache benchmarks/out/rendered_3d/seed0]
        [--categories crawl,floor_sit,hdm05_lying] [--limit N] [--threads 2] [--no-second-look]

The photos and their truth are those ``benchmarks/rendered_3d.py render`` writes
(``<category>_<index>.png`` with ``.json`` beside it; ``joints_2d`` holds the 24 SMPL joints in
image pixels). A joint counts as correct when it lies within 0.2 × the distance from the right
shoulder to the left hip of the truth (LSP's PCK@0.2). The truth is SMPL's joint centres, which
lie inside the body, not on the outline where a detector marks hips and shoulders: the figures
are comparable between detector settings, a little low against LSP's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blender_smplify.core.detector import B, DetectorSettings, JointDetector  # noqa: E402
from blender_smplify.core.errors import NoPersonFound  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402

SMPL_TO_BLAZEPOSE = {  # SMPL joint index -> BlazePose landmark name
    1: "left_hip",
    2: "right_hip",
    4: "left_knee",
    5: "right_knee",
    7: "left_ankle",
    8: "right_ankle",
    16: "left_shoulder",
    17: "right_shoulder",
    18: "left_elbow",
    19: "right_elbow",
    20: "left_wrist",
    21: "right_wrist",
}
SMPL_RIGHT_SHOULDER, SMPL_LEFT_HIP = 17, 1
DEFAULT_CATEGORIES = "crawl,floor_sit,hdm05_lying"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=REPO / "benchmarks/out/rendered_3d/seed0")
    parser.add_argument("--categories", default=DEFAULT_CATEGORIES)
    parser.add_argument("--limit", type=int, default=None, help="photos per category")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-second-look", action="store_true", help="MoveNet's first pass only")
    args = parser.parse_args(argv)
    settings = DetectorSettings()
    if args.no_second_look:
        settings = replace(settings, second_look_scale=0.0)
    detector = JointDetector(threads=args.threads, settings=settings)
    smpl = np.array(list(SMPL_TO_BLAZEPOSE))
    ours = np.array([B[n] for n in SMPL_TO_BLAZEPOSE.values()])
    found = 0
    for category in args.categories.split(","):
        photos = sorted(args.cache.glob(f"{category}_*.png"))[: args.limit]
        stats = defaultdict(list)
        for png in photos:
            truth = json.loads(png.with_suffix(".json").read_text())
            joints = np.asarray(truth["joints_2d"], float)
            image = load_image(png)
            start = time.process_time()
            try:
                det = detector.detect(image)
            except NoPersonFound:
                det = None
            stats["cpu"].append(time.process_time() - start)
            stats["missed"].append(det is None)
            torso = np.linalg.norm(joints[SMPL_RIGHT_SHOULDER] - joints[SMPL_LEFT_HIP])
            if det is None:
                stats["correct"].append(np.zeros(len(smpl), bool))
                continue
            stats["retried"].append(det.retried)
            err = np.linalg.norm(det.keypoints.xy[ours] - joints[smpl], axis=1)
            stats["correct"].append(err <= 0.2 * torso)
        if not photos:
            print(f"{category}: no photos in {args.cache}")
            continue
        found += len(photos)
        correct = np.array(stats["correct"])
        print(
            f"{category}: {len(photos)} photos, misses {int(np.sum(stats['missed']))}, "
            f"retried {int(np.sum(stats['retried']))}, limb PCK@0.2 {correct.mean():.3f}, "
            f"CPU median {1000 * np.median(stats['cpu']):.0f} ms"
        )
    return 0 if found else 2


if __name__ == "__main__":
    sys.exit(main())
