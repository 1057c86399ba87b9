"""Operators on a built avatar: export its fit, rest/fitted pose, bones following shape keys."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import bpy
import numpy as np
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ..core.axes import SMPL_TO_BLENDER
from ..core.errors import SmplifyError
from ..core.fit_result import FitResult
from ..core.joints import SMPL_PARENTS
from ..core.lbs import depth_levels, pose_features, rigid_transforms
from ..core.rest_pose import posed_joints
from ..core.rotation import matrix_to_rotvec, rodrigues
from . import build_rig
from .camera import use_camera


def avatar_armature(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The avatar's armature object for its armature or body (else None)."""
    if obj is None:
        return None
    if obj.get(build_rig.ROLE_PROP) == "body":
        obj = obj.parent
    if obj is not None and obj.get(build_rig.ROLE_PROP) == "armature" and obj.type == "ARMATURE":
        return obj
    return None


def avatar_body(armature: bpy.types.Object) -> bpy.types.Object | None:
    for child in armature.children:
        if child.get(build_rig.ROLE_PROP) == "body":
            return child
    return None


def require_body(armature: bpy.types.Object) -> bpy.types.Object:
    """The avatar's body mesh, or a SmplifyError when it was deleted."""
    body = avatar_body(armature)
    if body is None or body.type != "MESH":
        raise SmplifyError(f"{armature.name}: its body mesh was deleted; build again")
    return body


def stored_fit(armature: bpy.types.Object) -> FitResult:
    try:
        return FitResult.from_dict(json.loads(armature[build_rig.FIT_PROP]))
    except (KeyError, ValueError, TypeError) as error:
        raise SmplifyError(f"{armature.name} has no readable fit parameters ({error})") from None


def current_fit(armature: bpy.types.Object) -> FitResult:
    """The stored fit with pose, shape and translation as the rig and shape keys are now."""
    fit = stored_fit(armature)
    template = np.asarray(armature["smplify_J_template"], dtype=np.float64).reshape(24, 3)
    dirs = np.asarray(armature["smplify_J_dirs"], dtype=np.float64).reshape(24, 3, -1)
    betas = shape_key_betas(avatar_body(armature), dirs.shape[2])
    rest = template + dirs @ betas  # J(β), SMPL frame
    rotations, transl = build_rig.current_pose(armature, rest[0])
    _, t = rigid_transforms(rotations, rest, SMPL_PARENTS, depth_levels(SMPL_PARENTS))
    return replace(
        fit,
        betas=betas,
        pose=matrix_to_rotvec(rotations).ravel(),
        transl=transl,
        joints_3d=t + transl,
    )


def export_parameters(armature: bpy.types.Object, path: str | Path, current: bool = True) -> Path:
    """Write the fit as JSON (``to_dict``) or NPZ (smplx names), by the file's suffix.

    ``current``: the pose and shape as edited in Blender now, else as fitted.
    """
    fit = current_fit(armature) if current else stored_fit(armature)
    path = Path(path)
    data = fit.to_dict()
    if path.suffix.lower() == ".npz":
        arrays = {
            k: np.asarray(data[k]) for k in ("global_orient", "body_pose", "betas", "transl")
        }
        camera = data["camera"]
        np.savez(
            path,
            **arrays,
            focal_length=np.float64(camera["focal_length"]),
            principal_point=np.asarray(camera["principal_point"]),
            image_size=np.asarray(camera["image_size"]),
            joints_3d=np.asarray(data["joints_3d"]),
            gender=np.str_(data["gender"]),
        )
    else:
        path.write_text(json.dumps(data, indent=1))
    return path


def shape_key_betas(body: bpy.types.Object | None, count: int) -> np.ndarray:
    """Current values (count,) of the body's beta shape keys (0 for a missing key)."""
    keys = body.data.shape_keys if body is not None else None
    blocks = keys.key_blocks if keys is not None else {}
    names = [build_rig.BETA_KEY.format(i) for i in range(count)]
    return np.array([blocks[name].value if name in blocks else 0.0 for name in names])


def follow_shape_keys(armature: bpy.types.Object) -> np.ndarray:
    """Move the rest bones to the joints of the body's current shape-key mix; returns betas."""
    template = np.asarray(armature["smplify_J_template"], dtype=np.float64).reshape(24, 3)
    dirs = np.asarray(armature["smplify_J_dirs"], dtype=np.float64).reshape(24, 3, -1)
    betas = shape_key_betas(avatar_body(armature), dirs.shape[2])
    joints = template + dirs @ betas  # J(β) = J_template + J_dirs β, SMPL frame
    rest = build_rig.rig_rest(armature)
    if rest is not None:  # the rig rests in another pose than SMPL's T-pose
        joints = posed_joints(joints, rest)
    build_rig.check_bones(armature)  # else a renamed bone would get an SMPL-named twin
    build_rig.set_rest_bones(armature, joints @ SMPL_TO_BLENDER.T)
    return betas


def update_correctives(armature: bpy.types.Object) -> None:
    """Pose blend shapes of the current pose into the body's corrective key (model file needed).

    A rig resting in A or arms down gets its whole corrective recomputed for the current pose
    (``rest_switch.refresh_corrective``: the skinning correction of its rest, plus the pose
    blend shapes when the model file has them); no model file is needed for that.
    """
    from .pipeline import load_model
    from .rest_switch import refresh_corrective

    source = str(armature.get("model_source", ""))
    available = bool(source) and Path(source).is_file()
    if build_rig.rig_rest(armature) is not None:
        model = load_model(str(armature.get("gender", "neutral")), source) if available else None
        offsets = None
        if model is not None and model.posedirs is not None:
            rotations = rodrigues(current_fit(armature).pose.reshape(24, 3))
            offsets = (model.posedirs @ pose_features(rotations)) @ SMPL_TO_BLENDER.T
        refresh_corrective(armature, avatar_body(armature), offsets)
        return
    if not available:
        raise SmplifyError(f"{armature.name}: the body model file '{source}' is not available")
    model = load_model(str(armature.get("gender", "neutral")), source)
    if model.posedirs is None:
        raise SmplifyError(f"{Path(source).name} has no pose blend shapes: nothing to update")
    fit = current_fit(armature)
    build_rig.set_pose_correctives(
        avatar_body(armature), model, rodrigues(fit.pose.reshape(24, 3))
    )


