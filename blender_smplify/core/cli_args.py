"""The command-line arguments that ``fit``, ``build`` and ``info`` share, declared once.

Each front end adds the groups it takes; the names, types, defaults and help texts are the same
everywhere, and the values go to ``core.pipeline.prepare`` (which checks them): unchanged, but
for the known measurements, which are given in centimetres and passed in metres
(:func:`known_measurements`).
"""

from __future__ import annotations

import argparse

from .body_model import GENDERS
from .camera import DEFAULT_FOV_DEG
from .errors import SmplifyError
from .export_presets import DEFAULT_REST, FORMATS, SKELETONS
from .pipeline import SILHOUETTE_FROM_MASK
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
    parser.add_argument(
        "--keypoints",
        action="append",
        metavar="KEYPOINTS.json",
        help=KEYPOINTS_HELP + "; with --same-person one per photo, in the photos' order",
    )


def add_same_person_argument(parser: argparse.ArgumentParser) -> None:
    """``--same-person``: the photos show one person, fitted with one body shape."""
    parser.add_argument(
        "--same-person",
        action="store_true",
        help="the photos show the same person (say front and side): fit one body shape to "
        "all of them, with a pose and camera per photo",
    )


#: option -> the girth it gives (``known_measurements.GIRTH_RANGES_M``'s names)
GIRTH_OPTIONS = {"chest": "chest_girth", "waist": "waist_girth", "hip": "hip_girth"}


def add_measurement_arguments(parser: argparse.ArgumentParser) -> None:
    """``--height`` and ``--chest``/``--waist``/``--hip``: what is known of the person, in cm."""
    parser.add_argument(
        "--height",
        type=float,
        metavar="CM",
        help="the person's known height (stature) in cm: the fitted body gets it",
    )
    for option, girth in GIRTH_OPTIONS.items():
        parser.add_argument(
            f"--{option}",
            type=float,
            metavar="CM",
            help=f"the person's known {girth.replace('_', ' ')} in cm (a soft constraint)",
        )


def known_measurements(args: argparse.Namespace) -> tuple[float | None, dict[str, float]]:
    """The height and girths of ``args`` in metres (None / left out where not given)."""
    height = None if args.height is None else args.height / 100.0
    girths = {
        girth: getattr(args, option) / 100.0
        for option, girth in GIRTH_OPTIONS.items()
        if getattr(args, option) is not None
    }
    return height, girths


def fit_keywords(args: argparse.Namespace) -> dict:
    """What the fit options of ``add_fit_arguments`` say, as the keyword arguments every door
    (``core.pipeline.prepare``, the Blender layer's ``photo_to_avatar`` and
    ``photos_to_avatars``) takes: model, focal length, known measurements, silhouette."""
    height, girths = known_measurements(args)
    return {
        "gender": args.gender,
        "model_path": args.model,
        "focal_length": args.focal,
        "height": height,
        "girths": girths,
        "silhouette": args.silhouette,
    }


def add_silhouette_argument(parser: argparse.ArgumentParser) -> None:
    """``--silhouette`` / ``--no-silhouette``: fit the detected person's outline, or not."""
    parser.add_argument(
        "--silhouette",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fit the detected person's outline too (better girths and pose for tight "
        "clothing; loose clothing makes the body wider); default: "
        f"{'on' if SILHOUETTE_FROM_MASK else 'off'}; ignored with --keypoints",
    )


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """Every input of one fit: model, photo, known measurements and the outline switch."""
    add_model_arguments(parser)
    add_photo_arguments(parser)
    add_measurement_arguments(parser)
    add_silhouette_argument(parser)
    add_same_person_argument(parser)


def photo_keypoints(photos: int, keypoints: list[str] | None) -> list:
    """The ``--keypoints`` file of each of ``photos`` photos (None: detect), or a SmplifyError
    when their numbers differ."""
    if keypoints is None:
        return [None] * photos
    if len(keypoints) != photos:
        raise SmplifyError(
            f"{len(keypoints)} --keypoints files for {photos} photos: give one per photo"
        )
    return list(keypoints)


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
