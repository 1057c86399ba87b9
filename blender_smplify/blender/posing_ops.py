"""Operators and the sidebar sub-panel of the garment tools: cloth, IK, joint limits, review poses.

Thin glue over :mod:`.cloth_ready`, :mod:`.ik_controls` and :mod:`.posing`. Every operator is one
undo step and touches only the avatar's own objects (our empties, constraints and Actions).
"""

from __future__ import annotations

import bpy
from bpy.props import EnumProperty

from ..core.review_poses import POSE_LABELS, REVIEW_POSES
from . import ik_controls, posing
from .avatar_ops import AvatarOperator, avatar_armature
from .panels import AvatarSubPanel

#: the review poses as enum items (a constant: Blender evaluates the annotations by name)
POSE_ITEMS = tuple((name, POSE_LABELS[name], "") for name in REVIEW_POSES)


class _PoseOperator(AvatarOperator):
    """An avatar operator that also runs in pose mode (where posing happens)."""

    @classmethod
    def poll(cls, context):
        armature = avatar_armature(context.active_object)
        return context.mode in {"OBJECT", "POSE"} and armature is not None


class SMPLIFY_OT_toggle_ik(_PoseOperator, bpy.types.Operator):
    """Switch IK controls for the arms and legs on (targets at wrists and ankles, poles at elbows
    and knees) or off (the pose stays, as FK)"""

    bl_idname = "smplify.toggle_ik"
    bl_label = "IK controls"

    def apply(self, context, armature):
        if ik_controls.ik_enabled(armature):
            ik_controls.disable_ik(armature)
        else:
            ik_controls.enable_ik(armature)


class SMPLIFY_OT_toggle_joint_limits(_PoseOperator, bpy.types.Operator):
    """Limit each joint's rotation to the fit's joint limits (Limit Rotation constraints), or
    remove those limits"""

    bl_idname = "smplify.toggle_joint_limits"
    bl_label = "Joint limits"

    def apply(self, context, armature):
        if posing.has_joint_limits(armature):
            posing.remove_joint_limits(armature)
        else:
            posing.add_joint_limits(armature)


class SMPLIFY_OT_review_pose(_PoseOperator, bpy.types.Operator):
    """Pose the avatar in a garment-review pose from its pose library (stored as pose assets);
    IK controls, if on, follow"""

    bl_idname = "smplify.review_pose"
    bl_label = "Review pose"

    pose: EnumProperty(name="Pose", items=POSE_ITEMS, default="A")

    def apply(self, context, armature):
        with_ik = ik_controls.ik_enabled(armature)
        if with_ik:  # the IK targets would hold the limbs: place them again from the new pose
            ik_controls.disable_ik(armature)
        posing.apply_review_pose(armature, self.pose)
        if with_ik:
            ik_controls.enable_ik(armature)


class SMPLIFY_OT_pose_library(_PoseOperator, bpy.types.Operator):
    """Store the garment-review poses as this avatar's pose assets (Pose Library, Asset Browser)"""

    bl_idname = "smplify.pose_library"
    bl_label = "Store pose assets"

    def apply(self, context, armature):
        actions = posing.pose_library(armature)
        self.report({"INFO"}, f"{len(actions)} pose assets: " + ", ".join(a.name for a in actions))


class SMPLIFY_PT_garment_review(AvatarSubPanel, bpy.types.Panel):
    """Cloth collision, a shallow navel, IK, joint limits and review poses, under the Avatar
    panel."""

    bl_idname = "SMPLIFY_PT_garment_review"
    bl_label = "Garment review"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        armature = avatar_armature(context.active_object)
        row = layout.row(align=True)
        row.operator("smplify.ready_for_cloth", icon="MOD_CLOTH")
        row.operator("smplify.shallow_navel")
        row = layout.row(align=True)
        ik_on, limits_on = ik_controls.ik_enabled(armature), posing.has_joint_limits(armature)
        row.operator("smplify.toggle_ik", text="IK on" if ik_on else "IK off", depress=ik_on)
        row.operator(
            "smplify.toggle_joint_limits",
            text="Limits on" if limits_on else "Limits off",
            depress=limits_on,
        )
        grid = layout.grid_flow(columns=3, align=True)
        for name in REVIEW_POSES:
            grid.operator("smplify.review_pose", text=POSE_LABELS[name]).pose = name
        layout.operator("smplify.pose_library", icon="ASSET_MANAGER")


classes = (
    SMPLIFY_OT_toggle_ik,
    SMPLIFY_OT_toggle_joint_limits,
    SMPLIFY_OT_review_pose,
    SMPLIFY_OT_pose_library,
    SMPLIFY_PT_garment_review,
)
register, unregister = bpy.utils.register_classes_factory(classes)
