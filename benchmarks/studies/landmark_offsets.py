"""Rest-pose offsets of the body model's surface landmarks from the joints they hang on.

    .venv/bin/python benchmarks/studies/landmark_offsets.py [--model SMPL.pkl]

The fallback offsets in ``blender_smplify/core/keypoints.py`` (for a model without landmarks)
were measured with this on the open model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository

from benchmarks.fit_synthetic import load_model
from blender_smplify.core.joints import J
from blender_smplify.core.keypoints import _FACE, _SIDE


def print_offsets(model) -> None:
    """Rest-pose offsets (m) of the model's landmarks from the joints the layouts hang them on."""
    names = tuple(model.landmark_names)
    pts, _ = model.posed_points(
        np.zeros(10), np.zeros(72), np.zeros(3), landmarks=names, jacobian=False
    )
    where = dict(zip(names, pts[24:]))
    rows = [(n, j) for n, (j, _) in _FACE.items()]
    rows += [(f"left_{n}", f"left_{j}") for n, (j, _) in _SIDE.items()]
    for name, joint in rows:
        if name in where:
            off = where[name] - pts[J[joint]]
            print(
                f"{name:<24} from {joint:<14} {np.round(off, 3).tolist()}  "
                f"({1e3 * np.linalg.norm(off):.0f} mm)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="body model file (default: the open model)")
    args = parser.parse_args(argv)
    model, _ = load_model(args.model)
    print_offsets(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
