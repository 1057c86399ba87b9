"""The Measurements sub-panel of an avatar: values in cm or inch, targets, contours, CSV.

Settings live on the avatar's armature object (``Object.smplify_measure``): the unit, and per
measurement a "use" box and a target in the panel's unit (the unit operator converts them). A
contour's visibility is its curve object's own. The work is done in :mod:`.measure_scene`.
"""

from __future__ import annotations

import json

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ..core.errors import SmplifyError
from ..core.measurements import DESCRIPTIONS, MEASUREMENT_NAMES
from . import measure_scene
from .avatar_ops import AvatarOperator, avatar_armature
from .panels import AvatarSubPanel

UNIT_ITEMS = (("CM", "cm", "Centimetres"), ("INCH", "inch", "Inches"))


def _settings_annotations() -> dict:
    """The settings' properties: fixed ones, then two per measurement.

    No property has a Python callback (update, get, set): with the bpy module a registered
    callback crashes the interpreter at exit after unregistering. Changing the unit and
    toggling a contour are operators instead.
    """
    annotations = {
        "unit": EnumProperty(name="Unit", items=UNIT_ITEMS, default="CM", options={"HIDDEN"}),
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
            name=f"Set {name}", description=f"Ask for this measurement. {DESCRIPTIONS[name]}"
        )
        annotations[f"target_{name}"] = FloatProperty(
            name=name,
            description=f"Target, in the panel's unit. {DESCRIPTIONS[name]}",
            min=0.0,
            precision=1,
        )
    return annotations


SmplifyMeasureSettings = type(
    "SmplifyMeasureSettings",
    (bpy.types.PropertyGroup,),
    {"__annotations__": _settings_annotations(), "__doc__": "An avatar's measurement settings"},
)


def targets_of(armature: bpy.types.Object) -> dict[str, float]:
    """The ticked targets of an avatar, in metres; a ticked one must have a target."""
    settings = armature.smplify_measure
    per_metre = measure_scene.in_unit(1.0, settings.unit)
    targets = {}
    for name in MEASUREMENT_NAMES:
        if getattr(settings, f"use_{name}"):
            value = getattr(settings, f"target_{name}")
            if value <= 0.0:
                raise SmplifyError(f"{name} is ticked: type its target")
            targets[name] = value / per_metre
    return targets


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


class SMPLIFY_OT_apply_measurements(AvatarOperator, bpy.types.Operator):
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


class SMPLIFY_OT_export_measurements(AvatarOperator, ExportHelper, bpy.types.Operator):
    """Write the avatar's measurements (cm and inch, targets, ISO 8559-1 terms) as CSV"""

    bl_idname = "smplify.export_measurements"
    bl_label = "Export CSV"
    bl_options = {"REGISTER"}  # noqa: RUF012 (Blender reads a set)
    filename_ext = ".csv"
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})

    def apply(self, context, armature):
        path = measure_scene.write_csv(armature, self.filepath, targets_of(armature))
        self.report({"INFO"}, f"measurements saved to {path}")


class SMPLIFY_OT_show_contours(AvatarOperator, bpy.types.Operator):
    """Show or hide every girth contour of the avatar"""

    bl_idname = "smplify.show_contours"
    bl_label = "Contours"
    show: BoolProperty(name="Show", default=True)

    def apply(self, context, armature):
        for name in measure_scene.GIRTH_NAMES:
            measure_scene.set_contour_visible(armature, name, self.show)


class SMPLIFY_OT_toggle_contour(AvatarOperator, bpy.types.Operator):
    """Show or hide this girth's contour on the avatar"""

    bl_idname = "smplify.toggle_contour"
    bl_label = "Toggle contour"
    name: StringProperty(name="Measurement")

    def apply(self, context, armature):
        if self.name not in measure_scene.GIRTH_NAMES:
            raise SmplifyError(f"'{self.name}' is not a girth: no contour to draw")
        shown = measure_scene.contour_objects(armature).get(self.name)
        visible = shown is None or shown.hide_viewport
        measure_scene.set_contour_visible(armature, self.name, visible)


class SMPLIFY_OT_measure_unit(AvatarOperator, bpy.types.Operator):
    """Show the measurements in this unit (the targets are converted)"""

    bl_idname = "smplify.measure_unit"
    bl_label = "Unit"
    unit: EnumProperty(name="Unit", items=UNIT_ITEMS, default="CM")

    def apply(self, context, armature):
        settings = armature.smplify_measure
        scale = measure_scene.in_unit(1.0, self.unit) / measure_scene.in_unit(1.0, settings.unit)
        for name in MEASUREMENT_NAMES:
            setattr(settings, f"target_{name}", getattr(settings, f"target_{name}") * scale)
        settings.unit = self.unit


class SMPLIFY_PT_measurements(AvatarSubPanel, bpy.types.Panel):
    """ISO 8559-1 measurements of the selected avatar"""

    bl_idname = "SMPLIFY_PT_measurements"
    bl_label = "Measurements"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        armature = avatar_armature(context.active_object)
        settings = armature.smplify_measure
        try:
            rows = panel_rows(armature)
        except SmplifyError as error:
            layout.label(text=str(error), icon="ERROR")
            return
        row = layout.row(align=True)
        for unit, label, _ in UNIT_ITEMS:
            row.operator(
                "smplify.measure_unit", text=label, depress=settings.unit == unit
            ).unit = unit
        row = layout.row(align=True)
        row.operator("smplify.show_contours", text="Show contours", icon="HIDE_OFF").show = True
        row.operator("smplify.show_contours", text="Hide", icon="HIDE_ON").show = False
        contours = measure_scene.contour_objects(armature)
        column = layout.column(align=True)
        for name, value, residual in rows:
            row = column.row(align=True)
            row.prop(settings, f"use_{name}", text="")
            row.label(text=f"{name.replace('_', ' ')}  {value:.1f}")
            target = row.row(align=True)
            target.enabled = getattr(settings, f"use_{name}")
            target.prop(settings, f"target_{name}", text="")
            if residual is not None:
                row.label(text=f"{residual:+.1f}")
            if name in measure_scene.GIRTH_NAMES:
                shown = name in contours and not contours[name].hide_viewport
                icon = "HIDE_OFF" if shown else "HIDE_ON"
                row.operator(
                    "smplify.toggle_contour", text="", icon=icon, emboss=False
                ).name = name
        row = layout.row(align=True)
        row.operator("smplify.apply_measurements", icon="MOD_SHRINKWRAP")
        row.prop(settings, "keep_shape", toggle=True)
        layout.operator("smplify.export_measurements", icon="EXPORT")


classes = (
    SmplifyMeasureSettings,
    SMPLIFY_OT_apply_measurements,
    SMPLIFY_OT_export_measurements,
    SMPLIFY_OT_show_contours,
    SMPLIFY_OT_toggle_contour,
    SMPLIFY_OT_measure_unit,
    SMPLIFY_PT_measurements,
)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.types.Object.smplify_measure = PointerProperty(type=SmplifyMeasureSettings)


def unregister() -> None:
    del bpy.types.Object.smplify_measure
    _unregister()
