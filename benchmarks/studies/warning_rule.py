"""When should a fit on a real photo say "the body explains the keypoints poorly"?

Today that warning fires when the joint energy per visible keypoint exceeds the retry threshold
``fit.RETRY_JOINT_ENERGY`` (200 normalised px², tuned on synthetic keypoints), which on the LSP
photos is about their median energy: half of all fits warn. This study fits the 300 LSP
development photos (cached detections of ``benchmarks/fit_lsp.py``, default focal length, with
or without the world landmarks) and compares warning rules against a failure label from LSP's
2D ground truth, which the fit never sees:

- failure: fewer than ``--pck`` of the fitted body's 12 limb joints, projected, lie within
  0.2 × torso size (right shoulder to left hip) of the annotated joints (PCK@0.2, LSP's metric);
- rules: joint energy per visible keypoint above T, and "at least N keypoints off by more than
  ``--off`` × the fitted body's projected height";
- and, joining the energy warning above ``fit.WARN_JOINT_ENERGY``: "at least N of the 12 limb
  joints with a detector confidence in (0, c)" (``fit_setup.unsure_warnings``), with the fit's
  own warnings as shipped beside it.

Rules are chosen on the first 150 photos by id (highest F1 of the warnings against the failures:
balanced accuracy rewards catching every rare failure whatever the false alarms, and picks
today's 200) and reported on the other 150.

    .venv/bin/python benchmarks/studies/warning_rule.py [--world] [--save rows.npz]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fit_lsp  # read-only use of its cached detections
from detector_lsp import LSP_TO_BLAZEPOSE  # LSP's 12 limb joints by name

from blender_smplify.core.fit import WARN_JOINT_ENERGY as WARN  # noqa: E402


def fit_rows(dets, gt: np.ndarray, world: bool, off: float) -> list[dict]:
    """Fit every detection; per photo its energy, keypoint errors and PCK against LSP's truth."""
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.detector_result import LIMB_B
    from blender_smplify.core.fit import fit
    from blender_smplify.core.fit_setup import get_setup
    from blender_smplify.core.joints import J
    from blender_smplify.core.keypoints import Keypoints2D

    model = BodyModel.load()
    setup = get_setup(model, "blazepose33", 10, True)
    smpl = [J[LSP_TO_BLAZEPOSE[i]] for i in range(12)]  # the names are SMPL's too
    rows = []
    for k in range(len(dets["names"])):
        if not dets["found"][k]:
            continue
        kp = Keypoints2D("blazepose33", dets["xy"][k], dets["confidence"][k])
        wl = fit_lsp.cached_world(dets, k) if world else None
        t0 = time.perf_counter()
        res = fit(model, kp, tuple(int(v) for v in dets["size"][k]), world=wl)
        ms = 1e3 * (time.perf_counter() - t0)
        err = fit_lsp.keypoint_errors(model, res, kp)
        used = np.isfinite(err)
        height_px = res.focal_length * setup.height / res.transl[2]
        uv = res.focal_length * res.joints_3d[:, :2] / res.joints_3d[:, 2:] + res.principal_point
        truth = gt[k]
        torso = np.linalg.norm(truth[8] - truth[3])
        pck = float((np.linalg.norm(uv[smpl] - truth[:12], axis=1) <= 0.2 * torso).mean())
        rows.append(
            {
                "index": k,
                "ms": ms,
                "pck": pck,
                "energy": res.energy.get("joints", 0.0) / max(int(used.sum()), 1),
                "n_off": int((err[used] > off * height_px).sum()),
                "poor": any("poorly" in w for w in res.warnings),
                "unsure": any("unsure" in w for w in res.warnings),
                "limb_conf": dets["confidence"][k][LIMB_B],
                "retried": bool(res.diagnostics.retried),
            }
        )
    return rows


def with_unsure(a: dict, c: float, n: int) -> np.ndarray:
    """Warned by the energy above ``WARN`` or by at least ``n`` of the 12 limb joints with a
    confidence in (0, c) (``fit_setup.unsure_warnings``)."""
    conf = a["limb_conf"]
    return (a["energy"] > WARN) | (((conf > 0) & (conf < c)).sum(axis=1) >= n)


