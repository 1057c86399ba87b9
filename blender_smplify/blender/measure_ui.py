"""The Measurements sub-panel of an avatar: values in cm or inch, targets, contours, CSV.

Settings live on the avatar's armature object (``Object.smplify_measure``): the unit, and per
measurement a "use" box and a target (stored in metres, shown and typed in the panel's unit), and
per girth whether its contour is shown. The work is done in :mod:`.measure_scene`.
"""

from __future__ import annotations

import json

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ..core.errors import SmplifyError
from ..core.measurements import DESCRIPTIONS, MEASUREMENT_NAMES
from . import measure_scene
from .avatar_ops import _AvatarOperator, avatar_armature

UNIT_ITEMS = (("CM", "cm", "Centimetres"), ("INCH", "inch", "Inches"))


def _target_get(name: str):
    def get(self) -> float:
        return measure_scene.in_unit(getattr(self, f"target_{name}"), self.unit)

    return get


def _target_set(name: str):
    def set_(self, value: float) -> None:
        setattr(self, f"target_{name}", value / measure_scene.in_unit(1.0, self.unit))

    return set_


def _use_update(name: str):
    def update(self, context) -> None:
        """Ticking a measurement starts its target at the current value."""
        if getattr(self, f"use_{name}") and getattr(self, f"target_{name}") <= 0.0:
            try:
                value = measure_scene.avatar_measurements(self.id_data)[name]
            except SmplifyError:
                return
            setattr(self, f"target_{name}", value)

    return update


def _show_update(name: str):
    def update(self, context) -> None:
        try:
            measure_scene.set_contour_visible(self.id_data, name, getattr(self, f"show_{name}"))
        except SmplifyError as error:
            print(f"SMPLify: {error}")

    return update


def _settings_annotations() -> dict:
    """The settings' properties: fixed ones, then three per measurement and one per girth."""
    annotations = {
        "unit": EnumProperty(name="Unit", items=UNIT_ITEMS, default="CM"),
        "keep_shape": BoolProperty(
            name="Keep the rest",
            description="Keep the measurements not asked for where the avatar has them "
            "(off: the body model's population decides them)",
            default=False,
        ),
        "residuals": StringProperty(options={"HIDDEN"}),  # JSON: name -> metres, last apply
    }
    for name in MEASUREMENT_NAMES:
        annotations[f"use_{name}"] = BoolProperty(
            name=f"Set {name}", description=DESCRIPTIONS[name], update=_use_update(name)
        )
        annotations[f"target_{name}"] = FloatProperty(options={"HIDDEN"}, min=0.0)  # metres
        annotations[name] = FloatProperty(
            name=name,
            description=f"Target, in the panel's unit. {DESCRIPTIONS[name]}",
            get=_target_get(name),
            set=_target_set(name),
            min=0.0,
            precision=1,
        )
    for name in measure_scene.GIRTH_NAMES:
        annotations[f"show_{name}"] = BoolProperty(
            name="Contour", description=f"Show the {name} contour", update=_show_update(name)
        )
    return annotations


SmplifyMeasureSettings = type(
    "SmplifyMeasureSettings",
    (bpy.types.PropertyGroup,),
    {"__annotations__": _settings_annotations(), "__doc__": "An avatar's measurement settings"},
)


def targets_of(armature: bpy.types.Object) -> dict[str, float]:
    """The ticked targets (metres) of an avatar."""
    settings = armature.smplify_measure
    return {
        n: getattr(settings, f"target_{n}")
        for n in MEASUREMENT_NAMES
        if getattr(settings, f"use_{n}")
    }


def panel_rows(armature: bpy.types.Object) -> list[tuple[str, float, float | None]]:
    """What the panel lists: (name, value, last residual or None), in the panel's unit."""
    unit = armature.smplify_measure.unit
    values = measure_scene.avatar_measurements(armature)
    residuals = json.loads(armature.smplify_measure.residuals or "{}")
    return [
        (
            n,
            measure_scene.in_unit(values[n], unit),
            measure_scene.in_unit(residuals[n], unit) if n in residuals else None,
        )
        for n in MEASUREMENT_NAMES
    ]


