"""BlazePose's person mask against the exact silhouette on the shape benchmark's renders.

    .venv/bin/python benchmarks/truth_masks.py            # the exact masks, once
    .venv/bin/python benchmarks/mask_accuracy.py detect   # the detections, once (pickle)
    .venv/bin/python benchmarks/mask_accuracy.py measure [--mask blazepose|refined]

``detect`` runs the project's detector (``pipeline.detector()``) on every render and pickles
the detections to ``benchmarks/out/truth_masks/seed<seed>/detections.pkl``. ``measure``
prints, per half (tuning: even person ids, report: odd):

- IoU of the mask > 0.5 (bilinear in image pixels, ``Detection.mask``) with the truth
  (coverage ≥ 0.5);
- the signed boundary error along the body's width in the rows of the chest, waist and hip
  girths (the rows through the posed girth landmarks, ``BodyMeasurer``): for the run of the
  row that holds the torso's centre, the mask's edge (its ``level`` crossing, linearly
  interpolated between pixel centres) minus the truth's (coverage 0.5 crossing), outward
  positive, per side, in image px and in mm at the torso's depth;
- the same for the edge the fit sees (``silhouette.SilhouetteTarget``: grid cells > 0.5, its
  zero of D_out and its boundary points at the centres of the outermost cells, half a cell
  inside the cells' edge);
- the median signed error over every torso row from chest to hip at each probability level
  (the level that puts the edge right).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from truth_masks import OUT, RENDERS, truth_coverage  # noqa: E402

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
ROWS = ("chest_girth", "waist_girth", "hip_girth")


def detect(args) -> int:
    from blender_smplify.core import pipeline
    from blender_smplify.core.image_io import load_image

    found = {}
    for png in sorted((Path(args.renders) / f"seed{args.seed}").glob("p*_*.png")):
        found[png.stem] = pipeline.detector().detect(load_image(png))
    target = OUT / f"seed{args.seed}" / "detections.pkl"
    target.write_bytes(pickle.dumps(found))
    print(f"{len(found)} detections -> {target}")
    return 0


def girth_rows(model, measurer, info: dict) -> dict[str, tuple[float, float, float]]:
    """name -> (x, y, mm per px): the image point of each girth's torso centre at the height
    of its landmarks on the posed true body, and the image's scale at its depth."""
    from truth_masks import true_body

    from blender_smplify.core.joints import J
    from blender_smplify.core.measurements import GIRTHS

    vertices, joints, camera = true_body(model, info)
    out = {}
    for girth in GIRTHS:
        if girth.name not in ROWS:
            continue
        through = vertices[[measurer.landmarks[n] for n in girth.through]].mean(axis=0)
        centre = joints[J[girth.centre[0]]].copy()
        centre[1] = through[1]  # the torso's axis at the landmarks' height
        xy = camera.project(centre[None])[0]
        depth = camera.to_camera(centre[None])[0, 2]
        out[girth.name] = (float(xy[0]), float(xy[1]), 1e3 * depth / info["focal_px"])
    return out


def run_edges(values: np.ndarray, x: float, level: float) -> tuple[float, float] | None:
    """Sub-pixel (left, right) edges of the run of ``values`` (W,) ≥ ``level`` that holds
    image x (pixel j's centre at j + 0.5), the level's crossings linearly interpolated between
    pixel centres; None when x is not inside."""
    j = int(np.floor(x))
    if not 0 <= j < len(values) or values[j] < level:
        return None
    lo = j
    while lo > 0 and values[lo - 1] >= level:
        lo -= 1
    hi = j
    while hi < len(values) - 1 and values[hi + 1] >= level:
        hi += 1
    left, right = lo + 0.5, hi + 0.5
    if lo > 0:
        a, b = values[lo - 1], values[lo]
        left = lo - 0.5 + (level - a) / (b - a)
    if hi < len(values) - 1:
        a, b = values[hi], values[hi + 1]
        right = hi + 0.5 + (a - level) / (a - b)
    return left, right


def grid_edges(silhouette, w: int, x: float, y: float, level: float = 0.5):
    """(left, right) of the edge the fit sees along image row y of an image w px wide (see
    the module docstring): the run of the ``silhouette``'s grid cells > level through x,
    sampled every 0.02 px, moved half a cell in."""
    a = np.asarray(silhouette.to_image, dtype=np.float64)
    inverse = np.linalg.inv(a[:, :2])
    xs = np.arange(0.0, w, 0.02)
    uv = (np.stack([xs, np.full_like(xs, y)], axis=1) - a[:, 2]) @ inverse.T
    cells = np.floor(uv).astype(int)
    grid = np.asarray(silhouette.probability)
    ok = (cells >= 0).all(axis=1) & (cells[:, 0] < grid.shape[1]) & (cells[:, 1] < grid.shape[0])
    inside = np.zeros(len(xs), bool)
    inside[ok] = grid[cells[ok, 1], cells[ok, 0]] > level
    k = int(round(x / 0.02))
    if not inside[k]:
        return None
    edges = np.flatnonzero(np.diff(inside.astype(int)))
    left = xs[edges[edges < k].max() + 1] if (edges < k).any() else 0.0
    right = xs[edges[edges >= k].min()] + 0.02 if (edges >= k).any() else float(w)
    half = 0.5 * np.sqrt(abs(np.linalg.det(a[:, :2])))
    return left + half, right - half


