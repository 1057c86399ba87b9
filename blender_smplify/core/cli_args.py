"""The command-line arguments that ``fit``, ``build`` and ``info`` share, declared once.

Each front end adds the groups it takes; the names, types, defaults and help texts are the same
everywhere, and the values go unchanged to ``core.pipeline.prepare`` (which checks them).
"""

from __future__ import annotations

import argparse

from .body_model import GENDERS
from .camera import DEFAULT_FOV_DEG
from .export_presets import DEFAULT_REST, FORMATS, SKELETONS
from .rest_pose import REST_POSES

KEYPOINTS_HELP = (
    '2D keypoints to fit instead of detecting them: a JSON file {"layout": "smpl24" | '
    '"blazepose33" | "coco17", "xy": [[x, y], ...], "confidence": [...] (optional), '
    '"image_size": [w, h] (optional)}'
)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--gender`` and ``--model``: which body model to use."""
    parser.add_argument("--gender", choices=GENDERS, default="neutral", help="body model gender")
    parser.add_argument(
        "--model", metavar="SMPL.pkl", help="SMPL .pkl/.npz model file (default: the open model)"
    )


def add_photo_arguments(parser: argparse.ArgumentParser) -> None:
    """``--focal`` and ``--keypoints``: how to read one photo."""
    parser.add_argument(
        "--focal",
        type=float,
        metavar="PX",
        help=f"focal length in pixels (default: EXIF, else a {DEFAULT_FOV_DEG:g}° diagonal field "
        "of view)",
    )
    parser.add_argument("--keypoints", metavar="KEYPOINTS.json", help=KEYPOINTS_HELP)


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """Every input of one fit: model and photo arguments."""
    add_model_arguments(parser)
    add_photo_arguments(parser)


def add_garment_arguments(parser: argparse.ArgumentParser) -> None:
    """``--rest-pose``, ``--export`` and ``--skeleton``: the avatar's rest and its export."""
    parser.add_argument(
        "--rest-pose",
        choices=REST_POSES,
        help="rest pose of the built rig: t (SMPL's T-pose, the default), a (arms 45° down), "
        f"down (arms down); also the export's bind pose (default there: {DEFAULT_REST})",
    )
    parser.add_argument(
        "--export",
        metavar="OUT" + "|OUT".join(FORMATS),
        help="also export the avatar for garment tools: FBX (y up, bind pose and the fitted "
        "pose as a keyframe), GLB, or OBJ (two files: OUT_rest.obj, OUT_fitted.obj)",
    )
    parser.add_argument(
        "--skeleton",
        choices=SKELETONS,
        default="smpl",
        help="bone names of the export: SMPL's, or Mixamo's (mixamorig:Hips, ...)",
    )
