"""Body-shape benchmark with exact measurements: rendered people of known β, through the real
detector and fit, their fitted bodies measured against the truth (issue 11, step 5).

    .venv/bin/python benchmarks/shape_accuracy.py render [--people 40] [--seed 0]
    .venv/bin/python benchmarks/shape_accuracy.py evaluate [--seed 0] [--conditions K,...]
    .venv/bin/python benchmarks/shape_accuracy.py table [--seed 0] [--md OUT.md]
    .venv/bin/python benchmarks/shape_accuracy.py sheet OUT.png [--count 12] [--start 0]

``render`` (needs the ``bpy`` module) renders each person from the front and from the side
(``shape_people.py`` says who they are and how they are seen) with ``render_people.Renderer``
into ``--cache`` (default ``benchmarks/out/shape_accuracy/seed<seed>/``, outside git):
``p<id>_front.png``, ``p<id>_side.png`` and a ``.json`` each with the exact truth (gender, β,
stance, pose, camera, focal length, lens, camera height, yaw, and every ``BodyMeasurer`` value
of the true body in metres). A photo already there is kept.

``evaluate`` (no bpy) fits every person under each condition of :data:`CONDITIONS` (one
photo, one photo + true height, front + side + true height, each with and without the
silhouette; two baselines without a fit; two diagnoses from exact 2D keypoints) as the
project's doors do (:class:`DoorFitter`: the real detector, then the fit, with the person's
gender and the true focal length, as a phone's EXIF would give it), measures the fitted β with
``BodyMeasurer`` and saves one row per person and condition (``shape_errors.py``) to
``results.json`` in the cache folder. ``table`` prints the tables of both halves (``tuning``:
even ids, ``report``: odd ids; only the report half's figures are quoted). ``sheet`` draws
front and side photos of the first people (with the true joints) into one PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEFAULT_CACHE = ROOT / "benchmarks" / "out" / "shape_accuracy"


def render(args) -> int:
    import shape_people as sp
    from render_people import Renderer
    from shape_errors import Measurers

    from blender_smplify.core.body_model import BodyModel

    out = Path(args.cache) / f"seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    models = {g: BodyModel.load(gender=g) for g in ("female", "male")}
    measurers = Measurers(models)
    renderer = Renderer(samples=args.samples, threads=args.threads)
    times = []
    for index in range(args.people):
        names = [f"p{index:03d}_{view}" for view in sp.VIEWS]
        if all((out / f"{n}.json").exists() and (out / f"{n}.png").exists() for n in names):
            continue
        rng = sp.person_rng(args.seed, index)
        person = sp.draw_person(index, models["female"].num_betas, rng)
        model = models[person.gender]
        measurements = measurers.measure(person.gender, person.betas)
        for view, name in zip(sp.VIEWS, names):
            pose, shot = sp.photo(person, view, rng)
            png = str(out / f"{name}.png")
            info = renderer.photo(png, model, person.betas, pose, shot, person.look)
            info = sp.photo_record(person, view, shot, info, measurements)
            (out / f"{name}.json").write_text(json.dumps(info))
            times.append(info["render_seconds"])
            print(f"{name}: {info['render_seconds']:.1f} s", flush=True)
    if times:
        print(f"rendered {len(times)} photos: median {np.median(times):.1f} s per photo")
    return 0


@dataclass(frozen=True)
class Condition:
    """One line of the table: which photos, whether the true height and the silhouette term
    go in, or a baseline without any fit ("mean": β = 0 of the person's gender; "mean_height":
    the same scaled uniformly to the true stature). ``exact_2d``: a diagnosis, not a use case:
    the keypoints are the true body's, projected exactly where the fit maps each one
    (``rendered_eval.truth_keypoints``), instead of the detector's."""

    key: str
    label: str
    views: tuple[str, ...] = ()
    height: bool = False
    silhouette: bool = False
    baseline: str | None = None
    exact_2d: bool = False


