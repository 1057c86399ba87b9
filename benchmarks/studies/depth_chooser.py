"""Study: learn which depth hypothesis (``core/depth_search.py``) to keep, on the rendered
benchmark, from ``depth_hypotheses.py collect``'s records of both halves.

    .venv/bin/python benchmarks/studies/depth_chooser.py table W/hyp_tuning.json
        W/hyp_report.json --world-cache W/bp_world.npz --out W/features.npz
    .venv/bin/python benchmarks/studies/depth_chooser.py learn --table W/features.npz
        [--features energy lifter ... | all] [--per-source] [--crossval 5]

``table`` turns every refitted hypothesis into one row of candidate features (all relative to
the fit it was refitted from, :func:`row_features`) and its label. ``learn`` fits an L2
logistic regression of the label (by default: +1 where the hypothesis has fewer limbs
backwards than the fit, −1 more, 0 the same and not learnt) on the named features, on the
tuning half only, then lets each photo keep its most probable hypothesis where that
probability passes a threshold (chosen on the tuning half too), and prints the per-photo
measures on both halves beside the shipped criterion (the lifter agrees and the energy drops)
and the oracle (the hypothesis with the fewest backwards limbs). ``--crossval k``: a
diagnostic only, the same learnt on k − 1 folds of all photos and judged on the k-th.
``depth_room.py`` reads the same table: where the oracle's gain lies, two-feature rules, and
what a new sign source must reach.

Adding a feature: one more key in :func:`row_features` (per hypothesis, from the records
``depth_hypotheses.py collect`` writes; a per-segment source is reduced over the flipped
segments as ``lifter`` is, e.g. ``away``: a lifter's depth-sign head where the records hold
it, ``collect --lifter X.onnx``), then ``table`` and ``learn --features ... away``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))
sys.path.insert(2, str(ROOT / "benchmarks" / "studies"))

from depth_hypotheses import flip_kind, saved_runs, total  # noqa: E402
from lifter_confidence import SOURCES, half_of  # noqa: E402

#: Energy terms whose change (per the base fit's total energy) is a feature.
TERMS = ("joints", "pose_prior", "angle_prior", "joint_limits", "world", "interpenetration")


def endpoint(segment: str) -> tuple[str, str]:
    """The blazepose33 keypoints at a limb segment's two ends."""
    from blender_smplify.core.edit_terms import LIMB_SEGMENTS

    return segment, LIMB_SEGMENTS[segment]


