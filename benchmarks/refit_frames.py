"""The editing workflow as three frames for the docs: a backwards limb, the click, the fix.

    .venv/bin/python benchmarks/refit_frames.py PHOTO SEGMENT [--focal PX] [--truth JSON]
        [--out docs/] [--height 420]

Builds the avatar of PHOTO (detector, fit, build, as ``photo_to_avatar``), makes its keypoint
markers, renders the body over the photo and from the side (``render.render_preview`` and
``render.render_orbit`` at 90°, the photo's camera on the left), then runs Flip depth on
SEGMENT (a bone of ``core.edit_terms.LIMB_SEGMENTS``) and renders again. Frame 2 marks the
keypoints and the selected segment. ``--truth``: a truth file of ``benchmarks/rendered_3d.py``
(``pose_camera``, ``transl_camera``, ``betas``, ``gender``); its body is built too and shown
from the side beside the fit. Each PNG is quantised to 256 colours (≤ 200 KB).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

NAMES = {
    "left_shoulder": "left upper arm",
    "left_elbow": "left forearm",
    "left_hip": "left thigh",
    "left_knee": "left shin",
}
NAMES.update({k.replace("left", "right"): v.replace("left", "right") for k, v in NAMES.items()})


def project(fit, points: np.ndarray) -> np.ndarray:
    return fit.focal_length * points[:, :2] / points[:, 2:] + fit.principal_point


def crop_box(keypoints, image_size) -> np.ndarray:
    """(x0, y0, x1, y1) pixels: the confident keypoints' box grown by a third, 3:4."""
    xy = keypoints.xy[keypoints.confidence > 0.3]
    centre, extent = (xy.min(0) + xy.max(0)) / 2, np.ptp(xy, axis=0) * 1.33 + 40
    h = max(extent[1], extent[0] * 4 / 3)
    half = np.array([h * 3 / 8, h / 2])
    low = np.clip(centre - half, 0, None)
    high = np.minimum(low + 2 * half, image_size)
    return np.concatenate([high - 2 * half, high]).clip(0)


def views(avatar, folder: Path, height: int, box: np.ndarray, image_width: int):
    """(photo overlay cropped to ``box``, side view) as PIL images of the given height."""
    from PIL import Image

    from blender_smplify.blender import render

    overlay = render.render_preview(avatar, folder / "overlay.png", max_size=1024)
    side = render.render_orbit(
        avatar, folder / "side.png", azimuth_deg=90.0, size=(int(height * 0.75), height)
    )
    photo = Image.open(overlay).convert("RGB")
    photo = photo.crop(tuple(int(v) for v in box * photo.width / image_width))
    photo = photo.resize((int(photo.width * height / photo.height), height))
    return photo, Image.open(side).convert("RGB")


def frame(photo, side, caption: str, out: Path, truth=None) -> None:
    from PIL import Image, ImageDraw

    panels = [(photo, ""), (side, "the fit from the side (photo's camera on the left)")]
    if truth is not None:
        panels.append((truth, "the truth from the side"))
    width = sum(p.width for p, _ in panels) + 10 * (len(panels) - 1)
    canvas = Image.new("RGB", (width, photo.height + 34), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 4), caption, fill="black")
    x = 0
    for panel, label in panels:
        canvas.paste(panel, (x, 34))
        draw.text((x + 4, 20), label, fill="black")
        x += panel.width + 10
    canvas.quantize(256).save(out, optimize=True)


def truth_side(path: Path, folder: Path, height: int):
    """The truth body of a rendered_3d truth file, built as an avatar and seen from the side."""
    import json

    from PIL import Image
    from rendered_eval import truth_models

    from blender_smplify.blender import build_rig, render
    from blender_smplify.core.fit_result import FitResult

    data = json.loads(path.read_text())
    size = tuple(data["image_size"])
    truth = FitResult(
        betas=np.asarray(data["betas"]),
        pose=np.asarray(data["pose_camera"]),
        transl=np.asarray(data["transl_camera"]),
        focal_length=data["focal_px"],
        principal_point=np.asarray(size) / 2.0,
        image_size=size,
        joints_3d=np.asarray(data["joints_camera"]),
        gender=data["gender"],
    )
    # the body the photo was rendered with (the cache keeps it), not today's shipped one
    model = truth_models(path.parent)[data["gender"]]
    avatar = build_rig.build(truth, model, name="truth")
    side = render.render_orbit(
        avatar, folder / "truth.png", azimuth_deg=90.0, size=(int(height * 0.75), height)
    )
    return Image.open(side).convert("RGB")


def mark(photo, fit, keypoints, segment: str, box: np.ndarray):
    """The keypoints as green circles, the segment as an orange line with rings at its ends."""
    from PIL import ImageDraw

    from blender_smplify.core.edit_terms import LIMB_SEGMENTS
    from blender_smplify.core.joints import J

    def panel(xy):
        return (np.asarray(xy) - box[:2]) * photo.height / (box[3] - box[1])

    photo = photo.copy()
    draw = ImageDraw.Draw(photo)
    ends = panel(project(fit, fit.joints_3d[[J[segment], J[LIMB_SEGMENTS[segment]]]]))
    draw.line([tuple(ends[0]), tuple(ends[1])], fill=(255, 140, 0), width=6)
    for x, y in ends:
        draw.ellipse([x - 11, y - 11, x + 11, y + 11], outline=(255, 140, 0), width=3)
    draw.text(tuple(ends.max(axis=0) + (14, -6)), NAMES[segment], fill=(255, 170, 40))
    for (x, y), c in zip(panel(keypoints.xy), keypoints.confidence):
        if c > 0:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], outline=(40, 220, 60), width=2)
    return photo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("segment")
    parser.add_argument("--focal", type=float, default=None)
    parser.add_argument("--truth", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--height", type=int, default=420)
    args = parser.parse_args(argv)
    from blender_smplify.blender import edit_ops, pipeline

    pipeline.new_file()
    made = pipeline.photo_to_avatar(args.photo, focal_length=args.focal)
    avatar, name = made.avatar, NAMES[args.segment]
    edit_ops.edit_keypoints(avatar.armature, made.keypoints)
    with tempfile.TemporaryDirectory() as folder:
        truth = args.truth and truth_side(args.truth, Path(folder), args.height)
        box = crop_box(made.keypoints, made.fit.image_size)
        width = made.fit.image_size[0]
        photo, side = views(avatar, Path(folder), args.height, box, width)
        frame(
            photo,
            side,
            f"1. The fit: on the photo, but the {name} points the wrong way (side view)",
            args.out / "editing_1_wrong.png",
            truth,
        )
        frame(
            mark(photo, made.fit, made.keypoints, args.segment, box),
            side,
            f"2. Select the {name} bone, click Flip depth",
            args.out / "editing_2_click.png",
            truth,
        )
        fixed = edit_ops.flip_depth(avatar.armature, args.segment)
        photo, side = views(avatar, Path(folder), args.height, box, width)
        caption = (
            f"3. Refitted holding the {name}'s new depth: still on the photo "
            f"({fixed.iterations} iterations)"
        )
        frame(photo, side, caption, args.out / "editing_3_fixed.png", truth)
    for k in (1, 2, 3):
        path = next(args.out.glob(f"editing_{k}_*.png"))
        print(f"{path}: {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