CONDITIONS = (
    Condition("mean", "baseline: mean body (β = 0)", baseline="mean"),
    Condition("front", "(a) 1 photo (front)", ("front",)),
    Condition("front_sil", "(a) 1 photo (front) + silhouette", ("front",), silhouette=True),
    Condition(
        "mean_height", "baseline: mean body scaled to the true height", baseline="mean_height"
    ),
    Condition("front_height", "(b) front + true height", ("front",), height=True),
    Condition(
        "front_height_sil",
        "(b) front + true height + silhouette",
        ("front",),
        height=True,
        silhouette=True,
    ),
    Condition("front_side_height", "(c) front + side + true height", ("front", "side"), True),
    Condition(
        "front_side_height_sil",
        "(c) front + side + true height + silhouette",
        ("front", "side"),
        height=True,
        silhouette=True,
    ),
    Condition("front_exact", "diagnosis: (a) from exact 2D keypoints", ("front",), exact_2d=True),
    Condition(
        "front_side_height_exact",
        "diagnosis: (c) from exact 2D keypoints",
        ("front", "side"),
        height=True,
        exact_2d=True,
    ),
)


def missing_pieces(cond: Condition) -> list[str]:
    """What this tree lacks for ``cond`` (empty: everything is there), found by looking for
    the functions and keywords themselves."""
    import inspect

    from blender_smplify.core.fit import fit

    keywords = inspect.signature(fit).parameters
    needs = []
    if cond.height and "height" not in keywords:
        needs.append("fit(..., height=...) from branch shape-inputs")
    if len(cond.views) > 1:
        try:
            from blender_smplify.core.fit_same_person import PhotoView
        except ImportError:
            PhotoView = None
        if PhotoView is None:
            needs.append("core.fit_same_person.fit_same_person from branch shape-inputs")
        elif cond.silhouette and "silhouette" not in PhotoView.__dataclass_fields__:
            needs.append("a silhouette in fit_same_person's PhotoView")
    if cond.silhouette and "silhouette" not in keywords:
        needs.append("fit(..., silhouette=...) from branch silhouette")
    return needs


class DoorFitter:
    """Fits a person's photos as a condition says, with the project's own pieces: the
    detector of ``core.pipeline`` (run once per photo), the 3D evidence ``detect_and_fit``
    gives the fit (the lifter's points while ``pipeline.WORLD_FROM_LIFTER``, and BlazePose's
    own landmarks as ``detected``, voting in the depth search), the person's
    gender, the true focal length; then ``core.fit.fit`` (one photo) or
    ``core.fit_same_person.fit_same_person`` (several), with the true stature as ``height``
    and the person mask ``--mask`` names as ``silhouette`` where the condition has them (by
    default ``person_mask.refined_silhouette``, what the pipeline gives the fit).
    The fits are called directly so that each condition can switch the silhouette on or off;
    the β are the doors' (``pipeline.fit_photo`` and
    ``same_person_pipeline.detect_and_fit_same_person`` with ``height``, checked equal to the
    last digit, with ``pipeline.SILHOUETTE_FROM_MASK`` True for the silhouette rows and False
    for the others).
    """

    def __init__(self, mask: str = "blazepose") -> None:
        self._person = None
        self._evidence: dict[str, object] = {}
        self.mask = mask

    def evidence(self, person: dict, view: str, exact_2d: bool = False):
        """(detection, keypoints, world) of one photo; raises FitFailed on no person. With
        ``exact_2d`` the keypoints are the true body's (detection None)."""
        from shape_errors import FitFailed

        from blender_smplify.core import pipeline
        from blender_smplify.core.camera import principal_point
        from blender_smplify.core.errors import SmplifyError
        from blender_smplify.core.image_io import load_image
        from blender_smplify.core.lifter import lifted_world
        from blender_smplify.core.world_landmarks import WorldLandmarks

        if self._person != person["person"]:
            self._person, self._evidence = person["person"], {}
        png, info = person["photos"][view]
        if exact_2d:
            from rendered_eval import truth_keypoints

            kp = truth_keypoints(pipeline.load_model(person["gender"]), info, "blazepose33")
            size = tuple(info["image_size"])
            world = lifted_world(kp, info["focal_px"], principal_point(size))
            return None, kp, world if pipeline.WORLD_FROM_LIFTER else None
        if view not in self._evidence:
            try:
                detection = pipeline.detector().detect(load_image(png))
            except SmplifyError as error:
                self._evidence[view] = FitFailed(f"{view}: {type(error).__name__}: {error}")
            else:
                kp = detection.keypoints
                world = WorldLandmarks.from_detection(detection)
                if pipeline.WORLD_FROM_LIFTER and kp.layout == "blazepose33":
                    size = tuple(info["image_size"])
                    world = lifted_world(kp, info["focal_px"], principal_point(size))
                self._evidence[view] = (detection, kp, world)
        found = self._evidence[view]
        if isinstance(found, Exception):
            raise found
        return found

    @staticmethod
    def detected(detection, keypoints):
        """BlazePose's own world landmarks where the lifter's points are the fit's 3D evidence
        (they vote in the depth search, as ``pipeline.fit_photo`` hands them), else None."""
        from blender_smplify.core import pipeline
        from blender_smplify.core.world_landmarks import WorldLandmarks

        if detection is None or not pipeline.WORLD_FROM_LIFTER:
            return None
        if keypoints.layout != "blazepose33":
            return None
        return WorldLandmarks.from_detection(detection)

    def __call__(self, cond: Condition, person: dict) -> tuple[str, np.ndarray, float]:
        from shape_errors import FitFailed, Unavailable

        from blender_smplify.core import pipeline
        from blender_smplify.core.errors import SmplifyError

        needs = missing_pieces(cond)
        if needs:
            raise Unavailable("; ".join(needs))
        model = pipeline.load_model(person["gender"])
        views = []
        for view in cond.views:
            detection, keypoints, world = self.evidence(person, view, cond.exact_2d)
            info = person["photos"][view][1]
            evidence = {
                "keypoints": keypoints,
                "image_size": tuple(info["image_size"]),
                "focal_length": info["focal_px"],
                "world": world,
                "detected": self.detected(detection, keypoints),
            }
            if cond.silhouette:
                from truth_masks import mask_silhouette

                png = Path(person["photos"][view][0])
                evidence["silhouette"] = mask_silhouette(self.mask, detection, png.stem)
            views.append(evidence)
        known = {"height": person["measurements"]["stature"]} if cond.height else {}
        start = time.perf_counter()
        try:
            if len(views) == 1:
                from blender_smplify.core.fit import fit

                betas = fit(model, **views[0], **known).betas
            else:
                from blender_smplify.core.fit_same_person import PhotoView, fit_same_person

                photos = [PhotoView(**v) for v in views]
                betas = fit_same_person(model, photos, **known).betas
        except SmplifyError as error:
            raise FitFailed(f"{type(error).__name__}: {error}") from None
        return person["gender"], np.asarray(betas), time.perf_counter() - start


