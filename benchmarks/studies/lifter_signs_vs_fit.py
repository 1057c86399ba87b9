"""Study: does the lifter's depth-sign head know where the fit has a limb backwards?

Reads two saved runs of ``lifter_confidence.py`` on the same half (the renders in the same
order): ``alone --save A.json`` (the head's probabilities p per render and segment, and the
truth's depth / length) and ``fit --save F.json`` (the fitted joints per variant). For the
limb segments clear in the truth (``depth_metrics.CLEAR_DEPTH``) it counts, per source, the
fit's backwards ones; the head's p for the true side on those; how many of them, and of the
fit's right ones, the head is unsure of (0.1 < p < 0.9); and what flipping every segment where
the head is surer than t of the side the fit did not choose would fix and break::

    .venv/bin/python benchmarks/studies/lifter_signs_vs_fit.py --alone A.json --fit F.json \\
        --lifter /tmp/X.onnx --variant new
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402


def compare(alone: list[dict], fit: list[dict], source: str, lifter: str, variant: str) -> dict:
    """Counts over the renders of one source (see the module's notes)."""
    n = {"clear": 0, "backwards": 0, "unsure_backwards": 0, "unsure_right": 0}
    flips = {t: {"fixes": 0, "breaks": 0} for t in (0.9, 0.95, 0.99)}
    true_side = []
    for a, f in zip(alone, fit):
        if not f.get(source) or not a.get(source):
            continue
        ratio, p = np.array(a["depth_ratio"]), np.array(a[source][lifter]["away"])
        fit_away = dm.segment_depths(np.array(f[source][variant]["joints"]))[0] > 0
        clear = np.abs(ratio) > dm.CLEAR_DEPTH
        bad = clear & (fit_away != (ratio > 0))
        unsure = (p > 0.1) & (p < 0.9)
        n["clear"] += int(clear.sum())
        n["backwards"] += int(bad.sum())
        n["unsure_backwards"] += int((unsure & bad).sum())
        n["unsure_right"] += int((unsure & clear & ~bad).sum())
        true_side += list(np.where(ratio > 0, p, 1 - p)[bad])
        for t, count in flips.items():
            other = np.where(fit_away, p < 1 - t, p > t)  # sure of the side the fit did not take
            count["fixes"] += int((other & bad).sum())
            count["breaks"] += int((other & clear & ~bad).sum())
    side = np.array(true_side)
    n["true_side_p_median"] = float(np.median(side)) if len(side) else float("nan")
    n["true_side_p_above_half"] = float(np.mean(side > 0.5)) if len(side) else float("nan")
    n["flips"] = flips
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alone", type=Path, required=True, help="lifter_confidence alone --save")
    ap.add_argument("--fit", type=Path, required=True, help="lifter_confidence fit --save")
    ap.add_argument("--lifter", required=True, help="the lifter file as named in --alone")
    ap.add_argument("--variant", required=True, help="the fit variant as named in --fit")
    args = ap.parse_args(argv)
    alone = json.loads(args.alone.read_text())
    fit = json.loads(args.fit.read_text())["rows"]
    if [r["category"] for r in alone] != [r["category"] for r in fit]:
        raise SystemExit("the two runs are not of the same renders in the same order")
    for source in ("detector", "truth2d"):
        n = compare(alone, fit, source, args.lifter, args.variant)
        right = n["clear"] - n["backwards"]
        print(f"{source}: fit backwards {n['backwards']}/{n['clear']}; the head's p for the true "
              f"side on those: median {n['true_side_p_median']:.2f}, > 0.5 on "
              f"{100 * n['true_side_p_above_half']:.0f} %; unsure (0.1-0.9) on "
              f"{n['unsure_backwards']}/{n['backwards']} of them and {n['unsure_right']}/{right}"
              f" of the fit's right ones")  # fmt: skip
        for t, c in n["flips"].items():
            print(f"  flip where p > {t} for the other side: fixes {c['fixes']}, "
                  f"breaks {c['breaks']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
