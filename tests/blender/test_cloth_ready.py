"""Ready for cloth: the collider, the watertight check, the navel fill, and a cloth plane dropped
onto the shoulder of a built avatar through Blender's own cloth solver."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import make_fit

#: the cloth drop: a 0.24 m plane of 16 × 16 quads, 12 cm above the left shoulder joint
CLOTH_SIZE, CLOTH_CUTS, CLOTH_DROP, CLOTH_FRAMES = 0.24, 16, 0.12, 20


def standing_fit(model, betas=None):
    """An upright T-pose 4 m in front of the camera (the body's up is the world's z)."""
    from blender_smplify.core.fit_result import FitResult

    betas = np.zeros(10) if betas is None else np.asarray(betas, dtype=float)
    pose = np.zeros(72)
    pose[0] = np.pi
    transl = np.array([0.0, 0.0, 4.0])
    _, joints = model.forward(betas, pose, transl)
    return FitResult(
        betas=betas,
        pose=pose,
        transl=transl,
        focal_length=1100.0,
        principal_point=np.array([320.0, 240.0]),
        image_size=(640, 480),
        joints_3d=joints,
        energy={},
        gender="neutral",
    )


@pytest.fixture(scope="module")
def open_model():
    from blender_smplify.core.body_model import BodyModel

    return BodyModel.load()


@pytest.fixture
def record(record_property):
    """Keep figures in the test report (``--junitxml``) and print them (``-s``)."""

    def keep(**figures):
        for name, value in figures.items():
            record_property(name, value)
            print(f"{name} = {value:.3f}")

    return keep


@pytest.fixture
def avatar(bpy_module, empty_scene, open_model):
    from blender_smplify.blender import build_rig

    return build_rig.build(standing_fit(open_model), open_model, name="cloth")


def world_mesh(bpy, obj) -> tuple[np.ndarray, np.ndarray]:
    """Evaluated vertices (V, 3) in world space and triangles (T, 3) of ``obj``."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(3 * len(mesh.vertices))
        mesh.vertices.foreach_get("co", co)
        mesh.calc_loop_triangles()
        triangles = np.empty(3 * len(mesh.loop_triangles), dtype=np.int64)
        mesh.loop_triangles.foreach_get("vertices", triangles)
    finally:
        evaluated.to_mesh_clear()
    world = np.array(obj.matrix_world)
    return co.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3], triangles.reshape(-1, 3)


def drop_cloth(bpy, avatar) -> tuple[np.ndarray, float]:
    """Drop the plane onto the left shoulder, run frames 1..20; returns the cloth's world
    vertices (P, 3) and the seconds the simulation took."""
    bpy.context.view_layer.update()
    armature = avatar.armature
    shoulder = armature.matrix_world @ armature.pose.bones["left_shoulder"].head
    bpy.ops.mesh.primitive_grid_add(
        x_subdivisions=CLOTH_CUTS,
        y_subdivisions=CLOTH_CUTS,
        size=CLOTH_SIZE,
        location=(shoulder.x + 0.04, shoulder.y, shoulder.z + CLOTH_DROP),
    )
    cloth = bpy.context.active_object
    modifier = cloth.modifiers.new("Cloth", "CLOTH")
    modifier.settings.quality = 5
    modifier.collision_settings.distance_min = 0.002  # the body's 3 mm offset does the work
    modifier.point_cache.frame_start, modifier.point_cache.frame_end = 1, CLOTH_FRAMES
    start = time.perf_counter()
    for frame in range(1, CLOTH_FRAMES + 1):
        bpy.context.scene.frame_set(frame)
    seconds = time.perf_counter() - start
    return world_mesh(bpy, cloth)[0], seconds


def test_collision_modifier_comes_right_after_the_armature(bpy_module, avatar):
    from blender_smplify.blender import cloth_ready

    body = avatar.body
    body.modifiers.new("user subdivision", "SUBSURF")
    cloth_ready.add_collision(body)
    cloth_ready.add_collision(body)  # again: updated, not duplicated
    assert [m.type for m in body.modifiers] == ["ARMATURE", "COLLISION", "SUBSURF"]
    settings = body.collision
    assert settings.thickness_outer == pytest.approx(0.003)
    assert settings.use_culling and settings.use


def test_collision_needs_the_armature_modifier(bpy_module, avatar):
    from blender_smplify.blender import build_rig, cloth_ready
    from blender_smplify.core.errors import SmplifyError

    avatar.body.modifiers.remove(avatar.body.modifiers[build_rig.MODIFIER_NAME])
    with pytest.raises(SmplifyError, match="modifier is missing"):
        cloth_ready.add_collision(avatar.body)


def test_cloth_dropped_on_the_shoulder_stays_outside_the_body(bpy_module, avatar, record):
    from blender_smplify.blender import cloth_ready
    from blender_smplify.core.mesh_checks import winding_numbers

    bpy = bpy_module
    cloth_ready.add_collision(avatar.body)
    cloth, seconds = drop_cloth(bpy, avatar)
    body, triangles = world_mesh(bpy, avatar.body)
    inside = winding_numbers(body, triangles, cloth) > 0.5
    clearance = _clearance(bpy, avatar.body, cloth)
    record(cloth_seconds=seconds, cloth_min_clearance_mm=1e3 * clearance.min())
    assert not inside.any(), f"{inside.sum()} cloth vertices inside the body"
    # it rests on the shoulder (without a collider it falls through to the feet)
    assert clearance.min() < 0.01
    shoulder = bpy.context.scene.objects[avatar.armature.name].pose.bones["left_shoulder"]
    assert cloth[:, 2].min() > (avatar.armature.matrix_world @ shoulder.head).z - 0.15


