"""The Measurements sub-panel through bpy: values, contours, CSV, shape from measurements, undo
(``blender/measure_ui.py``, ``blender/measure_scene.py``), with the open female model."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest
from conftest import evaluated_joints, make_fit
from scipy.spatial import cKDTree

from blender_smplify.core.axes import SMPL_TO_BLENDER
from blender_smplify.core.joints import SMPL_JOINT_NAMES
from blender_smplify.core.measurements import GIRTHS, MEASUREMENT_NAMES, BodyMeasurer

GIRTH_NAMES = [g.name for g in GIRTHS]


@pytest.fixture(scope="module")
def female():
    from blender_smplify.core.pipeline import load_model

    return load_model("female")


@pytest.fixture
def avatar(bpy_module, empty_scene, female):
    from blender_smplify.blender import build_rig

    fit = replace(make_fit(female, seed=3), gender="female")
    built = build_rig.build(fit, female, name="measured")
    bpy_module.context.view_layer.objects.active = built.armature
    return built


def betas_of(built) -> np.ndarray:
    blocks = built.body.data.shape_keys.key_blocks
    return np.array([blocks[f"beta_{i:02d}"].value for i in range(10)])


def world_points(obj) -> np.ndarray:
    """A curve object's spline points (n, 3) in world space, as posed now."""
    world = np.array(obj.matrix_world)
    co = np.array([tuple(p.co)[:3] for p in obj.data.splines[0].points])
    return co @ world[:3, :3].T + world[:3, 3]


def closed_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(np.vstack([points, points[:1]]), axis=0), axis=1).sum())


def test_panel_values_are_the_measurers_on_the_avatars_betas(bpy_module, avatar, female):
    from blender_smplify.blender.measure_ui import panel_rows

    armature = avatar.armature
    expected = BodyMeasurer(female).measure(betas_of(avatar)).values
    rows = panel_rows(armature)
    assert [r[0] for r in rows] == list(MEASUREMENT_NAMES)
    for name, value, residual in rows:
        assert value == pytest.approx(100.0 * expected[name], abs=1e-6), name
        assert residual is None
    assert bpy_module.ops.smplify.measure_unit(unit="INCH") == {"FINISHED"}
    for name, value, _ in panel_rows(armature):
        assert value == pytest.approx(100.0 * expected[name] / 2.54, abs=1e-6), name
    # edit a shape key by hand: the panel follows the avatar's β
    avatar.body.data.shape_keys.key_blocks["beta_01"].value += 1.5
    expected = BodyMeasurer(female).measure(betas_of(avatar)).values
    assert panel_rows(armature)[0][1] == pytest.approx(100.0 * expected["stature"] / 2.54)


def test_targets_are_typed_in_the_panels_unit(bpy_module, avatar):
    from blender_smplify.blender.measure_ui import targets_of
    from blender_smplify.core.errors import SmplifyError

    settings = avatar.armature.smplify_measure
    settings.use_hip_girth = True
    with pytest.raises(SmplifyError, match="hip_girth is ticked: type its target"):
        targets_of(avatar.armature)
    settings.target_hip_girth = 101.6  # cm
    settings.target_waist_girth = 80.0  # not ticked: not a target
    assert targets_of(avatar.armature) == {"hip_girth": pytest.approx(1.016)}
    assert bpy_module.ops.smplify.measure_unit(unit="INCH") == {"FINISHED"}
    assert settings.target_hip_girth == pytest.approx(40.0)
    assert settings.target_waist_girth == pytest.approx(80.0 / 2.54)
    assert targets_of(avatar.armature) == {"hip_girth": pytest.approx(1.016)}


def test_contours_are_curves_on_the_posed_body_that_toggle(bpy_module, avatar, female):
    bpy = bpy_module
    armature = avatar.armature
    assert bpy.ops.smplify.show_contours(show=True) == {"FINISHED"}
    contours = {
        o["smplify_measurement"]: o for o in bpy.data.objects if o.get("smplify_role") == "contour"
    }
    assert sorted(contours) == sorted(GIRTH_NAMES)
    values = BodyMeasurer(female).measure(betas_of(avatar)).values
    bpy.context.view_layer.update()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    skin = avatar.body.evaluated_get(depsgraph).to_mesh()
    posed = (
        np.array([tuple(v.co) for v in skin.vertices])
        @ np.array(avatar.body.matrix_world)[:3, :3].T
        + np.array(avatar.body.matrix_world)[:3, 3]
    )
    avatar.body.evaluated_get(depsgraph).to_mesh_clear()
    for name, obj in contours.items():
        assert obj.type == "CURVE" and obj.users_collection[0] == avatar.collection
        assert obj.parent == armature and obj.parent_type == "BONE"
        points = world_points(obj)
        assert closed_length(points) == pytest.approx(values[name], rel=0.01), name
        # riding on its bone, the rest-shape tape sits on the posed skin (the nearest vertex
        # within 1.5 cm typically: the points lie on edges, hull tapes span hollows)
        gap, _ = cKDTree(posed).query(points)
        assert np.median(gap) < 0.015 and gap.max() < 0.04, name
    assert bpy.ops.smplify.toggle_contour(name="left_calf_girth") == {"FINISHED"}
    assert contours["left_calf_girth"].hide_viewport and contours["left_calf_girth"].hide_render
    assert not contours["right_calf_girth"].hide_viewport
    assert bpy.ops.smplify.toggle_contour(name="left_calf_girth") == {"FINISHED"}
    assert not contours["left_calf_girth"].hide_viewport
    with pytest.raises(RuntimeError, match="'stature' is not a girth"):
        bpy.ops.smplify.toggle_contour(name="stature")
    assert bpy.ops.smplify.show_contours(show=False) == {"FINISHED"}
    assert all(o.hide_viewport for o in contours.values())


