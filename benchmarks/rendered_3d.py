"""End-to-end benchmark with exact 3D truth: photo-like renders of the open body models in poses
the pose prior never saw, through the real detector and the fit.

    .venv/bin/python benchmarks/rendered_3d.py render [--per-category 24] [--seed 0]
        [--split benchmark|train]
    .venv/bin/python benchmarks/rendered_3d.py evaluate [--prior PATH] [--gender neutral|true]
        [--md docs-table.md] [--limit N] [--categories a,b]
    .venv/bin/python benchmarks/rendered_3d.py sheet OUT.png [--count 12] [--width 1200]
    .venv/bin/python benchmarks/rendered_3d.py draw NAME OUT.png
    .venv/bin/python benchmarks/rendered_3d.py compare BEFORE.json AFTER.json

``render`` (needs the ``bpy`` module) makes per category and index one photo and its truth
(``<category>_<index>.png`` and ``.json`` under ``--cache``, default
``benchmarks/out/rendered_3d/seed<seed>/``); a photo already there is kept, so a rerun only
renders what is missing, and each photo's random draws depend only on (seed, category, index).
Per photo: random gender (female / male) and β ~ N(0, I) (10), a pose of the category
(``rendered_poses.py``) resting on the floor, a look and a phone-like camera
(``render_scene.py``), rendered by ``render_people.Renderer``. ``--split train`` draws the
poses of ``rendered_training.py`` instead (sources the benchmark never uses). ``evaluate`` (no
bpy) detects and fits every cached photo and prints the tables (``depth_metrics.py`` defines the
measures).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEFAULT_CACHE = ROOT / "benchmarks" / "out" / "rendered_3d"


def case_rng(seed: int, category: str, index: int) -> np.random.Generator:
    """The random stream of one photo: fixed by (seed, category, index) alone."""
    return np.random.default_rng([seed, zlib.crc32(category.encode()), index])


def compose(models: dict, source, category: str, rng: np.random.Generator):
    """Body, pose on the floor, look and camera of one photo; returns what ``render`` needs."""
    import render_scene as rs
    import rendered_poses as rp

    gender = str(rng.choice(["female", "male"]))
    model = models[gender]
    betas = rng.normal(size=10)
    pose, origin = source.sample(category, rng)
    if category in rp.SUPPORTS:
        pose = rs.level_on_supports(model, betas, pose, *rp.SUPPORTS[category])
    transl = rs.place_on_floor(model, betas, pose)
    vertices, joints = model.forward(betas, pose, transl)
    props = (rs.chair_under(vertices, joints, rng),) if category in rp.SEATED_ON_PROP else ()
    look = rs.sample_look(rng, props)
    extent = vertices.max(axis=0) - vertices.min(axis=0)
    shot = rs.sample_shot(rng, landscape=extent[1] < max(extent[0], extent[2]))
    camera = rs.frame_body(vertices, rs.body_facing(pose), shot)
    info = rs.truth(model, betas, pose, transl, camera)
    info.update(
        category=category,
        origin=origin,
        gender=gender,
        lens_mm=shot.lens_mm,
        camera_height=shot.height,
        yaw_deg=float(np.degrees(shot.yaw)),
        fill=shot.fill,
    )
    uv = np.array(info["joints_2d"])
    w, h = camera.image_size
    info["joints_outside"] = int(((uv < 0) | (uv >= [w, h])).any(axis=1).sum())
    return model, betas, pose, transl, camera, look, info


def keep_models(out: Path) -> None:
    """Copy the shipped body models into the cache (``rendered_eval.truth_models`` reads them):
    the truth keypoints of its photos must come from the bodies in them, whatever ships later.
    A cache made with other models takes no new photos."""
    from rendered_eval import MODELS_FOLDER

    from blender_smplify.core.body_model import open_model_path

    (out / MODELS_FOLDER).mkdir(exist_ok=True)
    for gender in ("female", "male"):
        shipped, kept = open_model_path(gender), out / MODELS_FOLDER / open_model_path(gender).name
        if not kept.exists():
            shutil.copyfile(shipped, kept)
        elif kept.read_bytes() != shipped.read_bytes():
            raise SystemExit(
                f"{out} holds photos of another {gender} body model than the one that ships "
                "now; render into a new --cache folder"
            )


def render(args) -> int:
    from render_people import Renderer
    from rendered_poses import PoseSource
    from rendered_training import TrainingPoseSource

    from blender_smplify.core.body_model import BodyModel

    out = Path(args.cache) / f"seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    source = TrainingPoseSource() if args.split == "train" else PoseSource()
    categories = args.categories.split(",") if args.categories else source.categories
    foreign = {js.name for js in out.glob("*.json") if js.stem.rsplit("_", 1)[0] not in categories}
    if foreign and not args.categories:
        raise SystemExit(f"{out} holds photos of another split (e.g. {min(foreign)})")
    models = {g: BodyModel.load(gender=g) for g in ("female", "male")}
    keep_models(out)
    renderer = Renderer(samples=args.samples, threads=args.threads)
    times = []
    for index in range(args.per_category):  # interleaved: a partial run stays balanced
        for category in categories:
            name = f"{category}_{index:03d}"
            if (out / f"{name}.json").exists() and (out / f"{name}.png").exists():
                continue
            rng = case_rng(args.seed, category, index)
            model, betas, pose, transl, camera, look, info = compose(models, source, category, rng)
            seconds = renderer.render(
                str(out / f"{name}.png"), model, betas, pose, transl, camera, look
            )
            info["render_seconds"] = seconds
            (out / f"{name}.json").write_text(json.dumps(info))
            times.append(seconds)
            print(f"{name}: {seconds:.1f} s ({info['origin']})", flush=True)
    if times:
        print(
            f"rendered {len(times)} photos: median {np.median(times):.1f} s, "
            f"p90 {np.percentile(times, 90):.1f} s per photo"
        )
    return 0


def fit_options(args):
    """FitOptions from ``--prior`` and ``--options`` (a JSON object of FitOptions fields)."""
    from blender_smplify.core.fit import FitOptions
    from blender_smplify.core.priors import PosePrior

    fields = json.loads(args.options) if args.options else {}
    if "max_iterations" in fields:
        fields["max_iterations"] = tuple(fields["max_iterations"])
    if args.prior:
        fields["pose_prior"] = PosePrior.load(args.prior)
    return FitOptions(**fields)


def evaluate(args) -> int:
    import os

    from rendered_eval import Evaluator, load_cases, table, truth_models

    folder = Path(args.cache) / f"seed{args.seed}"
    cats = args.categories.split(",") if args.categories else None
    cases = load_cases(folder, cats, args.limit)
    if not cases:
        print(f"no rendered photos under {folder}; run the render command first")
        return 1
    evaluator = Evaluator(
        args.gender,
        fit_options(args),
        json.loads(args.fit_kwargs) if args.fit_kwargs else None,
        args.world_keyword,
        args.gt_layout,
        detector=not args.no_detector,
        truth_models=truth_models(folder),
    )
    load_before, start = os.getloadavg()[0], time.perf_counter()
    results = []
    for k, (png, info) in enumerate(cases):
        results.append(evaluator.case(png, info))
        if (k + 1) % 25 == 0:
            print(f"{k + 1}/{len(cases)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(results))
    from rendered_poses import PoseSource

    present = {info["category"] for _, info in cases}
    order = [c for c in PoseSource().categories if c in present]
    order += sorted(present - set(order))
    model = "the neutral model" if args.gender == "neutral" else "the true gender's model"
    head = (
        f"{len(cases)} photos from {folder}; fitted with {model}, true focal length; "
        f"prior {args.prior or 'shipped'}; truth-2D layout {args.gt_layout}"
    )
    seconds = time.perf_counter() - start
    tail = (
        f"evaluation {seconds:.0f} s for {len(cases)} photos; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)"
    )
    text = [
        head,
        "",
        "From the detector's keypoints:",
        "",
        table(results, "detector", order),
        "",
        f"From the true 2D keypoints ({args.gt_layout}):",
        "",
        table(results, "truth2d", order),
        "",
        tail,
    ]
    print("\n".join(text))
    if args.md:
        Path(args.md).write_text("\n".join(text) + "\n")
    return 0


def sheet(args) -> int:
    from rendered_views import contact_sheet

    folder = Path(args.cache) / f"seed{args.seed}"
    contact_sheet(folder, Path(args.out), args.count, args.width, args.start)
    print(f"{args.out}: {Path(args.out).stat().st_size / 1e3:.0f} KB")
    return 0


def draw(args) -> int:
    from rendered_eval import Evaluator, truth_models
    from rendered_views import draw_fit

    folder = Path(args.cache) / f"seed{args.seed}"
    evaluator = Evaluator(
        args.gender, fit_options(args), None, "", args.gt_layout, truth_models=truth_models(folder)
    )
    png = folder / f"{args.name}.png"
    info = json.loads(png.with_suffix(".json").read_text())
    result = evaluator.case(png, info)
    draw_fit(png, info, result, evaluator.fit_model(info), Path(args.out))
    print(json.dumps({k: result[k] for k in ("detector", "truth2d")}, indent=1))
    return 0


def compare_runs(args) -> int:
    from rendered_eval import compare
    from rendered_poses import PoseSource

    before, after = (json.loads(Path(p).read_text()) for p in (args.before, args.after))
    present = {r["category"] for r in before}
    order = [c for c in PoseSource().categories if c in present]
    for path in ("detector", "truth2d"):
        print(compare(before, after, path, order), end="\n\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="render the missing photos (needs bpy)")
    r.add_argument("--per-category", type=int, default=24)
    r.add_argument("--samples", type=int, default=4)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument(
        "--split",
        choices=("benchmark", "train"),
        default="benchmark",
        help="poses of the benchmark, or of the training split (rendered_training.py; give it "
        "its own --seed and --cache)",
    )
    e = sub.add_parser("evaluate", help="detect and fit the cached photos, print the tables")
    d = sub.add_parser("draw", help="one photo's fit over the photo and from the side")
    d.add_argument("name", help="photo name, e.g. crawl_003")
    d.add_argument("out")
    for p in (e, d):
        p.add_argument("--prior", default="", help="pose prior .npz (default: the shipped one)")
        p.add_argument("--gender", choices=("neutral", "true"), default="neutral")
        p.add_argument("--options", default="", help="FitOptions fields as JSON")
        p.add_argument("--gt-layout", choices=("blazepose33", "smpl24"), default="blazepose33")
    e.add_argument("--fit-kwargs", default="", help="extra keyword arguments of fit(), JSON")
    e.add_argument(
        "--world-keyword",
        default="",
        help="pass the detection's world landmarks to fit() under this keyword",
    )
    e.add_argument("--no-detector", action="store_true", help="only the truth-2D fits")
    e.add_argument("--limit", type=int, default=0)
    e.add_argument("--md", default="", help="also write the tables to this file")
    e.add_argument("--save", default="", help="per-photo results as JSON")
    s = sub.add_parser("sheet", help="contact sheet of cached photos")
    s.add_argument("out")
    s.add_argument("--count", type=int, default=12)
    s.add_argument("--width", type=int, default=1200)
    s.add_argument("--start", type=int, default=0, help="first photo index per category")
    c = sub.add_parser("compare", help="two runs saved by evaluate --save, side by side")
    c.add_argument("before")
    c.add_argument("after")
    for p in (r, e, d, s):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--cache", default=str(DEFAULT_CACHE))
        p.add_argument("--categories", default="", help="comma-separated (default: all)")
    args = ap.parse_args(argv)
    commands = {
        "render": render,
        "evaluate": evaluate,
        "sheet": sheet,
        "draw": draw,
        "compare": compare_runs,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
