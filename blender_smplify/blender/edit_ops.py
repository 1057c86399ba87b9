"""The artist in the loop: drag a keypoint marker, flip a limb's depth or the facing, pin a bone,
and the avatar refits (``core.refit``), still on the photo.

Python API (the operators below call it; scripts and tests may too):

- :func:`edit_keypoints` — markers for the avatar's keypoints (``keypoint_markers.py``);
- :func:`refit_avatar` — refit to the markers as they are, from the rig as it is posed now,
  holding the pinned bones, the depth choices and the facing;
- :func:`flip_depth`, :func:`flip_facing` — mirror a limb segment's depth or turn the body, and
  refit holding that choice;
- :func:`set_pin`, :func:`set_keypoint_on`.

The choices are custom properties: ``PIN_PROP`` on a pose bone, ``DEPTH_PROP`` (JSON) and
``FACING_PROP`` on the armature, so they are saved, undone and redone with the file. While the
artist drags a marker, a depsgraph handler notices the move and a timer refits at most every
``THROTTLE_S`` seconds, so the body follows the mouse.
"""

from __future__ import annotations

import json
import logging

import bpy
import numpy as np
from bpy.props import StringProperty

from ..core import refit as core_refit
from ..core.edit_terms import LIMB_SEGMENTS
from ..core.errors import SmplifyError
from ..core.fit_result import FitResult
from ..core.rotation import rodrigues
from . import build_rig, keypoint_markers, rig_math
from .avatar_ops import avatar_armature, avatar_body, current_fit, stored_fit

log = logging.getLogger(__name__)

#: custom properties of the choices
PIN_PROP = "smplify_pin"
DEPTH_PROP = "smplify_depth_choices"
FACING_PROP = "smplify_facing"
#: Shortest time between two refits while a marker is dragged (seconds).
THROTTLE_S = 0.05


# ---------------------------------------------------------------------------------- Python API
def avatar_model(armature: bpy.types.Object):
    """The body model the avatar was built from (the open model when its file is not known)."""
    from pathlib import Path

    from .pipeline import load_model

    source = str(armature.get("model_source", ""))
    return load_model(
        str(armature.get("gender", "neutral")),
        source if source and Path(source).is_file() else None,
    )


def edit_keypoints(armature: bpy.types.Object, keypoints=None, scene=None) -> None:
    """Make the avatar's keypoint markers: from ``keypoints`` (Keypoints2D), else from the
    scene's last detection of the avatar's photo (the panel's Detect or Fit)."""
    if keypoints is None:
        from .inputs import stored_keypoints

        settings = (scene or bpy.context.scene).smplify
        keypoints, _ = stored_keypoints(settings, str(armature.get(build_rig.KEY_PROP, "")))
        if keypoints is None:
            raise SmplifyError(
                f"no keypoints of {armature.name}'s photo in this scene: press "
                "Detect or Fit on it first"
            )
    keypoint_markers.make_markers(armature, keypoints, stored_fit(armature))


def edits(armature: bpy.types.Object, fit: FitResult) -> dict:
    """The held choices as :func:`core.refit.refit` keywords: pins (from the rig as posed now),
    depth choices, facing."""
    pose = np.asarray(fit.pose).reshape(24, 3)
    pins = {b.name: pose[i] for i, b in enumerate(_smpl_pose_bones(armature)) if b.get(PIN_PROP)}
    return {
        "pins": pins,
        "depth_choices": json.loads(armature.get(DEPTH_PROP, "{}")),
        "facing": armature.get(FACING_PROP) or None,
    }


def refit_avatar(armature: bpy.types.Object, *, model=None) -> FitResult:
    """Refit to the markers from the rig as posed now, holding the choices; the rig follows."""
    previous = current_fit(armature)
    keypoints = keypoint_markers.marker_keypoints(armature, previous)
    model = model or avatar_model(armature)
    result = core_refit.refit(previous, keypoints, model=model, **edits(armature, previous))
    apply_fit(armature, result, keypoints, model)
    return result


def flip_depth(armature: bpy.types.Object, segment: str, *, model=None) -> FitResult:
    """Mirror a limb segment (a bone of ``LIMB_SEGMENTS``) in depth and refit holding it."""
    if segment not in LIMB_SEGMENTS:
        raise SmplifyError(
            f"{segment} is not a limb segment: select an upper arm, forearm, thigh or shin bone"
        )
    previous = current_fit(armature)
    keypoints = keypoint_markers.marker_keypoints(armature, previous)
    model = model or avatar_model(armature)
    held = edits(armature, previous)
    result, choices = core_refit.flip_depth(previous, keypoints, segment, model=model, **held)
    armature[DEPTH_PROP] = json.dumps(choices)
    apply_fit(armature, result, keypoints, model)
    return result


