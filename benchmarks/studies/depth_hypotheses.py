"""Study: which criterion picks a limb's true depth sign among the depth hypotheses
(``core/depth_search.py``), on the rendered benchmark's tuning or report half.

    .venv/bin/python benchmarks/studies/depth_hypotheses.py collect --cache DIR --work W
        [--half tuning] [--save W/hyp_tuning.json]
    .venv/bin/python benchmarks/studies/depth_hypotheses.py judge W/hyp_tuning.json

``collect`` fits every render with the shipped lifter's points, without the depth search
(``--searched``: with it), from the detector's and the exact keypoints
(``lifter_confidence.py detect``'s ``W/keypoints.npz``), then refits every candidate
hypothesis from the fit, unscreened (``depth_search.hypotheses``; ``--trunk``: also the
trunk's lean), and records per hypothesis its energies per term, its mirrored start's energy,
the lifter's depth sign of each flipped segment and its measures against the truth. ``judge``
scores criteria (``--world-cache``: BlazePose's world landmarks from
``depth_world_cache.py`` as a vote too): how often a criterion accepts a flip that turns a
segment the right way against one that turns it the wrong way, and the per-photo measures
when each photo keeps its best accepted hypothesis; and the oracle, the hypothesis with the
fewest backwards segments.
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
sys.path.insert(2, str(ROOT / "benchmarks" / "studies"))

import depth_metrics as dm  # noqa: E402
import rendered_eval as re_  # noqa: E402
from lifter_confidence import SOURCES, cached_keypoints, half_of, load_keypoints  # noqa: E402


def segment_signs(joints: np.ndarray) -> dict[str, float]:
    """Depth change along the ray / length per limb segment (``depth_metrics``' Δ) and of the
    trunk (pelvis to neck, ``depth_search.TRUNK``)."""
    from blender_smplify.core.depth_search import SEGMENTS
    from blender_smplify.core.joints import J

    out = {}
    for a, b in SEGMENTS.items():
        v = joints[J[b]] - joints[J[a]]
        ray = 0.5 * (joints[J[a]] + joints[J[b]])
        out[a] = float(v @ ray / np.linalg.norm(ray) / np.linalg.norm(v))
    return out


def lifted_fit(model, keypoints, info: dict, lifter, search: bool):
    """One render's keypoints fitted with the lifter's points as the 3D evidence: the fit's
    problem (``fit_setup.prepare``), its parameters x (n,), the lifted world and the weights;
    ``search``: whether the fit runs its own depth search."""
    from blender_smplify.core.fit import FitOptions, fit
    from blender_smplify.core.fit_setup import prepare
    from blender_smplify.core.lifter import lifted_world
    from blender_smplify.core.objective import SmplifyWeights

    size, focal = tuple(info["image_size"]), info["focal_px"]
    world = lifted_world(keypoints, focal, np.array(size) / 2, lifter)
    weights, options = SmplifyWeights(), FitOptions(depth_search=search)
    res = fit(model, keypoints, size, focal, weights=weights, world=world, options=options)
    problem = prepare(model, keypoints, size, focal, weights, options, world)
    return problem, np.concatenate([res.pose, res.betas, res.transl]), world, weights


def collect_case(info, kp, lifter, model, trunk=False, args_search=False) -> dict:
    from blender_smplify.core import depth_search as ds
    from blender_smplify.core.priors import joint_limits

    w, h = info["image_size"]
    principal = np.array([w / 2, h / 2])
    truth = np.array(info["joints_camera"])
    truth_signs = segment_signs(truth)
    row = {"category": info["category"]}
    for source in SOURCES:
        keypoints = cached_keypoints(kp, source)
        if keypoints is None:
            row[source] = None
            continue
        problem, x, world, weights = lifted_fit(model, keypoints, info, lifter, args_search)
        c0 = time.process_time()
        hyps = ds.hypotheses(problem, x, weights.pose_stage(3), trunk=trunk)
        cpu = 1e3 * (time.process_time() - c0)
        lifted = world.in_camera(info["focal_px"], principal)
        lifted_signs = lifted_segment_signs(lifted, hyps[0].joints)
        expected = lifter.lift(keypoints.xy, keypoints.confidence, info["focal_px"], principal)
        records = []
        for hyp in hyps:
            m = dm.case_metrics(hyp.joints, truth)
            signs = segment_signs(hyp.joints)
            limits, _, _ = joint_limits(hyp.x[:72])
            records.append({
                "segments": list(hyp.segments), "energies": hyp.energies,
                "screen": hyp.screen, "pa24": m["pa24"], "backwards": m["backwards"],
                "segments_judged": m["segments"], "facing_right": m["facing_right"],
                "signs": signs, "limits": float(np.sum(limits**2)),
                "limits_count": int(len(limits)),
            })  # fmt: skip
        row[source] = {"hypotheses": records, "truth_signs": truth_signs,
                       "lifted_signs": lifted_signs, "cpu_ms": cpu,
                       "confidence": keypoints.confidence.tolist(),
                       "expected_error": None if expected.expected_error is None
                       else expected.expected_error.tolist(),
                       "away_probabilities": away_probabilities(expected)}  # fmt: skip
    return row


def away_probabilities(lifted) -> dict[str, float] | None:
    """The lifter's depth-sign head ({segment: probability that its child end is farther}),
    where the lifter has one (``LiftedPoints.away_probabilities``), else None."""
    method = getattr(lifted, "away_probabilities", None)
    return method() if method is not None else None


def lifted_segment_signs(points: np.ndarray, joints: np.ndarray) -> dict[str, float]:
    """The lifted points' (33, 3; hip-centred, camera axes) depth change per length of each
    limb segment, along the ray through the fitted segment's midpoint (joints (24, 3))."""
    from blender_smplify.core.edit_terms import LIMB_SEGMENTS
    from blender_smplify.core.joints import J
    from blender_smplify.core.keypoints import BLAZEPOSE33

    out = {}
    for a, b in LIMB_SEGMENTS.items():
        v = points[BLAZEPOSE33.index(b)] - points[BLAZEPOSE33.index(a)]
        ray = joints[J[a]] + joints[J[b]]
        out[a] = float(v @ ray / np.linalg.norm(ray) / max(np.linalg.norm(v), 1e-9))
    hips, shoulders = (
        np.mean([points[BLAZEPOSE33.index(f"{side}_{part}")] for side in ("left", "right")], 0)
        for part in ("hip", "shoulder")
    )
    v, ray = shoulders - hips, joints[J["pelvis"]] + joints[J["neck"]]
    out["pelvis"] = float(v @ ray / np.linalg.norm(ray) / max(np.linalg.norm(v), 1e-9))
    return out


def collect(args) -> int:
    from blender_smplify.core import depth_search
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.lifter import Lifter

    if args.iterations:
        depth_search.ITERATIONS = args.iterations
    lifter = Lifter(args.lifter, mirror_average=True)
    model = BodyModel.load(gender="neutral")
    keypoints = load_keypoints(args.work)
    cases = [(png, info) for png, info in re_.load_cases(args.cache, None, None)
             if args.half == "all" or half_of(png.stem) == args.half][: args.limit]  # fmt: skip
    start, rows = time.perf_counter(), []
    for k, (png, info) in enumerate(cases):
        row = collect_case(info, keypoints[png.stem], lifter, model, args.trunk, args.searched)
        rows.append({"name": png.stem, **row})
        if (k + 1) % 20 == 0:
            print(f"{k + 1}/{len(cases)} renders, {time.perf_counter() - start:.0f} s", flush=True)
    args.save.write_text(json.dumps(rows, default=float))
    print(f"{len(rows)} renders, {time.perf_counter() - start:.0f} s -> {args.save}")
    return 0


# ------------------------------------------------------------------------------------ judging
def total(h: dict, world_factor: float = 1.0) -> float:
    e = h["energies"]
    return sum(e.values()) + (world_factor - 1.0) * e.get("world", 0.0)


def criteria() -> dict:
    """name -> accept(base, hypothesis, case) (each a recorded dict)."""

    def energy(factor, margin=0.0):
        return lambda b, h, c: total(h, factor) < (1 - margin) * total(b, factor)

    def vote(slack, sure=0.0):
        """The lifter's points give each flipped segment the hypothesis's sign, by a depth
        change of at least ``sure`` of its length, and the energy rises less than ``slack``."""

        def accept(b, h, c):
            agree = all(
                np.sign(c["lifted_signs"][s]) == np.sign(h["signs"][s])
                and abs(c["lifted_signs"][s]) >= sure
                for s in h["segments"]
            )
            return agree and total(h) < slack * total(b)

        return accept

    out = {
        "energy": energy(1.0),
        "energy -5%": energy(1.0, 0.05),
        "energy +5%": energy(1.0, -0.05),
        "energy, world x2": energy(2.0),
        "energy, world x4": energy(4.0),
        "energy, no world": energy(0.0),
    }
    for sure in (0.0, 0.5):
        for slack in (1.0, 1.2, 1.5, 2.0):
            out[f"lifter vote |d| >= {sure}, E < {slack}"] = vote(slack, sure)

    def blazepose_vote(slack, sure=0.0, with_lifter=False):
        """BlazePose's own world landmarks (``--world-cache``) give each flipped segment the
        hypothesis's sign (and, ``with_lifter``, the lifter too)."""

        def accept(b, h, c):
            if "blazepose_signs" not in c:
                return False
            agree = all(
                np.sign(c["blazepose_signs"].get(s, 0.0)) == np.sign(h["signs"][s])
                and abs(c["blazepose_signs"].get(s, 0.0)) >= sure
                and (not with_lifter or np.sign(c["lifted_signs"][s]) == np.sign(h["signs"][s]))
                for s in h["segments"]
            )
            return agree and total(h) < slack * total(b)

        return accept

    for sure in (0.0, 0.5):
        for slack in (1.0, 1.2, 1.5, 2.0, 1e9):
            out[f"BlazePose vote |d| >= {sure}, E < {slack:g}"] = blazepose_vote(slack, sure)
    for slack in (1.2, 1.5, 2.0, 1e9):
        out[f"BlazePose and lifter vote, E < {slack:g}"] = blazepose_vote(slack, 0.0, True)
    return out


def saved_runs(paths, world_cache: Path | None = None) -> list[dict]:
    """The rows of ``collect``'s saved runs, one list; with ``world_cache``
    (``depth_world_cache.py``'s file) each case also gets BlazePose's signs
    (:func:`add_blazepose_signs`)."""
    rows = []
    for path in paths:
        rows += json.loads(Path(path).read_text())
    if world_cache:
        add_blazepose_signs(rows, world_cache)
    return rows


def judge(args) -> int:
    rows = saved_runs(args.runs, args.world_cache)
    for source in SOURCES:
        cases = [r[source] for r in rows if r[source] is not None]
        cats = [r["category"] for r in rows if r[source] is not None]
        print(f"\n## from {source}: {len(cases)} photos")
        right = wrong = neutral = 0
        for c in cases:
            for h in c["hypotheses"][1:]:
                kind = flip_kind(c, h)
                right, wrong, neutral = (
                    right + (kind > 0),
                    wrong + (kind < 0),
                    neutral + (not kind),
                )
        print(f"hypotheses: {right} turn a clear segment the right way, {wrong} the wrong way, "
              f"{neutral} mixed or unjudged")  # fmt: skip
        print("| criterion | accepts right / wrong | PA-MPJPE 24 median / p90 | backwards |")
        print("|---|---|---|---|")
        base = [c["hypotheses"][0] for c in cases]
        print("| no search | – | " + summary(base) + " |")
        for name, accept in criteria().items():
            chosen, ar, aw = [], 0, 0
            for c in cases:
                b = c["hypotheses"][0]
                ok = [h for h in c["hypotheses"][1:] if accept(b, h, c)]
                ar += sum(flip_kind(c, h) > 0 for h in ok)
                aw += sum(flip_kind(c, h) < 0 for h in ok)
                chosen.append(min(ok, key=total) if ok else b)
            print(f"| {name} | {ar} / {aw} | " + summary(chosen) + " |")
        oracle = [min(c["hypotheses"], key=lambda h: (h["backwards"], h["pa24"]))
                  for c in cases]  # fmt: skip
        print("| oracle (fewest backwards, one hypothesis) | – | " + summary(oracle) + " |")
        if args.per_category:
            for cat in sorted(set(cats)):
                sel = [i for i, k in enumerate(cats) if k == cat]
                print(f"| {cat} | " + summary([base[i] for i in sel]) + " | "
                      + summary([oracle[i] for i in sel]) + " |")  # fmt: skip
    return 0


def add_blazepose_signs(rows: list[dict], path: Path) -> None:
    """Each case's BlazePose world-landmark depth change per length of each limb segment
    (along the optical axis), from ``depth_world_cache.py``'s file; also how often its sign
    is right on the segments the truth shows clearly."""
    from blender_smplify.core.edit_terms import LIMB_SEGMENTS
    from blender_smplify.core.keypoints import BLAZEPOSE33

    data = np.load(path)
    world = {str(n): p for n, p in zip(data["name"], data["points"])}
    seen = {str(n): v for n, v in zip(data["name"], data["visibility"])}
    tally = {"right": 0, "wrong": 0}
    for row in rows:
        points = world.get(row["name"])
        for source in SOURCES:
            case = row[source]
            if case is None or points is None or not np.isfinite(points).all():
                continue
            signs = {}
            for a, b in LIMB_SEGMENTS.items():
                v = points[BLAZEPOSE33.index(b)] - points[BLAZEPOSE33.index(a)]
                signs[a] = float(v[2] / max(np.linalg.norm(v), 1e-9))
            case["blazepose_signs"] = signs
            case["blazepose_visibility"] = seen[row["name"]].tolist()
            if source == "detector":
                for s in signs:  # the limbs (the truth's signs hold the trunk's too)
                    t = case["truth_signs"][s]
                    if abs(t) > dm.CLEAR_DEPTH:
                        tally["right" if np.sign(signs[s]) == np.sign(t) else "wrong"] += 1
    print("BlazePose world landmarks' sign on the clear segments:", tally)


def flip_kind(case: dict, h: dict) -> int:
    """+1 when every flipped segment that the truth shows clearly now has the truth's sign
    (and at least one is clear), −1 when one of them now has the wrong sign, else 0."""
    kinds = []
    for s in h["segments"]:
        t = case["truth_signs"][s]
        if abs(t) > dm.CLEAR_DEPTH:
            kinds.append(np.sign(t) == np.sign(h["signs"][s]))
    if not kinds:
        return 0
    return 1 if all(kinds) else -1


def summary(hs: list[dict]) -> str:
    pa = np.array([h["pa24"] for h in hs])
    back = sum(h["backwards"] for h in hs)
    seg = sum(h["segments_judged"] for h in hs)
    return (f"{np.median(pa):.0f} / {np.percentile(pa, 90):.0f} mm | "
            f"{100 * back / max(seg, 1):.1f} % ({back}/{seg})")  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("collect", "judge"))
    ap.add_argument("runs", nargs="*", default=[])
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lifter_confidence"))
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--save", type=Path, default=Path("/tmp/depth_hypotheses.json"))
    ap.add_argument("--per-category", action="store_true")
    ap.add_argument("--world-cache", type=Path, default=None, help="depth_world_cache.py file")
    ap.add_argument("--iterations", type=int, default=None, help="refit iterations")
    ap.add_argument("--trunk", action="store_true", help="also the trunk's lean")
    ap.add_argument("--searched", action="store_true", help="start from the searched fit")
    ap.add_argument("--lifter", type=Path, default=None, help="lifter ONNX (default: shipped)")
    args = ap.parse_args(argv)
    return {"collect": collect, "judge": judge}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
