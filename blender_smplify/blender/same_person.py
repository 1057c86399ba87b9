"""Several photos of one person in Blender: one body shape, an avatar per photo.

Each photo keeps its own avatar (collection, camera with the photo behind it, rig, skinned
body): a pose belongs to one photo and its camera, and looking through each photo's camera at
its own posed body is how an artist checks a fit. The avatars of one person share the fitted β
(the same shape-key values) and carry the same ``smplify_person`` property, so the Avatar panel
can add a photo to them and refit all of them together (``core.fit_same_person``).

Python API: :func:`photos_to_avatars` (``build --same-person``), :func:`add_photo` and
:func:`refit_person` (the two operators).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import bpy
import numpy as np

from ..core import pipeline as core_pipeline
from ..core.errors import SmplifyError
from ..core.fit_same_person import PhotoView, fit_same_person
from ..core.keypoints import Keypoints2D
from ..core.person_mask import refined_silhouette
from ..core.same_person_pipeline import SamePersonJobResult, detect_and_fit_same_person
from ..core.silhouette import Silhouette
from . import build_rig, edit_ops, inputs, keypoint_markers
from .avatar_ops import AvatarOperator, avatar_armature, stored_fit
from .image_io import image_decoder

#: armature property: the person the avatar shows (the key of the person's first photo)
PERSON_PROP = "smplify_person"
#: armature property: the photo's evidence besides its keypoints (which the keypoint markers
#: keep, as the user drags them: ``keypoint_markers.KEYPOINTS_PROP``), JSON {"world":
#: ``WorldLandmarks.to_dict()`` or null, "mask": :func:`mask_to_dict` or null, "detected":
#: BlazePose's own landmarks where "world" holds the lifter's points (``PhotoView.detected``),
#: ``WorldLandmarks.to_dict()`` or null; absent on avatars kept before it was stored}
EVIDENCE_PROP = "smplify_photo_evidence"


def photos_to_avatars(
    image_paths: Sequence[str | Path],
    *,
    gender: str = "neutral",
    model_path: str | Path | None = None,
    focal_length: float | None = None,
    keypoints: Sequence[Keypoints2D | str | Path | None] | None = None,
    height: float | None = None,
    girths: dict[str, float] | None = None,
    silhouette: bool | None = None,
    blend_path: str | Path | None = None,
    render_path: str | Path | None = None,
    scene=None,
) -> list[build_rig.Avatar]:
    """Photos of one person in, one avatar per photo sharing one shape out (current scene).

    Every photo is read and checked by ``core.pipeline.prepare`` as for one photo; ``keypoints``
    gives one entry per photo (None: detect); ``silhouette``: fit the detected outlines (None:
    ``core.pipeline.SILHOUETTE_FROM_MASK``). Optionally saves the .blend and a preview render
    of the first photo's avatar. Raises SmplifyError on bad input.
    """
    from .pipeline import save_blend

    keypoints = list(keypoints) if keypoints is not None else [None] * len(image_paths)
    prepared = [
        core_pipeline.prepare(
            path,
            gender=gender,
            model_path=model_path,
            focal_length=focal_length,
            keypoints=given,
            decode=image_decoder(),
            need_image=True,
            height=height,
            girths=girths,
            silhouette=silhouette,
        )
        for path, given in zip(image_paths, keypoints)
    ]
    job = detect_and_fit_same_person(prepared)
    avatars = build_person(job, prepared, scene=scene)
    if blend_path:
        save_blend(blend_path)
    if render_path:
        from .render import render_preview

        render_preview(avatars[0], render_path, scene=scene)
    return avatars


def build_person(job: SamePersonJobResult, prepared, scene=None) -> list[build_rig.Avatar]:
    """An avatar per photo of a joint fit, tagged as one person, with keypoint markers."""
    avatars = []
    for one, photo in zip(prepared, job.photos):
        avatar = build_rig.build(
            photo.fit, one.model, image_path=one.image_path, pixels=one.image, scene=scene
        )
        _keep_keypoints(
            avatar.armature,
            photo.keypoints,
            photo.image_size,
            photo.world,
            photo.silhouette,
            photo.detected_world,
        )
        avatars.append(avatar)
    person = avatars[0].armature[build_rig.KEY_PROP]
    for avatar in avatars:
        avatar.armature[PERSON_PROP] = person
    return avatars


def _keep_keypoints(
    armature, keypoints: Keypoints2D, image_size, world, mask=None, detected=None
) -> None:
    """Keep what the avatar's fit saw on its armature for Refit with all photos: the keypoints
    as markers (``edit_ops.edit_keypoints``), the world landmarks, the person mask and
    BlazePose's own landmarks (``EVIDENCE_PROP``)."""
    edit_ops.edit_keypoints(armature, keypoints)
    armature[EVIDENCE_PROP] = json.dumps(
        {
            "world": None if world is None else world.to_dict(),
            "mask": None if mask is None else mask_to_dict(mask),
            "detected": None if detected is None else detected.to_dict(),
        }
    )


