"""Study: the depth search (``core/depth_search.py``) run for real with each criterion from the
same fits, on the rendered benchmark's tuning or report half.

    .venv/bin/python benchmarks/studies/depth_search_votes.py --cache DIR --work W
        --world-cache W/bp_world.npz [--half tuning] [--save W/votes_tuning.json]
    .venv/bin/python benchmarks/studies/depth_search_votes.py --runs W/votes_report.json

Every render is fitted as shipped but without the search (the lifter's points as the 3D
evidence), from the detector's and from the exact keypoints (``lifter_confidence.py
detect``'s ``W/keypoints.npz``); then ``search_depth`` runs from that fit once per criterion
(``VARIANTS``), which is what ``fit()`` does in its step 3b, so the criteria meet the same
fits. BlazePose's world landmarks and visibilities come from ``depth_world_cache.py`` (camera
frame). Printed per source: PA-MPJPE 24 median / p90, limbs backwards, limbs flipped, and the
search's CPU time per photo; with ``--runs`` (saved runs) also per category, before against
what ships.
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
from depth_hypotheses import lifted_fit  # noqa: E402
from lifter_confidence import SOURCES, cached_keypoints, half_of, load_keypoints  # noqa: E402

#: name -> the search's settings: ``margin`` (``MARGIN``), whether the detector's landmarks
#: vote (``detector``); with the image's votes their vote margin and energy margin
#: (``image_vote``, ``image_margin``); with BlazePose's strong votes theirs (``strong_vote``,
#: ``strong_margin``); None: no search.
VARIANTS = {
    "no search": None,
    "lifter votes, energy drops (before)": {"margin": 0.0, "detector": False},
    "lifter votes, energy < x1.1": {"margin": -0.1, "detector": False},
    "lifter or detector votes, energy drops": {"margin": 0.0, "detector": True},
    "lifter or detector votes, energy < x1.1 (shipped)": {"margin": -0.1, "detector": True},
}
SHIPPED = VARIANTS["lifter or detector votes, energy < x1.1 (shipped)"]
#: With ``--image-votes``: the shipped criterion plus the image's depth-sign network asking by
#: a vote margin (2p − 1 beyond it), the energy allowed to rise to (1 − energy margin) × E.
IMAGE_VOTE_MARGINS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9)
IMAGE_ENERGY_MARGINS = (-0.1, -0.3, -0.5)
#: With ``--strong``: the shipped criterion with BlazePose's strong votes (its depth change per
#: length beyond the vote margin) allowed to raise the energy to (1 − energy margin) × E.
STRONG_VOTES = (0.6, 0.7, 0.8, 0.9)
STRONG_ENERGY_MARGINS = (-0.3, -0.6, -1.0, -2.0)


def strong_variants() -> dict:
    return {f"shipped + blazepose > {v}, energy < x{1 - e:.1f}":
            {**SHIPPED, "strong_vote": v, "strong_margin": e}
            for v in STRONG_VOTES for e in STRONG_ENERGY_MARGINS}  # fmt: skip


def image_variants() -> dict:
    return {f"shipped + image > {m}, energy < x{1 - e:.1f}":
            {**SHIPPED, "image_vote": m, "image_margin": e}
            for m in IMAGE_VOTE_MARGINS for e in IMAGE_ENERGY_MARGINS}  # fmt: skip


def searched(problem, x0, config, variant: dict, detected, image_votes):
    """``search_depth`` from x0 under one variant's settings (its vote thresholds set on
    ``depth_search`` for the call, then restored)."""
    from blender_smplify.core import depth_search

    shipped = depth_search.VOTE_MARGINS["image"], depth_search.STRONG_VOTE
    depth_search.VOTE_MARGINS["image"] = variant.get("image_vote", shipped[0])
    depth_search.STRONG_VOTE = variant.get("strong_vote", shipped[1])
    try:
        return depth_search.search_depth(
            problem,
            x0,
            config,
            margin=variant["margin"],
            detected=detected if variant["detector"] else None,
            image=image_votes if "image_vote" in variant else None,
            image_margin=variant.get("image_margin"),
            strong_margin=variant.get("strong_margin"),
        )
    finally:
        depth_search.VOTE_MARGINS["image"], depth_search.STRONG_VOTE = shipped


def search_case(
    info, kp, lifter, model, detected_points, visibility, image=None, strong=False
) -> dict:
    """``image``: (8,) the image network's away-probabilities of the detector's keypoints
    (``depth_sign_eval.py --save-votes``), or None."""
    from blender_smplify.core.depth_search import LIMB_SEGMENTS, joints_of
    from blender_smplify.core.world_landmarks import WorldLandmarks

    w, h = info["image_size"]
    principal = np.array([w / 2, h / 2])
    truth = np.array(info["joints_camera"])
    # already in the camera frame: no crop turn, crop centred on the optical axis
    detected = None
    if detected_points is not None and np.isfinite(detected_points).all():
        detected = WorldLandmarks(detected_points, visibility, 0.0, principal)
    row = {"category": info["category"]}
    for source in SOURCES:
        keypoints = cached_keypoints(kp, source)
        if keypoints is None:
            row[source] = None
            continue
        problem, x0, _, weights = lifted_fit(model, keypoints, info, lifter, search=False)
        out = {}
        by_image = image is not None and source == "detector"
        image_votes = None
        if by_image:
            image_votes = {s: 2 * p - 1 for s, p in zip(LIMB_SEGMENTS, image) if np.isfinite(p)}
        variants = {**VARIANTS, **(image_variants() if by_image else {}),
                    **(strong_variants() if strong else {})}  # fmt: skip
        for name, variant in variants.items():
            c0 = time.process_time()
            x, flipped = x0, ()
            if variant is not None:
                config = weights.pose_stage(3)
                x, flipped = searched(problem, x0, config, variant, detected, image_votes)
            cpu = 1e3 * (time.process_time() - c0)
            m = dm.case_metrics(joints_of(problem, x), truth)
            out[name] = {"pa24": m["pa24"], "backwards": m["backwards"],
                         "segments": m["segments"], "flipped": len(flipped),
                         "cpu_ms": cpu}  # fmt: skip
        row[source] = out
    return row


def report(rows: list[dict]) -> None:
    for source in SOURCES:
        cases = [r for r in rows if r[source] is not None]
        print(f"\n## from {source}: {len(cases)} photos")
        print("| criterion | PA-MPJPE 24 median / p90 | limbs backwards | flipped | CPU ms "
              "median / p90 |\n|---|---|---|---|---|")  # fmt: skip
        for name in cases[0][source]:
            m = [r[source][name] for r in cases]
            pa = np.array([x["pa24"] for x in m])
            back, seg = sum(x["backwards"] for x in m), sum(x["segments"] for x in m)
            cpu = np.array([x["cpu_ms"] for x in m])
            print(f"| {name} | {np.median(pa):.0f} / {np.percentile(pa, 90):.0f} mm | "
                  f"{100 * back / seg:.1f} % ({back}/{seg}) | {sum(x['flipped'] for x in m)} | "
                  f"{np.median(cpu):.1f} / {np.percentile(cpu, 90):.1f} |")  # fmt: skip


def per_category(rows: list[dict], before: str, after: str) -> None:
    """Limbs backwards and PA-MPJPE 24 per category, two criteria side by side."""
    for source in SOURCES:
        cases = [r for r in rows if r[source] is not None]
        print(f"\n## from {source}: {before} -> {after}\n| category | PA-MPJPE 24 median / "
              "p90, limbs backwards |\n|---|---|")  # fmt: skip
        for cat in sorted({r["category"] for r in cases}) + ["all"]:
            sel = [r[source] for r in cases if cat in ("all", r["category"])]
            cells = []
            for name in (before, after):
                pa = np.array([c[name]["pa24"] for c in sel])
                back = sum(c[name]["backwards"] for c in sel)
                seg = sum(c[name]["segments"] for c in sel)
                cells.append(f"{np.median(pa):.0f} / {np.percentile(pa, 90):.0f} mm, "
                             f"{100 * back / seg:.1f} %")  # fmt: skip
            print(f"| {cat} | {cells[0]} → {cells[1]} |")


def main(argv=None) -> int:
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.lifter import Lifter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lifter_confidence"))
    ap.add_argument("--world-cache", type=Path, default=None, help="depth_world_cache.py file")
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--save", type=Path, default=None)
    ap.add_argument("--image-votes", type=Path, default=None,
                    help="depth_sign_eval.py --save-votes file: the image votes too")  # fmt: skip
    ap.add_argument("--runs", type=Path, nargs="*", default=None, help="only report saved runs")
    ap.add_argument("--strong", action="store_true",
                    help="also the grid of strong BlazePose votes (strong_variants)")  # fmt: skip
    args = ap.parse_args(argv)
    if args.runs:
        rows = [row for path in args.runs for row in json.loads(path.read_text())]
        report(rows)
        names = list(VARIANTS)
        per_category(rows, names[1], names[-1])
        return 0
    lifter = Lifter(None, mirror_average=True)
    model = BodyModel.load(gender="neutral")
    keypoints = load_keypoints(args.work)
    cache = np.load(args.world_cache)
    detected = {str(n): (p, v) for n, p, v in zip(cache["name"], cache["points"],
                                                   cache["visibility"])}  # fmt: skip
    cases = [(png, info) for png, info in re_.load_cases(args.cache, None, None)
             if args.half == "all" or half_of(png.stem) == args.half][: args.limit]  # fmt: skip
    image = {}
    if args.image_votes:
        saved = np.load(args.image_votes)
        image = dict(zip((str(n) for n in saved["name"]), saved["away"]))
    start, rows = time.perf_counter(), []
    for k, (png, info) in enumerate(cases):
        points, visibility = detected.get(png.stem, (None, None))
        row = search_case(info, keypoints[png.stem], lifter, model, points, visibility,
                          image.get(png.stem), args.strong)  # fmt: skip
        rows.append({"name": png.stem, **row})
        if (k + 1) % 20 == 0:
            print(f"{k + 1}/{len(cases)} renders, {time.perf_counter() - start:.0f} s", flush=True)
    if args.save:
        args.save.write_text(json.dumps(rows, default=float))
    print(f"{len(rows)} renders, {time.perf_counter() - start:.0f} s")
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
