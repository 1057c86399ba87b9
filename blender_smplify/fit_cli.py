"""``python -m blender_smplify fit IMAGE --out fit.json``: detect joints, fit the body, write JSON.

The JSON is ``FitResult.to_dict()`` (smplx names: global_orient, body_pose, betas, transl, plus
camera and joints_3d) with the keypoints that were fitted and where the focal length came from.
User errors (unreadable image or model, malformed keypoints, no person) print one line starting
with ``error:`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .core.errors import KeypointsError, SmplifyError

GENDERS = ("neutral", "female", "male")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit", help="fit the body model to a photo (or to given 2D keypoints)",
        description="Detect 2D joints in IMAGE (or read them with --keypoints), fit the body "
        "model to them and write the parameters as JSON.",
    )  # fmt: skip
    parser.add_argument("image", metavar="IMAGE", help="photo of one person")
    parser.add_argument("--out", required=True, help="output JSON file")
    parser.add_argument("--gender", choices=GENDERS, default="neutral")
    parser.add_argument("--model", default=None, help="SMPL .pkl/.npz (default: the open model)")
    parser.add_argument(
        "--focal",
        type=float,
        default=None,
        help="focal length in pixels (default: EXIF, else a 60° diagonal FOV)",
    )
    parser.add_argument("--keypoints", default=None, metavar="KEYPOINTS.json",
                        help='2D keypoints instead of detection: {"layout": ..., "xy": [[x, y], '
                        '...], "confidence": [...], "image_size": [w, h]}')  # fmt: skip
    parser.set_defaults(func=run)


def _read_keypoints(path: str):
    from .core.keypoints import Keypoints2D

    try:
        with open(path, encoding="utf-8-sig") as fh:  # -sig: files Windows tools save with a BOM
            data = json.load(fh)
    except FileNotFoundError:
        raise KeypointsError(f"keypoints file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeypointsError(f"cannot read keypoints file {path}: {exc}") from None
    try:
        return Keypoints2D.from_dict(data)
    except KeypointsError as exc:
        raise KeypointsError(f"{path}: {exc}") from None


def _image_size(path: str) -> tuple[int, int]:
    from .core.image_io import load_image

    image = load_image(path)
    return int(image.shape[1]), int(image.shape[0])


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except SmplifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .core.body_model import BodyModel
    from .core.camera import DEFAULT_FOV_DEG, focal_from_exif, focal_from_fov
    from .core.fit import STAGE_NAMES, fit

    timings: dict[str, float] = {}
    image_exists = os.path.isfile(args.image)
    for given, what in ((args.image, "IMAGE"), (args.keypoints, "--keypoints")):
        both = given and os.path.exists(given) and os.path.exists(args.out)
        if both and os.path.samefile(given, args.out):
            raise SmplifyError(f"--out {args.out} is the {what} file: it would be overwritten")
    t0 = time.perf_counter()
    if args.keypoints:
        keypoints, image_size = _read_keypoints(args.keypoints)
        if image_size is None:
            if not os.path.exists(args.image):  # a folder or a non-image: load_image says so
                raise KeypointsError(
                    f"{args.keypoints} has no image_size and the image {args.image} does not exist"
                )
            image_size = _image_size(args.image)
        source = f"read from {args.keypoints}"
    else:
        from .core.detector import JointDetector
        from .core.image_io import load_image

        image = load_image(args.image)
        image_size = (int(image.shape[1]), int(image.shape[0]))
        t1 = time.perf_counter()
        timings["load image"] = t1 - t0
        detection = JointDetector().detect(image)
        keypoints = detection.keypoints
        t0 = t1
        source = "detected"
    timings["keypoints"] = time.perf_counter() - t0

    if args.focal is not None:
        if not np.isfinite(args.focal) or args.focal <= 0:
            raise KeypointsError(f"--focal must be a positive number of pixels, got {args.focal}")
        focal, focal_source = float(args.focal), "given"
    else:
        focal = focal_from_exif(args.image, image_size) if image_exists else None
        focal_source = "EXIF 35 mm equivalent"
        if focal is None:
            focal = focal_from_fov(image_size)
            focal_source = f"default {DEFAULT_FOV_DEG:g}° diagonal field of view"

    t0 = time.perf_counter()
    model = BodyModel.load(args.model, gender=args.gender)
    timings["load model"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = fit(model, keypoints, image_size, focal)
    timings["fit"] = time.perf_counter() - t0

    out = result.to_dict()
    out["keypoints"] = keypoints.to_dict(image_size)
    out["camera"]["focal_source"] = focal_source
    out_path = Path(args.out)
    tmp = out_path.with_name(out_path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
        os.replace(tmp, out_path)
    except OSError as exc:  # e.g. --out names a folder: say so, and leave no .tmp behind
        tmp.unlink(missing_ok=True)
        raise SmplifyError(f"cannot write {out_path}: {exc.strerror or exc}") from None

    visible = int((keypoints.confidence > 0).sum())
    status = {0: "converged", 1: "iteration limit", 2: "cancelled"}.get(result.status, "?")
    print(f"image      {args.image}  ({image_size[0]} x {image_size[1]} px)")
    print(
        f"keypoints  {keypoints.layout}: {visible}/{len(keypoints.confidence)} visible, {source}"
    )
    print(f"model      {getattr(model, 'source', '') or 'open body model'} ({model.gender})")
    print(f"camera     focal {focal:.0f} px ({focal_source})")
    print(f"fit        {status}, {result.iterations} iterations, {1e3 * result.seconds:.0f} ms")
    print("stages     " + ", ".join(f"{n} {1e3 * s:.0f} ms"
                                     for n, s in zip(STAGE_NAMES, result.stage_seconds)))  # fmt: skip
    print("energy     " + ", ".join(f"{k} {v:.3g}" for k, v in result.energy.items()))
    t = result.transl
    print(f"body       {t[2]:.2f} m from the camera; betas[:3] "
          f"{np.array2string(result.betas[:3], precision=2)}")  # fmt: skip
    for warning in result.warnings:
        print(f"warning    {warning}")
    print("timings    " + ", ".join(f"{k} {1e3 * v:.0f} ms" for k, v in timings.items()))
    print(f"wrote      {out_path}")
    return 0