def evaluate(args) -> int:
    from shape_errors import Measurers, evaluate_people, load_people

    from blender_smplify.core.body_model import BodyModel

    folder = Path(args.cache) / f"seed{args.seed}"
    people = load_people(folder)[: args.limit or None]
    if not people:
        print(f"no rendered people under {folder}; run the render command first")
        return 1
    keys = args.conditions.split(",") if args.conditions else [c.key for c in CONDITIONS]
    conditions = [c for c in CONDITIONS if c.key in keys]
    measurers = Measurers({g: BodyModel.load(gender=g) for g in ("female", "male")})
    load_before, start = os.getloadavg()[0], time.perf_counter()

    def progress(done: int) -> None:
        if done % 10 == 0:
            print(f"{done}/{len(people)} people, {time.perf_counter() - start:.0f} s", flush=True)

    rows = evaluate_people(people, conditions, DoorFitter(args.mask), measurers, progress)
    run = {
        "people": len(people),
        "seconds": time.perf_counter() - start,  # of this run's conditions
        "conditions": [c.key for c in conditions],
        "load": [load_before, os.getloadavg()[0]],
        "cores": os.cpu_count(),
        "rows": rows,
    }
    saved = results_path(folder, args.mask)
    if args.conditions and saved.exists():  # a partial rerun keeps the other conditions' rows
        old = json.loads(saved.read_text())
        if old["people"] == run["people"]:
            run["rows"] = [r for r in old["rows"] if r["condition"] not in keys] + rows
    saved.write_text(json.dumps(run, default=float))
    print(f"{len(rows)} rows in {run['seconds']:.0f} s -> {saved}")
    return table(args)


def results_path(folder: Path, mask: str) -> Path:
    """Where an evaluation with the person mask ``mask`` keeps its rows."""
    return folder / ("results.json" if mask == "blazepose" else f"results_{mask}.json")