def _clearance(bpy, body, points: np.ndarray) -> np.ndarray:
    """Distance (P,) of each world point to the evaluated body surface."""
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree

    depsgraph = bpy.context.evaluated_depsgraph_get()
    tree = BVHTree.FromObject(body.evaluated_get(depsgraph), depsgraph)
    to_local = body.matrix_world.inverted()
    return np.array([tree.find_nearest(to_local @ Vector(p))[3] for p in points])


def test_open_body_is_watertight_and_a_hole_is_closed(bpy_module, avatar):
    import bmesh

    from blender_smplify.blender import cloth_ready

    body = avatar.body
    report = cloth_ready.manifold_check(body)
    assert report.closed and report.genus == 0
    mesh = bmesh.new()
    mesh.from_mesh(body.data)
    mesh.faces.ensure_lookup_table()
    bmesh.ops.delete(mesh, geom=[mesh.faces[100], mesh.faces[5000]], context="FACES_ONLY")
    mesh.to_mesh(body.data)
    mesh.free()
    opened = cloth_ready.manifold_check(body)
    assert not opened.closed and opened.holes == 2
    keys = len(body.data.shape_keys.key_blocks)
    assert cloth_ready.close_holes(body) == 4  # two quads, two triangles each
    assert cloth_ready.manifold_check(body).closed
    assert len(body.data.shape_keys.key_blocks) == keys


def test_toy_smpl_format_body_is_reported_open(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig, cloth_ready

    avatar = build_rig.build(make_fit(toy_model), toy_model, name="toy")
    assert not cloth_ready.manifold_check(avatar.body).closed


def test_shallow_navel_fills_every_shape_key_alike(bpy_module, empty_scene, open_model, record):
    from blender_smplify.blender import build_rig, cloth_ready

    betas = np.zeros(10)
    betas[0] = 2.0  # a heavier belly, deeper navel
    avatar = build_rig.build(standing_fit(open_model, betas), open_model, name="navel")
    body = avatar.body
    keys = cloth_ready.key_coordinates(body)
    region = cloth_ready.navel_of(body, keys)
    other = cloth_ready.current_shape(body, keys) + 1.5 * (keys["beta_01"] - keys["Basis"])
    other_before = region.depth(other)
    before, after = cloth_ready.shallow_navel(body, 0.002)
    record(navel_depth_before_mm=1e3 * before, navel_depth_after_mm=1e3 * after)
    assert before > 0.004 and after == pytest.approx(0.002, abs=1e-5)
    # another slider setting: the same linear fill, so its depth drops by the same factor
    filled = cloth_ready.key_coordinates(body)
    other_after = cloth_ready.current_shape(body, filled) + 1.5 * (
        filled["beta_01"] - filled["Basis"]
    )
    assert region.depth(other_after) == pytest.approx(other_before * after / before, rel=1e-3)
    moved = np.linalg.norm(filled["Basis"] - keys["Basis"], axis=1) > 1e-7
    assert set(np.flatnonzero(moved)) <= set(region.inner.tolist())


def test_operators_are_undoable(bpy_module, avatar):
    bpy = bpy_module
    name = avatar.body.name
    bpy.context.view_layer.objects.active = avatar.body
    bpy.ops.ed.undo_push(message="before")
    assert bpy.ops.smplify.ready_for_cloth() == {"FINISHED"}
    assert "COLLISION" in [m.type for m in bpy.data.objects[name].modifiers]
    bpy.ops.ed.undo_push(message="ready for cloth")
    bpy.ops.ed.undo()
    assert "COLLISION" not in [m.type for m in bpy.data.objects[name].modifiers]
    basis = bpy.data.objects[name].data.shape_keys.key_blocks["Basis"]
    before = np.array([d.co[:] for d in basis.data])
    bpy.context.view_layer.objects.active = bpy.data.objects[name]
    assert bpy.ops.smplify.shallow_navel(max_depth=0.001) == {"FINISHED"}
    basis = bpy.data.objects[name].data.shape_keys.key_blocks["Basis"]
    assert not np.allclose([d.co[:] for d in basis.data], before)
    bpy.ops.ed.undo_push(message="shallow navel")
    bpy.ops.ed.undo()
    basis = bpy.data.objects[name].data.shape_keys.key_blocks["Basis"]
    np.testing.assert_array_equal([d.co[:] for d in basis.data], before)


def test_an_avatar_without_its_body_is_refused_by_name(
    bpy_module, empty_scene, open_model, tmp_path
):
    """Cloth, navel and export all need the body mesh: with it deleted each says so and
    changes nothing (one check, ``avatar_ops.require_body``)."""
    from blender_smplify.blender import build_rig
    from blender_smplify.blender.export import export_avatar
    from blender_smplify.core.errors import SmplifyError

    bpy = bpy_module
    built = build_rig.build(standing_fit(open_model), open_model, name="bodyless")
    bpy.data.objects.remove(built.body)
    bpy.context.view_layer.objects.active = built.armature
    for operator in (bpy.ops.smplify.ready_for_cloth, bpy.ops.smplify.shallow_navel):
        with pytest.raises(RuntimeError, match="its body mesh was deleted"):
            operator()
    target = tmp_path / "never_written.glb"
    with pytest.raises(SmplifyError, match="its body mesh was deleted"):
        export_avatar(built.armature, str(target))
    assert not target.exists() and list(tmp_path.iterdir()) == []