def row_features(case: dict, base: dict, hyp: dict) -> dict[str, float]:
    """Candidate features of one hypothesis against the fit it was refitted from (the
    worst flipped segment's value where a feature is per segment)."""
    from blender_smplify.core.keypoints import BLAZEPOSE33

    segs = hyp["segments"]
    eb, eh = total(base), total(hyp)
    sign = {s: np.sign(hyp["signs"][s]) for s in segs}
    out = {
        "energy": np.log(eh / eb),
        "screen": np.log(hyp["screen"] / eb),
        "lifter": min(case["lifted_signs"][s] * sign[s] for s in segs),
        "lifter_sign": float(min(np.sign(case["lifted_signs"][s]) * sign[s] for s in segs)),
        "tilt": min(abs(base["signs"][s]) for s in segs),
        "tilt_after": min(abs(hyp["signs"][s]) for s in segs),
        "chain": float(len(segs) == 2),
        "arm": float(any(s.endswith(("shoulder", "elbow")) for s in segs)),
        "upper": float(any(s.endswith(("shoulder", "hip")) for s in segs)),
        "limits_count": hyp["limits_count"] - base["limits_count"],
    }
    for term in TERMS:
        out[f"d_{term}"] = (hyp["energies"].get(term, 0.0) - base["energies"].get(term, 0.0)) / eb
    out["log_joints"] = np.log(hyp["energies"]["joints"] / base["energies"]["joints"])
    out["log_prior"] = np.log(
        (hyp["energies"]["pose_prior"] + 1.0) / (base["energies"]["pose_prior"] + 1.0)
    )
    out["log_world"] = np.log(
        (hyp["energies"].get("world", 0.0) + 1.0) / (base["energies"].get("world", 0.0) + 1.0)
    )
    conf = np.asarray(case["confidence"])
    ends = [BLAZEPOSE33.index(k) for s in segs for k in endpoint(s)]
    out["confidence"] = float(conf[ends].min())
    if case.get("expected_error") is not None:
        out["lifter_error"] = float(np.asarray(case["expected_error"])[ends].max())
    else:
        out["lifter_error"] = np.nan
    bp = case.get("blazepose_signs")
    out["blazepose"] = min(bp.get(s, 0.0) * sign[s] for s in segs) if bp is not None else np.nan
    others = [
        s
        for s, d in base["signs"].items()
        if s not in segs and s in case["lifted_signs"] and s != "pelvis" and abs(d) >= 0.3
    ]
    for name, votes in (("lifter_others", case["lifted_signs"]), ("blazepose_others", bp)):
        out[name] = (
            float(np.mean([np.sign(votes[s]) == np.sign(base["signs"][s]) for s in others]))
            if votes is not None and others
            else 0.5
        )  # how far this source agrees with the fit on its other tilted limbs
    seen = case.get("blazepose_visibility")  # the far end of a limb is the one hidden more
    out["visibility"] = (
        min(
            (seen[BLAZEPOSE33.index(a)] - seen[BLAZEPOSE33.index(b)]) * sign[s]
            for s in segs
            for a, b in [endpoint(s)]
        )
        if seen is not None
        else np.nan
    )
    away = case.get("away_probabilities")  # a lifter's depth-sign head, where it has one
    out["away"] = min((away[s] - 0.5) * sign[s] for s in segs) if away is not None else np.nan
    # the truth's own depth change per length (only for simulating a sign source: never learnt)
    out["truth"] = min(case["truth_signs"][s] * sign[s] for s in segs)
    out["agree_both"] = float(
        np.isfinite(out["blazepose"]) and out["blazepose"] > 0 and out["lifter"] > 0
    )
    return out


def table(args) -> int:
    rows = saved_runs(args.runs, args.world_cache)
    features: list[dict | None] = []
    meta = {
        "name": [],
        "source": [],
        "half": [],
        "category": [],
        "index": [],
        "label": [],
        "segments": [],
        "pa24": [],
        "backwards": [],
        "judged": [],
    }
    for r in rows:
        for source in SOURCES:
            case = r[source]
            if case is None:
                continue
            base = case["hypotheses"][0]
            for k, hyp in enumerate(case["hypotheses"]):
                f = row_features(case, base, hyp) if k else None
                for name, value in meta.items():
                    value.append(
                        {
                            "name": r["name"],
                            "source": source,
                            "half": half_of(r["name"]),
                            "category": r["category"],
                            "index": k,
                            "label": flip_kind(case, hyp) if k else 0,
                            "segments": "+".join(hyp["segments"]),
                            "pa24": hyp["pa24"],
                            "backwards": hyp["backwards"],
                            "judged": hyp["segments_judged"],
                        }[name]
                    )
                features.append(f)
    names = next(f for f in features if f is not None)
    cols = {n: [np.nan if f is None else f[n] for f in features] for n in names}
    np.savez(args.out, **{k: np.array(v) for k, v in {**meta, **cols}.items()})
    print(
        f"{len(meta['name'])} rows ({sum(np.array(meta['index']) > 0)} hypotheses), "
        f"features {list(cols)} -> {args.out}"
    )
    return 0


