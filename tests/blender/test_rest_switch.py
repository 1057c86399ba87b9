"""The rest-pose switch through the real bpy module, on the open body model with its shape keys."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import make_fit
from test_build_rig import evaluated_vertices

from blender_smplify.core.axes import SMPL_TO_BLENDER
from blender_smplify.core.joints import SMPL_JOINT_NAMES, SMPL_PARENTS
from blender_smplify.core.lbs import lbs
from blender_smplify.core.rest_pose import LEVELS, REST_POSES, posed_joints, rest_rotations
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

MM = 1e-3


@pytest.fixture(scope="module")
def open_model():
    from blender_smplify.core.body_model import BodyModel

    return BodyModel.load()


@pytest.fixture
def avatar(empty_scene, open_model):
    from blender_smplify.blender import build_rig

    fit = make_fit(open_model, seed=3)
    return build_rig.build(fit, open_model, name="rest"), fit


def rest_name(armature):
    from blender_smplify.blender.rest_switch import rest_name

    return rest_name(armature)


def switch(avatar, name):
    from blender_smplify.blender.rest_switch import switch_rest

    return switch_rest(avatar.armature, avatar.body, name)


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(REST_POSES, 2)))
def test_switching_the_rest_never_moves_the_posed_body(bpy_module, avatar, first, second):
    avatar, _ = avatar
    keys = avatar.body.data.shape_keys.key_blocks
    assert sum(abs(k.value) > 0.1 for k in keys if k.name.startswith("beta_")) >= 5
    fitted = evaluated_vertices(bpy_module, avatar.body)
    for name in (first, second, first):  # there and back again
        switch(avatar, name)
        moved = np.abs(evaluated_vertices(bpy_module, avatar.body) - fitted).max()
        assert moved < 0.1 * MM, f"switching to {name} moved the body {moved / MM:.3f} mm"
        assert rest_name(avatar.armature) == name


@pytest.mark.parametrize("name", ["a", "down"])
def test_the_new_rest_is_smpl_posed_in_it_and_the_pose_stays_smpl(
    bpy_module, avatar, open_model, name
):
    from blender_smplify.blender.avatar_ops import current_fit

    avatar, fit = avatar
    switch(avatar, name)
    pose = current_fit(avatar.armature).pose.reshape(24, 3)
    np.testing.assert_allclose(rodrigues(pose), rodrigues(fit.pose.reshape(24, 3)), atol=1e-5)
    bpy_module.context.view_layer.objects.active = avatar.armature
    assert bpy_module.ops.smplify.rest_pose() == {"FINISHED"}  # identity pose, corrective 0
    rest = rest_rotations(name)
    betas = np.asarray(fit.betas)
    expected, _ = lbs(
        betas,
        matrix_to_rotvec(rest),
        open_model.v_template,
        open_model.shapedirs,
        None,
        open_model.J_regressor,
        SMPL_PARENTS,
        open_model.lbs_weights,
        LEVELS,
    )
    world = np.array(avatar.armature.matrix_world)
    expected = expected @ SMPL_TO_BLENDER.T + world[:3, 3]
    assert np.abs(evaluated_vertices(bpy_module, avatar.body) - expected).max() < 0.01 * MM
    heads = np.array([avatar.armature.data.bones[j].head_local for j in SMPL_JOINT_NAMES])
    joints = posed_joints(open_model.rest_joints(betas), rest) @ SMPL_TO_BLENDER.T
    np.testing.assert_allclose(heads, joints, atol=1e-5)


def test_the_operator_is_one_undo_step_and_fitted_pose_still_works(bpy_module, avatar):
    avatar, _ = avatar
    bpy = bpy_module
    fitted = evaluated_vertices(bpy, avatar.body)
    rig_name, body_name = avatar.armature.name, avatar.body.name  # undo reloads the objects
    bpy.context.view_layer.objects.active = avatar.armature
    bpy.ops.ed.undo_push(message="before")
    assert bpy.ops.smplify.switch_rest_pose(rest_pose="down") == {"FINISHED"}
    assert rest_name(bpy.data.objects[rig_name]) == "down"
    bpy.ops.ed.undo_push(message="switch")
    bpy.ops.smplify.rest_pose()
    bpy.ops.smplify.fitted_pose()
    body = bpy.data.objects[body_name]
    assert np.abs(evaluated_vertices(bpy, body) - fitted).max() < 0.1 * MM
    bpy.ops.ed.undo()
    assert rest_name(bpy.data.objects[rig_name]) == "t"
    body = bpy.data.objects[body_name]
    assert np.abs(evaluated_vertices(bpy, body) - fitted).max() < 0.1 * MM


def test_bones_follow_shape_keys_in_the_new_rest(bpy_module, avatar, open_model):
    from blender_smplify.blender.avatar_ops import follow_shape_keys

    avatar, fit = avatar
    switch(avatar, "a")
    avatar.body.data.shape_keys.key_blocks["beta_00"].value += 1.0
    betas = follow_shape_keys(avatar.armature)
    heads = np.array([avatar.armature.data.bones[j].head_local for j in SMPL_JOINT_NAMES])
    joints = posed_joints(open_model.rest_joints(betas), rest_rotations("a"))
    np.testing.assert_allclose(heads, joints @ SMPL_TO_BLENDER.T, atol=1e-5)


def test_update_correctives_after_a_pose_edit_gives_the_t_pose_rig_s_body(bpy_module, avatar):
    """On an A-pose rig, the corrective of the fitted pose does not fit an edited pose; Update
    pose correctives makes the body the one the T-pose rig shows in that pose."""
    from blender_smplify.blender import build_rig
    from blender_smplify.blender.avatar_ops import update_correctives

    avatar, fit = avatar
    fitted = rodrigues(fit.pose.reshape(24, 3))
    edited = rodrigues(fit.pose.reshape(24, 3) + np.random.default_rng(7).normal(0, 0.3, (24, 3)))
    build_rig.set_pose(avatar.armature, edited)
    t_rig = evaluated_vertices(bpy_module, avatar.body)  # T rest, open model: plain skinning
    build_rig.set_pose(avatar.armature, fitted)
    switch(avatar, "a")
    build_rig.set_pose(avatar.armature, edited)
    stale = np.abs(evaluated_vertices(bpy_module, avatar.body) - t_rig).max()
    assert stale > 1 * MM, stale
    update_correctives(avatar.armature)
    assert np.abs(evaluated_vertices(bpy_module, avatar.body) - t_rig).max() < 0.1 * MM
