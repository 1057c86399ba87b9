"""Exact person masks of the shape benchmark's renders: the true posed mesh projected with the
photo's stored camera and rasterised with supersampling (numpy, no bpy).

    .venv/bin/python benchmarks/truth_masks.py [--seed 0] [--check]

The renders (``shape_accuracy.py render``) show the bare mesh (the clothes are painted on, no
hair, no props), so the union of its projected triangles is the person's silhouette. Writes
``p<id>_<view>.npy`` (uint8 coverage 0..SS², SS = 4 samples a pixel side) per photo to
``benchmarks/out/truth_masks/seed<seed>/`` (outside git). Pixel (i, j) covers
[j, j + 1) × [i, i + 1), as ``render_scene.Camera.project`` and Blender's camera place it.
``--check`` compares the masks with the renders: along each row, where the render's colour
changes fastest near the mask's edge, minus the edge (median over every crossing).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

RENDERS = ROOT / "benchmarks" / "out" / "shape_accuracy"
OUT = ROOT / "benchmarks" / "out" / "truth_masks"
SS = 4


def true_body(model, info: dict):
    """The true posed mesh (V, 3) and joints (24, 3) of one photo's truth record (world
    metres), and the photo's camera (``render_scene.Camera``)."""
    from render_scene import Camera

    vertices, joints = model.forward(
        np.array(info["betas"]), np.array(info["pose"]), np.array(info["transl"])
    )
    camera = Camera(
        np.array(info["camera_rotation"]),
        np.array(info["camera_position"]),
        info["focal_px"],
        tuple(info["image_size"]),
    )
    return vertices, joints, camera


def projected_mesh(model, info: dict) -> np.ndarray:
    """(V, 2) image pixels of the true posed mesh of one photo's truth record."""
    vertices, _, camera = true_body(model, info)
    return camera.project(vertices)


def rasterise(xy: np.ndarray, faces: np.ndarray, size: tuple[int, int], ss: int = SS):
    """Coverage (H, W) uint8 in 0..ss² of the union of triangles ``faces`` (F, 3) over
    vertices ``xy`` (V, 2) image px, on an image of ``size`` = (W, H): the number of the
    pixel's ss × ss sample points (at (j + (k + 0.5) / ss, i + (l + 0.5) / ss)) inside a
    triangle."""
    w, h = size
    hit = np.zeros((h * ss, w * ss), bool)
    tri = xy[faces] * ss - 0.5  # sample (row r, col c) sits at (c, r) in these units
    lo = np.floor(tri.min(axis=1)).astype(int) + 1
    hi = np.floor(tri.max(axis=1)).astype(int)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [w * ss - 1, h * ss - 1])
    extent = (hi - lo + 1).max(axis=1)
    small = (extent > 0) & (extent <= 8)
    _fill(hit, tri[small], lo[small], 8)
    for k in np.nonzero(extent > 8)[0]:
        _fill(hit, tri[k : k + 1], lo[k : k + 1], int(extent[k]))
    return hit.reshape(h, ss, w, ss).sum(axis=(1, 3)).astype(np.uint8)


def _fill(hit: np.ndarray, tri: np.ndarray, lo: np.ndarray, n: int) -> None:
    """Set the samples of ``hit`` inside each triangle (T, 3, 2), testing the n × n samples
    from each triangle's ``lo`` (T, 2) corner."""
    if not len(tri):
        return
    d = np.arange(n)
    px = lo[:, 0, None, None] + d[None, None, :]  # (T, 1, n)
    py = lo[:, 1, None, None] + d[None, :, None]  # (T, n, 1)
    inside = np.ones((len(tri), n, n), bool)
    area = (tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1]) - (
        tri[:, 1, 1] - tri[:, 0, 1]
    ) * (tri[:, 2, 0] - tri[:, 0, 0])
    sign = np.where(area >= 0, 1.0, -1.0)[:, None, None]
    for a, b in ((0, 1), (1, 2), (2, 0)):
        ax, ay = tri[:, a, 0, None, None], tri[:, a, 1, None, None]
        bx, by = tri[:, b, 0, None, None], tri[:, b, 1, None, None]
        edge = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
        inside &= sign * edge >= 0
    inside &= np.abs(area)[:, None, None] > 0
    h, w = hit.shape
    inside &= (px < w) & (py < h)
    t, r, c = np.nonzero(inside)
    hit[lo[t, 1] + r, lo[t, 0] + c] = True


