"""Study: where the depth search's oracle finds its gain, and what a chooser would need, from
``depth_chooser.py table``'s feature table (both halves of the rendered benchmark).

    .venv/bin/python benchmarks/studies/depth_room.py room W/hyp_tuning.json
        W/hyp_report.json --table W/features.npz
    .venv/bin/python benchmarks/studies/depth_room.py rules --table W/features.npz
    .venv/bin/python benchmarks/studies/depth_room.py simulate --table W/features.npz

``room``: limbs backwards per half and source for the oracle among the hypotheses the lifter
flags, among single segments, among all, two flips on different limbs (gains added); the
shipped criterion with 1, 3 or every flagged candidate refitted (``depth_search.MAX_REFITS``);
how often each sign source asks for the right and the wrong flips; what refitting every
candidate costs (``collect``'s CPU time, from the records). ``rules``: simple rules (which
votes ask for the flip, by what margin, the factor the energy may rise by), and, as a
diagnostic, the rule chosen on four fifths of all photos judged on the fifth. ``simulate``: the
shipped rule with a simulated per-segment sign source of a given recall (share of the right
flips it asks for) and false-alarm rate (share of the wrong ones), errors independent of the
fit's, and the energy allowed to rise by a factor: what a new source (a depth-sign head of the
lifter, occlusion cues) must reach before it beats the shipped criterion.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from depth_chooser import HALVES, choose, halves, oracle, photos  # noqa: E402
from depth_hypotheses import saved_runs  # noqa: E402
from lifter_confidence import SOURCES  # noqa: E402


def oracle_among(t: dict, sel: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The oracle's row per photo of ``sel``, choosing among the fit and the ``allowed``."""
    return oracle(t, sel, (t["index"] == 0) | allowed)


def shipped_top(t: dict, sel: np.ndarray, k: int) -> np.ndarray:
    """The shipped criterion with only the k flagged candidates of lowest mirrored energy
    refitted (``depth_search.MAX_REFITS``)."""
    chosen = []
    for rows in photos(t, sel):
        flagged = rows[(t["index"][rows] > 0) & (t["lifter_sign"][rows] > 0)]
        tried = flagged[np.argsort(t["screen"][flagged])][:k]
        kept = tried[t["energy"][tried] < 0]
        chosen.append(kept[np.argmin(t["energy"][kept])] if len(kept) else rows[0])
    return np.array(chosen)


def two_flips(t: dict, rows: np.ndarray) -> int:
    """A photo's fewest backwards limbs with at most two hypotheses of different limbs
    (arm or leg, by side) taken together, their gains over the fit simply added."""
    base = t["backwards"][rows[0]]
    gains = {}
    for r in rows[1:]:
        limb = t["segments"][r].split("+")[0].split("_")[0] + str(t["arm"][r])
        gains[limb] = max(gains.get(limb, 0), base - t["backwards"][r])
    best = sorted(gains.values(), reverse=True)[:2]
    return int(base - sum(g for g in best if g > 0))