def photo_rows(silhouette, probability, truth, rows, levels=LEVELS) -> list[dict]:
    """One record per girth row and side: the signed outward errors (px) of the mask at each
    level and of the fit's grid edge, with the row's mm per px."""
    records = []
    for name, (x, y, mm) in rows.items():
        r = int(np.floor(y))
        true = run_edges(truth[r], x, 0.5)
        if true is None:
            continue
        grid = grid_edges(silhouette, truth.shape[1], x, r + 0.5)
        for side, sign in ((0, -1.0), (1, 1.0)):
            rec = {"row": name, "side": side, "mm_per_px": mm, "level": {}}
            for level in levels:
                found = run_edges(probability[r], x, level)
                if found is not None:
                    rec["level"][level] = sign * (found[side] - true[side])
            rec["grid"] = None if grid is None else sign * (grid[side] - true[side])
            records.append(rec)
    return records


def torso_band(rows: dict) -> list[tuple[float, float, float]]:
    """(x, y, mm) for every image row from the chest's row to the hip's, x and mm
    interpolated between the girths' points."""
    pts = np.array([rows[n] for n in ROWS])
    ys = np.arange(int(np.ceil(pts[:, 1].min())), int(np.floor(pts[:, 1].max())) + 1) + 0.5
    order = np.argsort(pts[:, 1])
    xs = np.interp(ys, pts[order, 1], pts[order, 0])
    mms = np.interp(ys, pts[order, 1], pts[order, 2])
    return list(zip(xs, ys, mms))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def measure(args) -> int:
    import json

    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.measurements import BodyMeasurer

    folder = Path(args.renders) / f"seed{args.seed}"
    detections = pickle.loads((OUT / f"seed{args.seed}" / "detections.pkl").read_bytes())
    models = {g: BodyModel.load(gender=g) for g in ("female", "male")}
    measurers = {g: BodyMeasurer(m) for g, m in models.items()}
    from blender_smplify.core.person_mask import refined_silhouette
    from blender_smplify.core.silhouette import Silhouette

    stats = {}
    for js in sorted(folder.glob("p*_*.json")):
        info = json.loads(js.read_text())
        half, view = info["half"], info["view"]
        det = detections[js.stem]
        truth = truth_coverage(js.stem, args.seed)
        probability = det.mask
        if args.mask == "refined":
            silhouette = refined_silhouette(det, args.upsample, args.level)
        else:
            silhouette = Silhouette.from_detection(det)
        rows = girth_rows(models[info["gender"]], measurers[info["gender"]], info)
        band = {f"band{k}": p for k, p in enumerate(torso_band(rows))}
        s = stats.setdefault((half, view), {"iou": [], "rows": [], "band": []})
        s["iou"].append(iou(probability > 0.5, truth >= 0.5))
        s["rows"] += photo_rows(silhouette, probability, truth, rows)
        s["band"] += photo_rows(silhouette, probability, truth, band)
    print_tables(stats)
    return 0


def print_tables(stats: dict) -> None:
    print("| half, view | photos | IoU > 0.5, median / min | ", end="")
    print(" | ".join(f"{n.split('_')[0]} px (mm) at 0.5" for n in ROWS), end=" | ")
    print(" | ".join(f"{n.split('_')[0]} fit's grid px (mm)" for n in ROWS) + " |")
    print("|---" * (3 + 2 * len(ROWS)) + "|")
    for (half, view), s in sorted(stats.items(), key=lambda kv: (kv[0][0] != "tuning", kv[0])):
        cells = [f"{half}, {view}", str(len(s["iou"]))]
        cells.append(f"{np.median(s['iou']):.3f} / {np.min(s['iou']):.3f}")
        for key in ("level", "grid"):
            for name in ROWS:
                recs = [r for r in s["rows"] if r["row"] == name]
                px = [r["level"].get(0.5) if key == "level" else r[key] for r in recs]
                mm = [v * r["mm_per_px"] for v, r in zip(px, recs) if v is not None]
                px = [v for v in px if v is not None]
                cells.append(f"{np.median(px):+.2f} ({np.median(mm):+.1f})" if px else "-")
        print("| " + " | ".join(cells) + " |")
    print()
    print("median signed torso edge error (px), every row chest to hip, by probability level:")
    print("| half, view | " + " | ".join(f"{v:.1f}" for v in LEVELS) + " | fit's grid | rows |")
    print("|---" * (len(LEVELS) + 3) + "|")
    for (half, view), s in sorted(stats.items(), key=lambda kv: (kv[0][0] != "tuning", kv[0])):
        cells = [f"{half}, {view}"]
        for level in LEVELS:
            vals = [r["level"][level] for r in s["band"] if level in r["level"]]
            cells.append(f"{np.median(vals):+.2f}" if vals else "-")
        vals = [r["grid"] for r in s["band"] if r["grid"] is not None]
        cells.append(f"{np.median(vals):+.2f}" if vals else "-")
        cells.append(str(len(s["band"])))
        print("| " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("detect")
    m = sub.add_parser("measure")
    m.add_argument("--mask", choices=("blazepose", "refined"), default="blazepose")
    m.add_argument("--upsample", type=int, default=4, help="refined: fine cells per cell")
    m.add_argument("--level", type=float, default=0.45, help="refined: probability on the edge")
    for p in (d, m):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--renders", default=str(RENDERS))
    args = ap.parse_args(argv)
    return {"detect": detect, "measure": measure}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