def mask_to_dict(mask: Silhouette) -> dict:
    """A person mask as JSON-ready data: probabilities in steps of 1/255 (base64 bytes)."""
    grid = np.clip(np.rint(np.asarray(mask.probability) * 255.0), 0, 255).astype(np.uint8)
    return {
        "shape": list(grid.shape),
        "probability_u8": base64.b64encode(grid.tobytes()).decode("ascii"),
        "to_image": np.asarray(mask.to_image, dtype=np.float64).tolist(),
    }


def mask_from_dict(data: dict) -> Silhouette:
    """Inverse of :func:`mask_to_dict`."""
    grid = np.frombuffer(base64.b64decode(data["probability_u8"]), dtype=np.uint8)
    probability = grid.reshape(data["shape"]).astype(np.float32) / 255.0
    return Silhouette(probability, np.asarray(data["to_image"], dtype=np.float64))


def person_armatures(scene, armature) -> list:
    """The armatures of every avatar showing the same person as ``armature`` (itself first;
    only itself when it belongs to no person yet)."""
    person = armature.get(PERSON_PROP)
    if person is None:
        return [armature]
    others = [
        obj
        for obj in scene.objects
        if obj is not armature and obj.get(PERSON_PROP) == person and avatar_armature(obj) is obj
    ]
    return [armature, *sorted(others, key=lambda obj: obj.name)]


def _view(armature) -> PhotoView:
    """The photo evidence of an avatar: its keypoints as the markers hold them now, and the
    world landmarks, person mask and BlazePose's own landmarks its fit used (None where it
    kept none)."""
    fit = stored_fit(armature)
    text = armature.get(keypoint_markers.KEYPOINTS_PROP)
    if not text:
        raise SmplifyError(
            f"{armature.name} keeps no keypoints of its photo: add its photo to the person "
            "again (Add photo to this avatar)"
        )
    keypoints, _ = Keypoints2D.from_dict(json.loads(text))
    evidence = json.loads(armature.get(EVIDENCE_PROP) or "{}")
    world, detected = inputs.stored_landmarks(evidence)
    mask = None if evidence.get("mask") is None else mask_from_dict(evidence["mask"])
    return PhotoView(keypoints, fit.image_size, fit.focal_length, world, mask, detected)


def _model(armature):
    """The body model an avatar was fitted with."""
    source = str(armature.get("model_source", ""))
    gender = str(armature.get("gender", "neutral"))
    opened = core_pipeline.load_model(gender)
    if not source or Path(source).resolve() == Path(opened.source).resolve():
        return opened
    return core_pipeline.load_model(gender, source)


def refit_person(scene, armature, height: float | None = None) -> list[build_rig.Avatar]:
    """Fit one shape to every photo of ``armature``'s person (each photo's stored fit is the
    start) and update each avatar; ``height``: the known stature in metres or None."""
    armatures = person_armatures(scene, armature)
    model = _model(armatures[0])
    for other in armatures[1:]:
        if (other.get("gender"), other.get("model_source")) != (
            armatures[0].get("gender"),
            armatures[0].get("model_source"),
        ):
            raise SmplifyError(
                f"{other.name} was fitted with another body model ({other.get('gender')}) "
                f"than {armatures[0].name} ({armatures[0].get('gender')}): one person has one "
                "body model; refit that photo with the same gender and model"
            )
    views = [_view(a) for a in armatures]
    fits = [stored_fit(a) for a in armatures]
    joint = fit_same_person(model, views, height=height, single=fits)
    avatars = []
    for a, fit in zip(armatures, joint.views):
        image_path = str(a.get("image_path", "")) or None
        avatars.append(build_rig.build(fit, model, image_path=image_path, scene=scene))
    return avatars


