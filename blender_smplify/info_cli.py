"""``python -m blender_smplify info``: what body model is in use and what it looks like."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .core.body_model import BodyModel
from .core.cli_args import add_model_arguments
from .core.errors import SmplifyError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="describe the body model")
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        model = BodyModel.load(args.model, gender=args.gender)
    except SmplifyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    vertices, joints = model.forward(None, None)
    height = vertices[:, 1].max() - vertices[:, 1].min()
    print(f"model     {model.source}")
    print(f"gender    {model.gender}")
    print(f"mesh      {model.num_vertices} vertices, {len(model.faces)} triangles")
    print(f"shape     {model.num_betas} betas; height at rest {height:.3f} m")
    print(f"landmarks {', '.join(model.landmark_names) or 'none'}")
    print(f"pelvis    {np.round(joints[0], 3).tolist()}")
    return 0
