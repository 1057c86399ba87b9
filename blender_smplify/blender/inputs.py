"""What the panel's settings mean (the photo, the body model, the focal length), and the panel's
door into ``core.pipeline``: :func:`fit_job`, which the Fit and Photo to avatar buttons run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..core import pipeline as core_pipeline
from ..core.errors import ImageError, ModelFileError
from ..core.fit_result import FitResult
from ..core.keypoints import Keypoints2D
from ..core.pipeline import FitInputs, FitJobResult, Progress
from ..core.world_landmarks import WorldLandmarks
from .image_io import image_decoder, load_image, photo_pixels
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
    height: float | None = None  # the person's known stature, metres
    silhouette: bool | None = None  # fit the detected outline; None: the pipeline's default

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
            return load_image(self.image_path)
        return photo_pixels(self.image)


def prepare(
    run: Inputs,
    keypoints: Keypoints2D | str | Path | None = None,
    world: WorldLandmarks | None = None,
) -> FitInputs:
    """``core.pipeline.prepare`` on the panel's inputs (main thread: the photo may be a Blender
    image, and Blender's decoder may read the file); ``world``: the stored detection's world
    landmarks."""
    return core_pipeline.prepare(
        run.image_path,
        gender=run.gender,
        model_path=run.model_path,
        focal_length=run.focal_length,
        keypoints=keypoints,
        pixels=None if run.image_path is not None else photo_pixels(run.image),
        decode=image_decoder(),
        need_image=True,
        world=world,
        height=run.height,
        silhouette=run.silhouette,
    )


def fit_job(
    run: Inputs,
    keypoints: Keypoints2D | str | Path | None = None,
    world: WorldLandmarks | None = None,
) -> Callable[[Progress], FitJobResult]:
    """The panel's fit: read and check the inputs now, and return the work (detect unless
    ``keypoints`` are given, then fit; with their ``world`` landmarks when stored with them)
    that a worker thread runs with a progress callback."""
    inputs = prepare(run, keypoints, world)
    return lambda progress: core_pipeline.detect_and_fit(
        inputs, progress=progress, threads=run.threads
    )


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
    height = known_height(settings.height_cm)
    return Inputs(
        image_path,
        settings.gender,
        model_path,
        focal,
        threads,
        image,
        height,
        settings.fit_outline,
    )


def known_height(height_cm: float) -> float | None:
    """The panel's "Height (cm)" in metres; 0 means unknown (None). Other values go to
    ``core.pipeline.prepare`` as they are, which refuses implausible ones."""
    return None if height_cm == 0 else height_cm / 100.0


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
    return core_pipeline.load_model(inputs.gender, inputs.model_path)


def stored_keypoints(settings, key: str) -> tuple[Keypoints2D | None, WorldLandmarks | None]:
    """The last detection (keypoints, BlazePose's world landmarks or None) if it belongs to
    this photo, else (None, None): what a new fit of the photo takes (``prepare(world=)``)."""
    if settings.keypoints_key != key or not settings.keypoints_json:
        return None, None
    data = json.loads(settings.keypoints_json)
    keypoints, _ = Keypoints2D.from_dict(data)
    world, detected = stored_landmarks(data)
    return keypoints, world if detected is None else detected


def stored_evidence(settings, key: str) -> tuple[WorldLandmarks | None, WorldLandmarks | None]:
    """The world landmarks the photo's last fit used and BlazePose's own that it got as
    ``detected`` (``FitJobResult.world``, ``.detected_world``; None where none, or where the
    scene's detection belongs to another photo)."""
    if settings.keypoints_key != key or not settings.keypoints_json:
        return None, None
    return stored_landmarks(json.loads(settings.keypoints_json))


def stored_landmarks(data: dict) -> tuple[WorldLandmarks | None, WorldLandmarks | None]:
    """The "world" and "detected" entries (``WorldLandmarks.to_dict`` or null, or absent) of a
    stored detection or an avatar's stored evidence, read."""
    return tuple(
        None if data.get(name) is None else WorldLandmarks.from_dict(data[name])
        for name in ("world", "detected")
    )


def stored_fit(settings, key: str) -> FitResult | None:
    """The last fit if it belongs to this photo, else None."""
    if settings.fit_key != key or not settings.fit_json:
        return None
    return FitResult.from_dict(json.loads(settings.fit_json))


def store_keypoints(
    settings,
    key: str,
    keypoints: Keypoints2D,
    image_size,
    world: WorldLandmarks | None = None,
    detected: WorldLandmarks | None = None,
) -> None:
    """Keep a detection on the scene (in the .blend), in ``Keypoints2D.to_dict``'s form with
    its world landmarks under "world" (``WorldLandmarks.to_dict``) when there are any; after a
    fit, "world" holds the landmarks the fit used and "detected" BlazePose's own where the
    lifter's points replaced them (``FitJobResult.detected_world``)."""
    data = keypoints.to_dict(image_size)
    if world is not None:
        data["world"] = world.to_dict()
    if detected is not None:
        data["detected"] = detected.to_dict()
    settings.keypoints_json = json.dumps(data)
    settings.keypoints_key = key


def store_result(settings, key: str, result: FitJobResult, model_path: str | None = None) -> None:
    """Keep the detection and fit, and the model file it used, on the scene (in the .blend)."""
    store_keypoints(
        settings, key, result.keypoints, result.image_size, result.world, result.detected_world
    )
    settings.fit_json = json.dumps(result.fit.to_dict())
    settings.fit_key = key
    settings.fit_model = model_path or ""
    settings.status = core_pipeline.status_line(result)
