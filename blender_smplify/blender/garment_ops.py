"""Garment-tool operators and their sub-panel: switch the rest pose, export with presets."""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ..core.errors import SmplifyError
from ..core.export_presets import DEFAULT_REST, PRESETS
from .avatar_ops import AvatarOperator, avatar_armature, avatar_body
from .export import export_avatar
from .panels import AvatarSubPanel
from .rest_switch import rest_name, switch_rest

REST_ITEMS = (
    ("t", "T", "SMPL's T-pose, arms level"),
    ("a", "A", "A-pose, arms 45° down (garment tools fit clothes in it)"),
    ("down", "Down", "Arms down, to judge a garment's fit"),
)
FORMAT_ITEMS = (
    (".fbx", "FBX", "CLO3D, Marvelous Designer, Browzwear: rig, bind pose, fitted pose keyframe"),
    (".glb", "GLB", "Binary glTF 2.0 with skin and animation"),
    (".obj", "OBJ", "Two meshes: the rest pose and the fitted pose"),
)
SKELETON_ITEMS = (
    ("smpl", "SMPL", "SMPL's joint names (pelvis, left_hip, ...)"),
    ("mixamo", "Mixamo", "Mixamo's names (mixamorig:Hips, ...), which garment tools' IK maps"),
)
PRESET_ITEMS = (("CUSTOM", "Custom", "Format, bone names and rest pose as set below"),) + tuple(
    (key, preset.label, preset.description) for key, preset in PRESETS.items()
)


class SMPLIFY_OT_switch_rest_pose(AvatarOperator, bpy.types.Operator):
    """Rest the avatar in another pose; the posed body does not move"""

    bl_idname = "smplify.switch_rest_pose"
    bl_label = "Switch rest pose"
    rest_pose: EnumProperty(name="Rest pose", items=REST_ITEMS, default="a")

    def apply(self, context, armature):
        correction = switch_rest(armature, avatar_body(armature), self.rest_pose)
        self.report(
            {"INFO"},
            f"{armature.name} rests in pose {self.rest_pose} (corrective key took up to "
            f"{correction * 1000:.1f} mm)",
        )


class SMPLIFY_OT_export_avatar(ExportHelper, bpy.types.Operator):
    """Export the avatar for garment tools (FBX, GLB or OBJ), on a copy: the scene is unchanged"""

    bl_idname = "smplify.export_avatar"
    bl_label = "Export avatar"
    bl_options = {"REGISTER"}  # noqa: RUF012 (Blender reads a set)
    filename_ext = ".fbx"
    filter_glob: StringProperty(default="*.fbx;*.glb;*.obj", options={"HIDDEN"})
    preset: EnumProperty(name="Preset", items=PRESET_ITEMS, default="CUSTOM")
    file_format: EnumProperty(name="Format", items=FORMAT_ITEMS, default=".fbx")
    skeleton: EnumProperty(name="Bone names", items=SKELETON_ITEMS, default="smpl")
    rest_pose: EnumProperty(name="Bind pose", items=REST_ITEMS, default=DEFAULT_REST)

    @classmethod
    def poll(cls, context):
        return context.mode == "OBJECT" and avatar_armature(context.active_object) is not None

    def invoke(self, context, event):
        """The file browser opens with the preset's settings, free to change (as Custom)."""
        self._apply_preset()
        self.filename_ext = self.file_format
        return ExportHelper.invoke(self, context, event)

    def _apply_preset(self) -> None:
        if self.preset in PRESETS:
            preset = PRESETS[self.preset]
            self.file_format, self.skeleton = preset.suffix, preset.skeleton
            self.rest_pose, self.preset = preset.rest_pose, "CUSTOM"

    def check(self, context):
        """The file name follows the chosen format (so the overwrite warning is about the file
        that will be written)."""
        self.filename_ext = self.file_format
        return ExportHelper.check(self, context)

    def execute(self, context):
        self._apply_preset()  # called from a script with a preset: the preset decides
        path = Path(self.filepath).with_suffix(self.file_format)
        try:
            result = export_avatar(
                avatar_armature(context.active_object),
                path,
                skeleton=self.skeleton,
                rest_pose=self.rest_pose,
            )
        except SmplifyError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        names = ", ".join(p.name for p in result.paths)
        self.report({"INFO"}, f"exported {names} ({result.triangles:,} triangles)")
        return {"FINISHED"}


class SMPLIFY_PT_garment(AvatarSubPanel, bpy.types.Panel):
    """Rest pose and exports for garment tools, under the Avatar panel."""

    bl_idname = "SMPLIFY_PT_garment"
    bl_label = "Garment tools"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        armature = avatar_armature(context.active_object)
        current = rest_name(armature)
        layout.label(text="Rest pose")
        row = layout.row(align=True)
        for key, label, _ in REST_ITEMS:
            button = row.operator("smplify.switch_rest_pose", text=label, depress=key == current)
            button.rest_pose = key
        layout.label(text="Export")
        column = layout.column(align=True)
        for key, label, _ in PRESET_ITEMS[1:]:
            column.operator("smplify.export_avatar", text=label, icon="EXPORT").preset = key
        column.operator("smplify.export_avatar", text="Custom...").preset = "CUSTOM"


classes = (SMPLIFY_OT_switch_rest_pose, SMPLIFY_OT_export_avatar, SMPLIFY_PT_garment)
register, unregister = bpy.utils.register_classes_factory(classes)
