"""How well the detector's person mask and the fitted bodies cover the true body's outline on the
shape benchmark's front photos (``benchmarks/shape_accuracy.py``'s renders).

    .venv/bin/python benchmarks/studies/shape_outline_cover.py [--people 6] [--seed 0]

Per person (ids 0 .. people − 1, both halves: nothing here is tuned): the true body, the fit of
condition (b) (front + true height) without and with the silhouette, each projected through its
own camera and rasterised face by face (Pillow); printed: the mask's IoU with the true body's
outline, each fit's IoU with the mask and with the truth, and the fit's area over the truth's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import shape_accuracy as sa
from shape_errors import load_people

from blender_smplify.core import pipeline
from blender_smplify.core.fit import fit
from blender_smplify.core.silhouette import Silhouette


def raster(model, vertices_cam: np.ndarray, focal: float, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixels covered by the mesh with camera-frame vertices (V, 3)."""
    from PIL import Image, ImageDraw

    uv = focal * vertices_cam[:, :2] / vertices_cam[:, 2:] + np.array(size) / 2
    image = Image.new("L", size, 0)
    draw = ImageDraw.Draw(image)
    for face in model.faces:
        draw.polygon([tuple(uv[i]) for i in face], fill=255)
    return np.asarray(image) > 0


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=str(sa.DEFAULT_CACHE))
    args = parser.parse_args(argv)
    fitter = sa.DoorFitter()
    for person in load_people(Path(args.cache) / f"seed{args.seed}")[: args.people]:
        png, info = person["photos"]["front"]
        size, focal = tuple(info["image_size"]), info["focal_px"]
        detection, keypoints, world = fitter.evidence(person, "front")
        model = pipeline.load_model(person["gender"])
        mask = detection.mask > 0.5
        world_vertices, _ = model.forward(
            np.array(info["betas"]), np.array(info["pose"]), np.array(info["transl"])
        )
        rotation, position = np.array(info["camera_rotation"]), np.array(info["camera_position"])
        truth = raster(model, (world_vertices - position) @ rotation.T, focal, size)
        cells = [f"p{person['person']:03d}: mask vs truth IoU {iou(mask, truth):.2f}"]
        for with_mask in (False, True):
            silhouette = Silhouette.from_detection(detection) if with_mask else None
            res = fit(
                model,
                keypoints,
                size,
                focal,
                world=world,
                silhouette=silhouette,
                height=person["measurements"]["stature"],
            )
            vertices, _ = model.forward(res.betas, res.pose, res.transl)
            fitted = raster(model, vertices, focal, size)
            cells.append(
                f"fit {'with' if with_mask else 'without'} silhouette: IoU with mask "
                f"{iou(fitted, mask):.2f}, with truth {iou(fitted, truth):.2f}, "
                f"area / truth's {fitted.sum() / truth.sum():.2f}"
            )
        print(" | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
