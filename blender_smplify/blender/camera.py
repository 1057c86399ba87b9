"""The fit's pinhole camera as a Blender camera, with the photo as its background."""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np

from ..core.fit_result import FitResult
from ..core.image_io import exif_orientation

#: Sensor width in millimetres; any value works as the lens is scaled with it.
SENSOR_WIDTH_MM = 36.0
#: custom property of the camera: the photo's (width, height) in pixels
RESOLUTION_PROP = "smplify_resolution"
#: custom property of an upright copy of an EXIF-rotated photo: the photo file's path
SOURCE_PROP = "smplify_source"


def camera_settings(fit: FitResult) -> dict[str, float]:
    """Lens, sensor and shift that reproduce the fit's pinhole (focal and principal point in px).

    With ``sensor_fit = 'HORIZONTAL'`` the sensor width spans the image width, so a focal length
    f in pixels is ``f * sensor / W`` millimetres, and Blender's shifts are fractions of the
    width: the principal point (cx, cy) (pixels, y down) sits at the optical axis.
    """
    width, height = (int(v) for v in fit.image_size)
    cx, cy = (float(v) for v in fit.principal_point)
    return {
        "lens": float(fit.focal_length) * SENSOR_WIDTH_MM / width,
        "sensor_width": SENSOR_WIDTH_MM,
        "sensor_height": SENSOR_WIDTH_MM * height / width,
        "shift_x": (width / 2.0 - cx) / width,
        "shift_y": (cy - height / 2.0) / width,
    }


def build_camera(
    fit: FitResult,
    camera_obj: bpy.types.Object | None,
    name: str,
    collection: bpy.types.Collection,
    image: bpy.types.Image | None,
    scene: bpy.types.Scene,
) -> bpy.types.Object:
    """Create or update the camera object at the origin looking along +y (z up).

    The scene's render resolution is set to the photo's size, since the camera's field of view
    is defined through it.
    """
    if camera_obj is None:
        camera_obj = bpy.data.objects.new(name, bpy.data.cameras.new(name))
        collection.objects.link(camera_obj)
    cam = camera_obj.data
    cam.type = "PERSP"
    cam.lens_unit = "MILLIMETERS"
    cam.sensor_fit = "HORIZONTAL"
    for key, value in camera_settings(fit).items():
        setattr(cam, key, value)
    cam.clip_start, cam.clip_end = 0.05, 1000.0
    # Blender cameras look along local -z with local +y up: local (x, y, z) -> world (x, z, -y)
    camera_obj.location = (0.0, 0.0, 0.0)
    camera_obj.rotation_mode = "XYZ"
    camera_obj.rotation_euler = (math.pi / 2, 0.0, 0.0)
    camera_obj[RESOLUTION_PROP] = [int(v) for v in fit.image_size]
    use_camera(camera_obj, scene)
    if image is not None:
        cam.show_background_images = True
        background = cam.background_images[0] if cam.background_images else None
        if background is None:
            background = cam.background_images.new()
        background.source = "IMAGE"
        background.image = image
        background.alpha = 1.0
        background.display_depth = "BACK"
        background.frame_method = "STRETCH"
    return camera_obj


def use_camera(camera_obj: bpy.types.Object, scene: bpy.types.Scene) -> None:
    """Look through an avatar's camera: make it the scene camera with its photo's resolution.

    The render resolution is the scene's, so after building avatars of photos of other sizes
    this restores the one this camera's field of view was made for.
    """
    scene.camera = camera_obj
    width, height = camera_obj[RESOLUTION_PROP]
    scene.render.resolution_x, scene.render.resolution_y = int(width), int(height)
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0


def load_photo(path: str | Path, pixels: np.ndarray | None = None) -> bpy.types.Image:
    """The photo as a Blender image (reused when already loaded), upright.

    Blender's loader ignores the EXIF orientation of phone photos. When the file has one, the
    upright pixels (H, W, 3) uint8 (``pixels`` as the fit saw them, else read here) are stored
    in the .blend instead (packed, one image per photo file), so the camera background matches
    the fit.
    """
    path = Path(path).resolve()
    if exif_orientation(path.read_bytes()[: 1 << 20]) == 1:
        return bpy.data.images.load(str(path), check_existing=True)
    if pixels is None:
        from .image_io import load_image  # the core's loader, with Blender's decoder if needed

        pixels = load_image(path)
    height, width = pixels.shape[:2]
    upright = next((i for i in bpy.data.images if i.get(SOURCE_PROP) == str(path)), None)
    if upright is None:
        upright = bpy.data.images.new(f"{path.stem} (upright)", width, height, alpha=False)
        upright[SOURCE_PROP] = str(path)
    elif tuple(upright.size) != (width, height):  # the file was edited since
        upright.scale(width, height)
    rgba = np.concatenate([pixels[::-1] / 255.0, np.ones((height, width, 1))], axis=2)
    upright.pixels.foreach_set(rgba.astype(np.float32).ravel())  # Blender rows go bottom-up
    upright.pack()
    return upright
