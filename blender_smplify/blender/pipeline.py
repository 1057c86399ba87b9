"""Photo to avatar as plain function calls: load, detect, fit (bpy-free), then build (bpy).

:func:`photo_to_avatar` is the Python API behind the panel's button, ``python -m blender_smplify
build`` and ``blender -b -c smplify``. The detection and fitting half (:func:`detect_and_fit`)
touches no Blender data, so the modal operator runs it in a worker thread.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import KeypointsError, SmplifyError
from ..core.fit_result import FitResult
from ..core.keypoints import Keypoints2D

log = logging.getLogger(__name__)

_models: dict[tuple, object] = {}
_detectors: dict[int, object] = {}


@dataclass
class FitJobResult:
    """What detection and fitting produced, before anything is built."""

    fit: FitResult
    keypoints: Keypoints2D
    image_size: tuple[int, int]
    seconds: dict[str, float] = field(default_factory=dict)


def load_model(gender: str = "neutral", path: str | Path | None = None):
    """The body model (cached per file, gender and modification time); path None: open model."""
    from ..core.body_model import BodyModel, open_model_path

    file = Path(path) if path else open_model_path(gender)
    stamp = file.stat().st_mtime_ns if file.is_file() else None
    key = (str(file.resolve()) if path else None, gender, stamp)
    if key not in _models:
        _models[key] = BodyModel.load(path=path or None, gender=gender)
    return _models[key]


def load_image(path: str | Path) -> np.ndarray:
    """The photo as (H, W, 3) uint8 RGB, EXIF orientation applied (core image loader)."""
    from ..core.image_io import load_image as core_load_image

    return core_load_image(path)


def detector(threads: int | None = None):
    """The joint detector (its onnxruntime sessions are created once)."""
    from ..core import detector as detector_module

    key = threads or 0
    if key not in _detectors:
        _detectors[key] = detector_module.JointDetector(threads=threads)
    return _detectors[key]


def read_keypoints(path: str | Path) -> Keypoints2D:
    """Keypoints from JSON ``{"layout": ..., "xy": [[x, y], ...], "confidence": [...]}``."""
    try:
        data = json.loads(Path(path).read_text())
        return Keypoints2D(data["layout"], np.asarray(data["xy"]), np.asarray(data["confidence"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise KeypointsError(f"{path}: not a keypoints JSON file ({error})") from None


def keypoints_to_json(keypoints: Keypoints2D, image_size: tuple[int, int]) -> str:
    """Inverse of :func:`read_keypoints` (plus the image size)."""
    return json.dumps(
        {
            "layout": keypoints.layout,
            "xy": np.asarray(keypoints.xy).tolist(),
            "confidence": np.asarray(keypoints.confidence).tolist(),
            "image_size": [int(image_size[0]), int(image_size[1])],
        }
    )


def focal_for(image_path: str | Path | None, image_size: tuple[int, int], focal: float | None):
    """Focal length in pixels: the given one, else from EXIF, else None (the fit's default)."""
    if focal:
        return float(focal)
    if image_path is None:
        return None
    from ..core.camera import focal_from_exif

    return focal_from_exif(image_path, image_size)


def detect_and_fit(
    model,
    image: np.ndarray | None,
    *,
    image_size: tuple[int, int] | None = None,
    image_path: str | Path | None = None,
    keypoints: Keypoints2D | None = None,
    focal_length: float | None = None,
    progress: Callable[[float, str], bool] | None = None,
    threads: int | None = None,
) -> FitJobResult:
    """Detect 2D joints (unless given) and fit the body model; bpy-free, thread-safe.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB, or None when ``keypoints`` and ``image_size`` are given.
    progress : called with (fraction done, message); returning False cancels (FitCancelled).
    threads : detector threads (None: onnxruntime's default).
    """
    from ..core import fit as fit_module
    from ..core.errors import FitCancelled
    from ..core.fit_result import STATUS_CANCELLED

    seconds: dict[str, float] = {}
    report = progress or (lambda fraction, message: True)
    if image is None and (keypoints is None or image_size is None):
        raise KeypointsError("without an image, both keypoints and image_size are needed")
    if image_size is None:
        image_size = (int(image.shape[1]), int(image.shape[0]))
    if keypoints is None:
        if not report(0.05, "detecting joints"):
            raise FitCancelled("cancelled before detection")
        start = time.perf_counter()
        keypoints = detector(threads).detect(image).keypoints
        seconds["detect"] = time.perf_counter() - start
    if not report(0.2, "fitting"):
        raise FitCancelled("cancelled before fitting")
    focal = focal_for(image_path, image_size, focal_length)
    stages = tuple(getattr(fit_module, "STAGE_NAMES", ()))

    def callback(stage, iteration, energy) -> bool:
        done = (int(stage) + 0.5) / len(stages) if stages else 0.5
        name = stages[int(stage)] if stages else str(stage)
        fraction = 0.2 + 0.75 * min(done, 1.0)
        return report(fraction, f"fitting: {name}, iteration {iteration}, energy {energy:.4g}")

    start = time.perf_counter()
    result = fit_module.fit(model, keypoints, image_size, focal_length=focal, callback=callback)
    seconds["fit"] = time.perf_counter() - start
    if result.status == STATUS_CANCELLED:
        raise FitCancelled("the fit was cancelled")
    return FitJobResult(result, keypoints, image_size, seconds)


def status_line(result: FitJobResult) -> str:
    """One-line summary for the panel and the command line."""
    fit = result.fit
    parts = [f"energy {fit.total_energy:.4g}"]
    parts += [f"{name} {1000 * s:.0f} ms" for name, s in result.seconds.items()]
    parts += list(fit.warnings)
    return ", ".join(parts)


@dataclass
class PhotoResult:
    """What :func:`photo_to_avatar` made."""

    avatar: object
    fit: FitResult
    keypoints: Keypoints2D
    seconds: dict[str, float]
    status: str


def photo_to_avatar(
    image_path: str | Path,
    *,
    gender: str = "neutral",
    model_path: str | Path | None = None,
    focal_length: float | None = None,
    keypoints: Keypoints2D | str | Path | None = None,
    scene=None,
    blend_path: str | Path | None = None,
    render_path: str | Path | None = None,
) -> PhotoResult:
    """Photo in, avatar (camera, rig, skinned body) in the current Blender scene out.

    Optionally saves the .blend (a copy; the open file keeps its name) and a preview render of the
    body over the photo through the fitted camera. Raises SmplifyError on bad input.
    """
    from . import build_rig

    start = time.perf_counter()
    image_path = Path(image_path)
    if not image_path.is_file():
        raise SmplifyError(f"{image_path}: no such image file")
    model = load_model(gender, model_path)
    loaded = time.perf_counter()
    image = load_image(image_path)
    if isinstance(keypoints, (str, Path)):
        keypoints = read_keypoints(keypoints)
    result = detect_and_fit(
        model, image, image_path=image_path, keypoints=keypoints, focal_length=focal_length
    )
    seconds = {
        "model": loaded - start,
        "image": time.perf_counter() - loaded - sum(result.seconds.values()),
    }
    seconds.update(result.seconds)
    start_build = time.perf_counter()
    avatar = build_rig.build(result.fit, model, image_path=image_path, pixels=image, scene=scene)
    seconds["build"] = time.perf_counter() - start_build
    if blend_path:
        save_blend(blend_path)
    if render_path:
        from .render import render_preview

        start_render = time.perf_counter()
        render_preview(avatar, render_path, scene=scene)
        seconds["render"] = time.perf_counter() - start_render
    status = status_line(result)
    log.info("%s: %s", image_path.name, status)
    return PhotoResult(avatar, result.fit, result.keypoints, seconds, status)


def new_file() -> None:
    """Start an empty Blender file (add-ons and preferences stay as they are)."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)


def save_blend(path: str | Path) -> None:
    """Save the current file as a copy at ``path`` (folders created)."""
    import bpy

    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False)