def flip_facing(armature: bpy.types.Object, *, model=None) -> FitResult:
    """Turn the body 180° and refit holding the new facing; the markers of the left and right
    keypoints trade places (a body seen from behind has its sides the other way round)."""
    previous = current_fit(armature)
    keypoints = keypoint_markers.marker_keypoints(armature, previous)
    model = model or avatar_model(armature)
    held = edits(armature, previous)
    held.pop("facing")
    result, facing, swapped = core_refit.flip_facing(previous, keypoints, model=model, **held)
    armature[FACING_PROP] = facing
    keypoint_markers.make_markers(armature, swapped, result)
    apply_fit(armature, result, swapped, model)
    return result


def set_pin(armature: bpy.types.Object, bone: str, on: bool) -> None:
    """Pin (hold its rotation in refits) or free one bone."""
    if bone not in armature.pose.bones:
        raise SmplifyError(f"{armature.name} has no bone {bone}")
    armature.pose.bones[bone][PIN_PROP] = bool(on)


def set_keypoint_on(marker: bpy.types.Object, on: bool) -> None:
    keypoint_markers.set_marker_on(marker, on)


def apply_fit(armature: bpy.types.Object, fit: FitResult, keypoints, model) -> None:
    """Pose the rig as ``fit`` (shape unchanged) and record it and the keypoints it used."""
    rotations = rodrigues(np.asarray(fit.pose, dtype=np.float64).reshape(24, 3))
    template = np.asarray(armature["smplify_J_template"], dtype=np.float64).reshape(24, 3)
    dirs = np.asarray(armature["smplify_J_dirs"], dtype=np.float64).reshape(24, 3, -1)
    rest_pelvis = template[0] + dirs[0] @ np.asarray(fit.betas)[: dirs.shape[2]]
    build_rig.set_pose(armature, rotations)
    armature.location = rig_math.armature_location(rest_pelvis, fit.transl)
    params = fit.to_dict()
    for name in ("global_orient", "body_pose", "betas", "transl"):
        armature[name] = params[name]
    armature[build_rig.FIT_PROP] = json.dumps(params)
    body = avatar_body(armature)
    if body is not None and getattr(model, "posedirs", None) is not None:
        build_rig.set_pose_correctives(body, model, rotations)
    keypoint_markers.store_keypoints(armature, keypoints, fit)


def _smpl_pose_bones(armature: bpy.types.Object) -> list:
    from ..core.joints import SMPL_JOINT_NAMES

    build_rig.check_bones(armature)
    return [armature.pose.bones[name] for name in SMPL_JOINT_NAMES]


