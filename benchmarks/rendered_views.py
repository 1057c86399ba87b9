"""Pictures of the rendered benchmark: a contact sheet of photos, and one fit drawn over its
photo and from the side next to the truth (Pillow only)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from blender_smplify.core.joints import SMPL_PARENTS

TRUTH, DETECTOR, TRUTH2D = (40, 200, 60), (230, 40, 40), (60, 110, 230)


def contact_sheet(
    folder: Path, out: Path, count: int = 12, width: int = 1200, start: int = 0
) -> None:
    """``count`` photos (round-robin over the categories, from each one's ``start``-th photo)
    in two rows, labelled, as a PNG quantised to 256 colours to stay small."""
    from PIL import Image, ImageDraw

    by_category: dict[str, list[Path]] = {}
    for js in sorted(folder.glob("*.json")):
        if js.with_suffix(".png").exists():
            by_category.setdefault(json.loads(js.read_text())["category"], []).append(js)
    picks, k = [], start
    while len(picks) < count and any(k < len(v) for v in by_category.values()):
        picks += [v[k] for v in by_category.values() if k < len(v)]
        k += 1
    picks = picks[:count]
    cols = (len(picks) + 1) // 2
    cell = width // cols
    sheet = Image.new("RGB", (cols * cell, 2 * cell + 28), "white")
    draw = ImageDraw.Draw(sheet)
    for i, js in enumerate(picks):
        img = Image.open(js.with_suffix(".png")).convert("RGB")
        img.thumbnail((cell - 4, cell - 4))
        x, y = (i % cols) * cell, (i // cols) * (cell + 14)
        sheet.paste(img, (x + (cell - img.width) // 2, y + (cell - img.height) // 2))
        draw.text((x + 4, y + cell - 2), json.loads(js.read_text())["category"], fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256).save(out, optimize=True)


def _skeleton(draw, points, colour, width=2) -> None:
    for j, p in enumerate(SMPL_PARENTS):
        if p >= 0:
            draw.line([tuple(points[p]), tuple(points[j])], fill=colour, width=width)
    for x, y in points:
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)


def draw_fit(png: Path, info: dict, result: dict, model, out: Path) -> None:
    """Left: the photo, the true joints (green) and the detector fit's (red) projected. Right:
    the same from the camera's right (camera on the left, depth to the right), each skeleton
    moved to the truth's pelvis; blue: the fit from the true 2D keypoints."""
    from PIL import Image, ImageDraw

    photo = Image.open(png).convert("RGB")
    w, h = photo.size
    f, c = info["focal_px"], np.array([w / 2, h / 2])
    truth = np.array(info["joints_camera"])
    fits = {"truth2d": TRUTH2D}
    if result.get("detector"):
        fits["detector"] = DETECTOR
    draw = ImageDraw.Draw(photo)
    _skeleton(draw, np.array(info["joints_2d"]), TRUTH)
    if "detector" in fits:
        det = np.array(result["detector"]["joints"])
        _skeleton(draw, f * det[:, :2] / det[:, 2:] + c, DETECTOR, 1)
    side = Image.new("RGB", (h, h), "white")
    sd = ImageDraw.Draw(side)
    span = max(np.ptp(truth[:, 1]), np.ptp(truth[:, 2]), 1.0) * 1.4
    centre = truth[0]

    def to_side(p):  # camera z to the right, camera y down
        return np.stack(
            [(p[:, 2] - centre[2]) / span * h + h / 2, (p[:, 1] - centre[1]) / span * h + h / 2],
            axis=1,
        )

    _skeleton(sd, to_side(truth), TRUTH, 3)
    for key, colour in fits.items():
        joints = np.array(result[key]["joints"])
        _skeleton(sd, to_side(joints - joints[0] + truth[0]), colour)
    labels = [
        ("truth", TRUTH),
        ("fit from the detector", DETECTOR),
        ("fit from the true 2D keypoints", TRUTH2D),
    ]
    for i, (text, colour) in enumerate(labels):
        sd.text((8, 8 + 14 * i), text, fill=colour)
    sd.text((8, h - 18), "side view: camera on the left", fill="black")
    canvas = Image.new("RGB", (w + h, h), "white")
    canvas.paste(photo, (0, 0))
    canvas.paste(side, (w, 0))
    canvas.save(out)