def add_photo(context, armature) -> build_rig.Avatar:
    """Fit the panel's photo (its settings, height included) and join its avatar to
    ``armature``'s person; the same gender and body model are required."""
    run = inputs.resolve(context)
    gender, source = armature.get("gender"), str(armature.get("model_source", ""))
    if run.gender != gender:
        raise SmplifyError(
            f"{armature.name} was fitted with the {gender} body model, the panel says "
            f"{run.gender}: one person has one body model (set the panel's gender to {gender})"
        )
    key = run.key
    if any(a.get(build_rig.KEY_PROP) == key for a in person_armatures(context.scene, armature)):
        raise SmplifyError(f"{run.label} is already a photo of this avatar")
    if armature.get(EVIDENCE_PROP) is None:  # built before it joined a person: keep its
        _keep_evidence(context.scene.smplify, armature)  # photo's before the scene has another
    keypoints, world = inputs.stored_keypoints(context.scene.smplify, key)
    result = inputs.fit_job(run, keypoints, world)(lambda fraction, message: True)
    model = inputs.model_for(run)
    if source and Path(source).resolve() != Path(model.source).resolve():
        raise SmplifyError(
            f"{armature.name} was fitted with the body model {source}, the panel's is "
            f"{model.source}: one person has one body model"
        )
    inputs.store_result(context.scene.smplify, key, result, run.model_path)
    image = run.image if run.image_path is None else None
    avatar = build_rig.build(result.fit, model, image_path=run.image_path, image=image)
    _keep_keypoints(
        avatar.armature,
        result.keypoints,
        result.image_size,
        result.world,
        result.silhouette,
        result.detected_world,
    )
    person = armature.get(PERSON_PROP) or armature[build_rig.KEY_PROP]
    armature[PERSON_PROP] = avatar.armature[PERSON_PROP] = person
    return avatar


def _keep_evidence(settings, armature) -> None:
    """Keep a single-photo avatar's evidence as it joins a person: its keypoints (the markers',
    else the scene's detection of its photo), the world landmarks its fit used and BlazePose's
    own (the scene's, ``inputs.stored_evidence``) and its photo's person mask; or say what is
    missing."""
    key = str(armature[build_rig.KEY_PROP])
    stored, _ = inputs.stored_keypoints(settings, key)
    world, detected = inputs.stored_evidence(settings, key)
    text = armature.get(keypoint_markers.KEYPOINTS_PROP)
    keypoints = Keypoints2D.from_dict(json.loads(text))[0] if text else stored
    if keypoints is None:
        raise SmplifyError(
            f"no keypoints of {armature.name}'s photo in this scene: press Fit on it first"
        )
    size = stored_fit(armature).image_size
    mask = _photo_mask(armature, keypoints, size, settings.fit_outline)
    _keep_keypoints(armature, keypoints, size, world, mask, detected)


#: A detection's mask belongs to stored keypoints whose median distance from the detection's
#: is below this fraction of the photo's larger side (a few dragged keypoints stay below).
SAME_DETECTION = 0.02


def _photo_mask(armature, keypoints: Keypoints2D, size, wanted: bool) -> Silhouette | None:
    """The person mask of the detection that gave ``keypoints`` on the avatar's photo file
    (the scene keeps no mask): the photo detected again, its mask taken when its keypoints
    agree (``SAME_DETECTION``); None without a file, for keypoints from elsewhere, or unless
    ``wanted`` (the panel's "Fit the outline (tight clothing)")."""
    path = Path(str(armature.get("image_path", "")))
    if not wanted or not path.is_file():
        return None
    from .image_io import load_image

    try:
        image = load_image(path)
        if (image.shape[1], image.shape[0]) != tuple(size):
            return None
        detection = core_pipeline.detector().detect(image)
    except SmplifyError:
        return None
    found = detection.keypoints
    if found.layout != keypoints.layout:
        return None
    both = (keypoints.confidence > 0) & (found.confidence > 0)
    if not both.any():
        return None
    apart = np.median(np.linalg.norm(found.xy[both] - keypoints.xy[both], axis=1))
    return refined_silhouette(detection) if apart < SAME_DETECTION * max(size) else None


class SMPLIFY_OT_add_photo(AvatarOperator, bpy.types.Operator):
    """Fit the panel's photo as another photo of the active avatar's person (same body shape
    after Refit with all photos)"""

    bl_idname = "smplify.add_photo"
    bl_label = "Add photo to this avatar"

    def apply(self, context, armature: bpy.types.Object) -> None:
        avatar = add_photo(context, armature)
        count = len(person_armatures(context.scene, armature))
        context.scene.smplify.status = f"{avatar.armature.name} added: {count} photos"


class SMPLIFY_OT_refit_person(AvatarOperator, bpy.types.Operator):
    """Fit one body shape to all photos of the active avatar's person (the panel's height
    too) and update every photo's avatar"""

    bl_idname = "smplify.refit_person"
    bl_label = "Refit with all photos"

    def apply(self, context, armature: bpy.types.Object) -> None:
        height = inputs.known_height(context.scene.smplify.height_cm)
        avatars = refit_person(context.scene, armature, height)
        context.scene.smplify.status = f"one shape fitted to {len(avatars)} photos"


classes = (SMPLIFY_OT_add_photo, SMPLIFY_OT_refit_person)
register, unregister = bpy.utils.register_classes_factory(classes)