def scores(warn: np.ndarray, fail: np.ndarray) -> dict:
    tp, fp = int((warn & fail).sum()), int((warn & ~fail).sum())
    fn, tn = int((~warn & fail).sum()), int((~warn & ~fail).sum())
    tpr = tp / max(tp + fn, 1)
    tnr = tn / max(tn + fp, 1)
    return {
        "warned": tp + fp,
        "caught": tp,
        "failures": tp + fn,
        "false": fp,
        "balanced": 0.5 * (tpr + tnr),
        "f1": 2 * tp / max(2 * tp + fp + fn, 1),
    }


def line(name: str, s: dict) -> str:
    return (
        f"| {name} | {s['warned']} | {s['caught']} / {s['failures']} | {s['false']} | "
        f"{100 * s['balanced']:.0f} % | {s['f1']:.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", action="store_true", help="give the fit the world landmarks")
    ap.add_argument("--pck", type=float, default=0.75, help="failure: limb PCK@0.2 below this")
    ap.add_argument("--off", type=float, default=0.1, help="keypoint off: share of body height")
    ap.add_argument("--load", type=Path, help="rows saved by --save instead of fitting")
    ap.add_argument("--pick", type=float, help="report this energy threshold instead of the best")
    ap.add_argument("--save", type=Path)
    args = ap.parse_args(argv)
    if args.load:
        rows = list(np.load(args.load, allow_pickle=True)["rows"])
    else:
        dets = fit_lsp.load_detections(fit_lsp.default_data(), None, False)
        gt = dict(np.load(fit_lsp.default_data() / "joints.npz"))
        assert list(gt["image"]) == list(dets["names"]), "detections and truth out of order"
        t0 = time.perf_counter()
        rows = fit_rows(dets, gt["joints"], args.world, args.off)
        print(f"{len(rows)} fits in {time.perf_counter() - t0:.0f} s (world: {args.world})")
        if args.save:
            np.savez(args.save, rows=np.array(rows, dtype=object))
    parts = {
        "first 150 (choose)": [r for r in rows if r["index"] < fit_lsp.TUNE],
        "other 150 (report)": [r for r in rows if r["index"] >= fit_lsp.TUNE],
    }
    arrays = {}
    for label, part in parts.items():
        arrays[label] = {k: np.array([r[k] for r in part]) for k in part[0]}
    tune = arrays["first 150 (choose)"]
    fail = tune["pck"] < args.pck
    candidates = [("energy", t) for t in (150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200)]
    candidates += [("n_off", n) for n in range(1, 9)]
    best = {}
    for kind, value in candidates:
        s = scores(tune[kind] > value if kind == "energy" else tune[kind] >= value, fail)
        if kind not in best or s["f1"] > best[kind][1]["f1"]:
            best[kind] = (value, s)
    best_unsure = None
    if "limb_conf" in tune:
        grid = [(c, n) for c in (0.3, 0.4, 0.5, 0.6) for n in (1, 2, 3)]
        best_unsure = max(grid, key=lambda cn: scores(with_unsure(tune, *cn), fail)["f1"])
        print(f"chosen on the first 150 with the energy warning: >= {best_unsure[1]} limb joints "
              f"with confidence in (0, {best_unsure[0]:g})")  # fmt: skip
    print(f"failure: limb PCK@0.2 < {args.pck:g}; keypoint off: > {args.off:g} × body height")
    print(f"chosen on the first 150: energy > {best['energy'][0]}, n_off >= {best['n_off'][0]}\n")
    for label, a in arrays.items():
        fail = a["pck"] < args.pck
        print(
            f"{label}: {len(a['pck'])} fits, median limb PCK {100 * np.median(a['pck']):.0f} %,"
            f" {int(fail.sum())} failures; fit ms median {np.median(a['ms']):.0f}"
        )
        print("\n| rule | warned | failures caught | false alarms | balanced accuracy | F1 |")
        print("|---|---|---|---|---|---|")
        print(line("today: energy > 200 (the retry threshold)", scores(a["energy"] > 200, fail)))
        t = args.pick if args.pick is not None else best["energy"][0]
        print(line(f"energy > {t}", scores(a["energy"] > t, fail)))
        n = best["n_off"][0]
        print(line(f">= {n} keypoints off > {args.off:g} height", scores(a["n_off"] >= n, fail)))
        if "limb_conf" in a:
            c, n = best_unsure
            print(line(f"energy > {WARN:g} or >= {n} limb joints in (0, {c:g})",
                       scores(with_unsure(a, c, n), fail)))  # fmt: skip
            print(line("the fit's own warnings", scores(a["poor"] | a["unsure"], fail)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
