"""Preview render: the body over the photo, seen through the fitted camera (Workbench, fast)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import bpy
import numpy as np

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
        scene.camera = avatar.camera
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
    render.engine = saved["engine"]
    render.film_transparent = saved["film_transparent"]
    render.resolution_percentage = saved["resolution_percentage"]
    render.filepath = saved["filepath"]
    render.image_settings.file_format = saved["file_format"]
    render.image_settings.color_mode = saved["color_mode"]
    shading.light, shading.color_type = saved["light"], saved["color_type"]
    shading.single_color = saved["single_color"]
