"""Draw the measurement cuts on the open models: ``docs/measurements.png``.

Front and side views (orthographic, flat-shaded with Pillow) of the female and male open models
at β = 0 with every girth's kept loop, the back-length profile and the landmark vertices drawn in
colour, to check by eye that each cut is where ISO 8559-1 puts it.

    python benchmarks/measurements_figure.py [--out docs/measurements.png] [--betas 2 0 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from blender_smplify.core.body_model import BodyModel  # noqa: E402
from blender_smplify.core.measurements import BodyMeasurer  # noqa: E402

SCALE = 260  # pixels per metre
COLOURS = [
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 200, 200),
    (240, 50, 230),
    (160, 120, 0),
    (0, 0, 128),
    (128, 0, 0),
]


def _view(vertices: np.ndarray, side: bool) -> tuple[np.ndarray, np.ndarray]:
    """Image-plane coordinates (V, 2) (x right, y up) and depth towards the viewer (V,)."""
    if side:  # seen from the subject's left (looking along −x): the front (+z) to the right
        return np.column_stack([vertices[:, 2], vertices[:, 1]]), vertices[:, 0]
    return np.column_stack([vertices[:, 0], vertices[:, 1]]), vertices[:, 2]


def draw_panel(model, vertices, result, landmarks, side: bool, size=(560, 520)) -> Image.Image:
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    xy, depth = _view(vertices, side)
    centre = np.array(
        [0.0 if not side else xy[:, 0].mean(), (xy[:, 1].max() + xy[:, 1].min()) / 2]
    )

    def to_px(p: np.ndarray) -> np.ndarray:
        q = (p - centre) * SCALE
        return np.column_stack([size[0] / 2 + q[:, 0], size[1] / 2 - q[:, 1]])

    faces = model.faces
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    facing = normal[:, 0] if side else normal[:, 2]
    order = np.argsort(depth[faces].mean(axis=1))
    px = to_px(xy)
    for f in order:
        if facing[f] <= 0:
            continue
        shade = int(120 + 110 * facing[f])
        draw.polygon([tuple(px[i]) for i in faces[f]], fill=(shade, shade, shade))
    for k, segments in enumerate(result.loops.values()):
        if len(segments) == 0:
            continue
        colour = COLOURS[k % len(COLOURS)]
        a, _ = _view(segments[:, 0], side)
        b, _ = _view(segments[:, 1], side)
        for p, q in zip(to_px(a), to_px(b), strict=True):
            draw.line([tuple(p), tuple(q)], fill=colour, width=2)
    for vid in landmarks.values():
        p = to_px(_view(vertices[vid : vid + 1], side)[0])[0]
        draw.ellipse([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2], fill=(0, 0, 0))
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/measurements.png")
    parser.add_argument("--betas", type=float, nargs="*", default=[])
    args = parser.parse_args(argv)
    panels = []
    for gender in ("female", "male"):
        model = BodyModel.load(gender=gender)
        measurer = BodyMeasurer(model)
        vertices = model.shaped_vertices(np.asarray(args.betas))
        result = measurer.measure_vertices(vertices)
        for side in (False, True):
            size = (260, 520) if side else (520, 520)
            panels.append(draw_panel(model, vertices, result, measurer.landmarks, side, size))
    width = sum(p.width for p in panels)
    sheet = Image.new("RGB", (width, panels[0].height), (255, 255, 255))
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width
    sheet = sheet.convert("P", palette=Image.ADAPTIVE, colors=128)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
