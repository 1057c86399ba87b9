"""Build-time tool: a depth-sign head on BlazePose's own features (``tools/blazepose_features.py``
files), by L2-regularised logistic regression, one model per limb segment.

    .venv/bin/python tools/blazepose_features.py ... --out train.npz   (then)
    .venv/bin/python tools/train_blazepose_sign.py --train train.npz --eval bench_tuning.npz
        [--sets scalars,features,all] [--pca 64] [--out head.npz] [--rows rows.json]

Inputs per segment (groups chosen by ``--sets``):

- ``scalars``: what ``core/depth_sign.evidence`` gives (the lifter's sign-head log-odds / 4,
  BlazePose's world landmarks' depth change per length, the visibility difference of its ends);
- ``global``: the 1152 global features (288 × 2 × 2) the world-landmark head reads, reduced
  to their first ``--pca`` principal components (fitted on the training photos);
- ``spatial``: the 48 heatmap-branch features at the parent end, the child end and the
  midpoint (144).

Each segment's intercept stands for its kind's prior. Labels as ``depth_sign_data.py``:
Δ / length beyond ``--min-tilt`` kept, beyond 0.3 (clear) weight 1, the rest ``--near-weight``.
The L2 weight is chosen by 5-fold cross-validation by photo on the training photos (held-out
log loss on the clear segments); the evaluation file (the benchmark's renders) is never
trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))
sys.path.insert(2, str(ROOT / "benchmarks" / "studies"))

import depth_metrics as dm  # noqa: E402
from depth_sign_eval import tables  # noqa: E402

from blender_smplify.core.depth_sign import (  # noqa: E402
    MIN_CONFIDENCE,
    SEGMENT_ENDS,
    SEGMENT_NAMES,
    evidence,
    segment_frames,
)

LAMBDAS = (10.0, 100.0, 1000.0, 10000.0)
#: L2 weight of the scalar inputs (the lifter's and BlazePose's signs), fixed: the features'
#: weight (``LAMBDAS``) is chosen by cross-validation.
SCALAR_LAMBDA = 1.0
GROUPS = {"scalars": ("scalars",), "features": ("global", "spatial"),
          "all": ("scalars", "global", "spatial"), "global": ("scalars", "global"),
          "spatial": ("scalars", "spatial")}  # fmt: skip


def group_arrays(f) -> dict[str, np.ndarray]:
    """Per photo and segment (N, 8, D) arrays of each input group of a features file."""
    n = len(f["name"])
    ev = np.stack([evidence(f["lifter"][i], f["world"][i], f["visibility"][i]) for i in range(n)])
    pts = f["at_points"].astype(np.float32)
    spatial = np.concatenate(
        [pts[:, SEGMENT_ENDS[:, 0]], pts[:, SEGMENT_ENDS[:, 1]], f["at_mid"].astype(np.float32)],
        axis=2,
    )
    return {"scalars": ev, "global": f["glob"].astype(np.float32), "spatial": spatial}


def design(arrays, groups, segment, pca=None) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) inputs of one segment from :func:`group_arrays` (global: its PCA projection),
    and (D,) True where a column is a scalar (penalised by ``SCALAR_LAMBDA``)."""
    cols = []
    for g in groups:
        if g == "global":
            x = arrays["global"]
            cols.append((x - pca[0]) @ pca[1] if pca is not None else x)
        else:
            cols.append(arrays[g][:, segment])
    is_scalar = np.concatenate([np.full(c.shape[1], g == "scalars") for g, c in zip(groups, cols)])
    return np.concatenate(cols, axis=1).astype(np.float64), is_scalar


def fit_logistic(x, y, w, lam) -> np.ndarray:
    """Weights (D + 1,) (bias last) minimising Σ w·BCE + ½ Σ lam_j weight_j² (bias free);
    x standardised (N, D), y (N,) in {0, 1}, w (N,), lam (D,)."""
    lam = np.append(lam, 0.0)
    xb = np.hstack([x, np.ones((len(x), 1))])

    def loss(theta):
        z = xb @ theta
        bce = np.logaddexp(0.0, z) - y * z
        g = xb.T @ (w * (1 / (1 + np.exp(-z)) - y))
        return (w * bce).sum() + 0.5 * (lam * theta) @ theta, g + lam * theta

    res = minimize(loss, np.zeros(xb.shape[1]), jac=True, method="L-BFGS-B",
                   options={"maxiter": 500})  # fmt: skip
    return res.x


def predict(theta, x) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ theta[:-1] + theta[-1])))


