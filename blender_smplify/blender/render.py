"""Preview renders (Workbench, fast): the body over the photo through the fitted camera, and the
body alone from the front-right.

The pictures in docs/ come from the sample photo::

    python -m blender_smplify build blender_smplify/data/samples/standing_person.jpg \
        --blend out/sample.blend --render docs/preview_standing_person.png
    python -c "from blender_smplify.blender import pipeline, render; \
        r = pipeline.photo_to_avatar('blender_smplify/data/samples/standing_person.jpg'); \
        render.render_orbit(r.avatar, 'docs/preview_standing_person_3d.png')"
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import bpy
import numpy as np

from .camera import use_camera

#: body colour (linear RGB) and how opaque it is over the photo
BODY_COLOUR = (0.8, 0.88, 1.0)
BODY_OPACITY = 0.75


def render_preview(
    avatar,
    out_path: str | Path,
    *,
    scene: bpy.types.Scene | None = None,
    max_size: int = 1024,
) -> Path:
    """Render ``avatar`` through its camera and composite it over the photo into a PNG.

    The render uses the avatar's camera with the scene's resolution (the photo's size) scaled so
    that the longer side is at most ``max_size`` pixels. Only the avatar's body is drawn, over the
    camera's background photo. The scene's render settings are restored afterwards.
    """
    scene = scene or bpy.context.scene
    out_path = Path(out_path).resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    render = scene.render
    saved = _save_settings(scene)
    hidden = [
        o
        for o in scene.objects
        if o.type
        in {
            "MESH",
            "CURVE",
            "SURFACE",
            "META",
            "FONT",
            "VOLUME",
            "GPENCIL",
            "CURVES",
            "POINTCLOUD",
        }
        and o != avatar.body
    ]
    hide_saved = [o.hide_render for o in hidden]
    try:
        for obj in hidden:
            obj.hide_render = True
        use_camera(avatar.camera, scene)  # its photo's resolution, whatever was built since
        render.engine = "BLENDER_WORKBENCH"
        render.film_transparent = True
        largest = max(render.resolution_x, render.resolution_y)
        render.resolution_percentage = max(1, min(100, int(100 * max_size / largest)))
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "SINGLE"
        shading.single_color = BODY_COLOUR
        render.image_settings.file_format = "PNG"
        render.image_settings.color_mode = "RGBA"
        with tempfile.TemporaryDirectory() as folder:
            layer = Path(folder) / "body.png"
            render.filepath = str(layer)
            bpy.ops.render.render(write_still=True, scene=scene.name)
            backgrounds = avatar.camera.data.background_images
            photo = backgrounds[0].image if len(backgrounds) else None
            _composite(layer, photo, out_path)
    finally:
        for obj, was in zip(hidden, hide_saved):
            obj.hide_render = was
        _restore_settings(scene, saved)
    return out_path


def render_orbit(
    avatar,
    out_path: str | Path,
    *,
    scene: bpy.types.Scene | None = None,
    azimuth_deg: float = 35.0,
    size: tuple[int, int] = (600, 800),
) -> Path:
    """Render the posed body alone from the front-right (a temporary camera), as a 3D check.

    The camera looks at the body's centre from ``azimuth_deg`` to the right of the body's front,
    at a distance that frames its height. The scene is left as it was.
    """
    from mathutils import Vector

    scene = scene or bpy.context.scene
    out_path = Path(out_path).resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    bpy.context.view_layer.update()
    corners = [avatar.body.matrix_world @ Vector(c) for c in avatar.body.bound_box]
    low = Vector([min(c[i] for c in corners) for i in range(3)])
    high = Vector([max(c[i] for c in corners) for i in range(3)])
    centre, height = (low + high) / 2, max(high.z - low.z, 0.5)
    front = avatar.armature.matrix_world.to_3x3() @ Vector((0.0, -1.0, 0.0))
    front.z = 0.0
    angle = np.radians(azimuth_deg)
    direction = Vector(
        (
            np.cos(angle) * front.x - np.sin(angle) * front.y,
            np.sin(angle) * front.x + np.cos(angle) * front.y,
            0.15,
        )
    ).normalized()
    data = bpy.data.cameras.new("smplify_orbit")
    camera = bpy.data.objects.new("smplify_orbit", data)
    scene.collection.objects.link(camera)
    data.lens, data.sensor_width, data.sensor_fit = 50.0, 36.0, "VERTICAL"
    data.sensor_height = 36.0
    camera.location = centre + direction * (height * 1.25 * 50.0 / 36.0)
    camera.rotation_euler = (centre - camera.location).to_track_quat("-Z", "Y").to_euler()
    render, saved = scene.render, _save_settings(scene)
    hidden = [o for o in scene.objects if o.type == "MESH" and o != avatar.body]
    hide_saved = [o.hide_render for o in hidden]
    try:
        for obj in hidden:
            obj.hide_render = True
        scene.camera = camera
        render.engine, render.film_transparent = "BLENDER_WORKBENCH", False
        render.resolution_x, render.resolution_y = size
        render.resolution_percentage = 100
        shading = scene.display.shading
        shading.light, shading.color_type, shading.single_color = "STUDIO", "SINGLE", BODY_COLOUR
        render.image_settings.file_format, render.image_settings.color_mode = "PNG", "RGB"
        render.filepath = str(out_path)
        bpy.ops.render.render(write_still=True, scene=scene.name)
    finally:
        for obj, was in zip(hidden, hide_saved):
            obj.hide_render = was
        _restore_settings(scene, saved)
        bpy.data.objects.remove(camera)
        bpy.data.cameras.remove(data)
    return out_path


def _composite(layer_path: Path, photo: bpy.types.Image | None, out_path: Path) -> None:
    """Alpha-blend the rendered body (RGBA PNG) over the photo scaled to the same size."""
    layer = bpy.data.images.load(str(layer_path))
    width, height = layer.size
    body = _pixels(layer)
    bpy.data.images.remove(layer)
    if photo is not None:
        scaled = photo.copy()
        scaled.scale(width, height)
        background = _pixels(scaled)
        bpy.data.images.remove(scaled)
    else:
        background = np.full_like(body, 0.5)
    alpha = body[..., 3:4] * BODY_OPACITY
    blended = np.concatenate(
        [body[..., :3] * alpha + background[..., :3] * (1 - alpha), np.ones_like(alpha)], axis=-1
    )
    out = bpy.data.images.new("smplify_preview", width, height, alpha=False)
    out.pixels.foreach_set(blended.astype(np.float32).ravel())
    out.filepath_raw = str(out_path)
    out.file_format = "PNG"
    out.save()
    bpy.data.images.remove(out)


def _pixels(image: bpy.types.Image) -> np.ndarray:
    width, height = image.size
    buffer = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(buffer)
    return buffer.reshape(height, width, 4)


def _save_settings(scene: bpy.types.Scene) -> dict:
    render, shading = scene.render, scene.display.shading
    return {
        "camera": scene.camera,
        "resolution": (render.resolution_x, render.resolution_y),
        "engine": render.engine,
        "film_transparent": render.film_transparent,
        "resolution_percentage": render.resolution_percentage,
        "filepath": render.filepath,
        "file_format": render.image_settings.file_format,
        "color_mode": render.image_settings.color_mode,
        "light": shading.light,
        "color_type": shading.color_type,
        "single_color": tuple(shading.single_color),
    }


def _restore_settings(scene: bpy.types.Scene, saved: dict) -> None:
    render, shading = scene.render, scene.display.shading
    scene.camera = saved["camera"]
    render.resolution_x, render.resolution_y = saved["resolution"]
    render.engine = saved["engine"]
    render.film_transparent = saved["film_transparent"]
    render.resolution_percentage = saved["resolution_percentage"]
    render.filepath = saved["filepath"]
    render.image_settings.file_format = saved["file_format"]
    render.image_settings.color_mode = saved["color_mode"]
    shading.light, shading.color_type = saved["light"], saved["color_type"]
    shading.single_color = saved["single_color"]
