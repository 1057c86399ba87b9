"""Where the detector's hips and shoulders lie on rendered people, and what that does to the
fitted shape (the shape benchmark's renders, ``benchmarks/shape_accuracy.py``).

    .venv/bin/python benchmarks/studies/shape_keypoint_targets.py [--seed 0] [--half tuning]

1. On every front photo: the width between the detector's left and right hip (shoulder)
   keypoints over the width between the true body's SMPL hip (shoulder) joints and between
   its ``*_hip_surface`` (``*_shoulder_surface``) landmarks, which the shipped ``blazepose33``
   layout maps them to; and how far the detector's hip centre lies above the joints' (px).
2. On the people of ``--half`` only (default the tuning half: the report half's figures stay
   untouched by any choice made here): the shape benchmark's fits (a), (b), (c), with and
   without the silhouette, with the shipped layout and with its hips and shoulders moved to
   the SMPL joints (``detector_hips.joints_only``, in place of ``blazepose33`` for this
   process).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "studies"))

import shape_accuracy as sa
from detector_hips import joints_only
from rendered_eval import truth_keypoints
from shape_errors import Measurers, evaluate_people, load_people, table

from blender_smplify.core import fit_setup, keypoints, pipeline
from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.joints import J

CONDITIONS = (
    "front",
    "front_sil",
    "front_height",
    "front_height_sil",
    "front_side_height",
    "front_side_height_sil",
)


def widths(people, fitter) -> None:
    """Step 1: detector widths over the joints' and the landmarks' (medians, 10-90 %)."""
    layout = keypoints.get_layout("blazepose33")
    ratios = []
    for person in people:
        detection, kp, _ = fitter.evidence(person, "front")
        info = person["photos"]["front"][1]
        joints = np.array(info["joints_2d"])
        surface = truth_keypoints(pipeline.load_model(person["gender"]), info, "blazepose33").xy
        row = []
        for part in ("hip", "shoulder"):
            left, right = layout.index(f"left_{part}"), layout.index(f"right_{part}")
            detected = np.linalg.norm(kp.xy[left] - kp.xy[right])
            between = joints[J[f"left_{part}"]] - joints[J[f"right_{part}"]]
            row.append(detected / np.linalg.norm(between))
            row.append(detected / np.linalg.norm(surface[left] - surface[right]))
        hips = kp.xy[[layout.index("left_hip"), layout.index("right_hip")]].mean(axis=0)
        row.append(joints[[J["left_hip"], J["right_hip"]]].mean(axis=0)[1] - hips[1])
        ratios.append(row)
    r = np.array(ratios)
    names = (
        "hip width / joints' width",
        "hip width / hip_surface landmarks' width",
        "shoulder width / joints' width",
        "shoulder width / shoulder_surface landmarks' width",
        "hip centre above the joints' centre, px",
    )
    print(f"Detector keypoints on {len(people)} front photos: median (10-90 %)")
    for k, name in enumerate(names):
        lo, mid, hi = np.percentile(r[:, k], [10, 50, 90])
        print(f"  {name}: {mid:.2f} ({lo:.2f}-{hi:.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=str(sa.DEFAULT_CACHE))
    parser.add_argument("--half", choices=("tuning", "report"), default="tuning")
    args = parser.parse_args(argv)
    people = load_people(Path(args.cache) / f"seed{args.seed}")
    widths(people, sa.DoorFitter())
    chosen = [p for p in people if p["half"] == args.half]
    conditions = [c for c in sa.CONDITIONS if c.key in CONDITIONS]
    measurers = Measurers({g: BodyModel.load(gender=g) for g in ("female", "male")})
    shipped = keypoints.LAYOUTS["blazepose33"]
    for name, layout in (("shipped", shipped), ("hips and shoulders at the joints", None)):
        keypoints.LAYOUTS["blazepose33"] = layout or joints_only(shipped)
        fit_setup._SETUP_CACHE.clear()  # setups are cached per model and layout name
        rows = evaluate_people(chosen, conditions, sa.DoorFitter(), measurers)
        print(f"\nblazepose33 {name}, {args.half} half ({len(chosen)} people):\n")
        print(table(rows, [(c.key, c.label) for c in conditions], args.half))
    keypoints.LAYOUTS["blazepose33"] = shipped
    fit_setup._SETUP_CACHE.clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
