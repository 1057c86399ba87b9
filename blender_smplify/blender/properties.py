"""Scene settings of the panel (``Scene.smplify``) and the last detection and fit."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    PointerProperty,
    StringProperty,
)

from ..core.body_model import GENDERS
from ..core.pipeline import SILHOUETTE_FROM_MASK

GENDER_ITEMS = tuple((gender, gender.title(), f"The {gender} body model") for gender in GENDERS)


class SmplifySettings(bpy.types.PropertyGroup):
    image_source: EnumProperty(
        name="Image",
        items=(
            ("FILE", "File", "A photo on disk"),
            ("IMAGE", "Blender image", "An image already loaded in Blender"),
        ),
        default="FILE",
    )
    image_path: StringProperty(name="Photo", subtype="FILE_PATH", description="Reference photo")
    image: PointerProperty(name="Image", type=bpy.types.Image, description="Reference image")
    gender: EnumProperty(name="Gender", items=GENDER_ITEMS, default="neutral")
    model_source: EnumProperty(
        name="Body model",
        items=(
            ("OPEN", "Open model", "The open SMPL-format body model shipped with the add-on"),
            ("SMPL", "SMPL files", "Your SMPL model files, set in the add-on preferences"),
        ),
        default="OPEN",
    )
    focal_mode: EnumProperty(
        name="Focal length",
        items=(
            ("AUTO", "Auto", "From the photo's EXIF, else a default field of view"),
            ("MANUAL", "Manual", "Focal length in pixels"),
        ),
        default="AUTO",
    )
    focal_length: FloatProperty(
        name="Focal (px)", default=1000.0, min=10.0, max=100000.0, description="Pixels"
    )
    height_cm: FloatProperty(
        name="Height (cm)",
        default=0.0,
        soft_min=0.0,
        soft_max=250.0,
        precision=1,
        description="The person's known height (stature) in cm: the fitted body gets it; "
        "0: unknown",
    )
    fit_outline: BoolProperty(
        name="Fit the outline (tight clothing)",
        default=SILHOUETTE_FROM_MASK,
        description="Fit the detected person's outline too: better girths and pose when the "
        "clothes are tight; loose clothing makes the body wider",
    )
    status: StringProperty(name="Status", default="")
    progress: FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    # The last detection and fit (JSON), with the photo they belong to.
    keypoints_json: StringProperty(options={"HIDDEN"})
    keypoints_key: StringProperty(options={"HIDDEN"})
    fit_json: StringProperty(options={"HIDDEN"})
    fit_key: StringProperty(options={"HIDDEN"})
    fit_model: StringProperty(options={"HIDDEN"})  # the fit's SMPL file; empty: open model


classes = (SmplifySettings,)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.types.Scene.smplify = PointerProperty(type=SmplifySettings)


def unregister() -> None:
    del bpy.types.Scene.smplify
    _unregister()
