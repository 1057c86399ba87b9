"""MoveNet's mirrored view (``DetectorSettings.flip_limb``): which radius, which gate, weighted
or not, with the second look.

    python benchmarks/studies/detector_flip.py collect OUT.npz [--data DIR] [--limit N]
    python benchmarks/studies/detector_flip.py score OUT.npz
    python benchmarks/studies/detector_flip.py rendered BASE/keypoints.npz FLIP/keypoints.npz
        [--cache DIR]
    python benchmarks/studies/detector_flip.py time LOG.npz [--limit N] [--set NAME=VALUE ...]

``collect`` runs the default detector's passes (``JointDetector.results`` with the mirrored
view and the second look off) on every LSP development photo, then MoveNet again on the final
crop mirrored (``Crop.mirror``, left and right swapped back) and on the second look's 1.15×
crop, and saves the three passes' keypoints and scores with the ground truth.

``score`` prints PCK@0.2 on the 12 limb joints, tuning / validation half, of the shipped
combination (the 1.15× view averaged in where it agrees within 0.3 torso, limb score < 0.7)
and of the mirrored view added (``second_look.agreeing_views``) for radii 0.2 ... 0.5 and
"always" (a plain mean), equal or score weights, gated by the limb score. Choose on the
tuning half; the validation half checks it.

``rendered`` compares two detections of the rendered benchmark (``lifter_confidence.py
detect``, the second with ``--set flip_limb=1.01``) against the exact keypoints cached with
them: median 2D error per keypoint group and category, in % of the true body's image size
(the larger side of its keypoints' box), tuning (even index) and report (odd index) half;
with ``--cache DIR`` the truth is projected again from the models the renders were made with
(keypoints files written before ``rendered_eval.truth_models`` hold truth from today's models,
median 4.5 px off the photo's body).

``time`` times ``JointDetector.detect`` with the shipped settings and with ``--set``'s
(default: the mirrored view on every photo) in one process, alternating photo by photo, best
of 2 each (2 threads): wall and CPU median / p90 over the photos that need no retry.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "benchmarks" / "studies"))

from detector_lsp import default_data, halves, settings_from  # noqa: E402
from detector_second_look import LSP_COCO, _pass, collect_views  # noqa: E402

from blender_smplify.core.detector import JointDetector  # noqa: E402
from blender_smplify.core.detector_settings import DetectorSettings  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.second_look import agreeing_views, larger_crop  # noqa: E402

SHIPPED = DetectorSettings()


def collect(args: argparse.Namespace) -> int:
    """Save the final pass, its mirrored view and the 1.15× view on every photo."""
    settings = replace(SHIPPED, flip_limb=0.0, second_look_scale=0.0)
    det = JointDetector(threads=2, settings=settings)

    def views_of(image, result) -> dict:
        first = result.limbs
        return {
            "first": first,
            "mirrored": det.movenet.run(image, first.crop.mirror()),
            "larger": det.movenet.run(image, larger_crop(first.crop, SHIPPED.second_look_scale)),
            "limb_score": result.limb_score,
        }

    return collect_views(args, det, views_of)


def score(args: argparse.Namespace) -> int:
    """Print PCK of the shipped combination and of the mirrored view added."""
    d = np.load(args.out, allow_pickle=True)
    truth, parts = d["truth"], halves(d["image"])
    torso = np.linalg.norm(truth[:, 8] - truth[:, 3], axis=1)
    limb = d["limb_score"]
    passes = {
        k: [_pass(x, s) for x, s in zip(d[f"{k}/xy"], d[f"{k}/score"])]
        for k in ("first", "mirrored", "larger")
    }

    def pck(xy17: np.ndarray) -> tuple[float, ...]:
        """PCK@0.2, PCK@0.1 and the mean error (each joint's capped at 0.5 torso) / torso,
        tuning / validation half."""
        err = np.linalg.norm(xy17[:, LSP_COCO] - truth[:, :12], axis=2) / torso[:, None]
        t, v = parts["tune"], parts["validate"]
        capped = np.minimum(err, 0.5)
        return (
            (err[t] <= 0.2).mean(), (err[v] <= 0.2).mean(), (err[t] <= 0.1).mean(),
            (err[v] <= 0.1).mean(), capped[t].mean(), capped[v].mean(),
        )  # fmt: skip

    def combined(flip_below: float, agree: float, weighted: bool, look: bool) -> np.ndarray:
        out = []
        for i, first in enumerate(passes["first"]):
            views = []
            if limb[i] < flip_below:
                views.append((passes["mirrored"][i], agree))
            if look and limb[i] < SHIPPED.second_look_limb:
                views.append((passes["larger"][i], SHIPPED.second_look_agree))
            out.append(agreeing_views(first, views, weighted).xy)
        return np.array(out)

    form = "{:.4f} / {:.4f}; PCK@0.1 {:.4f} / {:.4f}; capped mean error {:.4f} / {:.4f}"
    print("PCK@0.2, tuning / validation half")
    print("  first pass: " + form.format(*pck(d["first/xy"])))
    print("  shipped (second look): " + form.format(*pck(combined(0, 0, False, True))))
    rows = []
    grid = itertools.product(
        (0.7, 0.8, 0.9, np.inf), (0.2, 0.3, 0.4, 0.5, np.inf), (False, True), (True, False)
    )
    for below, agree, weighted, look in grid:
        share = (limb < below)[parts["tune"]].mean()
        rows.append(
            (*pck(combined(below, agree, weighted, look)), below, agree, weighted, look, share)
        )
    rows.sort(key=lambda r: -r[0])
    for *figures, below, agree, weighted, look, share in rows:
        print(
            f"  mirrored r={agree:<4} {'weighted' if weighted else 'equal   '} "
            f"{'+ second look' if look else 'alone        '} limb score < {below} "
            f"({share:.0%}): " + form.format(*figures)
        )
    return 0


def timing(args: argparse.Namespace) -> int:
    """Time the shipped detector and the one with ``--set``, alternating per photo."""
    changed = settings_from(args.set or ["flip_limb=1.01"])
    detectors = {
        "shipped": JointDetector(threads=2),
        "changed": JointDetector(threads=2, settings=changed),
    }
    print("changed:", {k: v for k, v in vars(changed).items() if getattr(SHIPPED, k) != v})
    names = np.load(args.data / "joints.npz")["image"]
    picked = np.concatenate([names[:150][: args.limit], names[150:][: args.limit]])
    times = {k: {"wall": [], "cpu": []} for k in detectors}
    retried = []
    for name in ["warm-up", *picked]:
        image = load_image(args.data / "images" / str(picked[0] if name == "warm-up" else name))
        best = {k: (np.inf, np.inf) for k in detectors}
        for _ in range(2):
            for key, det in detectors.items():
                wall, cpu = time.perf_counter(), time.process_time()
                detection = det.detect(image)
                spent = (time.perf_counter() - wall, time.process_time() - cpu)
                best[key] = tuple(min(a, b) for a, b in zip(best[key], spent))
        if name == "warm-up":
            continue
        retried.append(detection.retried)
        for key, (wall, cpu) in best.items():
            times[key]["wall"].append(1e3 * wall)
            times[key]["cpu"].append(1e3 * cpu)
    plain = ~np.array(retried)
    print(f"{plain.sum()} of {len(picked)} photos without retry; load {os.getloadavg()[0]:.1f}")
    for key, t in times.items():
        wall, cpu = np.array(t["wall"])[plain], np.array(t["cpu"])[plain]
        print(
            f"  {key}: wall median {np.median(wall):.1f} ms p90 {np.percentile(wall, 90):.1f}; "
            f"CPU median {np.median(cpu):.1f} ms p90 {np.percentile(cpu, 90):.1f}"
        )
    np.savez(
        args.out,
        image=picked,
        retried=retried,
        **{f"{k}/{m}": np.array(v) for k, t in times.items() for m, v in t.items()},
    )
    return 0


GROUPS = {  # blazepose33 indices
    "face": range(0, 11),
    "shoulders": (11, 12),
    "elbows": (13, 14),
    "wrists": (15, 16),
    "hands": range(17, 23),
    "hips": (23, 24),
    "knees": (25, 26),
    "ankles": (27, 28),
    "feet": range(29, 33),
}


def render_truth(cache: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 33, 2) exact blazepose33 keypoints of the named renders and (N, 33) bool "seen",
    projected from the body models the renders were made with (``rendered_eval``)."""
    import rendered_eval as re_

    models = re_.truth_models(cache)
    infos = {png.stem: info for png, info in re_.load_cases(cache, None, None)}
    kps = [re_.truth_keypoints(models[infos[n]["gender"]], infos[n], "blazepose33") for n in names]
    return np.array([k.xy for k in kps]), np.array([k.confidence > 0 for k in kps])


def rendered(args: argparse.Namespace) -> int:
    """Print the median 2D error per group and category of two rendered detections."""
    runs = [np.load(path) for path in args.out]
    names = [str(n) for n in runs[0]["name"]]
    assert all([str(n) for n in r["name"]] == names for r in runs[1:]), "different renders"
    truth, seen = runs[0]["truth_xy"], runs[0]["truth_conf"] > 0
    if args.cache is not None:
        truth, seen = render_truth(args.cache, names)
    size = np.array([np.ptp(t[s], axis=0).max() for t, s in zip(truth, seen)])
    errors = [100 * np.linalg.norm(r["detector_xy"] - truth, axis=2) / size[:, None] for r in runs]
    category = np.array([n.rsplit("_", 1)[0] for n in names])
    odd = np.array([int(n.rsplit("_", 1)[1]) % 2 for n in names])
    found = np.all([np.isfinite(e).all(axis=1) for e in errors], axis=0)
    print(f"median (and p90) 2D error, % of the body's image size, runs {args.out[0]} / ...")
    print(f"{found.sum()} of {len(names)} renders, those found by every run")
    for half, rows in (("tuning", odd == 0), ("report", odd == 1), ("all", odd >= 0)):
        print(f"\n{half} half: category / " + " ".join(f"{g:>14s}" for g in GROUPS))
        for cat in [*sorted(set(category)), "all", "all p90"]:
            pick = rows & found & ((category == cat) | cat.startswith("all"))
            q = 90 if cat == "all p90" else 50
            cells = []
            for idx in GROUPS.values():
                k = list(idx)
                med = [np.percentile(e[pick][:, k][seen[pick][:, k]], q) for e in errors]
                cells.append(" / ".join(f"{m:.2f}" for m in med))
            print(f"  {cat:<14s} " + " ".join(f"{c:>14s}" for c in cells))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("collect", "score", "rendered", "time"))
    parser.add_argument("out", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="rendered: project the truth from this render cache's own body models instead of "
        "the truth_xy cached with the keypoints",
    )
    args = parser.parse_args(argv)
    if args.step == "rendered":
        return rendered(args)
    args.out = args.out[0]
    if args.step == "time":
        return timing(args)
    return collect(args) if args.step == "collect" else score(args)


if __name__ == "__main__":
    sys.exit(main())