# ------------------------------------------------------------------------------------ learning
def logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Weights (d + 1,) (intercept last) of an L2-penalised logistic regression of y ∈ {0, 1}
    on X (n, d), the intercept not penalised, by Newton's method."""
    A = np.c_[X, np.ones(len(X))]
    w = np.zeros(A.shape[1])
    P = l2 * np.eye(A.shape[1])
    P[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-A @ w))
        g = A.T @ (p - y) + P @ w
        H = (A * (p * (1 - p))[:, None]).T @ A + P
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def choose(
    t: dict, sel: np.ndarray, keep: np.ndarray, score: np.ndarray, threshold: float
) -> np.ndarray:
    """Per photo and source among the rows ``sel``, the row index kept: its best-scoring
    hypothesis among those allowed (``keep``) when its score passes ``threshold``, else the
    fit (index 0)."""
    chosen = []
    for key in sorted(set(zip(t["name"][sel], t["source"][sel]))):
        rows = np.flatnonzero((t["name"] == key[0]) & (t["source"] == key[1]))
        base = rows[t["index"][rows] == 0][0]
        cand = rows[(t["index"][rows] > 0) & keep[rows]]
        if len(cand) and score[cand].max() > threshold:
            chosen.append(cand[np.argmax(score[cand])])
        else:
            chosen.append(base)
    return np.array(chosen)


def summary(t: dict, chosen: np.ndarray) -> str:
    pa, back, judged = t["pa24"][chosen], t["backwards"][chosen], t["judged"][chosen]
    return (
        f"{np.median(pa):.0f} / {np.percentile(pa, 90):.0f} mm, "
        f"{100 * back.sum() / judged.sum():.1f} % ({back.sum()}/{judged.sum()})"
    )


