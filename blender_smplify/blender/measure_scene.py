"""Measurements of a built avatar in the scene: values, girth contours, CSV, shape from targets.

Every number comes from the bpy-free core (:mod:`..core.measurements`,
:mod:`..core.measurement_contours`, :mod:`..core.shape_from_measurements`) on the avatar's β,
read from its body's beta shape keys.

The girth contours are drawn on the **rest shape, placed on the posed body**: each is the
measured tape (a closed poly curve whose length is the girth), parented to the bone whose
skinning weights dominate its loop with the inverse of that bone's rest matrix, so the bone's
pose carries it exactly as it carries a vertex skinned to that bone alone. The drawn loop thus
stays the tape that was measured (its length is the value shown) and follows any later posing
live; where the skin blends two bones (knees, elbows) the posed skin can pass a few millimetres
off it. A loop cut from the posed, skinned mesh instead would hug the skin but no longer have
the girth's length, and would not follow a new pose.
"""

from __future__ import annotations

import csv
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from ..core.axes import CAMERA_TO_BLENDER, SMPL_TO_BLENDER
from ..core.errors import SmplifyError
from ..core.joints import SMPL_JOINT_NAMES
from ..core.measurement_contours import Contour, girth_contours
from ..core.measurement_jacobian import MeasurementJacobian
from ..core.measurements import DESCRIPTIONS, GIRTHS, MEASUREMENT_NAMES
from ..core.shape_from_measurements import MeasurementFit, shape_from_measurements
from . import build_rig
from .avatar_ops import avatar_body, follow_shape_keys, require_body, shape_key_betas

CONTOUR_ROLE = "contour"
MEASUREMENT_PROP = "smplify_measurement"
CONTOUR_RADIUS = 0.003  # m: the drawn tape's thickness (bevel)
GIRTH_NAMES = tuple(g.name for g in GIRTHS)
UNITS = {"CM": (100.0, "cm"), "INCH": (100.0 / 2.54, "in")}

_jacobians: dict[int, MeasurementJacobian] = {}
_last: dict[tuple, dict[str, float]] = {}


def avatar_jacobian(armature: bpy.types.Object) -> MeasurementJacobian:
    """The measurer (and its Jacobian) of the avatar's body model, made once per model."""
    from .edit_ops import avatar_model

    model = avatar_model(armature)
    if id(model) not in _jacobians:
        _jacobians[id(model)] = MeasurementJacobian(model)
    return _jacobians[id(model)]


def avatar_betas(armature: bpy.types.Object) -> np.ndarray:
    """The avatar's β (b,): its body's beta shape keys, b as many as the fit had."""
    count = len(armature.get("smplify_J_dirs", ())) // 72
    if count == 0:
        raise SmplifyError(f"{armature.name}: no shape data stored; build it again")
    return shape_key_betas(avatar_body(armature), count)


def avatar_measurements(armature: bpy.types.Object) -> dict[str, float]:
    """Every measurement (metres) of the avatar's current shape (cached per shape)."""
    jacobian = avatar_jacobian(armature)
    betas = avatar_betas(armature)
    key = (id(jacobian), betas.tobytes())
    if key not in _last:
        _last.clear()
        _last[key] = jacobian.measurer.measure(betas).values
    return _last[key]


def in_unit(metres: float, unit: str) -> float:
    """A length in the panel's unit ("CM" or "INCH")."""
    return metres * UNITS[unit][0]


# ---------------------------------------------------------------------------------- contours
def contour_objects(armature: bpy.types.Object) -> dict[str, bpy.types.Object]:
    """The avatar's contour curves by measurement name."""
    key = armature.get(build_rig.KEY_PROP)
    return {
        obj[MEASUREMENT_PROP]: obj
        for obj in bpy.data.objects
        if obj.get(build_rig.ROLE_PROP) == CONTOUR_ROLE
        and obj.get(build_rig.KEY_PROP) == key
        and obj.parent == armature
        and obj.type == "CURVE"
    }