def test_export_csv(bpy_module, avatar, female, tmp_path):
    path = tmp_path / "m.csv"
    assert bpy_module.ops.smplify.export_measurements(filepath=str(path)) == {"FINISHED"}
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    values = BodyMeasurer(female).measure(betas_of(avatar)).values
    assert [r["measurement"] for r in rows] == list(MEASUREMENT_NAMES)
    for row in rows:
        assert float(row["value_cm"]) == pytest.approx(100 * values[row["measurement"]], abs=0.006)
        assert float(row["value_in"]) == pytest.approx(float(row["value_cm"]) / 2.54, abs=0.01)
    assert rows[0]["description"].startswith("ISO 8559-1 stature")


def test_apply_measurements_changes_the_shape_keeps_the_pose_moves_the_bones_and_undoes(
    bpy_module, avatar, female
):
    from blender_smplify.blender.avatar_ops import current_fit

    bpy = bpy_module
    armature, name = avatar.armature, avatar.armature.name
    bpy.ops.smplify.show_contours(show=True)
    before = current_fit(armature)
    betas_before = betas_of(avatar)
    heads_before = np.array([armature.data.bones[j].head_local for j in SMPL_JOINT_NAMES])
    orientations_before = posed_orientations(bpy, armature)
    settings = armature.smplify_measure
    targets = {"chest_girth": 104.0, "waist_girth": 86.0, "hip_girth": 108.0, "stature": 170.0}
    for measurement, cm in targets.items():
        setattr(settings, f"use_{measurement}", True)
        setattr(settings, f"target_{measurement}", cm)
    bpy.ops.ed.undo_push(message="before applying")
    assert bpy.ops.smplify.apply_measurements("EXEC_DEFAULT", True) == {"FINISHED"}
    betas = betas_of(avatar)
    assert np.abs(betas - betas_before).max() > 0.1
    values = BodyMeasurer(female).measure(betas).values
    for measurement, cm in targets.items():
        assert 100 * values[measurement] == pytest.approx(cm, abs=0.5), measurement
    # the pose stays: the same joint angles, the same bone orientations in the world
    after = current_fit(armature)
    np.testing.assert_allclose(after.pose, before.pose, atol=1e-5)
    np.testing.assert_allclose(after.transl, before.transl, atol=1e-5)  # SMPL's transl kept
    np.testing.assert_allclose(posed_orientations(bpy, armature), orientations_before, atol=1e-5)
    # the bones follow the new shape
    heads = np.array([armature.data.bones[j].head_local for j in SMPL_JOINT_NAMES])
    np.testing.assert_allclose(heads, female.rest_joints(betas) @ SMPL_TO_BLENDER.T, atol=1e-5)
    assert np.abs(heads - heads_before).max() > 0.005
    # the contours were redrawn for the new shape
    hip = next(o for o in bpy.data.objects if o.get("smplify_measurement") == "hip_girth")
    assert closed_length(world_points(hip)) == pytest.approx(values["hip_girth"], rel=0.01)
    assert '"hip_girth"' in settings.residuals
    bpy.ops.ed.undo()
    armature = bpy.data.objects[name]  # undo reloads the scene: references dangle
    body = next(c for c in armature.children if c.get("smplify_role") == "body")
    blocks = body.data.shape_keys.key_blocks
    np.testing.assert_allclose([blocks[f"beta_{i:02d}"].value for i in range(10)], betas_before)
    heads = np.array([armature.data.bones[j].head_local for j in SMPL_JOINT_NAMES])
    np.testing.assert_allclose(heads, heads_before, atol=1e-6)


def posed_orientations(bpy, armature) -> np.ndarray:
    """How far each bone is turned from its rest orientation, in the world (24, 3, 3): the
    rotation skinning applies to it (posed matrix times rest matrix inverse)."""
    bpy.context.view_layer.update()
    world = np.array(armature.matrix_world)[:3, :3]
    turned = []
    for joint in SMPL_JOINT_NAMES:
        posed = np.array(armature.pose.bones[joint].matrix)[:3, :3]
        rest = np.array(armature.data.bones[joint].matrix_local)[:3, :3]
        turned.append(world @ posed @ rest.T)
    return np.array(turned)


def test_apply_without_targets_and_the_users_objects(bpy_module, avatar):
    bpy = bpy_module
    bpy.ops.mesh.primitive_cube_add(location=(1.0, 2.0, 3.0))
    cube = bpy.context.active_object
    bpy.context.view_layer.objects.active = avatar.armature
    with pytest.raises(RuntimeError, match="tick at least one measurement"):
        bpy.ops.smplify.apply_measurements()
    names = sorted(o.name for o in bpy.data.objects)
    settings = avatar.armature.smplify_measure
    settings.use_waist_girth = True
    settings.target_waist_girth = 80.0
    assert bpy.ops.smplify.apply_measurements() == {"FINISHED"}
    assert sorted(o.name for o in bpy.data.objects) == names
    assert tuple(cube.location) == (1.0, 2.0, 3.0) and not cube.keys()
    joints = evaluated_joints(bpy, avatar.armature)
    assert np.all(np.isfinite(joints))
