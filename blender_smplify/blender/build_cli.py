"""``python -m blender_smplify build IMAGE... --blend OUT.blend``: photos to .blend files.

Needs Blender's Python API: the ``bpy`` module (``pip install bpy==4.2.*`` on Python 3.11) or
Blender itself (``blender -b -c smplify ...``, registered by the add-on through
:mod:`.cli_command`). This module imports no bpy itself, so ``python -m blender_smplify`` can say
what is missing. Each photo is built in a fresh empty file; a photo that fails is reported on
stderr (``error: <file>: ...``, the file named once) and the others still finish. A bad
``--focal`` or body model stops the batch before it starts. Exit status: 0 all built, 1 some
failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

from ..core.camera import check_focal
from ..core.cli_args import (
    add_fit_arguments,
    add_garment_arguments,
    fit_keywords,
    known_measurements,
    photo_keypoints,
)
from ..core.errors import SmplifyError
from ..core.export_presets import DEFAULT_REST, check_export
from ..core.known_measurements import check_girths, check_height

DESCRIPTION = (
    "Build a posed, rigged, skinned avatar with its camera from photos into .blend files."
)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="photos or folders of photos")
    parser.add_argument(
        "--blend",
        required=True,
        metavar="OUT.blend",
        help="output .blend; with several photos a folder, or a name each photo's name is "
        "appended to",
    )
    parser.add_argument("--render", metavar="OUT.png", help="preview render: body over photo")
    add_fit_arguments(parser)
    add_garment_arguments(parser)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``build`` subcommand."""
    parser = subparsers.add_parser("build", help="photos to .blend files", description=DESCRIPTION)
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def expand_images(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Photos named or found in the named folders (sorted), and errors for empty folders.

    A path that does not exist stays in the list: reading it fails as it does for ``fit``.
    """
    images, errors = [], []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                errors.append(f"{path}: no photos in this folder")
            images += found
        else:
            images.append(path)
    return images, errors


def output_path(template: str | None, image: Path, suffix: str, many: bool) -> Path | None:
    """Where one photo's output goes: the path itself for one photo; for several, inside the
    folder ``template`` (no suffix or an existing folder) or ``<template stem>_<photo stem>``."""
    if not template:
        return None
    path = Path(template)
    if path.is_dir() or path.suffix.lower() != suffix:
        return (
            path / f"{image.stem}{suffix}" if (many or path.is_dir()) else path.with_suffix(suffix)
        )
    return path.with_name(f"{path.stem}_{image.stem}{suffix}") if many else path


def unique_outputs(paths: tuple[Path | None, ...], taken: set[Path]) -> tuple[Path | None, ...]:
    """``paths`` (one photo's outputs), with ``_2``, ``_3``... added to their names when an
    earlier photo of the batch got one of them (``a.jpg`` and ``a.png`` both give ``a.blend``)."""
    chosen, number = paths, 1
    while any(p is not None and p.resolve() in taken for p in chosen):
        number += 1
        chosen = tuple(p and p.with_name(f"{p.stem}_{number}{p.suffix}") for p in paths)
    taken.update(p.resolve() for p in chosen if p is not None)
    return chosen


def run(args: argparse.Namespace) -> int:
    """Build every photo; returns the exit status."""
    images, errors = expand_images(args.images)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    many = len(images) + len(errors) > 1
    if args.keypoints and many and not args.same_person:
        print("error: --keypoints applies to a single photo", file=sys.stderr)
        return 2
    if importlib.util.find_spec("bpy") is None:
        print(
            "error: the build command needs Blender's Python module: pip install 'bpy==4.2.*' "
            "(Python 3.11), or run it inside Blender: blender -b -c smplify ...",
            file=sys.stderr,
        )
        return 2
    from . import pipeline

    try:  # what every photo shares: refused once, before any photo
        check_focal(args.focal)
        if args.export:
            check_export(args.export, args.skeleton, args.rest_pose or DEFAULT_REST)
        if args.same_person and (args.export or args.rest_pose):
            raise SmplifyError(
                "--export and --rest-pose work on one avatar: build the photos with "
                "--same-person first, then export each avatar from Blender's panel"
            )
        height, girths = known_measurements(args)
        check_height(height)
        check_girths(girths)
        pipeline.load_model(args.gender, args.model)
    except SmplifyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.same_person:
        return 1 if errors or not build_same_person(images, args) else 0
    failed, taken = len(errors), set()
    for image in images:
        export_suffix = Path(args.export).suffix.lower() if args.export else ""
        outputs = (
            output_path(args.blend, image, ".blend", many),
            output_path(args.render, image, ".png", many),
            output_path(args.export, image, export_suffix, many),
        )
        failed += not build_one(image, args, unique_outputs(outputs, taken))
    return 1 if failed else 0


def build_one(image: Path, args: argparse.Namespace, outputs: tuple[Path | None, ...]) -> bool:
    """Build one photo into a fresh file; print what was written, or one error line."""
    from . import pipeline

    start = time.perf_counter()
    blend, render, export = outputs
    try:
        pipeline.new_file()
        result = pipeline.photo_to_avatar(
            image,
            keypoints=args.keypoints[0] if args.keypoints else None,
            **fit_keywords(args),
            blend_path=blend,
            render_path=render,
            rest_pose=args.rest_pose,
            export_path=export,
            skeleton=args.skeleton,
        )
    except SmplifyError as error:  # its message names the file (core.errors.naming)
        print(f"error: {error}", file=sys.stderr)
        return False
    except Exception as error:  # noqa: BLE001 (one bad photo must not stop the batch)
        print(f"error: {image}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return False
    seconds = time.perf_counter() - start
    written = ", ".join(str(p) for p in (blend, render, *result.exported) if p)
    print(f"{image}: {written} ({result.status}; {seconds:.2f} s)")
    return True


def build_same_person(images: list[Path], args: argparse.Namespace) -> bool:
    """Build the photos of one person (``--same-person``) into one file: one shape, an avatar
    per photo (its camera, pose and photo); print what was written, or one error line."""
    from . import pipeline
    from .same_person import photos_to_avatars

    start = time.perf_counter()
    try:
        keypoints = photo_keypoints(len(images), args.keypoints)
        pipeline.new_file()
        avatars = photos_to_avatars(
            images,
            keypoints=keypoints,
            **fit_keywords(args),
            blend_path=args.blend,
            render_path=args.render,
        )
    except SmplifyError as error:  # its message names the file (core.errors.naming)
        print(f"error: {error}", file=sys.stderr)
        return False
    seconds = time.perf_counter() - start
    written = ", ".join(str(p) for p in (args.blend, args.render) if p)
    names = ", ".join(str(p) for p in images)
    print(f"{names}: one person, {len(avatars)} photos: {written} ({seconds:.2f} s)")
    return True