def room(args) -> int:
    t = dict(np.load(args.table))
    hyp = t["index"] > 0
    back = t["backwards"]
    print("limbs backwards (of those the truth shows clearly) per half and source")
    print("| choice | " + " | ".join(f"{h}, {s}" for h in HALVES for s in SOURCES) + " |")
    print("|---|" + "---|" * 4)
    lines = {
        "no search": lambda sel: np.array([r[0] for r in photos(t, sel)]),
        **{f"shipped, {k} refitted": (lambda sel, k=k: shipped_top(t, sel, k)) for k in (1, 3)},
        "shipped, every flagged one": lambda sel: shipped_top(t, sel, 10**6),
        "oracle among the flagged": lambda sel: oracle_among(t, sel, hyp & (t["lifter_sign"] > 0)),
        "oracle among single segments": lambda sel: oracle_among(t, sel, hyp & (t["chain"] == 0)),
        "oracle among all": lambda sel: oracle_among(t, sel, hyp),
    }
    for name, pick in lines.items():
        cells = [f"{back[pick(s)].sum()}" for s in halves(t)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    cells = [f"{sum(two_flips(t, rows) for rows in photos(t, s))}" for s in halves(t)]
    print(
        "| oracle of two flips on different limbs (gains added, not refitted) | "
        + " | ".join(cells)
        + " |"
    )
    per_photo = [hyp[r].sum() for r in photos(t, np.ones(len(hyp), bool))]
    flagged = [(hyp & (t["lifter_sign"] > 0))[r].sum() for r in photos(t, np.ones(len(hyp), bool))]
    print(
        f"hypotheses per photo: {np.mean(per_photo):.1f}, flagged by the lifter "
        f"{np.mean(flagged):.2f}"
    )
    clear = hyp & (np.abs(t["truth"]) > 0.3)
    sources = [(n, 0.0) for n in ("lifter", "blazepose", "away")]
    sources += [("blazepose", 0.5), ("visibility", 0.0), ("visibility", 0.3), ("visibility", 0.5)]
    for name, margin in sources:
        if not np.isfinite(t[name][clear]).any():
            continue
        for h, s in ((h, s) for h in HALVES for s in SOURCES):
            m = clear & (t["half"] == h) & (t["source"] == s)
            right, asks = t["truth"][m] > 0, np.nan_to_num(t[name][m]) > margin
            print(
                f"{name} > {margin} on {h}, {s}: asks for {100 * asks[right].mean():.0f} % of the "
                f"{right.sum()} right flips and {100 * asks[~right].mean():.1f} % of the "
                f"{(~right).sum()} wrong ones"
            )
    cpu, count = [], []
    for r in saved_runs(args.runs):
        for source in SOURCES:
            case = r[source]
            if case and len(case["hypotheses"]) > 1:
                cpu.append(case["cpu_ms"]), count.append(len(case["hypotheses"]) - 1)
    if cpu:
        cpu, count = np.array(cpu), np.array(count)
        print(
            f"refitting every candidate: CPU median {np.median(cpu):.0f} ms, p90 "
            f"{np.percentile(cpu, 90):.0f} ms per photo ({np.median(count):.0f} hypotheses; "
            f"{np.median(cpu / count):.1f} ms each)"
        )
    return 0


def simulate(args) -> int:
    """The shipped rule (a source asks for the flip, the energy stays under a factor) with a
    simulated sign source: it asks for a right flip with probability ``recall``, for a wrong
    one with ``false_alarm``; mean over 20 draws."""
    t = dict(np.load(args.table))
    hyp = t["index"] > 0
    right, wrong = t["truth"] > 0, t["truth"] <= 0
    print(
        "| recall | false alarms | energy factor | "
        + " | ".join(f"{h}, {s}" for h in HALVES for s in SOURCES)
        + " |"
    )
    print("|---|---|---|" + "---|" * 4)
    for recall in (0.5, 0.7, 0.9):
        for false_alarm in (0.01, 0.02, 0.05):
            for factor in (1.0, 1.5, 2.0):
                total_back = np.zeros(4)
                for seed in range(20):
                    u = np.random.default_rng(seed).random(len(hyp))
                    asks = (right & (u < recall)) | (wrong & (u < false_alarm))
                    keep = hyp & asks & (t["energy"] < np.log(factor))
                    total_back += [
                        t["backwards"][choose(t, s, keep, -t["energy"], -np.inf)].sum()
                        for s in halves(t)
                    ]
                cells = " | ".join(f"{b / 20:.0f}" for b in total_back)
                print(f"| {recall} | {false_alarm} | ×{factor} | {cells} |")
    return 0


def rule_grid(t: dict) -> list[tuple[str, np.ndarray]]:
    """The rules tried: hypotheses some vote asks for (the lifter's, BlazePose's world
    landmarks' or visibilities' signed value over a margin; unions of them), whose energy
    stays under a factor of the fit's."""
    hyp, energy = t["index"] > 0, t["energy"]
    lifter, blazepose = t["lifter"], np.nan_to_num(t["blazepose"])
    visibility = np.nan_to_num(t["visibility"])
    votes = {f"lifter > {m}": lifter > m for m in (0.0, 0.2, 0.3, 0.5)}
    votes |= {"BlazePose > 0.5": blazepose > 0.5, "visibility > 0.3": visibility > 0.3}
    votes["BlazePose > 0.5 or visibility > 0.3"] = (blazepose > 0.5) | (visibility > 0.3)
    for m in (0.3, 0.5, 0.7):
        votes[f"lifter or BlazePose > {m}"] = (lifter > 0) | (blazepose > m)
    votes["lifter or visibility > 0.3"] = (lifter > 0) | (visibility > 0.3)
    for m in (0.3, 0.5):
        votes[f"lifter or BlazePose > 0.5 or visibility > {m}"] = (
            (lifter > 0) | (blazepose > 0.5) | (visibility > m)
        )
    return [
        (f"{name}, E < ×{f}", hyp & asks & (energy < np.log(f)))
        for name, asks in votes.items()
        for f in (1.0, 1.1, 1.2, 1.5, 2.0)
    ]


def rules(args) -> int:
    """Each rule of :func:`rule_grid`: limbs backwards per column, the photo keeping its
    lowest-energy allowed hypothesis; then, as a diagnostic, the rule chosen on four fifths of
    all photos judged on the fifth (5 folds, 3 shuffles)."""
    t = dict(np.load(args.table))
    energy, grid = t["energy"], rule_grid(t)

    def backwards(keep, sel):
        return t["backwards"][choose(t, sel, keep, -energy, -np.inf)].sum()

    print("| rule | " + " | ".join(f"{h}, {s}" for h in HALVES for s in SOURCES) + " |")
    print("|---|" + "---|" * 4)
    for name, keep in grid:
        print(f"| {name} | " + " | ".join(f"{backwards(keep, s)}" for s in halves(t)) + " |")
    names = sorted(set(t["name"]))
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(names))
        fold = dict(zip(names, order % 5))
        folds = np.array([fold[n] for n in t["name"]])
        total, picks = dict.fromkeys(SOURCES, 0), []
        for k in range(5):
            name, keep = min(grid, key=lambda rule: backwards(rule[1], folds != k))
            picks.append(name)
            for s in SOURCES:
                total[s] += backwards(keep, (folds == k) & (t["source"] == s))
        print(f"5 folds (shuffle {seed}): limbs backwards {total}; rules chosen {picks}")
    shipped = grid[0][1]  # lifter > 0, E < ×1
    print("the lifter's vote alone, energy drops:",
          {s: int(backwards(shipped, t["source"] == s)) for s in SOURCES})  # fmt: skip
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("room", "rules", "simulate"))
    ap.add_argument("runs", nargs="*", default=[], help="collect's records (room: CPU times)")
    ap.add_argument("--table", type=Path, default=Path("/tmp/depth_features.npz"))
    args = ap.parse_args(argv)
    return {"room": room, "rules": rules, "simulate": simulate}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
