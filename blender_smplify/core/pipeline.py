"""Photo to fit as plain function calls, without Blender: the one door every front end uses.

``python -m blender_smplify fit``, ``python -m blender_smplify build`` (and ``blender -c
smplify``) and the panel's buttons all go through the same two steps, so the same input gets the
same answer, and the same error, from each:

1. :func:`prepare` reads and checks the inputs, in this order: the focal length, the keypoints
   file, the photo, the body model. It may touch Blender (the photo's decoder is passed in), so
   the panel runs it on the main thread.
2. :func:`detect_and_fit` detects the 2D joints (unless keypoints were given) and fits the body
   model. It touches only plain data, so the panel runs it in a worker thread.

:func:`fit_photo` is both in one call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np

from .body_model import BodyModel, open_model_path
from .camera import check_focal, choose_focal, principal_point
from .errors import FitCancelled, ImageError, KeypointsError, SmplifyError, naming
from .fit_result import FitResult
from .image_io import Decoder, load_image
from .keypoints import Keypoints2D, read_keypoints
from .known_measurements import check_girths, check_height
from .lifter import LiftedPoints, lift_keypoints, world_of
from .person_mask import refined_silhouette
from .silhouette import Silhouette
from .world_landmarks import WorldLandmarks

#: The fit's 3D evidence for blazepose33 keypoints (detected, stored or read from a file): the
#: learned lifter's points (``lifter.lifted_world``) instead of BlazePose's world landmarks. On
#: the 360 rendered photos (``benchmarks/studies/lifter.py``, docs/fit_lifter.md): PA-MPJPE
#: median / p90 70 / 133 → 66 / 119 mm, limb segments backwards 13.8 → 11.3 %, facing right
#: 216/216 both.
WORLD_FROM_LIFTER = True

#: Fit the detected person's outline too (``silhouette.py``), when the keypoints were detected
#: here (a keypoints file has no mask); ``prepare(silhouette=)``, ``--silhouette`` and the
#: panel's "Fit the outline (tight clothing)" override it per fit. Off (docs/fit_silhouette.md,
#: "Silhouette", "The default"): on 100 LSP photos it moves clothed people's girths by
#: -20 to +17 cm (p10 / p90; loose clothes widen the body, +33 to +44 cm of waist); on 300 it
#: costs 28 ms (CPU median 79 -> 107 ms) and doubles "explains poorly" (35 -> 78); its gain on
#: the rendered benchmark is small (report half PA-MPJPE median 62 -> 59 mm).
SILHOUETTE_FROM_MASK = False

#: The photo's own depth-sign network (``depth_sign.py``) votes in the fit's depth search
#: where BlazePose's landmarks vote (detected blazepose33 keypoints) and the photo is at hand
#: (``fit(image_votes=)``).
IMAGE_DEPTH_SIGNS = False

#: progress(fraction done, message) -> False to cancel
Progress = Callable[[float, str], bool]

_models: dict[tuple, BodyModel] = {}
_detectors: dict[int, object] = {}


def load_model(gender: str = "neutral", path: str | os.PathLike | None = None) -> BodyModel:
    """The body model (cached per file, gender and modification time); path None: open model."""
    file = Path(path) if path else open_model_path(gender)
    stamp = file.stat().st_mtime_ns if file.is_file() else None
    key = (str(file.resolve()) if path else None, gender, stamp)
    if key not in _models:
        _models[key] = BodyModel.load(path=path or None, gender=gender)
    return _models[key]


def detector(threads: int | None = None):
    """The joint detector, a ``core.detector.JointDetector`` (its sessions are made once)."""
    from .detector import JointDetector

    key = threads or 0
    if key not in _detectors:
        _detectors[key] = JointDetector(threads=threads)
    return _detectors[key]


@cache
def depth_signs():
    """The image's depth-sign network, a ``core.depth_sign.DepthSign`` (made once)."""
    from .depth_sign import DepthSign

    return DepthSign()