def oracle(t: dict, sel: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Per photo of ``sel``, the row (among the ``allowed``) with the fewest backwards limbs."""
    chosen = []
    for rows in photos(t, sel):
        rows = rows if allowed is None else rows[allowed[rows]]
        chosen.append(min(rows, key=lambda r: (t["backwards"][r], t["pa24"][r])))
    return np.array(chosen)


def base_rows(t: dict) -> np.ndarray:
    """Each row's fit: the row index of the hypothesis 0 of its photo and source."""
    base = {
        (n, s): i for i, (n, s, k) in enumerate(zip(t["name"], t["source"], t["index"])) if k == 0
    }
    return np.array([base[(n, s)] for n, s in zip(t["name"], t["source"])])


#: Columns of the table that are not features (or must never be learnt: the truth).
NOT_FEATURES = (
    "name",
    "source",
    "half",
    "category",
    "index",
    "label",
    "segments",
    "pa24",
    "backwards",
    "judged",
    "truth",
)


def learn(args) -> int:
    t = dict(np.load(args.table))
    hyp = t["index"] > 0
    if args.label == "backwards":  # +1: fewer limbs backwards than the fit, −1: more
        t["label"] = -np.sign(t["backwards"] - t["backwards"][base_rows(t)])
    train = hyp & (t["half"] == "tuning") & (t["label"] != 0)
    names = args.features
    if names == ["all"]:
        names = [n for n in t if n not in NOT_FEATURES and np.isfinite(t[n][hyp]).any()]
    X = np.c_[tuple(np.nan_to_num(t[n].astype(float)) for n in names)]
    if args.per_source:  # each feature's weight may differ between the two sources
        exact = (t["source"] == "truth2d").astype(float)
        X = np.c_[X, X * exact[:, None], exact]
    mu, sd = X[train].mean(0), X[train].std(0) + 1e-12
    Z = (X - mu) / sd
    w = logistic(Z[train], (t["label"][train] > 0).astype(float), args.l2)
    prob = 1.0 / (1.0 + np.exp(-(Z @ w[:-1] + w[-1])))
    raw = w[:-1] / sd
    print("features:", names, "(per source)" if args.per_source else "")
    if not args.per_source:
        print(
            "coefficients (raw units):",
            dict(zip(names, np.round(raw, 4))),
            "intercept",
            round(float(w[-1] - raw @ mu), 4),
        )
    if args.crossval:
        return crossval(t, X, args)
    columns = halves(t)
    tuning_back = [
        sum(t["backwards"][choose(t, s, hyp, prob, thr)].sum() for s in columns[:2])
        for thr in args.thresholds
    ]
    best = args.thresholds[int(np.argmin(tuning_back))]
    print(
        "limbs backwards on the tuning half by threshold:",
        dict(zip(args.thresholds, map(int, tuning_back))),
        "-> p >",
        best,
    )
    shipped = hyp & (t["lifter_sign"] > 0) & (t["energy"] < 0)
    lines = {
        "no search": lambda s: np.array([r[0] for r in photos(t, s)]),
        "shipped": lambda s: choose(t, s, shipped, -t["energy"], -np.inf),
        f"chooser, p > {best}": lambda s: choose(t, s, hyp, prob, best),
        "oracle": lambda s: oracle(t, s),
    }
    print("| choice | " + " | ".join(f"{h}, {s}" for h in HALVES for s in SOURCES) + " |")
    print("|---|" + "---|" * 4)
    for name, pick in lines.items():
        print(f"| {name} | " + " | ".join(summary(t, pick(s)) for s in columns) + " |")
    return 0


def crossval(t: dict, X: np.ndarray, args) -> int:
    """A diagnostic, never a choice: the chooser learnt (and its threshold chosen) on 4/5 of
    all photos of both halves, judged on the fifth; limbs backwards summed over the folds."""
    hyp = t["index"] > 0
    names = sorted(set(t["name"]))
    order = np.random.default_rng(0).permutation(len(names))
    fold = dict(zip(names, order % args.crossval))
    folds = np.array([fold[n] for n in t["name"]])
    shipped = hyp & (t["lifter_sign"] > 0) & (t["energy"] < 0)
    back = {s: 0 for s in SOURCES}
    for k in range(args.crossval):
        train = hyp & (folds != k) & (t["label"] != 0)
        mu, sd = X[train].mean(0), X[train].std(0) + 1e-12
        Z = (X - mu) / sd
        w = logistic(Z[train], (t["label"][train] > 0).astype(float), args.l2)
        prob = 1.0 / (1.0 + np.exp(-(Z @ w[:-1] + w[-1])))
        best = min(
            args.thresholds,
            key=lambda p: t["backwards"][choose(t, folds != k, hyp, prob, p)].sum(),
        )
        for s in SOURCES:
            back[s] += t["backwards"][
                choose(t, (folds == k) & (t["source"] == s), hyp, prob, best)
            ].sum()
    for s in SOURCES:
        sel = t["source"] == s
        shipped_back = t["backwards"][choose(t, sel, shipped, -t["energy"], -np.inf)].sum()
        print(
            f"{s}: {args.crossval}-fold chooser {back[s]}, shipped {shipped_back}, no search "
            f"{t['backwards'][sel & ~hyp].sum()}, oracle {t['backwards'][oracle(t, sel)].sum()}"
        )
    return 0


HALVES = ("tuning", "report")


def halves(t: dict) -> list[np.ndarray]:
    """Row masks of the four columns: tuning and report half × detector and exact 2D."""
    return [(t["half"] == h) & (t["source"] == s) for h in HALVES for s in SOURCES]


def photos(t: dict, sel: np.ndarray) -> list[np.ndarray]:
    """The rows of each photo and source among ``sel``, the fit (index 0) first."""
    keys = sorted(set(zip(t["name"][sel], t["source"][sel])))
    out = []
    for name, source in keys:
        rows = np.flatnonzero((t["name"] == name) & (t["source"] == source))
        out.append(rows[np.argsort(t["index"][rows])])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("table", "learn"))
    ap.add_argument("runs", nargs="*", default=[])
    ap.add_argument("--world-cache", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("/tmp/depth_features.npz"))
    ap.add_argument("--table", type=Path, default=Path("/tmp/depth_features.npz"))
    ap.add_argument("--features", nargs="+", default=["energy", "lifter"])
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--per-source", action="store_true", help="weights per source")
    ap.add_argument("--crossval", type=int, default=0, help="k-fold over all photos (diagnostic)")
    ap.add_argument(
        "--label",
        choices=("kind", "backwards"),
        default="backwards",
        help="learn the flip kind, or whether the backwards count drops",
    )
    ap.add_argument(
        "--thresholds", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    )
    args = ap.parse_args(argv)
    return {"table": table, "learn": learn}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
