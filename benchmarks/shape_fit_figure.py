"""Figure: one shape-benchmark person fitted from the front and side photos with the true
height and the silhouette, drawn over each photo and from the side (fit against truth).

Reads the renders of ``benchmarks/shape_accuracy.py`` (cache, read only) and fits them as its
condition (c) + silhouette does (``DoorFitter``, the refined person mask). Four panels: each
photo with the fitted mesh's vertices (green), then that camera's view turned 90° about the
vertical (camera on the left; fit blue, truth red), which shows what depth the fit chose.

    .venv/bin/python benchmarks/shape_fit_figure.py docs/shape_fit_front_side.png [--person 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

VIEWS = ("front", "side")


def fit_person(person: dict):
    """The joint fit of the person's two photos, as the benchmark's condition (c) + silhouette."""
    from shape_accuracy import DoorFitter
    from truth_masks import mask_silhouette

    from blender_smplify.core import pipeline
    from blender_smplify.core.fit_same_person import PhotoView, fit_same_person

    doors, views = DoorFitter("refined"), []
    for view in VIEWS:
        detection, keypoints, world = doors.evidence(person, view)
        png, info = person["photos"][view]
        mask = mask_silhouette("refined", detection, Path(png).stem)
        size = tuple(info["image_size"])
        detected = doors.detected(detection, keypoints)
        views.append(
            PhotoView(
                keypoints, size, info["focal_px"], world=world, silhouette=mask, detected=detected
            )
        )
    model = pipeline.load_model(person["gender"])
    return model, fit_same_person(model, views, height=person["measurements"]["stature"])


def true_vertices(model, info: dict) -> np.ndarray:
    """(V, 3) the true posed mesh in the photo's camera frame."""
    from truth_masks import true_body

    vertices, _, camera = true_body(model, info)
    return camera.to_camera(vertices)


def side_panel(size, fitted: np.ndarray, truth: np.ndarray):
    """The two meshes seen along the camera's x axis, each centred, at one scale."""
    from PIL import Image, ImageDraw

    width, height = size
    panel = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    scale = 0.8 * height / np.ptp(truth[:, 1])
    for points, colour in ((truth, (220, 0, 0)), (fitted, (0, 0, 180))):
        zy = (points[::5, [2, 1]] - points[:, [2, 1]].mean(axis=0)) * scale
        for z, y in zy + (width / 2, height / 2):
            draw.point((z, y), fill=colour)
    draw.text((5, 5), "from the side, camera on the left: fit blue, truth red", fill=(0, 0, 0))
    return panel


def main(argv: list[str] | None = None) -> int:
    from PIL import Image, ImageDraw
    from shape_errors import load_people

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--person", type=int, default=5, help="person id (odd: report half)")
    parser.add_argument("--cache", default=str(ROOT / "benchmarks/out/shape_accuracy/seed0"))
    args = parser.parse_args(argv)
    person = next(p for p in load_people(Path(args.cache)) if p["person"] == args.person)
    model, result = fit_person(person)
    panels = []
    for view, fitted in zip(VIEWS, result.views):
        png, info = person["photos"][view]
        vertices, _ = model.forward(fitted.betas, fitted.pose, fitted.transl)
        photo = Image.open(png).convert("RGB")
        draw = ImageDraw.Draw(photo)
        uv = vertices[:, :2] / vertices[:, 2:] * fitted.focal_length + fitted.principal_point
        for x, y in uv[::7]:
            draw.point((x, y), fill=(0, 255, 0))
        panels += [photo, side_panel(photo.size, vertices, true_vertices(model, info))]
    width, height = panels[0].size
    sheet = Image.new("RGB", (width * len(panels), height), (255, 255, 255))
    for k, panel in enumerate(panels):
        sheet.paste(panel, (k * width, 0))
    sheet.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