class SMPLIFY_OT_apply_measurements(_AvatarOperator, bpy.types.Operator):
    """Solve the shape for the ticked target measurements; the pose stays, the bones follow"""

    bl_idname = "smplify.apply_measurements"
    bl_label = "Apply measurements"

    def apply(self, context, armature):
        targets = targets_of(armature)
        if not targets:
            raise SmplifyError("tick at least one measurement and type its target")
        settings = armature.smplify_measure
        solved = measure_scene.apply_measurements(armature, targets, settings.keep_shape)
        settings.residuals = json.dumps(solved.residuals)
        worst = max(solved.residuals, key=lambda n: abs(solved.residuals[n]))
        residual = measure_scene.in_unit(solved.residuals[worst], settings.unit)
        unit = measure_scene.UNITS[settings.unit][1]
        self.report({"INFO"}, f"shape solved; largest residual {worst} {residual:+.2f} {unit}")


class SMPLIFY_OT_export_measurements(_AvatarOperator, ExportHelper, bpy.types.Operator):
    """Write the avatar's measurements (cm and inch, targets, ISO 8559-1 terms) as CSV"""

    bl_idname = "smplify.export_measurements"
    bl_label = "Export CSV"
    bl_options = {"REGISTER"}  # noqa: RUF012 (Blender reads a set)
    filename_ext = ".csv"
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})

    def apply(self, context, armature):
        path = measure_scene.write_csv(armature, self.filepath, targets_of(armature))
        self.report({"INFO"}, f"measurements saved to {path}")


class SMPLIFY_OT_show_contours(_AvatarOperator, bpy.types.Operator):
    """Show or hide every girth contour of the avatar"""

    bl_idname = "smplify.show_contours"
    bl_label = "Contours"
    show: BoolProperty(name="Show", default=True)

    def apply(self, context, armature):
        settings = armature.smplify_measure
        for name in measure_scene.GIRTH_NAMES:
            setattr(settings, f"show_{name}", self.show)


class SMPLIFY_PT_measurements(bpy.types.Panel):
    """ISO 8559-1 measurements of the selected avatar"""

    bl_idname = "SMPLIFY_PT_measurements"
    bl_label = "Measurements"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "SMPLify"
    bl_parent_id = "SMPLIFY_PT_avatar"

    @classmethod
    def poll(cls, context):
        return avatar_armature(context.active_object) is not None

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        armature = avatar_armature(context.active_object)
        settings = armature.smplify_measure
        try:
            rows = panel_rows(armature)
        except SmplifyError as error:
            layout.label(text=str(error), icon="ERROR")
            return
        layout.row().prop(settings, "unit", expand=True)
        row = layout.row(align=True)
        row.operator("smplify.show_contours", text="Show contours", icon="HIDE_OFF").show = True
        row.operator("smplify.show_contours", text="Hide", icon="HIDE_ON").show = False
        column = layout.column(align=True)
        for name, value, residual in rows:
            row = column.row(align=True)
            row.prop(settings, f"use_{name}", text="")
            row.label(text=f"{name.replace('_', ' ')}  {value:.1f}")
            target = row.row(align=True)
            target.enabled = getattr(settings, f"use_{name}")
            target.prop(settings, name, text="")
            if residual is not None:
                row.label(text=f"{residual:+.1f}")
            if name in measure_scene.GIRTH_NAMES:
                shown = getattr(settings, f"show_{name}")
                icon = "HIDE_OFF" if shown else "HIDE_ON"
                row.prop(settings, f"show_{name}", text="", icon=icon, emboss=False)
        row = layout.row(align=True)
        row.operator("smplify.apply_measurements", icon="MOD_SHRINKWRAP")
        row.prop(settings, "keep_shape", toggle=True)
        layout.operator("smplify.export_measurements", icon="EXPORT")


classes = (
    SmplifyMeasureSettings,
    SMPLIFY_OT_apply_measurements,
    SMPLIFY_OT_export_measurements,
    SMPLIFY_OT_show_contours,
    SMPLIFY_PT_measurements,
)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.types.Object.smplify_measure = PointerProperty(type=SmplifyMeasureSettings)


def unregister() -> None:
    del bpy.types.Object.smplify_measure
    _unregister()
