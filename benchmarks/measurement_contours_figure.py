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
    values = measure_scene.avatar_measurements(result.avatar.armature)
    print(
        f"wrote {args.out}: {len(drawn)} contours; chest {100 * values['chest_girth']:.1f}, "
        f"waist {100 * values['waist_girth']:.1f}, hip {100 * values['hip_girth']:.1f} cm"
    )


if __name__ == "__main__":
    main()