def table(args) -> int:
    from shape_errors import bias_table, load_people
    from shape_errors import table as markdown

    folder = Path(args.cache) / f"seed{args.seed}"
    run = json.loads(results_path(folder, args.mask).read_text())
    conditions = [(c.key, c.label) for c in CONDITIONS]
    where = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    text = [
        f"{run['people']} people from {where}; "
        "errors in mm against the true body's BodyMeasurer values; fitted with the person's "
        "gender and the true focal length."
    ]
    for which in ("report", "tuning"):
        text += ["", f"**{which} half** ({'odd' if which == 'report' else 'even'} ids):", ""]
        text.append(markdown(run["rows"], conditions, which))
    truths = {p["person"]: p["measurements"] for p in load_people(folder)}
    text += ["", "**Bias**, all people: median of the signed error (fitted − true, mm):", ""]
    text.append(bias_table(run["rows"], truths, conditions))
    text += [
        "",
        f"last evaluation ({', '.join(run.get('conditions', []))}) {run['seconds']:.0f} s; "
        f"load average {run['load'][0]:.1f} before, "
        f"{run['load'][1]:.1f} after ({run['cores']} cores)",
    ]
    print("\n".join(text))
    if args.md:
        Path(args.md).write_text("\n".join(text) + "\n")
    return 0


def sheet(args) -> int:
    """Front and side photos of the first ``count // 2`` people, one pair per column, each
    labelled with id, view, gender, stance and yaw; the truth's joints drawn as dots."""
    from PIL import Image, ImageDraw

    folder = Path(args.cache) / f"seed{args.seed}"
    pairs = [
        [folder / f"p{k:03d}_{view}" for view in ("front", "side")] for k in range(args.people)
    ]
    pairs = [p for p in pairs if all(n.with_suffix(".png").exists() for n in p)]
    pairs = pairs[args.start : args.start + args.count // 2]
    if not pairs:
        print(f"no rendered people under {folder}")
        return 1
    cell = args.width // len(pairs)
    rows = []
    for view in range(2):
        for k, pair in enumerate(pairs):
            rows.append((k, view, pair[view]))
    height = int(cell * 4 / 3)
    canvas = Image.new("RGB", (cell * len(pairs), 2 * (height + 16)), "white")
    draw = ImageDraw.Draw(canvas)
    for k, view, name in rows:
        info = json.loads(name.with_suffix(".json").read_text())
        img = Image.open(name.with_suffix(".png")).convert("RGB")
        scale = min((cell - 4) / img.width, (height - 4) / img.height)
        dots = ImageDraw.Draw(img)
        for x, y in info["joints_2d"]:
            dots.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(230, 40, 40))
        img = img.resize((int(img.width * scale), int(img.height * scale)))
        x, y = k * cell, view * (height + 16)
        canvas.paste(img, (x + (cell - img.width) // 2, y))
        label = f"p{info['person']:03d} {info['view']} {info['gender']} {info['stance']} "
        draw.text((x + 2, y + height), label + f"{info['yaw_deg']:.0f}°", fill="black")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.quantize(256).save(out, optimize=True)
    print(f"{out}: {out.stat().st_size / 1e3:.0f} KB")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="render the missing photos (needs bpy)")
    r.add_argument("--people", type=int, default=40)
    r.add_argument("--samples", type=int, default=4)
    r.add_argument("--threads", type=int, default=2)
    e = sub.add_parser("evaluate", help="detect, fit and measure every cached person")
    e.add_argument("--limit", type=int, default=0, help="only the first N people")
    e.add_argument("--conditions", default="", help="comma-separated keys (default: all)")
    t = sub.add_parser("table", help="print the tables of the last evaluation")
    s = sub.add_parser("sheet", help="contact sheet: front and side photos of the first people")
    s.add_argument("out")
    s.add_argument("--count", type=int, default=12, help="photos (two per person)")
    s.add_argument("--start", type=int, default=0, help="first person")
    s.add_argument("--people", type=int, default=1000)
    s.add_argument("--width", type=int, default=1200)
    for p in (e, t):
        p.add_argument("--md", default="", help="also write the tables to this file")
        p.add_argument(
            "--mask",
            choices=("blazepose", "refined", "truth"),
            default="refined",
            help="the silhouette rows' person mask: BlazePose's own 256-cell grid, "
            "person_mask.refined_silhouette (what the fit gets), or the exact one "
            "(truth_masks.py); rows go to "
            "results.json, results_refined.json, results_truth.json",
        )
    for p in (r, e, t, s):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--cache", default=str(DEFAULT_CACHE))
    args = ap.parse_args(argv)
    commands = {"render": render, "evaluate": evaluate, "table": table, "sheet": sheet}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