@dataclass(frozen=True)
class FitInputs:
    """One photo's inputs, read and checked: plain data that a worker thread may take.

    Attributes
    ----------
    model : the body model.
    image : (H, W, 3) uint8 RGB, or None when keypoints with an image size were given for a
        photo file that does not exist (``fit`` needs no photo then).
    image_size : (width, height) in pixels.
    image_path : the photo file, or None (an image without a file, in Blender).
    keypoints : the keypoints to fit, or None to detect them.
    focal_length : pixels.
    focal_source : where the focal length came from (see ``camera.choose_focal``).
    keypoints_source : "detected", or where the given keypoints came from.
    seconds : time spent reading each input ("keypoints", "image", "model").
    world : BlazePose's world landmarks that came with the given keypoints (a stored
        detection), or None; detected keypoints bring their own.
    height : the person's known stature in metres, or None.
    girths : known girths in metres ({"chest_girth": ..., ...}; empty: none).
    silhouette : fit the detected person's outline too (``silhouette.py``; detected keypoints
        only: a keypoints file has no mask).
    """

    model: BodyModel
    image: np.ndarray | None
    image_size: tuple[int, int]
    image_path: Path | None
    keypoints: Keypoints2D | None
    focal_length: float
    focal_source: str
    keypoints_source: str = "detected"
    seconds: dict[str, float] = field(default_factory=dict)
    world: WorldLandmarks | None = None
    height: float | None = None
    girths: dict[str, float] = field(default_factory=dict)
    silhouette: bool = False


@dataclass
class FitJobResult:
    """What detection and fitting produced, before anything is built.

    ``seconds`` holds the time of every step, reading the inputs included; ``world`` the world
    landmarks the fit used (None: from keypoints alone); ``silhouette`` the person mask it used
    (None: none); ``detected_world`` BlazePose's own world landmarks where the lifter's points
    replaced them as ``world``: the fit got them as ``detected`` (they vote in its depth
    search, ``depth_search.detector_votes``); None where it got none (keypoints given without
    landmarks, another layout, or ``WORLD_FROM_LIFTER`` off).
    """

    fit: FitResult
    keypoints: Keypoints2D
    image_size: tuple[int, int]
    seconds: dict[str, float] = field(default_factory=dict)
    focal_source: str = ""
    keypoints_source: str = "detected"
    world: WorldLandmarks | None = None
    silhouette: Silhouette | None = None
    detected_world: WorldLandmarks | None = None