class Head:
    """One logistic regression per segment on standardised inputs."""

    def __init__(self, groups, lam, pca_dims):
        self.groups, self.lam, self.pca_dims = groups, lam, pca_dims

    def fit(self, arrays, tilt, keep, weight):
        self.pca = None
        if "global" in self.groups and self.pca_dims:
            x = arrays["global"]
            mean = x.mean(0)
            _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
            self.pca = (mean, vt[: self.pca_dims].T)
        self.models = []
        for s in range(8):
            x, is_scalar = design(arrays, self.groups, s, self.pca)
            rows = keep[:, s]
            mu, sd = x[rows].mean(0), x[rows].std(0) + 1e-6
            lam = np.where(is_scalar, SCALAR_LAMBDA, self.lam)
            theta = fit_logistic((x[rows] - mu) / sd, (tilt[rows, s] > 0).astype(float),
                                 weight[rows, s], lam)  # fmt: skip
            self.models.append((mu, sd, theta))
        return self

    def probability(self, arrays) -> np.ndarray:
        """(N, 8) P(child end farther)."""
        out = []
        for s, (mu, sd, theta) in enumerate(self.models):
            out.append(predict(theta, (design(arrays, self.groups, s, self.pca)[0] - mu) / sd))
        return np.stack(out, axis=1)


def clip_names(folder: Path, names) -> list[str]:
    """Each photo's motion clip (its truth's ``origin`` before '#'; a hand-built pose its own)."""
    out = []
    for n in names:
        origin = json.loads((folder / f"{n}.json").read_text()).get("origin", str(n))
        out.append(origin.split("#")[0] if "#" in origin else str(n))
    return out


def labels(tilt, min_tilt, near_weight):
    keep = np.abs(tilt) >= min_tilt
    weight = np.where(np.abs(tilt) > dm.CLEAR_DEPTH, 1.0, near_weight)
    return keep, weight


def subset(arrays, rows):
    return {k: v[rows] for k, v in arrays.items()}


def cross_validate(
    arrays, tilt, keep, weight, groups, pca, clips, lambdas=LAMBDAS, folds=5, seed=0
):
    """{lam: (log loss, wrong)} on the clear segments of held-out photos; the folds split by
    ``clips`` (N,) (photos of one motion clip, near-duplicate poses, share a fold)."""
    names, clip = np.unique(clips, return_inverse=True)
    fold = (np.random.default_rng(seed).permutation(len(names)) % folds)[clip]
    clear = np.abs(tilt) > dm.CLEAR_DEPTH
    out = {}
    for lam in lambdas:
        p = np.zeros_like(tilt)
        for k in range(folds):
            tr, te = fold != k, fold == k
            head = Head(groups, lam, pca).fit(subset(arrays, tr), tilt[tr], keep[tr], weight[tr])
            p[te] = head.probability(subset(arrays, te))
        f = dm.sign_figures(p[clear], tilt[clear] > 0)
        out[lam] = (f["log_loss"], f["wrong"])
    return out


