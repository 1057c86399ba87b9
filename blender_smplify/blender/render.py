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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bpy
import numpy as np
from mathutils import Color

from .camera import use_camera
from .image_io import image_pixels, on_grey, set_image_pixels

#: body colour (linear RGB) and how opaque it is over the photo
BODY_COLOUR = (0.8, 0.88, 1.0)
BODY_OPACITY = 0.75
#: object types that render: all but the body are hidden while it is drawn alone
RENDERED_TYPES = {
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
#: (owner, attribute) of every setting a render changes, in the order they are restored
#: (the file format before the colour mode, which depends on it)
SETTINGS = (
    ("scene", "camera"),
    ("render", "engine"),
    ("render", "resolution_x"),
    ("render", "resolution_y"),
    ("render", "resolution_percentage"),
    ("render", "pixel_aspect_x"),
    ("render", "pixel_aspect_y"),
    ("render", "film_transparent"),
    ("render", "filepath"),
    ("image_settings", "file_format"),
    ("image_settings", "color_mode"),
    ("shading", "light"),
    ("shading", "color_type"),
    ("shading", "single_color"),
)


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
    camera's background photo. The scene is left as it was.
    """
    scene = scene or bpy.context.scene
    out_path = _output(out_path)
    with body_alone(scene, avatar.body, transparent=True) as render:
        use_camera(avatar.camera, scene)  # its photo's resolution, whatever was built since
        largest = max(render.resolution_x, render.resolution_y)
        render.resolution_percentage = max(1, min(100, int(100 * max_size / largest)))
        with tempfile.TemporaryDirectory() as folder:
            layer = Path(folder) / "body.png"
            render.filepath = str(layer)
            bpy.ops.render.render(write_still=True, scene=scene.name)
            backgrounds = avatar.camera.data.background_images
            _composite(layer, backgrounds[0].image if len(backgrounds) else None, out_path)
    return out_path


def render_orbit(
    avatar,
    out_path: str | Path,
    *,
    scene: bpy.types.Scene | None = None,
    azimuth_deg: float = 35.0,
    size: tuple[int, int] = (600, 800),
    also: tuple[bpy.types.Object, ...] = (),
) -> Path:
    """Render the posed body alone from the front-right (a temporary camera), as a 3D check.

    The camera looks at the body's centre from ``azimuth_deg`` to the right of the body's front,
    at a distance that frames its height. ``also``: objects drawn with the body (e.g. its
    measurement contours), each in its object colour, the body in BODY_COLOUR.
    The scene is left as it was.
    """
    scene = scene or bpy.context.scene
    out_path = _output(out_path)
    bpy.context.view_layer.update()
    with temporary_camera(scene, "smplify_orbit") as camera:
        _frame_body(camera, avatar, azimuth_deg)
        with body_alone(scene, avatar.body, transparent=False, also=also) as render:
            scene.camera = camera
            render.resolution_x, render.resolution_y = size
            render.resolution_percentage = 100
            render.filepath = str(out_path)
            bpy.ops.render.render(write_still=True, scene=scene.name)
    return out_path


@contextmanager
def body_alone(
    scene: bpy.types.Scene,
    body: bpy.types.Object,
    *,
    transparent: bool,
    also: tuple[bpy.types.Object, ...] = (),
) -> Iterator[bpy.types.RenderSettings]:
    """Set ``scene`` up to render ``body`` alone with Workbench into a PNG; put it back after.

    Inside, every other renderable object is hidden from the render, and the engine, shading
    (a single ``BODY_COLOUR``) and file settings are set (RGBA with a transparent film, else
    RGB); the caller sets the camera, resolution and file path. ``also``: objects rendered too,
    in their object colour (the shading's colour type is then "OBJECT", the body's colour
    BODY_COLOUR meanwhile). Afterwards, also after an error,
    every setting in :data:`SETTINGS` and every object's visibility are as they were.

    Yields the scene's render settings.
    """
    render, shading = scene.render, scene.display.shading
    owners = {
        "scene": scene,
        "render": render,
        "image_settings": render.image_settings,
        "shading": shading,
    }
    saved = [
        (owners[owner], name, _copy(getattr(owners[owner], name))) for owner, name in SETTINGS
    ]
    hidden = [o for o in scene.objects if o.type in RENDERED_TYPES and o != body]
    visible = [o.hide_render for o in hidden]
    body_colour = tuple(body.color)
    try:
        for obj in hidden:
            obj.hide_render = obj not in also
        if also:
            body.color = (*BODY_COLOUR, 1.0)
        render.engine = "BLENDER_WORKBENCH"
        render.film_transparent = transparent
        render.image_settings.file_format = "PNG"
        render.image_settings.color_mode = "RGBA" if transparent else "RGB"
        shading.light, shading.single_color = "STUDIO", BODY_COLOUR
        shading.color_type = "OBJECT" if also else "SINGLE"
        yield render
    finally:
        body.color = body_colour
        for obj, was in zip(hidden, visible):
            obj.hide_render = was
        for owner, name, value in saved:
            setattr(owner, name, value)


@contextmanager
def temporary_camera(scene: bpy.types.Scene, name: str) -> Iterator[bpy.types.Object]:
    """A camera object linked to ``scene`` for the duration; removed with its data after."""
    data = bpy.data.cameras.new(name)
    camera = bpy.data.objects.new(name, data)
    scene.collection.objects.link(camera)
    try:
        yield camera
    finally:
        bpy.data.objects.remove(camera)
        bpy.data.cameras.remove(data)


def _frame_body(camera: bpy.types.Object, avatar, azimuth_deg: float) -> None:
    """Aim ``camera`` (50 mm on a square 36 mm sensor) at the body from the front-right."""
    from mathutils import Vector

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
    data = camera.data
    data.lens, data.sensor_width, data.sensor_fit = 50.0, 36.0, "VERTICAL"
    data.sensor_height = 36.0
    camera.location = centre + direction * (height * 1.25 * 50.0 / 36.0)
    camera.rotation_euler = (centre - camera.location).to_track_quat("-Z", "Y").to_euler()


def _output(out_path: str | Path) -> Path:
    out_path = Path(out_path).resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return out_path


def _copy(value):
    """A setting's value, detached from Blender (a colour is a live view of the setting)."""
    return tuple(value) if isinstance(value, Color) else value


def _composite(layer_path: Path, photo: bpy.types.Image | None, out_path: Path) -> None:
    """Alpha-blend the rendered body (RGBA PNG) over the photo scaled to the same size."""
    layer = bpy.data.images.load(str(layer_path))
    try:
        width, height = layer.size
        body = image_pixels(layer)
    finally:
        bpy.data.images.remove(layer)
    if photo is not None:
        scaled = photo.copy()
        try:
            scaled.scale(width, height)
            background = on_grey(image_pixels(scaled)) / 255.0  # as the fit saw the photo
        finally:
            bpy.data.images.remove(scaled)
    else:
        background = np.full((height, width, 3), 0.5)
    alpha = body[..., 3:] * BODY_OPACITY
    blended = body[..., :3] * alpha + background * (1 - alpha)
    out = bpy.data.images.new("smplify_preview", width, height, alpha=False)
    try:
        set_image_pixels(out, np.concatenate([blended, np.ones_like(alpha)], axis=-1))
        out.filepath_raw = str(out_path)
        out.file_format = "PNG"
        out.save()
    finally:
        bpy.data.images.remove(out)
