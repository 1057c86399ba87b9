"""``measure FIT.json ... --out M.json|M.csv``: ISO 8559-1 body measurements of fitted bodies.

Reads the betas and gender of each fit (the JSON that ``python -m blender_smplify fit`` writes;
for several photos of one person, ``fit --same-person``, the shared betas at its top),
shapes that body in its rest pose and writes every measurement of ``core/measurements.py`` in
centimetres: JSON (one object per fit, plus each measurement's ISO 8559-1 description) or CSV
(one row per fit). Runs as ``python -m blender_smplify.measure_cli`` (and as
``python -m blender_smplify measure``). User errors print one ``error:`` line and exit with 2.

``measure FIT.json --set chest=102 waist=88 ... --out NEW.json|M.csv`` instead solves the shape
that has those measurements (cm; :mod:`.core.shape_from_measurements`), keeps the fit's pose and
camera, prints each target's residual and writes the refit (.json, a fit file ``build`` reads)
or the new body's measurements (.csv).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

from .core.body_model import GENDERS
from .core.errors import SmplifyError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".heic")


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the measure arguments to ``parser``."""
    parser.add_argument("fits", nargs="+", metavar="FIT.json", help="fit results to measure")
    parser.add_argument("--out", required=True, help="output file: .json or .csv")
    parser.add_argument(
        "--gender",
        choices=GENDERS,
        default=None,
        help="body model to shape (default: each fit's own gender)",
    )
    parser.add_argument(
        "--model", metavar="SMPL.pkl", help="SMPL .pkl/.npz model file (default: the open model)"
    )
    parser.add_argument(
        "--set",
        nargs="+",
        metavar="NAME=CM",
        dest="targets",
        help="solve the shape that has these measurements (cm; e.g. chest=102 waist=88, a "
        "two-sided one without its side sets both) and write the refit fit (.json) or its "
        "measurements (.csv); one FIT.json only",
    )
    parser.add_argument(
        "--keep-shape",
        action="store_true",
        help="with --set: keep what the targets leave free as the fit had it (default: the "
        "body model's population prior decides it)",
    )
    parser.set_defaults(func=run)
    return parser


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``measure`` as a subcommand (``python -m blender_smplify measure``)."""
    configure(
        subparsers.add_parser(
            "measure",
            help="ISO 8559-1 body measurements of fitted bodies (cm)",
            description="Measure the rest-pose body of each fit (its betas and gender) and write "
            "the measurements in centimetres as JSON or CSV.",
        )
    )


def read_fit(path: str) -> tuple[np.ndarray, str]:
    """Betas (B,) and gender of a fit JSON file (one photo's, or the shared shape of a
    ``--same-person`` fit: ``core.same_person_pipeline.same_person_json``)."""
    if Path(path).suffix.lower() in PHOTO_SUFFIXES:
        raise SmplifyError(
            f"{path} is a photo: fit it first (python -m blender_smplify fit "
            f"{path} --out fit.json), then measure fit.json"
        )
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise SmplifyError(f"fit file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SmplifyError(f"cannot read fit file {path}: {exc}") from None
    if not isinstance(data, dict) or "betas" not in data:
        raise SmplifyError(f"{path} has no 'betas': not a fit result")
    try:
        betas = np.asarray(data["betas"], dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise SmplifyError(f"{path}: 'betas' is not a list of numbers") from None
    if not np.all(np.isfinite(betas)):
        raise SmplifyError(f"{path}: 'betas' has non-finite values")
    gender = str(data.get("gender", "neutral"))
    if gender not in GENDERS:
        raise SmplifyError(f"{path}: unknown gender '{gender}' (one of {', '.join(GENDERS)})")
    return betas, gender


def measure_fits(paths: list[str], gender: str | None = None, model_path: str | None = None):
    """Measurements in cm of each fit: a list of (path, gender, {name: cm})."""
    from .core.body_model import BodyModel
    from .core.measurements import BodyMeasurer

    measurers: dict[str, BodyMeasurer] = {}
    rows = []
    for path in paths:
        betas, own_gender = read_fit(path)
        chosen = gender or own_gender
        if chosen not in measurers:
            measurers[chosen] = BodyMeasurer(BodyModel.load(model_path, gender=chosen))
        values = measurers[chosen].measure(betas).values
        rows.append((path, chosen, {k: round(100.0 * v, 2) for k, v in values.items()}))
    return rows


def write_measurements(rows, out: str) -> None:
    """Write rows from :func:`measure_fits` as .json or .csv (chosen by the suffix)."""
    from .core.measurements import DESCRIPTIONS, MEASUREMENT_NAMES

    out_path = Path(out)
    suffix = out_path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise SmplifyError(f"--out must end in .json or .csv, got '{out}'")
    tmp = out_path.with_name(out_path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            if suffix == ".json":
                json.dump(
                    {
                        "unit": "cm",
                        "bodies": [{"fit": p, "gender": g, "measurements": v} for p, g, v in rows],
                        "descriptions": {n: DESCRIPTIONS[n] for n in MEASUREMENT_NAMES},
                    },
                    fh,
                    indent=1,
                )
            else:
                writer = csv.writer(fh)
                writer.writerow(["fit", "gender", *(f"{n}_cm" for n in MEASUREMENT_NAMES)])
                for path, gender, values in rows:
                    writer.writerow([path, gender, *(values[n] for n in MEASUREMENT_NAMES)])
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SmplifyError(f"cannot write {out_path}: {exc.strerror or exc}") from None


def parse_targets(pairs: list[str]) -> dict[str, float]:
    """``["chest=102", "waist=88"]`` -> {"chest": 1.02, "waist": 0.88} (cm in, metres out)."""
    targets = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SmplifyError(f"--set expects NAME=CM (e.g. chest=102), got '{pair}'")
        try:
            targets[name.strip()] = float(value) / 100.0
        except ValueError:
            raise SmplifyError(f"--set {pair}: '{value}' is not a number of centimetres") from None
    return targets


def refit_fit(path: str, targets: dict[str, float], gender, model_path, keep_shape: bool):
    """The fit JSON of ``path`` with the shape solved for ``targets`` (metres), and the
    :class:`MeasurementFit`. Pose, translation and camera stay; the posed joints follow."""
    from .core.body_model import BodyModel
    from .core.shape_from_measurements import shape_from_measurements

    betas, own_gender = read_fit(path)
    with open(path, encoding="utf-8-sig") as fh:
        data = json.load(fh)
    model = BodyModel.load(model_path, gender=gender or own_gender)
    solved = shape_from_measurements(model, targets, betas, keep_start=keep_shape)
    data["betas"] = solved.betas.tolist()
    data["gender"] = model.gender
    if "global_orient" in data and "body_pose" in data and "transl" in data:
        pose = np.concatenate([data["global_orient"], data["body_pose"]]).astype(np.float64)
        points, _ = model.posed_points(solved.betas, pose, data["transl"], jacobian=False)
        data["joints_3d"] = points[:24].tolist()
    data["measurement_targets_cm"] = {n: round(100 * v, 2) for n, v in solved.targets.items()}
    return data, solved


def run_set(args: argparse.Namespace) -> int:
    """``measure FIT.json --set ...``: refit the shape to the targets."""
    if len(args.fits) != 1:
        raise SmplifyError("--set refits one fit: give exactly one FIT.json")
    suffix = Path(args.out).suffix.lower()
    if suffix not in (".json", ".csv"):
        raise SmplifyError(f"--out must end in .json (the refit) or .csv, got '{args.out}'")
    data, solved = refit_fit(
        args.fits[0], parse_targets(args.targets), args.gender, args.model, args.keep_shape
    )
    if suffix == ".csv":
        values = {k: round(100.0 * v, 2) for k, v in solved.values.items()}
        write_measurements([(args.fits[0], data["gender"], values)], args.out)
    else:
        write_json(data, args.out)
    print(f"{'measurement':<24} {'target':>8} {'got':>8} {'residual':>9} (cm)")
    for name, target in solved.targets.items():
        got, residual = solved.values[name], solved.residuals[name]
        print(f"{name:<24} {100 * target:8.2f} {100 * got:8.2f} {100 * residual:+9.2f}")
    print(
        f"solved {len(solved.betas)} betas in {solved.iterations} iterations, "
        f"{solved.seconds:.2f} s ({solved.status.message}); wrote {args.out}"
    )
    return 0


def write_json(data: dict, out: str) -> None:
    """Write a fit dict as JSON, through a temporary file."""
    out_path = Path(out)
    tmp = out_path.with_name(out_path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SmplifyError(f"cannot write {out_path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    try:
        for given in args.fits:
            both = os.path.exists(given) and os.path.exists(args.out)
            if both and os.path.samefile(given, args.out):
                raise SmplifyError(f"--out {args.out} is an input file: it would be overwritten")
        if args.targets:
            return run_set(args)
        if args.keep_shape:
            raise SmplifyError("--keep-shape goes with --set")
        rows = measure_fits(args.fits, args.gender, args.model)
        write_measurements(rows, args.out)
    except SmplifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path, gender, values in rows:
        key = ", ".join(
            f"{n} {values[n]:.1f}" for n in ("stature", "chest_girth", "waist_girth", "hip_girth")
        )
        print(f"{path} ({gender}): {key} cm")
    bodies = "1 body" if len(rows) == 1 else f"{len(rows)} bodies"
    print(f"wrote {args.out} ({bodies}, {len(rows[0][2])} measurements each)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = configure(
        argparse.ArgumentParser(
            prog="python -m blender_smplify measure",
            description="ISO 8559-1 body measurements (cm) of fitted bodies, as JSON or CSV.",
        )
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
