"""The editing workflow as three frames for the docs: a backwards limb, the click, the fix.

    .venv/bin/python benchmarks/refit_frames.py PHOTO SEGMENT [--focal PX] [--out docs/]
        [--height 420]

Builds the avatar of PHOTO (detector, fit, build, as ``photo_to_avatar``), makes its keypoint
markers, renders the body over the photo and from the side (``render.render_preview`` and
``render.render_orbit`` at 90°, the photo's camera on the left), then runs Flip depth on
SEGMENT (a bone of ``core.edit_terms.LIMB_SEGMENTS``) and renders again. Frame 2 marks the
keypoints and the selected segment. Each PNG is quantised to 256 colours (≤ 200 KB).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NAMES = {"left_shoulder": "left upper arm", "left_elbow": "left forearm", "left_hip": "left thigh",
         "left_knee": "left shin"}  # fmt: skip
NAMES.update({k.replace("left", "right"): v.replace("left", "right") for k, v in NAMES.items()})


def project(fit, points: np.ndarray) -> np.ndarray:
    return fit.focal_length * points[:, :2] / points[:, 2:] + fit.principal_point


def views(avatar, folder: Path, height: int):
    """(photo overlay, side view) as PIL images of the given height."""
    from PIL import Image

    from blender_smplify.blender import render

    overlay = render.render_preview(avatar, folder / "overlay.png", max_size=1024)
    side = render.render_orbit(avatar, folder / "side.png", azimuth_deg=90.0,
                               size=(int(height * 0.75), height))  # fmt: skip
    photo = Image.open(overlay).convert("RGB")
    photo = photo.resize((int(photo.width * height / photo.height), height))
    return photo, Image.open(side).convert("RGB")


def frame(photo, side, caption: str, out: Path) -> None:
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (photo.width + side.width + 10, photo.height + 34), "white")
    canvas.paste(photo, (0, 34))
    canvas.paste(side, (photo.width + 10, 34))
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 4), caption, fill="black")
    draw.text((photo.width + 14, 20), "side view (the photo's camera on the left)", fill="black")
    canvas.quantize(256).save(out, optimize=True)


def mark(photo, fit, keypoints, segment: str, scale: float):
    """The keypoints as green dots and the segment as a thick orange line."""
    from PIL import ImageDraw

    from blender_smplify.core.edit_terms import LIMB_SEGMENTS
    from blender_smplify.core.joints import J

    photo = photo.copy()
    draw = ImageDraw.Draw(photo)
    ends = project(fit, fit.joints_3d[[J[segment], J[LIMB_SEGMENTS[segment]]]]) * scale
    draw.line([tuple(ends[0]), tuple(ends[1])], fill=(255, 140, 0), width=7)
    for (x, y), c in zip(keypoints.xy * scale, keypoints.confidence):
        if c > 0:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], outline=(40, 220, 60), width=2)
    return photo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("segment")
    parser.add_argument("--focal", type=float, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--height", type=int, default=420)
    args = parser.parse_args(argv)
    from blender_smplify.blender import edit_ops, pipeline

    pipeline.new_file()
    made = pipeline.photo_to_avatar(args.photo, focal_length=args.focal)
    avatar, name = made.avatar, NAMES[args.segment]
    edit_ops.edit_keypoints(avatar.armature, made.keypoints)
    with tempfile.TemporaryDirectory() as folder:
        photo, side = views(avatar, Path(folder), args.height)
        scale = photo.width / made.fit.image_size[0]
        frame(photo, side, f"1. The fit: on the photo, but the {name} points the wrong way "
              "(side view)", args.out / "editing_1_wrong.png")  # fmt: skip
        frame(
            mark(photo, made.fit, made.keypoints, args.segment, scale),
            side,
            f"2. Select the {name} bone, click Flip depth",
            args.out / "editing_2_click.png",
        )
        fixed = edit_ops.flip_depth(avatar.armature, args.segment)
        photo, side = views(avatar, Path(folder), args.height)
        frame(photo, side, f"3. Refitted holding the {name}'s new depth: still on the photo "
              f"({fixed.iterations} iterations)", args.out / "editing_3_fixed.png")  # fmt: skip
    for k in (1, 2, 3):
        path = next(args.out.glob(f"editing_{k}_*.png"))
        print(f"{path}: {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