def draw_contours(armature: bpy.types.Object, names=GIRTH_NAMES) -> dict[str, bpy.types.Object]:
    """Create or update the contour curves of ``names`` for the current shape.

    Existing contour objects keep their identity (their curve data is rewritten); new ones go
    into the avatar's collection. Returns the drawn objects by name.
    """
    build_rig.check_bones(armature)
    contours = girth_contours(avatar_jacobian(armature).measurer, avatar_betas(armature))
    existing = contour_objects(armature)
    drawn = {}
    for name in names:
        if name not in contours:
            continue
        obj = existing.get(name) or _new_contour(armature, name)
        _set_curve(obj.data, contours[name])
        _ride_on_bone(obj, armature, contours[name].bone)
        drawn[name] = obj
    return drawn


def set_contour_visible(armature: bpy.types.Object, name: str, visible: bool) -> None:
    """Show (drawing it first if needed) or hide one girth's contour."""
    obj = contour_objects(armature).get(name)
    if obj is None and visible:
        obj = draw_contours(armature, (name,)).get(name)
    if obj is not None:
        obj.hide_viewport = obj.hide_render = not visible
        obj.hide_set(not visible)


def _new_contour(armature: bpy.types.Object, name: str) -> bpy.types.Object:
    curve = bpy.data.curves.new(f"{armature.name}_{name}", "CURVE")
    curve.dimensions = "3D"
    curve.bevel_depth = CONTOUR_RADIUS
    curve.bevel_resolution = 2
    material = _contour_material(name)
    curve.materials.append(material)
    obj = bpy.data.objects.new(f"{armature.name}_{name}", curve)
    obj.color = material.diffuse_color  # the viewport's and Workbench's "object" colour
    collection = build_rig.find_avatar_collection(
        bpy.context.scene, armature.get(build_rig.KEY_PROP, "")
    )
    (collection or armature.users_collection[0]).objects.link(obj)
    obj[build_rig.ROLE_PROP] = CONTOUR_ROLE
    obj[build_rig.KEY_PROP] = armature.get(build_rig.KEY_PROP, "")
    obj[MEASUREMENT_PROP] = name
    return obj


def _set_curve(curve: bpy.types.Curve, contour: Contour) -> None:
    """One closed poly spline through the contour's points, in the armature's rest frame."""
    curve.splines.clear()
    spline = curve.splines.new("POLY")
    points = contour.points @ SMPL_TO_BLENDER.T
    spline.points.add(len(points) - 1)
    co = np.column_stack([points, np.ones(len(points))]).astype(np.float32)
    spline.points.foreach_set("co", co.ravel())
    spline.use_cyclic_u = True


def _ride_on_bone(obj: bpy.types.Object, armature: bpy.types.Object, bone_name: str) -> None:
    """Parent to the bone so that world = armature @ posed bone @ rest bone⁻¹ @ point (the
    bone parent's frame sits at the bone's tail, hence the tail offset)."""
    bone = armature.data.bones[bone_name]
    obj.parent = armature
    obj.parent_type = "BONE"
    obj.parent_bone = bone_name
    tail = Matrix.Translation((0.0, bone.length, 0.0))
    obj.matrix_parent_inverse = (bone.matrix_local @ tail).inverted()
    obj.matrix_basis = Matrix.Identity(4)


def _contour_material(name: str) -> bpy.types.Material:
    """One material per kind of girth (both sides alike), coloured along a hue wheel."""
    kind = name.removeprefix("left_").removeprefix("right_")
    material = bpy.data.materials.get(f"SMPLify {kind}")
    if material is None:
        kinds = sorted({n.removeprefix("left_").removeprefix("right_") for n in GIRTH_NAMES})
        hue = kinds.index(kind) / len(kinds)
        rgb = np.clip(np.abs(((hue * 6.0 + np.array([0.0, 4.0, 2.0])) % 6.0) - 3.0) - 1.0, 0, 1)
        material = bpy.data.materials.new(f"SMPLify {kind}")
        material.diffuse_color = (*rgb, 1.0)
        material.use_nodes = True
        shader = material.node_tree.nodes.get("Principled BSDF")
        if shader is not None:
            shader.inputs["Base Color"].default_value = (*rgb, 1.0)
    return material


