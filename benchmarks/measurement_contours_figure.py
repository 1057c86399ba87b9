"""The girth contours on the sample photo's fitted body: ``docs/measurement_contours.png``.

    python benchmarks/measurement_contours_figure.py [--photo PHOTO] [--out PNG]

Fits the sample photo (as ``python3.11 dev.py demo`` does), draws every girth contour of the
avatar (``blender/measure_scene.py``: the measured tapes on the rest shape, riding on their
bones) and renders the posed body with them from the front-right and the back-left (Workbench),
side by side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default=str(SAMPLE))
    parser.add_argument("--out", default=str(ROOT / "docs" / "measurement_contours.png"))
    args = parser.parse_args()

    import bpy

    from blender_smplify.blender import measure_scene, pipeline, render
    from blender_smplify.blender.image_io import image_pixels, set_image_pixels

    bpy.ops.wm.read_homefile(use_empty=True)
    result = pipeline.photo_to_avatar(args.photo)
    drawn = measure_scene.draw_contours(result.avatar.armature)
    for obj in drawn.values():
        obj.data.bevel_depth = 0.004  # thicker than in the viewport, to read at this size
    world = bpy.data.worlds.new("grey")
    world.color = (0.05, 0.05, 0.05)
    bpy.context.scene.world = world
    panels = []
    with tempfile.TemporaryDirectory() as folder:
        for azimuth in (35.0, 215.0):
            path = Path(folder) / f"view_{int(azimuth)}.png"
            render.render_orbit(
                result.avatar,
                path,
                azimuth_deg=azimuth,
                size=(600, 800),
                also=tuple(drawn.values()),
            )
            image = bpy.data.images.load(str(path))
            panels.append(image_pixels(image))
            bpy.data.images.remove(image)
    side_by_side = np.concatenate(panels, axis=1)
    out = bpy.data.images.new("contours", side_by_side.shape[1], side_by_side.shape[0])
    set_image_pixels(out, side_by_side)
    out.filepath_raw = str(Path(args.out).resolve())
    out.file_format = "PNG"
    out.save()
    report_gaps(result.avatar, drawn)
    values = measure_scene.avatar_measurements(result.avatar.armature)
    print(
        f"wrote {args.out}: {len(drawn)} contours; chest {100 * values['chest_girth']:.1f}, "
        f"waist {100 * values['waist_girth']:.1f}, hip {100 * values['hip_girth']:.1f} cm"
    )


def report_gaps(avatar, drawn) -> None:
    """How far the tapes sit from the skin: each tape point's distance to the nearest vertex of
    the posed (skinned) body, against the same distance in the rest pose (the points lie on
    edges and hull tapes span hollows, so the rest pose is not zero)."""
    import bpy
    from scipy.spatial import cKDTree

    from blender_smplify.blender import build_rig

    def gaps() -> np.ndarray:
        bpy.context.view_layer.update()
        depsgraph = bpy.context.evaluated_depsgraph_get()
        evaluated = avatar.body.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        world = np.array(avatar.body.matrix_world)
        skin = np.array([tuple(v.co) for v in mesh.vertices]) @ world[:3, :3].T + world[:3, 3]
        evaluated.to_mesh_clear()
        tree = cKDTree(skin)
        out = []
        for obj in drawn.values():
            world = np.array(obj.matrix_world)
            co = np.array([tuple(p.co)[:3] for p in obj.data.splines[0].points])
            out.append(tree.query(co @ world[:3, :3].T + world[:3, 3])[0])
        return np.concatenate(out)

    posed = gaps()
    rotations = [tuple(b.rotation_quaternion) for b in avatar.armature.pose.bones]
    build_rig.set_pose(avatar.armature, None, rest=True)
    rest = gaps()
    for bone, quaternion in zip(avatar.armature.pose.bones, rotations, strict=True):
        bone.rotation_quaternion = quaternion
    for label, g in (("posed", posed), ("rest", rest)):
        print(
            f"tape point to nearest skin vertex, {label}: median {1e3 * np.median(g):.1f} mm, "
            f"95th percentile {1e3 * np.percentile(g, 95):.1f} mm, max {1e3 * g.max():.1f} mm"
        )


if __name__ == "__main__":
    main()
