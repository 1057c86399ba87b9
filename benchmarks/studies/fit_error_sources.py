"""Study: where the fit's error from the detector comes from, on the rendered benchmark (issue 9).

The fit from the detector's keypoints is some 20 mm worse (PA-MPJPE 24, median) than the same
fit from the exact keypoints. The detector's 2D reaches the fit twice: as the data term's
targets and as the lifter's input. Two ways to split it, each fit as shipped otherwise (the
detector's own landmarks vote in the depth search):

- ``lift``: the four fits of each render with the data term's keypoints and the lifter's
  input each taken from the detector or from the exact keypoints;
- ``groups``: the detector's keypoints for the data term with one group of them replaced by
  the exact ones (the lifter sees the detector's), one fit per group.

    .venv/bin/python benchmarks/studies/fit_error_sources.py lift --work W [--half tuning]
    .venv/bin/python benchmarks/studies/fit_error_sources.py groups --work W [--half tuning]

``W`` holds ``keypoints.npz`` (``lifter_confidence.py detect``) and ``bp_world.npz``
(``depth_world_cache.py``).
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
sys.path.insert(2, str(ROOT / "benchmarks/studies"))

import depth_metrics as dm  # noqa: E402
import lifter_confidence as lc  # noqa: E402
import rendered_eval as re_  # noqa: E402

#: blazepose33 indices of the groups that ``groups`` replaces one at a time.
GROUPS = {
    "face": range(0, 11),
    "shoulders": (11, 12),
    "elbows and wrists": (13, 14, 15, 16),
    "hands": range(17, 23),
    "hips": (23, 24),
    "knees and ankles": (25, 26, 27, 28),
    "feet": range(29, 33),
}


def with_exact(detector, exact, indices):
    """The detector's keypoints with ``indices`` taken from the exact ones (confidence at
    least 0.5 where the exact keypoint is in the frame, 0 where it is not)."""
    from blender_smplify.core.keypoints import Keypoints2D

    k = list(indices)
    xy, conf = detector.xy.copy(), np.asarray(detector.confidence, dtype=float).copy()
    xy[k] = exact.xy[k]
    conf[k] = np.where(exact.confidence[k] > 0, np.maximum(conf[k], 0.5), 0.0)
    return Keypoints2D(detector.layout, xy, conf)


def fits_of_case(step, info, kp, model, detected):
    """{variant: case_metrics} of one render, or None where the detector found no one."""
    from blender_smplify.core.fit import fit
    from blender_smplify.core.lifter import lifted_world

    detector, exact = lc.cached_keypoints(kp, "detector"), lc.cached_keypoints(kp, "truth2d")
    if detector is None:
        return None
    w, h = info["image_size"]
    focal, principal = info["focal_px"], np.array([w / 2, h / 2])
    truth = np.array(info["joints_camera"])

    def measured(keypoints, lifter_input):
        start = time.process_time()
        world = lifted_world(lifter_input, focal, principal)
        res = fit(model, keypoints, (w, h), focal, world=world, detected=detected)
        ms = 1e3 * (time.process_time() - start)
        return {**dm.case_metrics(np.asarray(res.joints_3d), truth), "cpu_ms": ms}

    if step == "lift":
        sources = {"detector": detector, "exact": exact}
        return {f"2D {a}, lifter {b}": measured(sources[a], sources[b])
                for a in sources for b in sources}  # fmt: skip
    return {
        "detector": measured(detector, detector),
        **{
            f"exact {g}": measured(with_exact(detector, exact, k), detector)
            for g, k in GROUPS.items()
        },  # fmt: skip
    }


def main(argv=None) -> int:
    from blender_smplify.core.body_model import BodyModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("lift", "groups"))
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    args = ap.parse_args(argv)
    model = BodyModel.load(gender="neutral")
    keypoints = lc.load_keypoints(args.work)
    rows: dict[str, list[dict]] = {}
    for png, info in re_.load_cases(args.cache, None, None):
        if args.half != "all" and lc.half_of(png.stem) != args.half:
            continue
        detected = lc.detected_landmarks(args.work / "bp_world.npz", png.stem, info)
        case = fits_of_case(args.step, info, keypoints[png.stem], model, detected)
        for variant, metrics in (case or {}).items():
            rows.setdefault(variant, []).append(metrics)
    print(f"{args.half} half, PA-MPJPE 24 median / p90 | limbs backwards | facing right | CPU ms")
    for variant, metrics in rows.items():
        print(f"| {variant} | {lc.summary(metrics)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