# ---------------------------------------------------------------------------------- CSV
def write_csv(armature: bpy.types.Object, path: str | Path, targets=None) -> Path:
    """Every measurement of the avatar: name, cm, inch, target cm (if set), ISO description."""
    values = avatar_measurements(armature)
    targets = targets or {}
    path = Path(path)
    try:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["measurement", "value_cm", "value_in", "target_cm", "description"])
            for name in MEASUREMENT_NAMES:
                target = f"{100.0 * targets[name]:.2f}" if name in targets else ""
                value = values[name]
                cm, inch = f"{in_unit(value, 'CM'):.2f}", f"{in_unit(value, 'INCH'):.2f}"
                writer.writerow([name, cm, inch, target, DESCRIPTIONS[name]])
    except OSError as exc:
        raise SmplifyError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


# ---------------------------------------------------------------------------------- shape
def apply_measurements(
    armature: bpy.types.Object, targets: dict[str, float], keep_shape: bool = False
) -> MeasurementFit:
    """Solve the avatar's β for ``targets`` (metres) and put it on the avatar: the beta shape
    keys take the new values, the rest bones move to the new joints, every bone keeps its posed
    orientation, and the pelvis moves as SMPL's does (J₀(β) + transl); contours are redrawn.
    """
    build_rig.check_bones(armature)
    body = require_body(armature)
    if body.data.shape_keys is None:
        raise SmplifyError(f"{armature.name}: its body mesh has no shape keys")
    betas = avatar_betas(armature)
    solved = shape_from_measurements(
        avatar_jacobian(armature), targets, betas, keep_start=keep_shape
    )
    orientations = _posed_orientations(armature)
    blocks = body.data.shape_keys.key_blocks
    for i, beta in enumerate(solved.betas):
        block = blocks.get(build_rig.BETA_KEY.format(i))
        if block is None:
            raise SmplifyError(f"{body.name}: shape key {build_rig.BETA_KEY.format(i)} missing")
        limit = max(abs(block.slider_min), abs(block.slider_max), abs(float(beta)))
        block.slider_min, block.slider_max = -limit, limit
        block.value = float(beta)
    dirs = np.asarray(armature["smplify_J_dirs"], dtype=np.float64).reshape(24, 3, -1)
    follow_shape_keys(armature)
    _restore_orientations(armature, orientations)
    # SMPL keeps the pelvis at J₀(β) + transl: it moves by the rest pelvis' change
    moved = dirs[0] @ (solved.betas - betas)
    rotation = np.array(armature.matrix_world.to_3x3().normalized())
    armature.location += _vector(CAMERA_TO_BLENDER @ moved - rotation @ SMPL_TO_BLENDER @ moved)
    drawn = contour_objects(armature)
    if drawn:
        draw_contours(armature, tuple(drawn))
    return solved


def _posed_orientations(armature: bpy.types.Object) -> np.ndarray:
    """Each SMPL bone's pose rotation in the armature frame, B L Bᵀ (24, 3, 3)."""
    frames = build_rig.bone_frames(armature)
    local = np.array(
        [
            np.array(armature.pose.bones[j].matrix_basis.to_3x3().normalized())
            for j in SMPL_JOINT_NAMES
        ]
    )
    return frames @ local @ np.swapaxes(frames, 1, 2)


def _restore_orientations(armature: bpy.types.Object, aligned: np.ndarray) -> None:
    """Local pose rotations L' = B'ᵀ (B L Bᵀ) B' for the moved rest bones B'."""
    frames = build_rig.bone_frames(armature)
    local = np.swapaxes(frames, 1, 2) @ aligned @ frames
    for k, joint in enumerate(SMPL_JOINT_NAMES):
        pose_bone = armature.pose.bones[joint]
        pose_bone.rotation_mode = "QUATERNION"
        pose_bone.rotation_quaternion = Matrix(local[k].tolist()).to_quaternion()


def _vector(values: np.ndarray):
    from mathutils import Vector

    return Vector(tuple(float(v) for v in values))
