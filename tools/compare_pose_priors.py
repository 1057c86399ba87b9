"""Paired comparison of pose-prior files by the fit: the same synthetic cases, each prior.

Uses the cases of ``benchmarks/fit_synthetic.py`` (same seed, same split: identical poses,
shapes, cameras, noise and dropped keypoints to a run of that script) and fits every case once
per prior file, so the difference between priors is measured case by case::

    .venv/bin/python tools/compare_pose_priors.py OLD.npz NEW.npz [--split held-out]
        [--cases 100] [--seeds 0 1]

Prints per prior and split the median, 90th percentile and mean PA-MPJPE (mm) and, for each prior
after the first, the median of the per-case differences with a bootstrap 95 % interval.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import fit_synthetic as bench  # noqa: E402
from blender_smplify.core.fit import FitOptions  # noqa: E402
from blender_smplify.core.keypoints import get_layout  # noqa: E402
from blender_smplify.core.objective import SmplifyWeights  # noqa: E402
from blender_smplify.core.priors import PosePrior  # noqa: E402


def fit_errors(
    priors: list[Path], split: str, cases: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """PA-MPJPE and MPJPE (mm), each (len(priors), cases), on the benchmark's cases."""
    rng = np.random.default_rng(seed)
    model, _ = bench.load_model(None)
    layout = get_layout("smpl24")
    poses = bench.load_poses(split, cases, rng)
    made = bench.make_cases(model, layout, poses, rng)
    weights = SmplifyWeights()
    pa = np.empty((len(priors), len(made)))
    mpjpe = np.empty_like(pa)
    for i, path in enumerate(priors):
        options = FitOptions(pose_prior=PosePrior.load(path))
        for j, (points, joints, noise, keep) in enumerate(made):
            r = bench.run_case(model, layout, points, joints, options, weights, noise, keep)
            pa[i, j], mpjpe[i, j] = r["pa"], r["mpjpe"]
    return pa, mpjpe


def bootstrap_median(diff: np.ndarray, draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the median of ``diff``."""
    rng = np.random.default_rng(seed)
    meds = np.median(rng.choice(diff, size=(draws, len(diff))), axis=1)
    return float(np.percentile(meds, 2.5)), float(np.percentile(meds, 97.5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("priors", type=Path, nargs="+")
    parser.add_argument("--split", nargs="+", default=["held-out"])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    print(
        "| split | seed | prior | PA-MPJPE median / p90 / mean | MPJPE median / p90 | "
        "paired median diff. (95 % CI) |\n|---|---|---|---|---|---|"
    )
    for split in args.split:
        for seed in args.seeds:
            pa, mpjpe = fit_errors(args.priors, split, args.cases, seed)
            for i, path in enumerate(args.priors):
                diff = ""
                if i:
                    d = pa[i] - pa[0]
                    lo, hi = bootstrap_median(d)
                    diff = f"{np.median(d):+.1f} ({lo:+.1f}, {hi:+.1f})"
                print(
                    f"| {split} | {seed} | {path.name} | {np.median(pa[i]):.1f} / "
                    f"{np.percentile(pa[i], 90):.1f} / {pa[i].mean():.1f} | "
                    f"{np.median(mpjpe[i]):.1f} / "
                    f"{np.percentile(mpjpe[i], 90):.1f} | {diff} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