def prepare(
    image_path: str | os.PathLike | None,
    *,
    gender: str = "neutral",
    model_path: str | os.PathLike | None = None,
    focal_length: float | None = None,
    keypoints: Keypoints2D | str | os.PathLike | None = None,
    pixels: np.ndarray | None = None,
    decode: Decoder | None = None,
    need_image: bool = False,
    world: WorldLandmarks | None = None,
    height: float | None = None,
    girths: dict[str, float] | None = None,
    silhouette: bool | None = None,
) -> FitInputs:
    """Read and check everything one fit needs; the first problem raises a SmplifyError.

    Parameters
    ----------
    image_path : the photo file (None only with ``pixels``).
    gender, model_path : the body model (``model_path`` None: the open model).
    focal_length : pixels, or None to take it from EXIF or the default field of view.
    keypoints : Keypoints2D, a keypoints JSON file (``Keypoints2D.from_dict``'s form), or None
        to detect them.
    pixels : (H, W, 3) uint8 RGB of the photo when the caller already has them (a Blender image
        without a file); the file is then not read.
    decode : the image decoder for ``image_io.load_image`` (None: Pillow).
    need_image : read the photo even when the keypoints carry the image size (``build`` puts it
        behind the camera); otherwise a missing photo is allowed then.
    world : the world landmarks detected with the given ``keypoints`` (a stored detection);
        None with a keypoints file.
    height, girths : the person's known stature and girths in metres
        (``known_measurements.check_height`` / ``check_girths``), or None.
    silhouette : fit the detected person's outline (True), or not (False); None:
        ``SILHOUETTE_FROM_MASK``.

    Returns
    -------
    FitInputs.
    """
    seconds = {}
    check_focal(focal_length)
    height, girths = check_height(height), check_girths(girths)
    keypoints_file, size_given = None, None
    if isinstance(keypoints, (str, os.PathLike)):
        start, keypoints_file = time.perf_counter(), keypoints
        keypoints, size_given = read_keypoints(keypoints_file)
        seconds["keypoints"] = time.perf_counter() - start
    image_path = Path(image_path) if image_path is not None else None
    image = pixels
    if image is None and image_path is None:
        raise ImageError("no photo given")
    if image is None and (need_image or size_given is None or image_path.exists()):
        start = time.perf_counter()
        image = load_image(image_path, decode=decode)
        seconds["image"] = time.perf_counter() - start
    image_size = size_given or (int(image.shape[1]), int(image.shape[0]))
    if image is not None and image_size != (image.shape[1], image.shape[0]):
        raise KeypointsError(
            f"{keypoints_file}: image_size {image_size[0]} x {image_size[1]} is not the size "
            f"of the photo, {image.shape[1]} x {image.shape[0]} pixels"
        )
    focal, focal_source = choose_focal(focal_length, image_path, image_size)
    start = time.perf_counter()
    model = load_model(gender, model_path)
    seconds["model"] = time.perf_counter() - start
    source = f"read from {keypoints_file}" if keypoints_file else "given"
    source = "detected" if keypoints is None else source
    return FitInputs(
        model,
        image,
        image_size,
        image_path,
        keypoints,
        focal,
        focal_source,
        source,
        seconds,
        world if keypoints is not None else None,
        height,
        girths,
        SILHOUETTE_FROM_MASK if silhouette is None else bool(silhouette),
    )


def detect(
    image: np.ndarray, image_path: Path | None = None, threads: int | None = None
) -> tuple[Keypoints2D, WorldLandmarks]:
    """The detector's keypoints and world landmarks on ``image``; errors name ``image_path``."""
    detection = _detection(image, image_path, threads)
    return detection.keypoints, WorldLandmarks.from_detection(detection)


def _detection(image: np.ndarray, image_path: Path | None, threads: int | None):
    try:
        return detector(threads).detect(image)
    except SmplifyError as error:
        raise naming(image_path, error) from None


def _image_votes(
    inputs: FitInputs, keypoints: Keypoints2D, detected: WorldLandmarks, lifted: LiftedPoints
) -> dict:
    """The photo's depth-sign votes (``depth_sign.DepthSign.votes``), from the lifter's sign
    head (of the ``lifted`` points) and BlazePose's landmarks besides the photo."""
    centre = principal_point(inputs.image_size)
    points = detected.in_camera(inputs.focal_length, centre)
    return depth_signs().votes(
        inputs.image, keypoints, lifted.segment_away_probability, points, detected.visibility
    )


#: Limb landmarks whose absence from the photo the user should hear about.
_LIMB_ENDS = tuple(
    f"{side}_{part}" for part in ("elbow", "wrist", "knee", "ankle") for side in ("left", "right")
)


def out_of_frame_warnings(keypoints: Keypoints2D, out_of_frame: np.ndarray) -> tuple[str, ...]:
    """A warning naming the elbows, wrists, knees and ankles the detector placed outside the
    photo (their pose comes from the prior, not from the photo); none when all are inside."""
    from .keypoints import get_layout

    names = get_layout(keypoints.layout).names
    outside = [
        n.replace("_", " ")
        for n in _LIMB_ENDS
        if n in names and bool(out_of_frame[names.index(n)])
    ]
    if not outside:
        return ()
    return (
        f"outside the photo: {', '.join(outside)} (guessed, not seen; use a photo that "
        "shows the whole body for a better fit)",
    )


