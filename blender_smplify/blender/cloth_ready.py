"""Make an avatar's body ready for cloth: a collider, a watertight check, a shallow navel.

- :func:`add_collision`: a Collision modifier right after the body's Armature modifier, so cloth
  collides with the posed surface (3 mm outer thickness, the skin offset garment tools default to;
  single-sided, so cloth caught inside is pushed out along the body's normals).
- :func:`manifold_check`: the body's faces through :func:`..core.mesh_checks.manifold_report`;
  :func:`close_holes` adds triangles over the existing vertices where the mesh is open.
- :func:`shallow_navel`: :mod:`..core.navel`'s linear fill applied to the mesh and to every shape
  key alike, so every shape the sliders make keeps the shallow navel.
"""

from __future__ import annotations

import bmesh
import bpy
import numpy as np
from bpy.props import BoolProperty, FloatProperty

from ..core.axes import SMPL_TO_BLENDER
from ..core.errors import SmplifyError
from ..core.measurement_landmarks import find_landmarks
from ..core.mesh_checks import ManifoldReport, fill_holes, manifold_report
from ..core.navel import NavelRegion, navel_region
from . import build_rig
from .avatar_ops import AvatarOperator, avatar_armature, require_body

COLLISION_NAME = "SMPLify Collision"
#: collider settings: skin offset (m), friction and damping of Blender's cloth defaults
SKIN_OFFSET = 0.003
CLOTH_FRICTION = 5.0
CLOTH_DAMPING = 0.1
FRONT_SMPL = np.array([0.0, 0.0, 1.0])


def add_collision(body: bpy.types.Object, thickness: float = SKIN_OFFSET) -> bpy.types.Modifier:
    """Add (or update) the body's Collision modifier, placed right after its Armature modifier.

    Returns the modifier. Raises SmplifyError when the body has lost its Armature modifier
    (cloth would then collide with the rest pose).
    """
    modifiers = body.modifiers
    armature_at = modifiers.find(build_rig.MODIFIER_NAME)
    if armature_at < 0:
        raise SmplifyError(f"{body.name}: its '{build_rig.MODIFIER_NAME}' modifier is missing")
    collision = next((m for m in modifiers if m.type == "COLLISION"), None)
    if collision is None:
        collision = modifiers.new(COLLISION_NAME, "COLLISION")
    modifiers.move(modifiers.find(collision.name), armature_at + 1)
    settings = body.collision
    settings.use = True
    settings.thickness_outer = thickness
    settings.use_culling = True  # single-sided
    settings.use_normal = False
    settings.cloth_friction = CLOTH_FRICTION
    settings.damping = CLOTH_DAMPING
    return collision


