"""What the panel's settings mean: the photo, the body model and the focal length to use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import ImageError, ModelFileError
from ..core.fit_result import FitResult
from ..core.image_io import check_size
from . import pipeline
from .preferences import get_preferences


@dataclass
class Inputs:
    """Resolved settings of one run: the photo is a file, or a Blender image without one."""

    image_path: Path | None
    gender: str
    model_path: str | None
    focal_length: float | None
    threads: int | None = None
    image: bpy.types.Image | None = None

    @property
    def key(self) -> str:
        """Which avatar a result belongs to (as build_rig.avatar_key names it)."""
        return str(self.image_path) if self.image_path else f"name:{self.image.name}"

    @property
    def label(self) -> str:
        return self.image_path.name if self.image_path else self.image.name

    def pixels(self) -> np.ndarray:
        """The photo as (H, W, 3) uint8 RGB (read on the main thread: it may touch bpy)."""
        if self.image_path is not None:
            return pipeline.load_image(self.image_path)
        return image_pixels(self.image)


def image_pixels(image: bpy.types.Image) -> np.ndarray:
    """A Blender image's pixels as (H, W, 3) uint8 RGB, top row first."""
    width, height = image.size
    if width < 8 or height < 8:
        raise ImageError(f"image '{image.name}' is empty or too small ({width} x {height})")
    check_size(f"image '{image.name}'", width, height)  # the limits a photo file has
    buffer = np.empty(width * height * image.channels, dtype=np.float32)
    image.pixels.foreach_get(buffer)
    values = buffer.reshape(height, width, image.channels)[::-1]
    rgb = values[..., :3] if image.channels >= 3 else np.repeat(values[..., :1], 3, axis=2)
    if image.is_float:  # float buffers are linear: encode to sRGB like the files the fit saw
        rgb = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * np.power(rgb, 1 / 2.4) - 0.055)
    return np.ascontiguousarray(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))


def resolve(context: bpy.types.Context) -> Inputs:
    """Read ``Scene.smplify`` and the preferences; raise SmplifyError naming what is missing."""
    settings = context.scene.smplify
    image = None
    if settings.image_source == "IMAGE":
        image = settings.image
        if image is None:
            raise ImageError("choose an image in the SMPLify panel")
        path = bpy.path.abspath(image.filepath, library=image.library) if image.filepath else ""
        if image.packed_file is not None or not path or not Path(path).is_file():
            path = ""  # packed, generated or pasted: use its pixels
    else:
        path = bpy.path.abspath(settings.image_path)
        if not settings.image_path:
            raise ImageError("choose a photo in the SMPLify panel")
        if not Path(path).is_file():
            raise ImageError(f"{path}: no such file")
    model_path = smpl_model_path(context, settings.gender)
    focal = settings.focal_length if settings.focal_mode == "MANUAL" else None
    preferences = get_preferences(context)
    threads = preferences.threads or None if preferences is not None else None
    image_path = Path(path).resolve() if path else None
    return Inputs(image_path, settings.gender, model_path, focal, threads, image)


def smpl_model_path(context: bpy.types.Context, gender: str) -> str | None:
    """The user's SMPL file of ``gender`` (None with the open model); SmplifyError if unset."""
    if context.scene.smplify.model_source != "SMPL":
        return None
    preferences = get_preferences(context)
    model_path = getattr(preferences, f"smpl_{gender}_path", "") if preferences else ""
    if not model_path:
        raise ModelFileError(
            f"no SMPL {gender} model file set: choose it in "
            "Preferences > Add-ons > SMPLify, or use the open model"
        )
    return bpy.path.abspath(model_path)


def model_for(inputs: Inputs):
    return pipeline.load_model(inputs.gender, inputs.model_path)


def stored_keypoints(settings, key: str):
    """The last detection if it belongs to this photo, else None."""
    if settings.keypoints_key != key or not settings.keypoints_json:
        return None
    from ..core.keypoints import Keypoints2D

    data = json.loads(settings.keypoints_json)
    return Keypoints2D(data["layout"], data["xy"], data["confidence"])


def stored_fit(settings, key: str) -> FitResult | None:
    """The last fit if it belongs to this photo, else None."""
    if settings.fit_key != key or not settings.fit_json:
        return None
    return FitResult.from_dict(json.loads(settings.fit_json))


def store_result(
    settings, key: str, result: pipeline.FitJobResult, model_path: str | None = None
) -> None:
    """Keep the detection and fit, and the model file it used, on the scene (in the .blend)."""
    settings.keypoints_json = pipeline.keypoints_to_json(result.keypoints, result.image_size)
    settings.keypoints_key = key
    settings.fit_json = json.dumps(result.fit.to_dict())
    settings.fit_key = key
    settings.fit_model = model_path or ""
    settings.status = pipeline.status_line(result)
