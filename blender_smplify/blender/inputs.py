"""What the panel's settings mean: the photo, the body model and the focal length to use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..core.errors import ImageError, ModelFileError
from ..core.fit_result import FitResult
from . import pipeline
from .preferences import get_preferences


@dataclass
class Inputs:
    """Resolved settings of one run."""

    image_path: Path
    gender: str
    model_path: str | None
    focal_length: float | None
    threads: int | None = None

    @property
    def key(self) -> str:
        return str(self.image_path)


def resolve(context: bpy.types.Context) -> Inputs:
    """Read ``Scene.smplify`` and the preferences; raise SmplifyError naming what is missing."""
    settings = context.scene.smplify
    if settings.image_source == "IMAGE":
        image = settings.image
        if image is None:
            raise ImageError("choose an image in the SMPLify panel")
        path = bpy.path.abspath(image.filepath, library=image.library) if image.filepath else ""
        if not path or not Path(path).is_file():
            raise ImageError(f"image '{image.name}' has no file on disk; save it first")
    else:
        path = bpy.path.abspath(settings.image_path)
        if not settings.image_path:
            raise ImageError("choose a photo in the SMPLify panel")
        if not Path(path).is_file():
            raise ImageError(f"{path}: no such file")
    model_path = None
    if settings.model_source == "SMPL":
        preferences = get_preferences(context)
        model_path = (
            getattr(preferences, f"smpl_{settings.gender}_path", "") if preferences else ""
        )
        if not model_path:
            raise ModelFileError(
                f"no SMPL {settings.gender} model file set: choose it in "
                "Preferences > Add-ons > SMPLify, or use the open model"
            )
        model_path = bpy.path.abspath(model_path)
    focal = settings.focal_length if settings.focal_mode == "MANUAL" else None
    preferences = get_preferences(context)
    threads = preferences.threads or None if preferences is not None else None
    return Inputs(Path(path).resolve(), settings.gender, model_path, focal, threads)


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


def store_result(settings, key: str, result: pipeline.FitJobResult) -> None:
    """Keep the detection and fit on the scene (saved with the .blend)."""
    settings.keypoints_json = pipeline.keypoints_to_json(result.keypoints, result.image_size)
    settings.keypoints_key = key
    settings.fit_json = json.dumps(result.fit.to_dict())
    settings.fit_key = key
    settings.status = pipeline.status_line(result)
