"""Study: how much the fit should trust the lifter's 3D points, on the rendered benchmark.

The renders (``benchmarks/rendered_3d.py``'s cache, read only) are split by index into a
**tuning** half (even index: choose settings here) and a **report** half (odd index: report
only, never tune on it). Three steps, each reading what the previous one wrote under --work:

    .venv/bin/python benchmarks/studies/lifter_confidence.py detect --cache DIR [--work W]
        [--set NAME=VALUE ...]
    .venv/bin/python benchmarks/studies/lifter_confidence.py noise [--work W]
    .venv/bin/python benchmarks/studies/lifter_confidence.py residuals [--work W]
    .venv/bin/python benchmarks/studies/lifter_confidence.py alone --variants '["", "X.onnx"]'
    .venv/bin/python benchmarks/studies/lifter_confidence.py fit --variants JSON
        [--half tuning|report|all] [--save W/NAME.json] [--sources detector|truth2d]
    .venv/bin/python benchmarks/studies/lifter_confidence.py tables --runs A.json B.json
        [--half report]
    .venv/bin/python benchmarks/studies/lifter_confidence.py draw --name crawl_003
        --variants JSON [--out-dir DIR]

- ``detect``: the detector's blazepose33 keypoints of every render and the exact ones
  (``rendered_eval.truth_keypoints``), cached in ``W/keypoints.npz``.
- ``noise``: the detector's 2D error per keypoint on the tuning half, in units of the true
  body's image height (median, p90, share beyond 10 %), written to ``W/detector_noise.json``
  for ``tools/train_lifter.py --noise``.
- ``residuals``: the detector's own errors on the tuning half, render by render, in the body's
  2D frame (``tools.lifter_noise.residual_bank``), written to ``W/detector_residuals.npz`` for
  ``tools/train_lifter.py --empirical``.
- ``alone``: the lifted limb points themselves, per lifter (``--variants '["", "X.onnx"]'``),
  and for a lifter with a depth-sign head its probabilities against the truth's signs
  (``--save`` keeps the rows).
- ``fit``: each variant ``{name: [lifter ONNX or "" (shipped) or "none", {SmplifyWeights
  fields}, {lifted_world keyword arguments}, optional {FitOptions fields}, optional
  {``reweighted`` keyword arguments: group multipliers, confidence power, drop threshold,
  "lift": the lifter sees them too, "lift_drop": the lifter alone loses the keypoints less
  confident than this}]}`` fitted from the detector's and from the exact
  keypoints (``--sources`` one of them only); per-category tables as ``depth_metrics``
  measures. ``--world-cache W/bp_world.npz`` (``depth_world_cache.py``): the detector's own
  world landmarks go to every fit with the lifter's points, as the pipeline passes them
  (their votes in the depth search). ``--image-votes W/votes.npz`` (``depth_sign_eval.py
  --save-votes``): the image's depth-sign network votes too in variants whose FitOptions
  fields hold ``"image": true``.
- ``draw``: one render's fits in each variant, over the photo and from the side.
- ``tables``: saved runs side by side on one half (``--runs A.json B.json --half report``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402
import rendered_eval as re_  # noqa: E402

SOURCES = ("detector", "truth2d")


def half_of(name: str) -> str:
    """ "tuning" for renders with an even index, "report" for odd ones."""
    return "tuning" if int(name.rsplit("_", 1)[1]) % 2 == 0 else "report"


def detect(args) -> int:
    from rendered_detections import KEYPOINTS, detect_one

    from blender_smplify.core.detector import JointDetector

    models = re_.truth_models(args.cache)
    detector = JointDetector(settings=detector_settings(args.set))
    out = {k: [] for k in KEYPOINTS}
    start = time.perf_counter()
    for k, (png, info) in enumerate(re_.load_cases(args.cache, None, None)):
        row, _ = detect_one(detector, models, png, info)
        for key, value in zip(out, row):
            out[key].append(value)
        if (k + 1) % 50 == 0:
            print(f"{k + 1} renders, {time.perf_counter() - start:.0f} s", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    np.savez(args.work / "keypoints.npz", **{k: np.array(v) for k, v in out.items()})
    print(f"{len(out['name'])} renders detected in {time.perf_counter() - start:.0f} s")
    return 0


def detector_settings(pairs: list[str]):
    """DetectorSettings with the NAME=VALUE pairs of ``--set`` (e.g. flip_limb=1.01)."""
    from detector_lsp import settings_from

    return settings_from(pairs)


def load_keypoints(work: Path) -> dict[str, dict]:
    data = np.load(work / "keypoints.npz")
    return {str(n): {key: data[key][i] for key in data.files} for i, n in enumerate(data["name"])}


def torso_bias(cases: list[dict]) -> dict[str, float]:
    """The detector's hips and shoulders sit inside the model's surface landmarks: the median
    fractions by which they are moved toward the other side's (hips, shoulders) and the
    shoulders toward the hips (of the 2D hip line, shoulder line and torso; only photos where
    that line is longer than 8 % of the body's image height)."""
    from tools.lifter_noise import TORSO_BIAS_POINTS as P

    fractions = {"hip_inward": [], "shoulder_inward": [], "shoulder_down": []}
    for kp in cases:
        t, d = kp["truth_xy"], kp["detector_xy"]
        height = np.ptp(t[kp["truth_conf"] > 0], axis=0).max()
        for key, (a, b) in (("hip_inward", P["hips"]), ("shoulder_inward", P["shoulders"])):
            line = t[b] - t[a]
            if np.linalg.norm(line) > 0.08 * height:
                step = np.dot(d[a] - t[a], line) - np.dot(d[b] - t[b], line)
                fractions[key].append(0.5 * step / np.dot(line, line))
        down = 0.5 * (t[P["hips"]].sum(0) - t[P["shoulders"]].sum(0))
        if np.linalg.norm(down) > 0.08 * height:
            move = 0.5 * (d[P["shoulders"]] - t[P["shoulders"]]).sum(0)
            fractions["shoulder_down"].append(np.dot(move, down) / np.dot(down, down))
    return {k: float(np.median(v)) for k, v in fractions.items()}


def noise(args) -> int:
    """Detector error per keypoint / true image height of the body, on the tuning half, after
    the torso's systematic offset (``torso_bias``) is taken out."""
    from blender_smplify.core.lifter import LAYOUT
    from tools.lifter_noise import apply_torso_bias

    cases = [kp for name, kp in load_keypoints(args.work).items()
             if half_of(name) == "tuning" and kp["detector_conf"].max() > 0]  # fmt: skip
    bias = torso_bias(cases)
    print("torso bias (fractions):", bias)
    rows = []
    for kp in cases:
        seen = kp["truth_conf"] > 0
        height = np.ptp(kp["truth_xy"][seen], axis=0).max()
        truth = apply_torso_bias(kp["truth_xy"][None], bias)[0]
        err = np.linalg.norm(kp["detector_xy"] - truth, axis=1) / height
        rows.append(np.where(seen & (kp["detector_conf"] >= 0.1), err, np.nan))
    err = np.array(rows)
    report = {"renders": len(err), "bias": bias, "keypoints": {}}
    for k, name in enumerate(LAYOUT.names):
        e = err[:, k][np.isfinite(err[:, k])]
        report["keypoints"][name] = {"median": float(np.median(e)),
                                     "p90": float(np.percentile(e, 90)),
                                     "beyond_10pct": float(np.mean(e > 0.1))}  # fmt: skip
        mid, p90, far = 100 * np.median(e), 100 * np.percentile(e, 90), 100 * np.mean(e > 0.1)
        print(f"{name:<18} median {mid:4.1f} %  p90 {p90:5.1f} %  > 10 %: {far:4.1f} %")
    (args.work / "detector_noise.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


def residuals(args) -> int:
    """The detector's own errors on the tuning half (``tools.lifter_noise.residual_bank``:
    per render, every keypoint's detection − truth in the body frame over the body's height,
    and which keypoints it kept), written to ``W/detector_residuals.npz`` for
    ``tools/train_lifter.py --empirical``."""
    from blender_smplify.core.lifter import MIN_CONFIDENCE
    from tools.lifter_noise import residual_bank

    cases = [kp for name, kp in load_keypoints(args.work).items()
             if half_of(name) == "tuning" and kp["detector_conf"].max() > 0]  # fmt: skip
    stack = {k: np.array([kp[k] for kp in cases]) for k in cases[0]}
    bank = residual_bank(stack["truth_xy"], stack["truth_conf"] > 0, stack["detector_xy"],
                         stack["detector_conf"] >= MIN_CONFIDENCE)  # fmt: skip
    np.savez(args.work / "detector_residuals.npz", names=stack["name"], **bank)
    size = np.linalg.norm(bank["residuals"], axis=2)
    print(
        f"{len(cases)} renders; residual / height median {np.nanmedian(size):.3f}, "
        f"p90 {np.nanpercentile(size, 90):.3f}; kept {bank['kept'].mean():.3f}"
    )
    return 0


def lifted_alone(args) -> int:
    """The lifted limb points themselves (mirror-averaged, placed on the true pelvis:
    ``studies/lifter.py``'s ``alone``), per lifter file in ``--variants`` (a JSON list of ONNX
    files, "" = shipped), from the detector and from exact 2D, on ``--half``."""
    from lifter import alone

    from blender_smplify.core.lifter import LAYOUT, Lifter

    files = json.loads(args.variants)
    lifters = {f: Lifter(f or None, mirror_average=True) for f in files}
    keypoints = load_keypoints(args.work)
    rows = []
    for png, info in re_.load_cases(args.cache, None, None):
        if args.half != "all" and half_of(png.stem) != args.half:
            continue
        kp, truth = keypoints[png.stem], np.array(info["joints_camera"])
        w, h = info["image_size"]
        row = {"category": info["category"]}
        for source, key in (("detector", "detector"), ("truth2d", "truth")):
            conf = kp[f"{key}_conf"]
            if conf.max() == 0:
                continue
            xy = np.nan_to_num(kp[f"{key}_xy"])
            row[source] = {}
            for f, lifter in lifters.items():
                lifted = lifter.lift(xy, conf, info["focal_px"], np.array([w / 2, h / 2]))
                row[source][f] = alone(lifted.points, LAYOUT.names, truth)
                row[source][f]["away"] = lifted.segment_away_probability
        row["depth_ratio"] = np.divide(*dm.segment_depths(truth))
        rows.append(row)
    for source in SOURCES:
        print(f"\nlifted alone from {source}: PA-MPJPE 12 median / p90 | backwards")
        print("| category | " + " | ".join(f or "shipped" for f in files) + " |")
        print("|---" * (len(files) + 1) + "|")
        for cat in sorted({r["category"] for r in rows}) + ["all"]:
            got = [r[source] for r in rows if source in r and cat in (r["category"], "all")]
            cells = []
            for f in files:
                pa = np.array([g[f]["pa12"] for g in got])
                back, seg = sum(g[f]["backwards"] for g in got), sum(g[f]["segments"] for g in got)
                cells.append(f"{np.median(pa):.0f} / {np.percentile(pa, 90):.0f} mm, "
                             f"{100 * back / max(seg, 1):.1f} %")  # fmt: skip
            print(f"| {cat} | " + " | ".join(cells) + " |")
    sign_tables(rows, files)
    if args.save:
        args.save.write_text(json.dumps(rows, default=lambda a: np.asarray(a).tolist()) + "\n")
    return 0


def sign_tables(rows: list[dict], files: list[str]) -> None:
    """The depth-sign head's probabilities (``LiftedPoints.segment_away_probability``) of each
    lifter that has one against the truth's signs where clear (``depth_metrics``' 0.3):
    ``tools.lifter_signs.sign_scores``."""
    from tools.lifter_signs import sign_scores

    for source in SOURCES:
        for f in files:
            got = [r for r in rows if source in r and r[source][f]["away"] is not None]
            if not got:
                continue
            ratio = np.concatenate([r["depth_ratio"] for r in got])
            p = np.concatenate([r[source][f]["away"] for r in got])
            clear = np.abs(ratio) > dm.CLEAR_DEPTH
            s = sign_scores(p[clear], ratio[clear] > 0)
            print(f"\ndepth-sign head of {f or 'shipped'} from {source}, {s['segments']} clear "
                  f"segments: wrong {s['head_wrong_pct']:.1f} %, log loss {s['log_loss']:.3f}, "
                  f"Brier {s['brier']:.3f}, ECE {s['ece']:.3f}, sure {s['sure_pct']:.0f} % of "
                  f"which wrong {s['sure_wrong_pct']:.1f} %")  # fmt: skip
            bins = ", ".join(f"{k}: {a:.2f} ({n})" for k, (a, n) in s["bins"].items())
            print(f"  p bin: share away (count): {bins}")


def cached_keypoints(kp, source: str):
    """One render's cached blazepose33 keypoints from ``source`` (``Keypoints2D``), or None
    where the detector found no one."""
    from blender_smplify.core.keypoints import Keypoints2D

    key = {"detector": "detector", "truth2d": "truth"}[source]
    conf = kp[f"{key}_conf"]
    if conf.max() == 0:
        return None
    return Keypoints2D("blazepose33", np.nan_to_num(kp[f"{key}_xy"]), conf)


def fit_case(info, kp, variants, lifters, model, sources=SOURCES, detected=None, image=None):
    """``image``: {source: (8,) the image network's away-probabilities from that source's
    keypoints} (``depth_sign_eval.py --save-votes``), for variants whose FitOptions carry
    ``"image": true``; None: none."""
    from blender_smplify.core.depth_sign import SEGMENT_NAMES
    from blender_smplify.core.fit import FitOptions, fit
    from blender_smplify.core.keypoints import Keypoints2D
    from blender_smplify.core.lifter import lifted_world
    from blender_smplify.core.objective import SmplifyWeights

    w, h = info["image_size"]
    principal = np.array([w / 2, h / 2])
    truth = np.array(info["joints_camera"])
    row = {"category": info["category"]}
    for source in sources:
        keypoints = cached_keypoints(kp, source)
        if keypoints is None:
            row[source] = None
            continue
        row[source] = {}
        for name, (model_file, weights, lift_kwargs, *more) in variants.items():
            options = dict(more[0]) if more else {}
            votes = None
            if options.pop("image", False) and image is not None:
                votes = {s: 2 * p - 1 for s, p in zip(SEGMENT_NAMES, image[source])
                         if np.isfinite(p)}  # fmt: skip
            kw = dict(more[1]) if len(more) > 1 else {}
            lift_too = kw.pop("lift", False)  # the lifter also sees the reweighted keypoints
            lift_drop = kw.pop("lift_drop", 0.0)  # the lifter alone loses those less confident
            fitted = reweighted(keypoints, **kw)
            world = None
            if model_file != "none":
                seen = fitted if lift_too else keypoints
                confidence = np.clip(seen.confidence, 0, 1)
                confidence = np.where(confidence < lift_drop, 0.0, confidence)
                seen = Keypoints2D(seen.layout, seen.xy, confidence)
                world = lifted_world(seen, info["focal_px"], principal,
                                     lifters[model_file], **lift_kwargs)  # fmt: skip
            c0 = time.process_time()
            res = fit(model, fitted, (w, h), info["focal_px"],
                      weights=SmplifyWeights(**weights), world=world,
                      options=FitOptions(**options),
                      detected=detected if world is not None else None,
                      image_votes=votes)  # fmt: skip
            m = dm.case_metrics(np.asarray(res.joints_3d), truth)
            m["cpu_ms"] = 1e3 * (time.process_time() - c0)
            m["joints"] = np.asarray(res.joints_3d).round(4).tolist()
            row[source][name] = m
    return row


#: Keypoint groups of blazepose33 for ``reweighted`` (indices into the layout).
GROUPS = {
    "face": range(0, 11),
    "torso": (11, 12, 23, 24),
    "limbs": (13, 14, 15, 16, 25, 26, 27, 28),
    "hands": range(17, 23),
    "feet": range(29, 33),
}


def reweighted(keypoints, groups=None, power=1.0, drop=0.0):
    """The keypoints the fit sees (the lifter sees the original ones): confidence c -> 0 below
    ``drop``, else m_g c^power with m_g the multiplier of the keypoint's group (``GROUPS``).
    Multipliers above 1 are allowed here (the confidence is set past Keypoints2D's clipping)."""
    c = np.asarray(keypoints.confidence, dtype=np.float64)
    out = np.where(c < drop, 0.0, c**power)
    for group, mult in (groups or {}).items():
        out[list(GROUPS[group])] *= mult
    if not groups and power == 1.0 and drop == 0.0:
        return keypoints
    fitted = type(keypoints)(keypoints.layout, keypoints.xy, np.clip(out, 0, 1))
    object.__setattr__(fitted, "confidence", out)
    return fitted


def fits(args) -> int:
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.lifter import Lifter

    variants = json.loads(args.variants)
    lifters = {f: Lifter(f or None, mirror_average=True) for f, *_ in variants.values()
               if f != "none"}  # fmt: skip
    model = BodyModel.load(gender="neutral")
    keypoints = load_keypoints(args.work)
    cases = [(png, info) for png, info in re_.load_cases(args.cache, None, None)
             if args.half == "all" or half_of(png.stem) == args.half]  # fmt: skip
    image = {}
    if args.image_votes:
        saved = np.load(args.image_votes)
        rows = zip(saved["name"], saved["away"], saved["away_truth2d"])
        image = {str(n): {"detector": a, "truth2d": b} for n, a, b in rows}
    start, results = time.perf_counter(), []
    for k, (png, info) in enumerate(cases):
        detected = detected_landmarks(args.world_cache, png.stem, info)
        row = fit_case(info, keypoints[png.stem], variants, lifters, model, args.sources,
                       detected, image.get(png.stem))  # fmt: skip
        results.append({"name": png.stem, **row})
        if (k + 1) % 30 == 0:
            print(f"{k + 1}/{len(cases)} renders, {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{len(cases)} renders ({args.half}), {time.perf_counter() - start:.0f} s")
    if args.save:
        args.save.write_text(json.dumps({"variants": variants, "rows": results}, default=float))
    print_tables(results, list(variants))
    return 0


def detected_landmarks(path: Path | None, name: str, info: dict):
    """BlazePose's own world landmarks of a render from ``depth_world_cache.py``'s file (camera
    frame, so no crop turn and the crop on the optical axis), as the pipeline passes them to
    the fit beside the lifter's points (``fit(..., detected=)``); None without the file."""
    from blender_smplify.core.world_landmarks import WorldLandmarks

    if path is None:
        return None
    cache = _WORLD_CACHE.setdefault(path, np.load(path))
    k = int(np.flatnonzero(cache["name"] == name)[0])
    if not np.isfinite(cache["points"][k]).all():
        return None
    centre = np.array(info["image_size"]) / 2.0
    return WorldLandmarks(cache["points"][k], cache["visibility"][k], 0.0, centre)


_WORLD_CACHE: dict = {}


def draw(args) -> int:
    """Each variant's fits of one render, over the photo and from the side
    (``rendered_views.draw_fit``), as ``--out-dir/<name>_<variant>.png``; with
    ``--world-cache`` the detector's landmarks vote as in ``fit``."""
    from rendered_views import draw_fit

    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.lifter import Lifter

    variants = json.loads(args.variants)
    lifters = {f: Lifter(f or None, mirror_average=True) for f, *_ in variants.values()
               if f != "none"}  # fmt: skip
    model = BodyModel.load(gender="neutral")
    png = args.cache / f"{args.name}.png"
    info = json.loads(png.with_suffix(".json").read_text())
    detected = detected_landmarks(args.world_cache, args.name, info)
    row = fit_case(info, load_keypoints(args.work)[args.name], variants, lifters, model,
                   detected=detected)  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in variants:
        result = {s: (row[s] or {}).get(name) for s in SOURCES}
        draw_fit(png, info, result, model, args.out_dir / f"{args.name}_{name}.png")
        print(name, {s: {k: result[s][k] for k in ("pa24", "backwards", "segments")}
                     for s in SOURCES if result[s]})  # fmt: skip
    return 0


def summary(rows: list[dict]) -> str:
    if not rows:
        return "–"
    back, seg = sum(r["backwards"] for r in rows), sum(r["segments"] for r in rows)
    pa = np.array([r["pa24"] for r in rows])
    judged = [r["facing_right"] for r in rows if r["facing_right"] is not None]
    ms = np.median([r["cpu_ms"] for r in rows])
    return (f"{np.median(pa):4.0f} / {np.percentile(pa, 90):4.0f} mm | "
            f"{100 * back / max(seg, 1):.1f} % ({back}/{seg}) | "
            f"{sum(judged)}/{len(judged)} | {ms:.0f}")  # fmt: skip


def print_tables(results: list[dict], variants: list[str], sources=SOURCES) -> None:
    categories = sorted({r["category"] for r in results}) + ["all"]
    for source in sources:
        print(f"\nfrom {source}: PA-MPJPE 24 median / p90 | backwards | facing right | CPU ms")
        print("| category | " + " | ".join(variants) + " |")
        print("|---" * (len(variants) + 1) + "|")
        for cat in categories:
            rows = [r[source] for r in results
                    if r.get(source) is not None and cat in (r["category"], "all")]  # fmt: skip
            cells = [summary([r[v] for r in rows if v in r]) for v in variants]
            print(f"| {cat} | " + " | ".join(cells) + " |")


def tables(args) -> int:
    """The saved runs (``fit --save``) side by side, on one half of the renders."""
    merged: dict[str, dict] = {}
    names: list[str] = []
    for path in args.runs:
        run = json.loads(Path(path).read_text())
        names += [v for v in run["variants"] if v not in names]
        for row in run["rows"]:
            have = merged.setdefault(row["name"], {"name": row["name"],
                                                   "category": row["category"]})  # fmt: skip
            for source in SOURCES:
                if source not in row:
                    continue
                if row[source] is None:
                    have[source] = None
                else:
                    have.setdefault(source, {}).update(row[source])
    rows = [r for r in merged.values() if args.half == "all" or half_of(r["name"]) == args.half]
    print(f"{len(rows)} renders ({args.half} half)")
    print_tables(rows, names)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "step", choices=("detect", "noise", "residuals", "alone", "fit", "draw", "tables")
    )
    ap.add_argument("--runs", nargs="*", default=[], help="tables: saved fit runs")
    ap.add_argument("--name", default="", help="draw: the render, e.g. crawl_003")
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/lifter_confidence/draw"))
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lifter_confidence"))
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    ap.add_argument("--variants", default='{"without": ["none", {}, {}], "lifted": ["", {}, {}]}')
    ap.add_argument("--world-cache", type=Path, default=None,
                    help="depth_world_cache.py file: the detector's landmarks vote")  # fmt: skip
    ap.add_argument("--image-votes", type=Path, default=None,
                    help="depth_sign_eval.py --save-votes file: the image votes")  # fmt: skip
    ap.add_argument("--save", type=Path, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="detect: a DetectorSettings field (repeatable)")  # fmt: skip
    ap.add_argument("--sources", nargs="+", choices=SOURCES, default=SOURCES,
                    help="fit: from the detector, the exact keypoints or both")  # fmt: skip
    args = ap.parse_args(argv)
    steps = {"detect": detect, "noise": noise, "residuals": residuals, "alone": lifted_alone,
             "fit": fits, "draw": draw, "tables": tables}  # fmt: skip
    return steps[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
