"""Study: the image's depth-sign network (``core/depth_sign.py``) against the lifter's sign head
and BlazePose's landmarks on the rendered benchmark, and on the fit's backwards segments.

    .venv/bin/python benchmarks/studies/depth_sign_eval.py --cache .../rendered_3d/seed0
        --work W --world-cache W/bp_world.npz --fit-run W/shipped_all.json
        [--model X.onnx] [--half tuning] [--save W/signs.json] [--save-votes W/votes.npz]

Per render of the half (``W/keypoints.npz``: the detector's blazepose33 keypoints), for each
of the 8 limb segments whose truth is clear (|Δ| / length > 0.3, ``depth_metrics``): the
network's probability that the child end is the farther (mirror-averaged), the lifter's
(``LiftedPoints.segment_away_probability``), BlazePose's world landmarks' depth change per
length (the network reads these two as well, and BlazePose's visibilities), and the fit's own
side (``--fit-run``: a ``lifter_confidence.py fit --save`` file, its first variant, from the
detector). Tables: share wrong, log loss, ECE; then on the fit's
backwards and right segments, how often each source asks for the other side by a margin
(recall and false alarms of a vote in ``depth_search``).
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
from lifter_confidence import half_of  # noqa: E402

from blender_smplify.core.depth_sign import (  # noqa: E402
    SEGMENT_ENDS,
    SEGMENT_NAMES,
    DepthSign,
    evidence,
    segment_crops,
)
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.keypoints import Keypoints2D  # noqa: E402
from blender_smplify.core.lifter import default_lifter  # noqa: E402


def collect(args) -> list[dict]:
    net = DepthSign(args.model)
    lifter = default_lifter()
    kp = np.load(args.work / "keypoints.npz")
    world = np.load(args.world_cache)
    fitted = {}
    if args.fit_run:
        run = json.loads(args.fit_run.read_text())
        variant = next(iter(run["variants"]))
        fitted = {r["name"]: r["detector"][variant]["joints"] for r in run["rows"]
                  if r.get("detector")}  # fmt: skip
    rows, seconds = [], []
    for png, info in re_.load_cases(args.cache, None, None):
        if args.half != "all" and half_of(png.stem) != args.half:
            continue
        k = int(np.flatnonzero(kp["name"] == png.stem)[0])
        conf = kp["detector_conf"][k]
        if conf.max() == 0:
            continue
        xy = np.nan_to_num(kp["detector_xy"][k])
        image = load_image(png)
        w, h = info["image_size"]
        principal = np.array([w / 2, h / 2])
        lifted = lifter.lift(xy, np.clip(conf, 0, 1), info["focal_px"], principal)
        bp = (world["points"][k], world["visibility"][k])
        if args.image_only:  # a network trained with train_depth_sign.py --image-only
            bp = (np.zeros((33, 3)), np.zeros(33))
        start = time.perf_counter()
        away = np.full(8, 0.5) if args.image_only else lifted.segment_away_probability
        p_net = net.away_probability(image, Keypoints2D("blazepose33", xy, conf), away, *bp)
        seconds.append(time.perf_counter() - start)
        xy_exact = np.nan_to_num(kp["truth_xy"][k])
        exact = Keypoints2D("blazepose33", xy_exact, kp["truth_conf"][k])
        p_lift = lifter.lift(xy_exact, kp["truth_conf"][k], info["focal_px"], principal)
        away = np.full(8, 0.5) if args.image_only else p_lift.segment_away_probability
        p_exact = net.away_probability(image, exact, away, *bp)
        scalars = np.concatenate([segment_crops(image, Keypoints2D("blazepose33", xy, conf))[1],
                                  evidence(lifted.segment_away_probability, *bp)], 1)  # fmt: skip
        depth, length = dm.segment_depths(np.asarray(info["joints_camera"]))
        fit_depth = (dm.segment_depths(np.asarray(fitted[png.stem]))[0]
                     if png.stem in fitted else np.full(8, np.nan))  # fmt: skip
        for s in range(8):
            v = world["points"][k][SEGMENT_ENDS[s, 1]] - world["points"][k][SEGMENT_ENDS[s, 0]]
            dz = float(v[2] / np.linalg.norm(v)) if np.isfinite(v).all() else np.nan
            rows.append({
                "name": png.stem, "category": info["category"], "segment": SEGMENT_NAMES[s],
                "tilt": float(depth[s] / length[s]), "net": float(p_net[s]),
                "net_exact": float(p_exact[s]), "scalars": scalars[s].tolist(),
                "lifter": float(lifted.segment_away_probability[s]), "blazepose": dz,
                "fit": float(fit_depth[s]),
            })  # fmt: skip
    print(f"{len(seconds)} photos; network {1e3 * np.median(seconds):.1f} ms median per photo "
          f"(p90 {1e3 * np.percentile(seconds, 90):.1f})")  # fmt: skip
    return rows


def tables(rows: list[dict], direct=None, margins=(0.0, 0.2, 0.4, 0.6, 0.8, 0.9)) -> None:
    """``direct``: the training report's linear path on the scalars alone (the network without
    the photo), shown beside it."""
    r = {
        k: np.array([row[k] for row in rows])
        for k in rows[0]
        if k not in ("name", "category", "segment")
    }
    sources = {"image network": r["net"], "lifter's head": r["lifter"]}
    if direct is not None:
        z = r["scalars"] @ np.array(direct["weight"]) + direct["bias"]
        sources["network's scalars alone"] = 1 / (1 + np.exp(-z))
    clear = np.abs(r["tilt"]) > dm.CLEAR_DEPTH
    away = r["tilt"] > 0
    ok = clear & np.isfinite(r["net"])
    print(f"\n{ok.sum()} clear segments with both ends detected")
    print("| source | wrong | log loss | Brier | ECE |\n|---|---|---|---|---|")
    bp_p = np.where(np.isfinite(r["blazepose"]), (1 + np.clip(r["blazepose"], -1, 1)) / 2, 0.5)
    for name, p in {**sources, "BlazePose (1+dz)/2": bp_p}.items():
        f = dm.sign_figures(p[ok], away[ok])
        print(f"| {name} | {100 * f['wrong']:.1f} % | {f['log_loss']:.3f} | {f['brier']:.3f} | "
              f"{f['ece']:.3f} |")  # fmt: skip
    arms = np.array([row["segment"].endswith(("shoulder", "elbow")) for row in rows])
    for label, sel in (("arms", arms), ("legs", ~arms)):
        f = dm.sign_figures(r["net"][ok & sel], away[ok & sel])
        g = dm.sign_figures(r["lifter"][ok & sel], away[ok & sel])
        print(f"{label}: network wrong {100 * f['wrong']:.1f} %, lifter {100 * g['wrong']:.1f} %")
    if not np.isfinite(r["fit"]).any():
        return
    fit_away = r["fit"] > 0
    back = ok & (fit_away != away)
    right = ok & (fit_away == away)
    print(
        f"\nthe fit: {back.sum()} backwards of {ok.sum()} ({100 * back.mean() / ok.mean():.1f} %)"
    )
    print("votes for the other side than the fit, vote v = 2p − 1 (BlazePose: dz/len) beyond m")
    print("| source | m | recall (of backwards) | false alarms (of right) |\n|---|---|---|---|")
    votes = {name: 2 * p - 1 for name, p in sources.items()}
    for name, v in {**votes, "BlazePose": np.nan_to_num(r["blazepose"])}.items():
        for m in margins:
            asks = -v * np.sign(r["fit"]) > m
            print(f"| {name} | {m} | {asks[back].mean():.2f} ({asks[back].sum()}) | "
                  f"{100 * asks[right].mean():.1f} % ({asks[right].sum()}) |")  # fmt: skip
    p_true = np.where(away, r["net"], 1 - r["net"])
    print(
        f"network's p of the true side on the fit's backwards segments: median "
        f"{np.median(p_true[back]):.2f}, above 0.5 on {100 * (p_true[back] > 0.5).mean():.0f} %"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--world-cache", type=Path, required=True)
    p.add_argument("--fit-run", type=Path, default=None)
    p.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    p.add_argument("--save", type=Path, default=None)
    p.add_argument("--load", type=Path, default=None, help="a --save file: tables only")
    p.add_argument(
        "--image-only",
        action="store_true",
        help="a network trained with --image-only: the other sources read as 0",
    )
    p.add_argument(
        "--report",
        type=Path,
        default=None,
        help="the network's training report (X.json): its scalars-alone path too",
    )
    p.add_argument(
        "--save-votes",
        type=Path,
        default=None,
        help="npz of name (N,), away (N, 8) from the detector's keypoints, away_truth2d "
        "from the exact ones, for --image-votes of depth_search_votes.py and "
        "lifter_confidence.py fit",
    )
    args = p.parse_args(argv)
    rows = json.loads(args.load.read_text()) if args.load else collect(args)
    if args.save:
        args.save.write_text(json.dumps(rows))
    if args.save_votes:
        names = list(dict.fromkeys(r["name"] for r in rows))
        away = np.array([r["net"] for r in rows]).reshape(len(names), 8)
        exact = np.array([r["net_exact"] for r in rows]).reshape(len(names), 8)
        np.savez(args.save_votes, name=np.array(names), away=away, away_truth2d=exact)
    direct = json.loads(args.report.read_text())["direct"] if args.report else None
    tables(rows, direct)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