def detect_and_fit(
    inputs: FitInputs, *, progress: Progress | None = None, threads: int | None = None
) -> FitJobResult:
    """Detect 2D joints (unless given) and fit the body model; bpy-free, thread-safe.

    Parameters
    ----------
    inputs : from :func:`prepare`.
    progress : called with (fraction done, message); returning False cancels (FitCancelled).
    threads : detector threads (None: onnxruntime's default).

    Raises
    ------
    SmplifyError
        No person found, too few keypoints, ...: the message names the photo file.
    """
    from . import fit as fit_module
    from .fit_result import STATUS_CANCELLED

    report = progress or (lambda fraction, message: True)
    seconds = dict(inputs.seconds)
    keypoints, world = inputs.keypoints, inputs.world
    frame_notes: tuple[str, ...] = ()
    silhouette = None
    if keypoints is None:
        if not report(0.05, "detecting joints"):
            raise FitCancelled("cancelled before detection")
        start = time.perf_counter()
        detection = _detection(inputs.image, inputs.image_path, threads)
        keypoints, world = detection.keypoints, WorldLandmarks.from_detection(detection)
        frame_notes = out_of_frame_warnings(keypoints, detection.out_of_frame)
        if inputs.silhouette:
            silhouette = refined_silhouette(detection)
        seconds["detect"] = time.perf_counter() - start
    detected = None  # BlazePose's own landmarks, where the lifter's points replace them
    if WORLD_FROM_LIFTER and keypoints.layout == "blazepose33":
        detected = world
        centre = principal_point(inputs.image_size)
        lifted = lift_keypoints(keypoints, inputs.focal_length, centre)
        world = world_of(lifted)
    image_votes = None
    if IMAGE_DEPTH_SIGNS and detected is not None and inputs.image is not None:
        image_votes = _image_votes(inputs, keypoints, detected, lifted)
    if not report(0.2, "fitting"):
        raise FitCancelled("cancelled before fitting")
    stages = tuple(fit_module.STAGE_NAMES)

    def callback(stage, iteration, energy) -> bool:
        done = (int(stage) + 0.5) / len(stages)
        fraction = 0.2 + 0.75 * min(done, 1.0)
        name = stages[min(int(stage), len(stages) - 1)]
        return report(fraction, f"fitting: {name}, iteration {iteration}, energy {energy:.4g}")

    start = time.perf_counter()
    try:
        result = fit_module.fit(
            inputs.model,
            keypoints,
            inputs.image_size,
            inputs.focal_length,
            callback=callback,
            world=world,
            silhouette=silhouette,
            height=inputs.height,
            girths=inputs.girths or None,
            detected=detected,
            image_votes=image_votes,
        )
    except SmplifyError as error:
        raise naming(inputs.image_path, error) from None
    seconds["fit"] = time.perf_counter() - start
    if result.status == STATUS_CANCELLED:
        raise FitCancelled("the fit was cancelled")
    if frame_notes:
        result = replace(result, warnings=(*result.warnings, *frame_notes))
    return FitJobResult(
        result,
        keypoints,
        inputs.image_size,
        seconds,
        inputs.focal_source,
        inputs.keypoints_source,
        world,
        silhouette,
        detected,
    )


def fit_photo(image_path: str | os.PathLike, **options) -> FitJobResult:
    """:func:`prepare` (with ``options``), then :func:`detect_and_fit`: photo in, fit out."""
    threads = options.pop("threads", None)
    progress = options.pop("progress", None)
    return detect_and_fit(prepare(image_path, **options), progress=progress, threads=threads)


def status_line(result: FitJobResult) -> str:
    """One-line summary for the panel and the command line."""
    fit = result.fit
    parts = [f"energy {fit.total_energy:.4g}"]
    parts += [f"{name} {1000 * s:.0f} ms" for name, s in result.seconds.items()]
    parts += list(fit.warnings)
    return ", ".join(parts)