def body_polygons(body: bpy.types.Object) -> np.ndarray:
    """The body's faces as triangles (T, 3) (Blender's own triangulation of its polygons, which
    keeps edges shared, orientation and the Euler characteristic)."""
    mesh = body.data
    mesh.calc_loop_triangles()
    triangles = np.empty(3 * len(mesh.loop_triangles), dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", triangles)
    return triangles.reshape(-1, 3).astype(np.int64)


def manifold_check(body: bpy.types.Object) -> ManifoldReport:
    """Is the body's mesh a closed, consistently oriented 2-manifold in one piece?"""
    return manifold_report(body_polygons(body), len(body.data.vertices))


def close_holes(body: bpy.types.Object) -> int:
    """Close every hole of the body's mesh with triangles over its vertices; returns how many
    triangles were added. Shape keys and vertex groups stay as they are (no vertex is added)."""
    patch = fill_holes(body_polygons(body))
    if not len(patch):
        return 0
    mesh = bmesh.new()
    try:
        mesh.from_mesh(body.data)
        mesh.verts.ensure_lookup_table()
        for a, b, c in patch.tolist():
            mesh.faces.new((mesh.verts[a], mesh.verts[b], mesh.verts[c])).smooth = True
        mesh.to_mesh(body.data)
    finally:
        mesh.free()
    body.data.update()
    return len(patch)


def key_coordinates(body: bpy.types.Object) -> dict[str, np.ndarray]:
    """Every shape key's coordinates (V, 3) in the SMPL frame, by name (Basis first)."""
    keys = body.data.shape_keys
    if keys is None:
        raise SmplifyError(f"{body.name} has no shape keys: build the avatar again")
    out = {}
    for block in keys.key_blocks:
        co = np.empty(3 * len(block.data), dtype=np.float32)
        block.data.foreach_get("co", co)
        out[block.name] = co.reshape(-1, 3).astype(np.float64) @ SMPL_TO_BLENDER
    return out


def current_shape(body: bpy.types.Object, keys: dict[str, np.ndarray]) -> np.ndarray:
    """The shape-key mix (V, 3) the sliders make now, SMPL frame (relative keys on Basis)."""
    blocks = body.data.shape_keys.key_blocks
    basis = keys[blocks[0].name]
    mix = basis.copy()
    for block in blocks[1:]:
        if not block.mute and block.relative_key == blocks[0]:
            mix += block.value * (keys[block.name] - basis)
    return mix


def navel_of(body: bpy.types.Object, keys: dict[str, np.ndarray]) -> NavelRegion:
    """The navel region on the body's Basis (its omphalion landmark)."""
    armature = avatar_armature(body)
    if armature is None or "smplify_J_template" not in armature:
        raise SmplifyError(f"{body.name} is not the body of an SMPLify avatar")
    basis = keys[body.data.shape_keys.key_blocks[0].name]
    joints = np.asarray(armature["smplify_J_template"], dtype=np.float64).reshape(24, 3)
    navel = find_landmarks(basis, body_polygons(body), joints)["omphalion"]
    return navel_region(basis, navel, FRONT_SMPL)


def shallow_navel(body: bpy.types.Object, max_depth: float) -> tuple[float, float]:
    """Fill the navel of the current shape up to ``max_depth`` (m), on the mesh and on every shape
    key with the same linear map. Returns the depth (m) of the current shape before and after."""
    keys = key_coordinates(body)
    region = navel_of(body, keys)
    shape = current_shape(body, keys)
    strength = region.strength_for(shape, max_depth)
    before = region.depth(shape)
    if strength > 0:
        blocks = body.data.shape_keys.key_blocks
        for name, co in keys.items():
            filled = region.fill(co, strength) @ SMPL_TO_BLENDER.T
            blocks[name].data.foreach_set("co", filled.astype(np.float32).ravel())
        basis = region.fill(keys[blocks[0].name], strength) @ SMPL_TO_BLENDER.T
        body.data.vertices.foreach_set("co", basis.astype(np.float32).ravel())
        body.data.update()
    return before, region.depth(current_shape(body, key_coordinates(body)))


class SMPLIFY_OT_ready_for_cloth(AvatarOperator, bpy.types.Operator):
    """Make the avatar's body a cloth collider (3 mm skin offset) and check it is watertight"""

    bl_idname = "smplify.ready_for_cloth"
    bl_label = "Ready for cloth"

    thickness: FloatProperty(
        name="Skin offset", default=SKIN_OFFSET, min=0.0, max=0.05, unit="LENGTH"
    )
    close: BoolProperty(name="Close holes", description="Fill open holes with triangles")

    def apply(self, context, armature: bpy.types.Object) -> None:
        body = require_body(armature)
        add_collision(body, self.thickness)
        added = close_holes(body) if self.close else 0
        report = manifold_check(body)
        filled = f"; {added} triangles filled holes" if added else ""
        self.report({"INFO"} if report.closed else {"WARNING"}, report.summary() + filled)


class SMPLIFY_OT_shallow_navel(AvatarOperator, bpy.types.Operator):
    """Fill the navel of the avatar's body up to a depth, on every shape key alike"""

    bl_idname = "smplify.shallow_navel"
    bl_label = "Shallow navel"

    max_depth: FloatProperty(
        name="Deepest", default=0.002, min=0.0, max=0.05, unit="LENGTH", precision=4
    )

    def apply(self, context, armature: bpy.types.Object) -> None:
        before, after = shallow_navel(require_body(armature), self.max_depth)
        self.report({"INFO"}, f"navel depth {1e3 * before:.1f} mm -> {1e3 * after:.1f} mm")


classes = (SMPLIFY_OT_ready_for_cloth, SMPLIFY_OT_shallow_navel)
register, unregister = bpy.utils.register_classes_factory(classes)
