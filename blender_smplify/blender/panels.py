"""Sidebar panel of the 3D viewport (N panel, tab "SMPLify")."""

from __future__ import annotations

import bpy

from .avatar_ops import avatar_armature
from .jobs import running_job


class SMPLIFY_PT_main(bpy.types.Panel):
    bl_idname = "SMPLIFY_PT_main"
    bl_label = "Photo to avatar"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "SMPLify"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.smplify
        layout.prop(settings, "image_source", expand=True)
        if settings.image_source == "FILE":
            layout.prop(settings, "image_path", text="")
        else:
            layout.template_ID(settings, "image", open="image.open")
        column = layout.column(align=True)
        column.prop(settings, "gender")
        column.prop(settings, "model_source")
        row = layout.row(align=True)
        row.prop(settings, "focal_mode", expand=True)
        if settings.focal_mode == "MANUAL":
            layout.prop(settings, "focal_length")
        row = layout.row(align=True)
        row.operator("smplify.detect")
        row.operator("smplify.fit")
        row.operator("smplify.build")
        layout.operator("smplify.photo_to_avatar", icon="OUTLINER_OB_ARMATURE")
        if settings.status:
            box = layout.box()
            if running_job() is not None:
                row = box.row(align=True)
                row.prop(settings, "progress", text="", slider=True)
                row.operator("smplify.cancel", text="", icon="CANCEL")
            box.label(text=settings.status)


class SMPLIFY_PT_avatar(bpy.types.Panel):
    bl_idname = "SMPLIFY_PT_avatar"
    bl_label = "Avatar"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "SMPLify"

    @classmethod
    def poll(cls, context):
        return avatar_armature(context.active_object) is not None

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.operator("smplify.use_camera", icon="CAMERA_DATA")
        row = layout.row(align=True)
        row.operator("smplify.rest_pose")
        row.operator("smplify.fitted_pose")
        layout.operator("smplify.bones_from_shape")
        layout.operator("smplify.update_correctives")
        layout.operator("smplify.export_parameters")


classes = (SMPLIFY_PT_main, SMPLIFY_PT_avatar)
register, unregister = bpy.utils.register_classes_factory(classes)
