"""Several photos of the same person through the one door: each photo read and checked by
``pipeline.prepare``, detected and fitted by ``pipeline.detect_and_fit``, then one shape for all
(``fit_same_person``). Bpy-free; ``fit --same-person`` and ``build --same-person`` use it.

The JSON form (``same_person_json``) holds the shared shape once at the top, as a single fit's
JSON does ("betas", "gender", so ``measure`` reads either), and under "photos" one single-fit
JSON per photo (its pose, translation and camera, with the same betas), in the photos' order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .errors import FitCancelled, SmplifyError
from .fit_same_person import PhotoView, SamePersonResult, fit_same_person
from .pipeline import FitInputs, FitJobResult, Progress, detect_and_fit

#: Marks the JSON of a fit of several photos of one person.
FORMAT = "same_person"


@dataclass
class SamePersonJobResult:
    """Per photo its detection and its part of the joint fit (``fit`` sharing the betas),
    the joint result, the time of the joint refinement and the known measurements (metres)."""

    photos: tuple[FitJobResult, ...]
    joint: SamePersonResult
    seconds: dict[str, float]
    height: float | None = None
    girths: dict[str, float] | None = None


def check_same_body(inputs: Sequence[FitInputs]) -> None:
    """A SmplifyError unless every photo uses the same body model, height and girths."""
    if not inputs:
        raise SmplifyError("no photos given: the same person's fit needs at least one")
    first = inputs[0]
    for k, other in enumerate(inputs[1:], start=2):
        if other.model is not first.model:
            raise SmplifyError(
                f"photo {k} uses another body model ({other.model.gender}, "
                f"{other.model.source or 'open'}) than photo 1 ({first.model.gender}, "
                f"{first.model.source or 'open'}): one person has one body model"
            )
        if other.height != first.height or other.girths != first.girths:
            raise SmplifyError(f"photo {k} was given other known measurements than photo 1")


def detect_and_fit_same_person(
    inputs: Sequence[FitInputs], *, progress: Progress | None = None, threads: int | None = None
) -> SamePersonJobResult:
    """Each photo's detection and own fit (``pipeline.detect_and_fit``), then the joint fit.

    Raises
    ------
    SmplifyError : no photos, different body models, or a photo's own error (naming it).
    """
    inputs = tuple(inputs)
    check_same_body(inputs)
    report = progress or (lambda fraction, message: True)
    n = len(inputs)
    photos = []
    for k, one in enumerate(inputs):

        def scaled(fraction, message, k=k):
            return report((k + 0.9 * fraction) / (n + 0.1), f"photo {k + 1}/{n}: {message}")

        photos.append(detect_and_fit(one, progress=scaled, threads=threads))
    if not report(n / (n + 0.1), "one shape for all photos"):
        raise FitCancelled("cancelled before the joint fit")
    views = [
        PhotoView(
            p.keypoints,
            p.image_size,
            one.focal_length,
            p.world,
            p.silhouette,
            detected=p.detected_world,
        )
        for p, one in zip(photos, inputs)
    ]
    start = time.perf_counter()
    joint = fit_same_person(
        inputs[0].model,
        views,
        height=inputs[0].height,
        girths=inputs[0].girths or None,
        single=[p.fit for p in photos],
    )
    seconds = {"joint fit": time.perf_counter() - start}
    photos = [replace(p, fit=fit) for p, fit in zip(photos, joint.views)]
    return SamePersonJobResult(
        tuple(photos), joint, seconds, inputs[0].height, dict(inputs[0].girths)
    )


def same_person_json(result: SamePersonJobResult, images: Sequence[str]) -> dict:
    """The JSON form of a fit of several photos (see the module's docstring)."""
    first = result.photos[0].fit
    photos = []
    for image, photo in zip(images, result.photos):
        data = photo.fit.to_dict()
        data["image"] = str(image)
        data["keypoints"] = photo.keypoints.to_dict(photo.image_size)
        data["camera"]["focal_source"] = photo.focal_source
        photos.append(data)
    return {
        "format": FORMAT,
        "betas": np.asarray(first.betas, dtype=np.float64).tolist(),
        "gender": first.gender,
        "known_measurements": {"height": result.height, **(result.girths or {})},
        "joint": {
            "seconds": float(result.joint.joint_seconds),
            "iterations": int(result.joint.joint_iterations),
            "status": int(result.joint.status),
        },
        "photos": photos,
    }


def is_same_person(data: object) -> bool:
    """Whether a fit JSON (parsed) is the form of several photos."""
    return isinstance(data, dict) and data.get("format") == FORMAT
