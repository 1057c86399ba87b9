"""How much it matters to model the detector's hips and shoulders as surface points.

    .venv/bin/python benchmarks/studies/detector_hips.py [--cases 60] [--model SMPL.pkl]

The same blazepose33 keypoints, projected from the body's surface landmarks ``*_hip_surface``
and ``*_shoulder_surface`` (as the layout mapped them before: ``with_surface``), are fitted
twice: with the layout that models those four as surface landmarks, and with a copy that puts
them at the SMPL joints.

This study ASSUMED that BlazePose's hips and shoulders lie on the body's outline; its
keypoints come from that assumption, so it could only confirm it. On renders with exact truth
the detector puts them near SMPL's joints (``benchmarks/studies/keypoint_targets.py``, hips
13 mm inside and 28 mm above the hip joints, shoulders 9 mm inside theirs), and the layout now
maps them there. What this study still shows: a fit whose hip targets disagree with where the
keypoints really are by 6 cm costs PA-MPJPE (docs/fit.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository

from benchmarks.fit_synthetic import add_case_arguments, make_cases, prepare, run_case, table
from blender_smplify.core.fit import FitOptions
from blender_smplify.core.keypoints import LAYOUTS, KeypointLayout, _landmark, _t, get_layout
from blender_smplify.core.objective import SmplifyWeights


def with_surface(layout: KeypointLayout) -> KeypointLayout:
    """A copy of ``layout`` with its hips and shoulders on the ``*_surface`` landmarks (the
    mapping before the learned targets)."""
    targets = tuple(
        _landmark(f"{n}_surface") if n.split("_", 1)[-1] in ("hip", "shoulder") else t
        for n, t in zip(layout.names, layout.targets)
    )
    return KeypointLayout(f"{layout.name}_surface", layout.names, targets, layout.torso)


def joints_only(layout: KeypointLayout) -> KeypointLayout:
    """A copy of ``layout`` with its hip and shoulder landmarks moved to the SMPL joints."""
    targets = tuple(
        _t(t.joint) if t.landmark and ("hip" in t.landmark or "shoulder" in t.landmark) else t
        for t in layout.targets
    )
    return KeypointLayout(f"{layout.name}_hip_joints", layout.names, targets, layout.torso)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_case_arguments(parser)
    args = parser.parse_args(argv)
    layout = with_surface(get_layout("blazepose33"))
    variant = joints_only(layout)
    for registered in (layout, variant):
        LAYOUTS[registered.name] = registered  # the fit looks layouts up by name
    model, _, poses, rng = prepare(args)
    weights = SmplifyWeights()
    cases = make_cases(model, layout, poses, rng)
    results = []
    for name, fitted_as in (
        ("surface landmarks (before)", layout),
        ("hips/shoulders = SMPL joints", variant),
    ):
        rows = [
            run_case(
                model, layout, c[0], c[1], FitOptions(), weights, c[2], c[3], fit_layout=fitted_as
            )
            for c in cases
        ]
        results.append((name, rows))
    print("blazepose33 keypoints from the body's surface landmarks, fitted as:")
    table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
