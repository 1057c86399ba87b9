"""Sidebar panel of the 3D viewport (N panel, tab "SMPLify")."""

from __future__ import annotations

import bpy

from . import edit_ops, keypoint_markers
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
        layout.prop(settings, "height_cm")
        layout.prop(settings, "fit_outline")
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
        column = layout.column(align=True)  # several photos of one person: one shape
        column.operator("smplify.add_photo", icon="IMAGE_DATA")
        column.operator("smplify.refit_person", icon="FILE_REFRESH")


class AvatarSubPanel:
    """What every sub-panel of the selected avatar shares (mixed in before ``bpy.types.Panel``):
    its place in the sidebar under the Avatar panel, shown only when an avatar is selected."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "SMPLify"
    bl_parent_id = "SMPLIFY_PT_avatar"

    @classmethod
    def poll(cls, context):
        return avatar_armature(context.active_object) is not None


class SMPLIFY_PT_edit(bpy.types.Panel):
    """Drag keypoints, flip a limb's depth or the facing, pin bones: the body refits."""

    bl_idname = "SMPLIFY_PT_edit"
    bl_label = "Edit on the photo"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "SMPLify"

    @classmethod
    def poll(cls, context):
        return edit_ops.edited_armature(context) is not None

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        armature = edit_ops.edited_armature(context)
        row = layout.row(align=True)
        row.operator("smplify.edit_keypoints", icon="EMPTY_DATA")
        row.operator("smplify.refit", icon="FILE_REFRESH")
        row = layout.row(align=True)
        row.operator("smplify.flip_depth", icon="ARROW_LEFTRIGHT")
        row.operator("smplify.flip_facing", icon="LOOP_BACK")
        bone = armature.data.bones.active
        if bone is not None:
            pinned = armature.pose.bones[bone.name].get(edit_ops.PIN_PROP, False)
            layout.operator(
                "smplify.toggle_pin",
                text=f"{'Unpin' if pinned else 'Pin'} {bone.name}",
                icon="PINNED" if pinned else "UNPINNED",
            )
        found = keypoint_markers.markers(armature)
        if found:
            layout.operator("smplify.toggle_keypoint", icon="HIDE_OFF")
            column = layout.column(align=True)
            for name, marker in found.items():
                row = column.row(align=True)
                row.prop(marker, f'["{keypoint_markers.ON_PROP}"]', text=name)


class SMPLIFY_PT_bone_pin(bpy.types.Panel):
    """The active bone of an avatar: pin it, flip its depth."""

    bl_idname = "SMPLIFY_PT_bone_pin"
    bl_label = "SMPLify"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "bone"

    @classmethod
    def poll(cls, context):
        armature = avatar_armature(context.active_object)
        return armature is not None and armature.data.bones.active is not None

    def draw(self, context: bpy.types.Context) -> None:
        armature = avatar_armature(context.active_object)
        bone = armature.data.bones.active.name
        pinned = armature.pose.bones[bone].get(edit_ops.PIN_PROP, False)
        self.layout.operator(
            "smplify.toggle_pin",
            text="Unpin" if pinned else "Pin",
            icon="PINNED" if pinned else "UNPINNED",
        ).bone = bone
        if bone in edit_ops.LIMB_SEGMENTS:
            self.layout.operator("smplify.flip_depth").bone = bone


classes = (SMPLIFY_PT_main, SMPLIFY_PT_avatar, SMPLIFY_PT_edit, SMPLIFY_PT_bone_pin)
register, unregister = bpy.utils.register_classes_factory(classes)