def benchmark_rows(f, p, fit_run: Path) -> list[dict]:
    """``depth_sign_eval.tables``' rows for the evaluation photos: the head's p as "net" (NaN
    where an end is below ``MIN_CONFIDENCE``, as ``DepthSign`` answers), the lifter's head,
    BlazePose's dz, depthnet's scalar inputs and the fit's Δ (its first variant)."""
    run = json.loads(fit_run.read_text())
    variant = next(iter(run["variants"]))
    fitted = {r["name"]: r["detector"][variant]["joints"] for r in run["rows"]
              if r.get("detector")}  # fmt: skip
    arrays = group_arrays(f)
    rows = []
    for i, name in enumerate(f["name"]):
        xy, conf = np.nan_to_num(f["xy"][i]), f["conf"][i]
        used = (conf >= MIN_CONFIDENCE) & np.isfinite(f["xy"][i]).all(1)
        _, _, _, short, ok = segment_frames(xy, used)
        geometry = np.zeros((8, 5))
        geometry[np.arange(8), np.arange(8) % 4] = 1.0
        geometry[:, 4] = short
        scalars = np.concatenate([geometry, arrays["scalars"][i]], axis=1)
        fit = (dm.segment_depths(np.asarray(fitted[str(name)]))[0] if str(name) in fitted
               else np.full(8, np.nan))  # fmt: skip
        for s in range(8):
            v = f["world"][i][SEGMENT_ENDS[s, 1]] - f["world"][i][SEGMENT_ENDS[s, 0]]
            rows.append({
                "name": str(name), "category": "", "segment": SEGMENT_NAMES[s],
                "tilt": float(f["tilt"][i, s]), "net": float(p[i, s]) if ok[s] else np.nan,
                "scalars": scalars[s].tolist(), "lifter": float(f["lifter"][i, s]),
                "blazepose": float(v[2] / np.linalg.norm(v)), "fit": float(fit[s]),
            })  # fmt: skip
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", type=Path, required=True)
    p.add_argument("--eval", type=Path, required=True)
    p.add_argument(
        "--train-photos",
        type=Path,
        required=True,
        help="the training renders' folder, e.g. CACHE/seed1000 of `rendered_3d.py render "
        "--split train` (their truth names each photo's clip)",
    )
    p.add_argument("--sets", default="scalars,features,all")
    p.add_argument("--pca", type=int, default=32, help="global features' components (0: all)")
    p.add_argument(
        "--lambdas",
        type=lambda t: tuple(float(v) for v in t.split(",")),
        default=LAMBDAS,
        help="the features' L2 weights to cross-validate",
    )
    p.add_argument("--min-tilt", type=float, default=0.15)
    p.add_argument("--near-weight", type=float, default=0.3)
    p.add_argument("--out", type=Path, default=None, help="npz of the last set's head")
    p.add_argument(
        "--fit-run",
        type=Path,
        default=None,
        help="lifter_confidence.py fit --save file: depth_sign_eval's tables on --eval",
    )
    p.add_argument(
        "--report-eval",
        type=Path,
        default=None,
        help="a second evaluation file (the report half): tables only",
    )
    p.add_argument(
        "--direct",
        type=Path,
        default=None,
        help="train_depth_sign.py's report: its scalars-alone path beside",
    )
    p.add_argument(
        "--probs",
        type=Path,
        default=None,
        help="npz: name, and each set's (N, 8) probabilities on --eval",
    )
    args = p.parse_args(argv)
    tr, ev = np.load(args.train), np.load(args.eval)
    a_tr, a_ev = group_arrays(tr), group_arrays(ev)
    keep, weight = labels(tr["tilt"], args.min_tilt, args.near_weight)
    clear_ev = np.abs(ev["tilt"]) > dm.CLEAR_DEPTH
    print(
        f"training photos {len(tr['name'])} ({(np.abs(tr['tilt']) > 0.3).sum()} clear "
        f"segments); evaluation photos {len(ev['name'])} ({clear_ev.sum()} clear)"
    )
    clips = clip_names(args.train_photos, tr["name"])
    print(f"{len(set(clips))} clips (cross-validation groups)")
    probs, heads = {"name": ev["name"]}, {}
    for name in args.sets.split(","):
        start = time.perf_counter()
        groups = GROUPS[name]
        cv = cross_validate(a_tr, tr["tilt"], keep, weight, groups, args.pca, clips, args.lambdas)
        lam = min(cv, key=lambda k: cv[k][0])
        head = Head(groups, lam, args.pca).fit(a_tr, tr["tilt"], keep, weight)
        pe = head.probability(a_ev)
        probs[name], heads[name] = pe, head
        f = dm.sign_figures(pe[clear_ev], ev["tilt"][clear_ev] > 0)
        print(
            f"{name}: λ {lam} (CV log loss {cv[lam][0]:.3f}, wrong {100 * cv[lam][1]:.1f} %); "
            f"eval wrong {100 * f['wrong']:.1f} %, log loss {f['log_loss']:.3f}, "
            f"ECE {f['ece']:.3f}  [{time.perf_counter() - start:.0f} s]",
            flush=True,
        )
        print("   CV: " + ", ".join(f"{k}: {v[0]:.3f}/{100 * v[1]:.1f}%" for k, v in cv.items()))
    if args.fit_run:
        direct = json.loads(args.direct.read_text())["direct"] if args.direct else None
        for name in args.sets.split(","):
            print(f"\n### {name} as the 'image network' column")
            tables(benchmark_rows(ev, probs[name], args.fit_run), direct)
        if args.report_eval:
            rep = np.load(args.report_eval)
            for name, head in heads.items():
                print(f"\n### {name} on {args.report_eval.name} (report half: once, no choice)")
                tables(benchmark_rows(rep, head.probability(group_arrays(rep)), args.fit_run),
                       direct)  # fmt: skip
    if args.probs:
        np.savez(args.probs, **probs)
    if args.out:
        mean, basis = head.pca if head.pca is not None else (0.0, 0.0)
        np.savez(
            args.out,
            groups=np.array(head.groups),
            lam=head.lam,
            pca_mean=mean,
            pca_basis=basis,
            mu=np.stack([m[0] for m in head.models]),
            sd=np.stack([m[1] for m in head.models]),
            theta=np.stack([m[2] for m in head.models]),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
