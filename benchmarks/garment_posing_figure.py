"""docs/garment_posing.png: the open neutral body in three review poses from its pose library,
and a cloth plane draped on its shoulder by Blender's cloth solver against the body's collider.

    .venv/bin/python benchmarks/garment_posing_figure.py [--out docs/garment_posing.png]

Renders with the project's Workbench helpers (:mod:`blender_smplify.blender.render`); the
panels are put side by side with Pillow. Takes about 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "blender")]
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="smplify_bpy_user_"))

PANEL = (420, 640)
POSES = ("A", "WALK", "SIT")
CLOTH_COLOUR = (0.85, 0.35, 0.25, 1.0)
LABEL_HEIGHT = 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "garment_posing.png"))
    args = parser.parse_args()

    import bpy
    from PIL import Image, ImageDraw, ImageFont
    from test_cloth_ready import drop_cloth, standing_fit

    import blender_smplify
    from blender_smplify.blender import build_rig, cloth_ready, posing, render
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.review_poses import POSE_LABELS

    blender_smplify.register()
    bpy.ops.wm.read_homefile(use_empty=True)
    model = BodyModel.load()
    avatar = build_rig.build(standing_fit(model), model, name="review")
    panels, labels = [], []
    with tempfile.TemporaryDirectory() as folder:
        for name in POSES:
            posing.apply_review_pose(avatar.armature, name)
            path = render.render_orbit(avatar, Path(folder) / f"{name}.png", size=PANEL)
            panels.append(Image.open(path).convert("RGB"))
            labels.append(POSE_LABELS[name])
        posing.apply_review_pose(avatar.armature, "T")
        cloth_ready.add_collision(avatar.body)
        bpy.context.scene.frame_set(1)
        drop_cloth(bpy, avatar)
        cloth = bpy.context.active_object
        panels.append(_render_cloth(bpy, render, avatar, cloth, Path(folder) / "cloth.png"))
        labels.append("Cloth on the shoulder")
    width, height = PANEL
    sheet = Image.new("RGB", (width * len(panels), height + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=22)
    for k, (panel, label) in enumerate(zip(panels, labels)):
        sheet.paste(panel, (k * width, 0))
        draw.text((k * width + 14, height + 8), label, fill=(20, 20, 20), font=font)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(args.out)


def _render_cloth(bpy, render, avatar, cloth, path: Path):
    """Close view of the left shoulder with the draped cloth (object colours)."""
    from mathutils import Vector
    from PIL import Image

    scene = bpy.context.scene
    armature = avatar.armature
    shoulder = armature.matrix_world @ armature.pose.bones["left_shoulder"].head
    cloth.color = CLOTH_COLOUR
    cloth.data.shade_smooth()
    cloth.modifiers.new("smooth look", "SUBSURF").levels = 1  # after the cloth: display only
    avatar.body.color = (*render.BODY_COLOUR, 1.0)
    with render.temporary_camera(scene, "smplify_cloth") as camera:
        target = shoulder + Vector((0.0, 0.0, 0.02))
        camera.location = target + Vector((0.55, -0.75, 0.35))
        camera.rotation_euler = (target - camera.location).to_track_quat("-Z", "Y").to_euler()
        camera.data.lens = 50.0
        with render.body_alone(scene, avatar.body, transparent=False) as settings:
            cloth.hide_render = False
            scene.display.shading.color_type = "OBJECT"
            scene.camera = camera
            settings.resolution_x, settings.resolution_y = PANEL
            settings.resolution_percentage = 100
            settings.filepath = str(path)
            bpy.ops.render.render(write_still=True, scene=scene.name)
    return Image.open(path).convert("RGB")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