def set_corrective(armature: bpy.types.Object, value: float) -> None:
    body = avatar_body(armature)
    keys = body.data.shape_keys if body is not None else None
    if keys is not None and build_rig.CORRECTIVE_KEY in keys.key_blocks:
        keys.key_blocks[build_rig.CORRECTIVE_KEY].value = value


class AvatarOperator:
    """Mixin: ``apply(context, armature)`` on the active avatar; a SmplifyError it raises is
    reported and cancels the operator."""

    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    @classmethod
    def poll(cls, context):
        return context.mode == "OBJECT" and avatar_armature(context.active_object) is not None

    def apply(self, context, armature: bpy.types.Object) -> None:  # pragma: no cover
        raise NotImplementedError

    def execute(self, context):
        try:
            self.apply(context, avatar_armature(context.active_object))
        except SmplifyError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        return {"FINISHED"}


class SMPLIFY_OT_export_parameters(AvatarOperator, ExportHelper, bpy.types.Operator):
    """Export the avatar's fit parameters (smplx names) as JSON or NPZ"""

    bl_idname = "smplify.export_parameters"
    bl_label = "Export fit"
    bl_options = {"REGISTER"}  # noqa: RUF012 (Blender reads a set)
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json;*.npz", options={"HIDDEN"})
    file_format: EnumProperty(
        name="Format", items=(("JSON", "JSON", ""), ("NPZ", "NPZ", "NumPy arrays")), default="JSON"
    )
    source: EnumProperty(
        name="Parameters",
        items=(
            ("CURRENT", "Current", "Pose and shape as edited in Blender now"),
            ("FIT", "As fitted", "The parameters the fit found"),
        ),
        default="CURRENT",
    )

    def check(self, context):
        """The file browser's name follows the format, so its overwrite warning is for the file
        that will be written (a .json name could hide an existing .npz about to be replaced)."""
        self.filename_ext = "." + self.file_format.lower()
        return ExportHelper.check(self, context)

    def execute(self, context):
        path = Path(self.filepath).with_suffix("." + self.file_format.lower())
        try:
            armature = avatar_armature(context.active_object)
            export_parameters(armature, path, current=self.source == "CURRENT")
        except (SmplifyError, OSError, KeyError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"fit saved to {path}")
        return {"FINISHED"}


class SMPLIFY_OT_rest_pose(AvatarOperator, bpy.types.Operator):
    """Put the avatar in its rest pose (T-pose) at the fitted place"""

    bl_idname = "smplify.rest_pose"
    bl_label = "Rest pose"

    def apply(self, context, armature):
        build_rig.set_pose(armature, None, rest=True)
        set_corrective(armature, 0.0)


class SMPLIFY_OT_fitted_pose(AvatarOperator, bpy.types.Operator):
    """Put the avatar back in its fitted pose"""

    bl_idname = "smplify.fitted_pose"
    bl_label = "Fitted pose"

    def apply(self, context, armature):
        fit = stored_fit(armature)
        build_rig.set_pose(armature, rodrigues(np.asarray(fit.pose).reshape(24, 3)))
        set_corrective(armature, 1.0)


class SMPLIFY_OT_bones_from_shape(AvatarOperator, bpy.types.Operator):
    """Move the bones' rest positions to the joints of the edited shape keys"""

    bl_idname = "smplify.bones_from_shape"
    bl_label = "Bones follow shape"

    def apply(self, context, armature):
        try:
            follow_shape_keys(armature)
        except (KeyError, ValueError) as error:
            raise SmplifyError(f"{armature.name}: joint data missing ({error})") from None


class SMPLIFY_OT_use_camera(AvatarOperator, bpy.types.Operator):
    """Look through this avatar's camera: scene camera and render resolution of its photo"""

    bl_idname = "smplify.use_camera"
    bl_label = "Use its camera"

    def apply(self, context, armature):
        key = armature.get(build_rig.KEY_PROP)  # the avatar's objects share it, wherever they are
        cameras = [
            o
            for o in context.scene.objects
            if o.get(build_rig.ROLE_PROP) == "camera"
            and o.get(build_rig.KEY_PROP) == key
            and o.type == "CAMERA"
        ]
        if not cameras:
            raise SmplifyError(f"{armature.name}: its camera was deleted; build again")
        use_camera(cameras[0], context.scene)


class SMPLIFY_OT_update_correctives(AvatarOperator, bpy.types.Operator):
    """Recompute the pose-corrective shape key for the current pose (SMPL files with pose blend
    shapes; reads the model file the avatar was built from)"""

    bl_idname = "smplify.update_correctives"
    bl_label = "Update pose correctives"

    def apply(self, context, armature):
        update_correctives(armature)


classes = (
    SMPLIFY_OT_use_camera,
    SMPLIFY_OT_update_correctives,
    SMPLIFY_OT_export_parameters,
    SMPLIFY_OT_rest_pose,
    SMPLIFY_OT_fitted_pose,
    SMPLIFY_OT_bones_from_shape,
)
register, unregister = bpy.utils.register_classes_factory(classes)