def truth_coverage(name: str, seed: int = 0) -> np.ndarray:
    """(H, W) float coverage in [0, 1] of photo ``name`` (e.g. "p001_front"), from the cache."""
    return np.load(OUT / f"seed{seed}" / f"{name}.npy").astype(np.float32) / SS**2


def truth_silhouette(name: str, seed: int = 0):
    """The exact mask of photo ``name`` as a ``Silhouette``: the coverage bilinear on a grid
    of half image pixels over the person's box (``person_mask.refine_grid``, level 0.5), so
    the term's half-cell shift is a quarter pixel."""
    from blender_smplify.core.person_mask import refine_grid

    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return refine_grid(truth_coverage(name, seed), identity, 2, 0.5)


def mask_silhouette(kind: str, detection, name: str, seed: int = 0):
    """The ``Silhouette`` the shape benchmark hands the fit for photo ``name``: "blazepose"
    (``Silhouette.from_detection``, as the pipeline does), "refined"
    (``person_mask.refined_silhouette``) or "truth" (:func:`truth_silhouette`)."""
    from blender_smplify.core.person_mask import refined_silhouette
    from blender_smplify.core.silhouette import Silhouette

    if kind == "truth":
        return truth_silhouette(name, seed)
    if kind == "refined":
        return refined_silhouette(detection)
    if kind == "blazepose":
        return Silhouette.from_detection(detection)
    raise ValueError(f"unknown mask {kind!r}: blazepose, refined or truth")


def edge_offsets(coverage: np.ndarray, image: np.ndarray, reach: int = 3) -> np.ndarray:
    """Where the render's colour changes fastest near each horizontal crossing of the mask's
    edge, minus the mask's edge (px, along the row; sub-pixel by a parabola through the
    strongest luminance step and its neighbours), for runs of at least 6 px."""
    grey = image[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]
    step = np.abs(np.diff(grey, axis=1))  # step[:, j] sits between pixels j and j + 1
    out = []
    for r in range(coverage.shape[0]):
        c = coverage[r]
        inside = c >= 0.5
        changes = np.flatnonzero(np.diff(inside.astype(int)))
        for j in changes:  # the 0.5 crossing between pixel centres j + 0.5 and j + 1.5
            if not reach < j < len(c) - reach - 2:
                continue
            if inside[max(j - 5, 0) : j + 1].all() == inside[j + 1 : j + 7].all():
                continue  # not a clean edge (a run shorter than 6 px)
            edge = j + 0.5 + (0.5 - c[j]) / (c[j + 1] - c[j])
            window = step[r, j - reach : j + reach + 1]
            k = int(np.argmax(window))
            if 0 < k < len(window) - 1:
                a, b, d = window[k - 1], window[k], window[k + 1]
                curve = a - 2 * b + d
                delta = 0.5 * (a - d) / curve if curve < 0 else 0.0
                out.append(j - reach + k + 1.0 + delta - edge)  # step k: pixels' border
    return np.array(out)


def check(folder: Path, seed: int) -> None:
    """Print the median and quartiles of :func:`edge_offsets` over every cached photo."""
    from PIL import Image

    offsets = []
    for png in sorted(folder.glob("p*_*.png")):
        image = np.asarray(Image.open(png).convert("RGB"))
        offsets.append(edge_offsets(truth_coverage(png.stem, seed), image))
    values = np.concatenate(offsets)
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    print(
        f"{len(values)} edge crossings: the render's strongest step minus the mask's edge, "
        f"median {q2:+.3f} px (quartiles {q1:+.3f}, {q3:+.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    from blender_smplify.core.body_model import BodyModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--renders", default=str(RENDERS))
    ap.add_argument("--check", action="store_true", help="the masks against the renders")
    args = ap.parse_args(argv)
    folder = Path(args.renders) / f"seed{args.seed}"
    if args.check:
        check(folder, args.seed)
        return 0
    out = OUT / f"seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    models = {g: BodyModel.load(gender=g) for g in ("female", "male")}
    start, count = time.perf_counter(), 0
    for js in sorted(folder.glob("p*_*.json")):
        target = out / f"{js.stem}.npy"
        if target.exists():
            continue
        info = json.loads(js.read_text())
        model = models[info["gender"]]
        xy = projected_mesh(model, info)
        np.save(target, rasterise(xy, np.asarray(model.faces), tuple(info["image_size"])))
        count += 1
    print(f"{count} masks in {time.perf_counter() - start:.1f} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
