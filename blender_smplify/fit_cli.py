"""``python -m blender_smplify fit IMAGE --out fit.json``: detect joints, fit the body, write JSON.

The JSON is ``FitResult.to_dict()`` (smplx names: global_orient, body_pose, betas, transl, plus
camera and joints_3d) with the keypoints that were fitted and where the focal length came from.
With ``--same-person`` and one or more photos, one shape for all of them: the JSON of
``core.same_person_pipeline.same_person_json`` (the shared betas at the top, one single-fit JSON
per photo under "photos").
User errors (unreadable image or model, malformed keypoints, no person) print one line starting
with ``error:`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from .core.cli_args import add_fit_arguments, fit_keywords, photo_keypoints
from .core.errors import SmplifyError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit the body model to a photo (or to given 2D keypoints)",
        description="Detect 2D joints in IMAGE (or read them with --keypoints), fit the body "
        "model to them and write the parameters as JSON.",
    )
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="photo of one person (several with --same-person)",
    )
    parser.add_argument("--out", required=True, help="output JSON file")
    add_fit_arguments(parser)
    parser.set_defaults(func=run)


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
    from .core import pipeline

    if len(args.images) > 1 and not args.same_person:
        raise SmplifyError(
            f"{len(args.images)} photos given: add --same-person to fit one person's shape to "
            "all of them, or fit each photo on its own"
        )
    keypoints = photo_keypoints(len(args.images), args.keypoints)
    for given, what in [(i, "IMAGE") for i in args.images] + [
        (k, "--keypoints") for k in keypoints
    ]:
        both = given and os.path.exists(given) and os.path.exists(args.out)
        if both and os.path.samefile(given, args.out):
            raise SmplifyError(f"--out {args.out} is the {what} file: it would be overwritten")
    inputs = [
        pipeline.prepare(image, keypoints=given, **fit_keywords(args))
        for image, given in zip(args.images, keypoints)
    ]
    out_path = Path(args.out)
    if args.same_person:
        from .core.same_person_pipeline import detect_and_fit_same_person, same_person_json

        joint = detect_and_fit_same_person(inputs)
        _write_json(out_path, same_person_json(joint, args.images))
        for image, one, result in zip(args.images, inputs, joint.photos):
            _print_summary(image, one, result, None)
        print(f"{'joint':<10} one shape for {len(inputs)} photos, {_joint_text(joint)}")
        print(f"{'wrote':<10} {out_path}")
        return 0
    result = pipeline.detect_and_fit(inputs[0])
    _write_json(out_path, _fit_json(result))
    _print_summary(args.images[0], inputs[0], result, out_path)
    return 0


def _joint_text(joint) -> str:
    result = joint.joint
    return (
        f"{result.joint_iterations} iterations, {1e3 * result.joint_seconds:.0f} ms, "
        f"betas[:3] {np.array2string(result.betas[:3], precision=2)}"
    )


def _fit_json(result) -> dict:
    out = result.fit.to_dict()
    out["keypoints"] = result.keypoints.to_dict(result.image_size)
    out["camera"]["focal_source"] = result.focal_source
    return out


def _write_json(out_path: Path, data: dict) -> None:
    """Write through a temporary file, so a failed write leaves no half file behind."""
    tmp = out_path.with_name(out_path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, out_path)
    except OSError as exc:  # e.g. --out names a folder: say so, and leave no .tmp behind
        tmp.unlink(missing_ok=True)
        raise SmplifyError(f"cannot write {out_path}: {exc.strerror or exc}") from None


def _print_summary(image: str, inputs, result, out_path: Path | None) -> None:
    from .core.fit import STAGE_NAMES

    fit, keypoints, (width, height) = result.fit, result.keypoints, result.image_size
    visible = int((keypoints.confidence > 0).sum())
    stages = ", ".join(f"{n} {1e3 * s:.0f} ms" for n, s in zip(STAGE_NAMES, fit.stage_seconds))
    seen = f"{visible}/{len(keypoints.confidence)} visible"
    betas = np.array2string(fit.betas[:3], precision=2)
    lines = [
        ("image", f"{image}  ({width} x {height} px)"),
        ("keypoints", f"{keypoints.layout}: {seen}, {result.keypoints_source}"),
        ("model", f"{inputs.model.source or 'open body model'} ({inputs.model.gender})"),
        ("camera", f"focal {inputs.focal_length:.0f} px ({result.focal_source})"),
        ("fit", f"{fit.status_message}, {fit.iterations} iterations, {1e3 * fit.seconds:.0f} ms"),
        ("stages", stages),
        ("energy", ", ".join(f"{k} {v:.3g}" for k, v in fit.energy.items())),
        ("body", f"{fit.transl[2]:.2f} m from the camera; betas[:3] {betas}"),
        *(("warning", warning) for warning in fit.warnings),
        ("timings", ", ".join(f"{k} {1e3 * v:.0f} ms" for k, v in result.seconds.items())),
        *((("wrote", str(out_path)),) if out_path is not None else ()),
    ]
    for label, text in lines:
        print(f"{label:<10} {text}")
