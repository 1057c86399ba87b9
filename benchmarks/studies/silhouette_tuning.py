"""Study: the silhouette stage's settings on the shape benchmark's renders
(``benchmarks/shape_accuracy.py``), choosing on the tuning half (even ids), reporting the odd.

    .venv/bin/python benchmarks/studies/silhouette_tuning.py detect --cache DIR --out DET.pkl
    .venv/bin/python benchmarks/studies/silhouette_tuning.py fit --detections DET.pkl
        --half tuning --name NAME [--inside-weight 1.0] [--iterations 10] [--rounds 1] ...
        [--no-silhouette] --out RESULTS.json

``detect`` runs ``shape_accuracy.DoorFitter.evidence`` once per photo (the real detector and
the lifter's 3D evidence, as the doors) and keeps keypoints, world landmarks and the crop
mask (``Silhouette.from_detection``). ``fit`` fits every person of the half under the three
conditions of the benchmark (front; front + true height; front + side + true height), with
the silhouette unless ``--no-silhouette``, under the given ``FitOptions`` and
``SmplifyWeights``, measures the β with ``BodyMeasurer`` and appends one record per variant to
``--out``: per condition the chest, waist, hip and pooled girth |error| median / p90 (mm),
stature, and the median fit seconds. The renders of ``--cache`` are only read.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CONDITIONS = {
    "front": (("front",), False),
    "front_height": (("front",), True),
    "front_side_height": (("front", "side"), True),
}


def detect(args) -> int:
    import shape_accuracy as sa
    from shape_errors import FitFailed, load_people

    from blender_smplify.core.silhouette import Silhouette

    fitter = sa.DoorFitter()
    out = {}
    for person in load_people(Path(args.cache)):
        for view in person["photos"]:
            try:
                detection, kp, world = fitter.evidence(person, view)
            except FitFailed:
                continue
            out[(person["person"], view)] = (kp, world, Silhouette.from_detection(detection))
        print(person["person"], flush=True)
    Path(args.out).write_bytes(pickle.dumps(out))
    return 0


def variant(args):
    """(FitOptions, SmplifyWeights) of the command line."""
    from blender_smplify.core.fit import FitOptions
    from blender_smplify.core.objective import SmplifyWeights

    base = FitOptions()
    settings = base.silhouette
    for field in (
        "inside_weight",
        "inside_sigma",
        "outside_sigma",
        "surface_points",
        "boundary_points",
    ):
        value = getattr(args, field)
        if value is not None:
            settings = replace(settings, **{field: value})
    if args.occlusion is not None:
        settings = replace(settings, occlusion=args.occlusion == "on")
    options = replace(base, silhouette=settings)
    for field, name in (("iterations", "silhouette_iterations"), ("rounds", "silhouette_rounds")):
        value = getattr(args, field)
        if value is not None:
            options = replace(options, **{name: value})
    if args.joint_iterations is not None:
        options = replace(options, same_person_iterations=args.joint_iterations)
    if args.joint_radius is not None:
        options = replace(options, same_person_radius=args.joint_radius)
    if args.radius is not None:
        options = replace(options, silhouette_radius=args.radius)
    weights = SmplifyWeights()
    if args.silhouette_weight is not None:
        weights = replace(weights, silhouette=args.silhouette_weight)
    if args.shape_prior is not None:
        weights = replace(weights, silhouette_shape_prior=args.shape_prior)
    return options, weights


def fit_all(args) -> int:
    from shape_errors import GIRTHS, Measurers, load_people

    from blender_smplify.core import pipeline
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.fit import fit
    from blender_smplify.core.fit_same_person import PhotoView, fit_same_person

    evidence = pickle.loads(Path(args.detections).read_bytes())
    people = [p for p in load_people(Path(args.cache)) if p["half"] == args.half]
    people = people[: args.limit or None]
    measurers = Measurers({g: BodyModel.load(gender=g) for g in ("female", "male")})
    options, weights = variant(args)
    load, start = os.getloadavg()[0], time.perf_counter()
    errors = {c: {g: [] for g in ("stature", *GIRTHS)} for c in CONDITIONS}
    seconds = {c: [] for c in CONDITIONS}
    per_person = {c: {} for c in CONDITIONS}  # id -> [stature, chest, waist, hip] mm
    for person in people:
        model = pipeline.load_model(person["gender"])
        truth = person["measurements"]
        for cond, (views, with_height) in CONDITIONS.items():
            if cond not in args.conditions.split(","):
                continue
            if any((person["person"], v) not in evidence for v in views):
                continue
            photos = []
            for v in views:
                kp, world, sil = evidence[(person["person"], v)]
                info = person["photos"][v][1]
                photos.append(
                    PhotoView(
                        keypoints=kp,
                        image_size=tuple(info["image_size"]),
                        focal_length=info["focal_px"],
                        world=world,
                        silhouette=None if args.no_silhouette else sil,
                    )
                )
            height = truth["stature"] if with_height else None
            t0 = time.perf_counter()
            if len(photos) == 1:
                p = photos[0]
                betas = fit(
                    model,
                    p.keypoints,
                    p.image_size,
                    p.focal_length,
                    world=p.world,
                    silhouette=p.silhouette,
                    height=height,
                    weights=weights,
                    options=options,
                ).betas
            else:
                kw = dict(height=height, weights=weights, options=options)
                betas = fit_same_person(model, photos, **kw).betas
            seconds[cond].append(time.perf_counter() - t0)
            fitted = measurers.measure(person["gender"], betas)
            for name, values in errors[cond].items():
                values.append(1e3 * abs(fitted[name] - truth[name]))
            per_person[cond][person["person"]] = [e[-1] for e in errors[cond].values()]
    record = {"name": args.name, "half": args.half, "people": len(people), "load": load}
    record["wall_s"] = time.perf_counter() - start
    for cond in args.conditions.split(","):
        e = errors[cond]
        pooled = np.concatenate([e[g] for g in GIRTHS])
        row = {g: quantiles(e[g]) for g in e}
        row["girths"] = quantiles(pooled)
        row["fit_ms"] = 1e3 * float(np.median(seconds[cond]))
        row["n"] = len(seconds[cond])
        row["unmeasurable"] = int(np.sum(np.isnan(pooled)))
        row["per_person"] = per_person[cond]
        record[cond] = row
        print(
            f"{args.name:>28} {args.half:>6} {cond:>18} girths {row['girths'][0]:4.0f} / "
            f"{row['girths'][1]:4.0f}  chest {row['chest_girth'][0]:4.0f} waist "
            f"{row['waist_girth'][0]:4.0f} hip {row['hip_girth'][0]:4.0f}  "
            f"{row['fit_ms']:.0f} ms, {row['unmeasurable']} unmeasurable",
            flush=True,
        )
    out = Path(args.out)
    saved = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps([*saved, record], indent=1))
    return 0


def quantiles(values) -> tuple[float, float]:
    """Median and 90th percentile, NaN (a girth's plane cut failed) left out as
    ``shape_errors.summarise`` does; ``unmeasurable`` counts them."""
    return float(np.nanmedian(values)), float(np.nanpercentile(values, 90))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("detect")
    d.add_argument("--cache", required=True)
    d.add_argument("--out", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--cache", required=True)
    f.add_argument("--detections", required=True)
    f.add_argument("--half", choices=("tuning", "report"), default="tuning")
    f.add_argument("--name", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--limit", type=int, default=0)
    f.add_argument("--no-silhouette", action="store_true")
    for name in ("inside-weight", "inside-sigma", "outside-sigma", "radius"):
        f.add_argument(f"--{name}", type=float)
    f.add_argument("--silhouette-weight", type=float)
    f.add_argument("--shape-prior", type=float, help="λβ during the silhouette stage")
    f.add_argument("--iterations", type=int)
    f.add_argument("--surface-points", type=int)
    f.add_argument("--occlusion", choices=("on", "off"), help="SilhouetteSettings.occlusion")
    f.add_argument("--boundary-points", type=int)
    f.add_argument("--joint-iterations", type=int, help="the same-person refinement's")
    f.add_argument("--joint-radius", type=float, help="the same-person refinement's")
    f.add_argument("--conditions", default=",".join(CONDITIONS))
    f.add_argument("--rounds", type=int)
    args = parser.parse_args(argv)
    return detect(args) if args.command == "detect" else fit_all(args)


if __name__ == "__main__":
    raise SystemExit(main())
