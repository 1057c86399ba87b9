"""Add-on preferences: the user's own SMPL model files, one per gender."""

from __future__ import annotations

import bpy
from bpy.props import IntProperty, StringProperty

from .. import __package__ as base_package
from ..core.body_model import GENDERS


class SMPLIFY_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = base_package

    smpl_neutral_path: StringProperty(
        name="SMPL neutral", subtype="FILE_PATH", description="SMPL neutral model (.pkl or .npz)"
    )
    smpl_female_path: StringProperty(
        name="SMPL female", subtype="FILE_PATH", description="SMPL female model (.pkl or .npz)"
    )
    smpl_male_path: StringProperty(
        name="SMPL male", subtype="FILE_PATH", description="SMPL male model (.pkl or .npz)"
    )
    threads: IntProperty(
        name="Detector threads",
        default=0,
        min=0,
        max=64,
        description="CPU threads for the joint detector (0: onnxruntime's default)",
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.label(
            text="Your SMPL model files (register and download them at smpl.is.tue.mpg.de)"
        )
        for gender in GENDERS:
            layout.prop(self, f"smpl_{gender}_path")
        layout.prop(self, "threads")


def get_preferences(context: bpy.types.Context | None = None):
    """This add-on's preferences, or None when it runs without being enabled as an add-on."""
    context = context or bpy.context
    addon = context.preferences.addons.get(base_package)
    return addon.preferences if addon is not None else None


classes = (SMPLIFY_AP_preferences,)
register, unregister = bpy.utils.register_classes_factory(classes)