# ------------------------------------------------------------------- live refit while dragging
def _avatars_with_moved_markers(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    out = []
    for obj in scene.objects:
        if avatar_armature(obj) is obj and keypoint_markers.KEYPOINTS_PROP in obj:
            try:
                if keypoint_markers.markers_moved(obj, stored_fit(obj)):
                    out.append(obj)
            except SmplifyError:
                continue
    return out


def refit_moved(scene: bpy.types.Scene | None = None) -> list[bpy.types.Object]:
    """Refit every avatar of the scene whose markers were moved or switched; returns them."""
    refitted = []
    for armature in _avatars_with_moved_markers(scene or bpy.context.scene):
        try:
            refit_avatar(armature)
            refitted.append(armature)
        except (SmplifyError, ValueError) as error:
            log.warning("refit of %s failed: %s", armature.name, error)
    return refitted


def _timer():
    """The throttled live refit; the markers' looks follow their switches (the panel's
    checkboxes set the switch alone)."""
    for obj in bpy.context.scene.objects:
        if obj.get(build_rig.ROLE_PROP) == keypoint_markers.ROLE:
            on = bool(obj.get(keypoint_markers.ON_PROP, True))
            if (obj.empty_display_type == "SPHERE") != on:
                keypoint_markers.set_marker_on(obj, on)
    refit_moved()
    return None  # once; the next marker move registers it again


@bpy.app.handlers.persistent
def _on_depsgraph_update(scene, depsgraph) -> None:
    """A marker moved or was switched: refit soon (at most every THROTTLE_S while the mouse
    moves)."""
    for update in depsgraph.updates:
        obj = update.id
        if (
            isinstance(obj, bpy.types.Object)
            and obj.get(build_rig.ROLE_PROP) == keypoint_markers.ROLE
        ):
            if not bpy.app.timers.is_registered(_timer):
                # persistent: a pending timer that a file load drops crashed bpy 4.2 at exit
                bpy.app.timers.register(_timer, first_interval=THROTTLE_S, persistent=True)
            return


# ------------------------------------------------------------------------------------ operators
class _EditOperator:
    """Mixin: ``apply(context, armature)`` on the active avatar (Object or Pose mode), one undo
    step; a SmplifyError is reported and cancels."""

    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    @classmethod
    def poll(cls, context):
        return context.mode in ("OBJECT", "POSE") and edited_armature(context) is not None

    def apply(self, context, armature):  # pragma: no cover
        raise NotImplementedError

    def execute(self, context):
        try:
            self.apply(context, edited_armature(context))
        except (SmplifyError, ValueError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        return {"FINISHED"}

    def bone_name(self, context, armature) -> str:
        bone = self.bone or (armature.data.bones.active.name if armature.data.bones.active else "")
        if not bone:
            raise SmplifyError("select a bone of the avatar first")
        return bone


def edited_armature(context) -> bpy.types.Object | None:
    """The active avatar: its armature, body, or one of its keypoint markers."""
    obj = context.active_object
    if obj is not None and obj.get(build_rig.ROLE_PROP) == keypoint_markers.ROLE:
        key = obj.get(build_rig.KEY_PROP)
        return next(
            (
                o
                for o in context.scene.objects
                if avatar_armature(o) is o and o.get(build_rig.KEY_PROP) == key
            ),
            None,
        )
    return avatar_armature(obj)


class SMPLIFY_OT_edit_keypoints(_EditOperator, bpy.types.Operator):
    """Show the photo's keypoints as markers on the camera: drag one and the body refits"""

    bl_idname = "smplify.edit_keypoints"
    bl_label = "Edit keypoints"

    def apply(self, context, armature):
        edit_keypoints(armature, scene=context.scene)


class SMPLIFY_OT_refit(_EditOperator, bpy.types.Operator):
    """Refit the body to the keypoint markers, from the pose as it is, holding the pins and
    the depth and facing choices"""

    bl_idname = "smplify.refit"
    bl_label = "Refit"

    def apply(self, context, armature):
        refit_avatar(armature)


class SMPLIFY_OT_flip_depth(_EditOperator, bpy.types.Operator):
    """Mirror the selected limb segment (upper arm, forearm, thigh, shin) toward or away from
    the camera, then refit holding that choice"""

    bl_idname = "smplify.flip_depth"
    bl_label = "Flip depth"
    bone: StringProperty(name="Bone", description="Limb bone (default: the active bone)")

    def apply(self, context, armature):
        flip_depth(armature, self.bone_name(context, armature))


class SMPLIFY_OT_flip_facing(_EditOperator, bpy.types.Operator):
    """Turn the body 180° (facing the camera or turning its back) and refit holding that"""

    bl_idname = "smplify.flip_facing"
    bl_label = "Flip facing"

    def apply(self, context, armature):
        flip_facing(armature)


class SMPLIFY_OT_toggle_pin(_EditOperator, bpy.types.Operator):
    """Pin the selected bone (refits keep its rotation) or free it"""

    bl_idname = "smplify.toggle_pin"
    bl_label = "Pin bone"
    bone: StringProperty(name="Bone", description="Bone (default: the active bone)")

    def apply(self, context, armature):
        bone = self.bone_name(context, armature)
        set_pin(armature, bone, not armature.pose.bones[bone].get(PIN_PROP, False))


class SMPLIFY_OT_toggle_keypoint(_EditOperator, bpy.types.Operator):
    """Switch the selected keypoint markers off (or back on) and refit"""

    bl_idname = "smplify.toggle_keypoint"
    bl_label = "Keypoint on/off"

    def apply(self, context, armature):
        chosen = [
            o
            for o in context.selected_objects
            if o.get(build_rig.ROLE_PROP) == keypoint_markers.ROLE
        ]
        if not chosen:
            raise SmplifyError("select keypoint markers first")
        for marker in chosen:
            set_keypoint_on(marker, not marker.get(keypoint_markers.ON_PROP, True))
        refit_avatar(armature)


classes = (
    SMPLIFY_OT_edit_keypoints,
    SMPLIFY_OT_refit,
    SMPLIFY_OT_flip_depth,
    SMPLIFY_OT_flip_facing,
    SMPLIFY_OT_toggle_pin,
    SMPLIFY_OT_toggle_keypoint,
)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.app.handlers.depsgraph_update_post.append(_on_depsgraph_update)


def unregister() -> None:
    if _on_depsgraph_update in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(_on_depsgraph_update)
    if bpy.app.timers.is_registered(_timer):
        bpy.app.timers.unregister(_timer)
    _unregister()
