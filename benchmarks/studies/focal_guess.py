"""Accuracy when the photo's lens is unknown and the fit assumes a default field of view.

    .venv/bin/python benchmarks/studies/focal_guess.py [--cases 50] [--layout smpl24]

The cases of ``benchmarks/fit_synthetic.py`` seen through a 26, 35, 50 or 70 mm-equivalent lens,
fitted with the focal length of a 40-75° diagonal field of view. This chose the default
(``blender_smplify/core/camera.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository

from benchmarks.fit_synthetic import (
    IMAGE_SIZE,
    add_case_arguments,
    make_cases,
    prepare,
    run_case,
    summary,
)
from blender_smplify.core.camera import focal_from_35mm, focal_from_fov
from blender_smplify.core.fit import FitOptions
from blender_smplify.core.keypoints import get_layout
from blender_smplify.core.objective import SmplifyWeights

LENSES_MM = (26.0, 35.0, 50.0, 70.0)
FIELDS_OF_VIEW = (40.0, 50.0, 55.0, 60.0, 65.0, 75.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_case_arguments(parser)
    parser.add_argument("--layout", default="smpl24")
    args = parser.parse_args(argv)
    layout = get_layout(args.layout)
    model, _, poses, rng = prepare(args)
    weights = SmplifyWeights()
    cases = make_cases(model, layout, poses, rng)
    print(
        "rows: assumed diagonal FOV; columns: true lens (35 mm equivalent); "
        "cells: median PA-MPJPE / median MPJPE (mm)"
    )
    for fov in FIELDS_OF_VIEW:
        focal_fit = focal_from_fov(IMAGE_SIZE, fov)
        cells = []
        for mm in LENSES_MM:
            focal_true = focal_from_35mm(mm, IMAGE_SIZE)
            rows = [
                run_case(
                    model,
                    layout,
                    c[0],
                    c[1],
                    FitOptions(),
                    weights,
                    c[2],
                    c[3],
                    focal_true=focal_true,
                    focal_fit=focal_fit,
                )
                for c in cases
            ]
            cells.append((summary(rows, "pa")[0], summary(rows, "mpjpe")[0]))
        mean = np.mean(cells, axis=0)
        print(
            f"{fov:>5g} "
            + " ".join(f"{a:6.1f}/{b:6.1f}" for a, b in cells)
            + f"   mean {mean[0]:.1f}/{mean[1]:.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
