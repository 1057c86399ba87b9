"""Photo to avatar in Blender: the core's photo-to-fit door (``core.pipeline``), then the build.

:func:`photo_to_avatar` is the Python API behind ``python -m blender_smplify build`` and
``blender -b -c smplify``; the panel's buttons take the same door through
:func:`.inputs.fit_job`. Everything before the build is the bpy-free ``core.pipeline``; this
module adds Blender's image decoder, the scene build, the .blend and the preview render.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import pipeline as core_pipeline
from ..core.fit_result import FitResult
from ..core.keypoints import Keypoints2D
from ..core.pipeline import FitJobResult, detector, load_model, status_line
from .image_io import image_decoder, load_image

__all__ = [
    "FitJobResult",
    "PhotoResult",
    "detector",
    "load_image",
    "load_model",
    "new_file",
    "photo_to_avatar",
    "save_blend",
    "status_line",
]

log = logging.getLogger(__name__)


@dataclass
class PhotoResult:
    """What :func:`photo_to_avatar` made."""

    avatar: object
    fit: FitResult
    keypoints: Keypoints2D
    seconds: dict[str, float]
    status: str
    exported: list[Path] = field(default_factory=list)


def photo_to_avatar(
    image_path: str | Path,
    *,
    gender: str = "neutral",
    model_path: str | Path | None = None,
    focal_length: float | None = None,
    keypoints: Keypoints2D | str | Path | None = None,
    height: float | None = None,
    girths: dict[str, float] | None = None,
    silhouette: bool | None = None,
    scene=None,
    blend_path: str | Path | None = None,
    render_path: str | Path | None = None,
    rest_pose: str | None = None,
    export_path: str | Path | None = None,
    skeleton: str = "smpl",
) -> PhotoResult:
    """Photo in, avatar (camera, rig, skinned body) in the current Blender scene out.

    The inputs are read and checked by ``core.pipeline.prepare`` exactly as for ``python -m
    blender_smplify fit``. Optionally saves the .blend (a copy; the open file keeps its name) and
    a preview render of the body over the photo through the fitted camera. ``height`` and
    ``girths``: the person's known stature and girths in metres; ``silhouette``: fit the
    detected person's outline (None: ``core.pipeline.SILHOUETTE_FROM_MASK``). Raises
    SmplifyError on bad input.
    """
    from . import build_rig

    inputs = core_pipeline.prepare(
        image_path,
        gender=gender,
        model_path=model_path,
        focal_length=focal_length,
        keypoints=keypoints,
        decode=image_decoder(),
        need_image=True,
        height=height,
        girths=girths,
        silhouette=silhouette,
    )
    result = core_pipeline.detect_and_fit(inputs)
    seconds = dict(result.seconds)
    start = time.perf_counter()
    avatar = build_rig.build(
        result.fit, inputs.model, image_path=inputs.image_path, pixels=inputs.image, scene=scene
    )
    seconds["build"] = time.perf_counter() - start
    exported = _garment_steps(avatar, rest_pose, export_path, skeleton, seconds)
    if blend_path:
        save_blend(blend_path)
    if render_path:
        from .render import render_preview

        start = time.perf_counter()
        render_preview(avatar, render_path, scene=scene)
        seconds["render"] = time.perf_counter() - start
    status = status_line(result)
    log.info("%s: %s", inputs.image_path.name, status)
    return PhotoResult(avatar, result.fit, result.keypoints, seconds, status, exported)


def _garment_steps(avatar, rest_pose, export_path, skeleton, seconds) -> list[Path]:
    """Rest the rig in ``rest_pose`` and export it, as asked; returns the files written."""
    from ..core.export_presets import DEFAULT_REST
    from .export import export_avatar
    from .rest_switch import switch_rest

    if rest_pose:
        switch_rest(avatar.armature, avatar.body, rest_pose)
    if not export_path:
        return []
    start = time.perf_counter()
    result = export_avatar(
        avatar.armature, export_path, skeleton=skeleton, rest_pose=rest_pose or DEFAULT_REST
    )
    seconds["export"] = time.perf_counter() - start
    return result.paths


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
