"""Posing for fit review: IK controls that switch on and off without moving the body, joint-limit
constraints that clamp a bone turned too far, and the review poses as pose assets."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_fit
from test_cloth_ready import world_mesh


@pytest.fixture(scope="module")
def open_model():
    from blender_smplify.core.body_model import BodyModel

    return BodyModel.load()


@pytest.fixture(params=[1, 2])
def avatar(request, bpy_module, empty_scene, open_model):
    """An avatar in a random fitted pose (bent limbs, tilted, turned)."""
    from blender_smplify.blender import build_rig

    return build_rig.build(make_fit(open_model, seed=request.param), open_model, name="pose")


def test_enabling_ik_does_not_move_the_body_and_disabling_keeps_the_pose(bpy_module, avatar):
    from blender_smplify.blender import ik_controls

    bpy = bpy_module
    before, _ = world_mesh(bpy, avatar.body)
    objects = {o.name for o in bpy.data.objects}
    empties = ik_controls.enable_ik(avatar.armature)
    assert len(empties) == 8 and ik_controls.ik_enabled(avatar.armature)
    on, _ = world_mesh(bpy, avatar.body)
    assert np.linalg.norm(on - before, axis=1).max() < 1e-3
    # the controls work: pull the left wrist's target 8 cm towards the shoulder
    target = next(e for e in empties if e.name.endswith("IK left_wrist"))
    shoulder = avatar.armature.pose.bones["left_shoulder"].head
    target.location += (shoulder - target.location).normalized() * 0.08
    bpy.context.view_layer.update()
    wrist = avatar.armature.pose.bones["left_wrist"].head
    assert (wrist - target.location).length < 1e-3
    moved, _ = world_mesh(bpy, avatar.body)
    ik_controls.disable_ik(avatar.armature)
    off, _ = world_mesh(bpy, avatar.body)
    assert np.linalg.norm(off - moved, axis=1).max() < 1e-3
    assert not ik_controls.ik_enabled(avatar.armature)
    assert {o.name for o in bpy.data.objects} == objects  # our empties gone, nothing else


def local_smpl_rotvec(armature, joint: str) -> np.ndarray:
    """The bone's evaluated (constrained) rotation as an SMPL rotation vector (3,)."""
    from blender_smplify.blender import build_rig
    from blender_smplify.core.axes import SMPL_TO_BLENDER
    from blender_smplify.core.joints import J
    from blender_smplify.core.rotation import matrix_to_rotvec

    bone = armature.pose.bones[joint]
    local = armature.convert_space(
        pose_bone=bone, matrix=bone.matrix, from_space="POSE", to_space="LOCAL"
    )
    frame = build_rig.bone_frames(armature)[J[joint]]
    aligned = frame @ np.array(local.to_3x3()) @ frame.T
    return matrix_to_rotvec(SMPL_TO_BLENDER.T @ aligned @ SMPL_TO_BLENDER)


def test_joint_limits_clamp_a_bone_turned_too_far(bpy_module, empty_scene, open_model):
    from blender_smplify.blender import build_rig, posing
    from blender_smplify.core.joints import J
    from blender_smplify.core.priors import JOINT_LIMIT_LOWER, JOINT_LIMIT_UPPER
    from blender_smplify.core.review_poses import review_pose
    from blender_smplify.core.rotation import rodrigues

    bpy = bpy_module
    fit = make_fit(open_model, seed=3)
    avatar = build_rig.build(fit, open_model, name="limits")
    armature = avatar.armature
    pose = review_pose("WALK")  # inside the limits: the constraints leave it alone
    pose[:3] = fit.pose[:3]
    build_rig.set_pose(armature, rodrigues(pose.reshape(24, 3)))
    free, _ = world_mesh(bpy, avatar.body)
    assert posing.add_joint_limits(armature) == 23
    assert posing.add_joint_limits(armature) == 23  # updated, not doubled
    limited, _ = world_mesh(bpy, avatar.body)
    assert np.linalg.norm(limited - free, axis=1).max() < 1e-4
    # over-straighten the left knee and the right elbow
    pose[3 * J["left_knee"] : 3 * J["left_knee"] + 3] = (-0.8, 0.0, 0.0)
    pose[3 * J["right_elbow"] : 3 * J["right_elbow"] + 3] = (0.0, -0.8, 0.0)
    build_rig.set_pose(armature, rodrigues(pose.reshape(24, 3)))
    bpy.context.view_layer.update()
    knee = local_smpl_rotvec(armature, "left_knee")
    elbow = local_smpl_rotvec(armature, "right_elbow")
    assert knee == pytest.approx([JOINT_LIMIT_LOWER[3 * J["left_knee"]], 0, 0], abs=0.02)
    assert elbow == pytest.approx([0, JOINT_LIMIT_LOWER[3 * J["right_elbow"] + 1], 0], abs=0.02)
    assert JOINT_LIMIT_UPPER[3 * J["right_elbow"] + 1] > 2  # (it bends the other way)
    assert posing.remove_joint_limits(armature) == 23
    bpy.context.view_layer.update()
    assert local_smpl_rotvec(armature, "left_knee") == pytest.approx([-0.8, 0, 0], abs=1e-4)


@pytest.mark.parametrize("name", ["T", "A", "ARMS_DOWN", "WALK", "SIT"])
def test_review_poses_are_pose_assets_applied_upright(bpy_module, avatar, name):
    from mathutils import Vector

    from blender_smplify.blender import posing
    from blender_smplify.core.review_poses import POSE_LABELS

    bpy = bpy_module
    armature = avatar.armature
    action = posing.apply_review_pose(armature, name)
    assert action.asset_data is not None and POSE_LABELS[name] in action.name
    assert posing.apply_review_pose(armature, name) == action  # one asset per pose and avatar
    bpy.context.view_layer.update()
    world = armature.matrix_world
    bones = armature.pose.bones
    pelvis, neck = world @ bones["pelvis"].head, world @ bones["neck"].head
    assert (neck - pelvis).normalized().dot(Vector((0, 0, 1))) > 0.99  # stood upright
    elevation = []
    for side in ("left", "right"):
        arm = world @ bones[f"{side}_elbow"].head - world @ bones[f"{side}_shoulder"].head
        elevation.append(np.degrees(np.arcsin(arm.normalized().z)))
    expected = {"T": 0.0, "A": -45.0, "ARMS_DOWN": -60.0}
    if name in expected:
        assert elevation == pytest.approx([expected[name]] * 2, abs=3.0)


def test_operators_toggle_and_undo(bpy_module, avatar):
    from blender_smplify.blender import ik_controls, posing

    bpy = bpy_module
    name = avatar.armature.name
    bpy.context.view_layer.objects.active = avatar.armature
    bpy.ops.ed.undo_push(message="before")
    assert bpy.ops.smplify.toggle_ik() == {"FINISHED"}
    assert ik_controls.ik_enabled(bpy.data.objects[name])
    assert bpy.ops.smplify.review_pose(pose="T") == {"FINISHED"}  # the IK targets follow
    bpy.context.view_layer.update()
    armature = bpy.data.objects[name]
    arm = armature.pose.bones["left_elbow"].head - armature.pose.bones["left_shoulder"].head
    assert abs(arm.normalized().z) < 0.05 and ik_controls.ik_enabled(armature)
    assert bpy.ops.smplify.toggle_ik() == {"FINISHED"}
    assert bpy.ops.smplify.toggle_joint_limits() == {"FINISHED"}
    assert posing.has_joint_limits(bpy.data.objects[name])
    assert bpy.ops.smplify.review_pose(pose="SIT") == {"FINISHED"}
    assert bpy.ops.smplify.pose_library() == {"FINISHED"}
    assert len([a for a in bpy.data.actions if a.asset_data]) == 5
    bpy.ops.ed.undo_push(message="after")
    bpy.ops.ed.undo()
    armature = bpy.data.objects[name]
    assert not posing.has_joint_limits(armature) and not ik_controls.ik_enabled(armature)


def test_poses_and_limits_follow_a_rig_resting_in_the_a_pose(bpy_module, avatar):
    from blender_smplify.blender import build_rig, posing, rest_switch
    from blender_smplify.core.joints import J
    from blender_smplify.core.priors import JOINT_LIMIT_LOWER
    from blender_smplify.core.review_poses import review_pose
    from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

    bpy = bpy_module
    armature = avatar.armature
    rest_switch.switch_rest(armature, avatar.body, "a")
    posing.apply_review_pose(armature, "T")
    bpy.context.view_layer.update()
    bones = armature.pose.bones
    arm = bones["left_elbow"].head - bones["left_shoulder"].head
    assert abs(np.degrees(np.arcsin(arm.normalized().z))) < 3.0
    posing.apply_review_pose(armature, "WALK")
    free, _ = world_mesh(bpy, avatar.body)
    posing.add_joint_limits(armature)
    limited, _ = world_mesh(bpy, avatar.body)
    assert np.linalg.norm(limited - free, axis=1).max() < 1e-4
    # the left arm raised past its limit about z: clamped at the fit's limit, not 45° off
    pose = review_pose("T")
    pose[:3] = (np.pi, 0.0, 0.0)
    limit = JOINT_LIMIT_LOWER[3 * J["left_shoulder"] + 2]
    pose[3 * J["left_shoulder"] + 2] = limit - 0.3
    build_rig.set_pose(armature, rodrigues(pose.reshape(24, 3)))
    bpy.context.view_layer.update()
    rotations, _ = build_rig.current_pose(armature, np.zeros(3))  # FK values: over the limit
    shoulder = armature.pose.bones["left_shoulder"]
    visual = armature.convert_space(
        pose_bone=shoulder, matrix=shoulder.matrix, from_space="POSE", to_space="LOCAL"
    )
    shoulder.rotation_quaternion = visual.to_quaternion()  # what the constraint let through
    posing.remove_joint_limits(armature)
    clamped, _ = build_rig.current_pose(armature, np.zeros(3))
    assert matrix_to_rotvec(rotations[J["left_shoulder"]])[2] == pytest.approx(limit - 0.3)
    # (the bounding box of the turned box is a little wider than the fit's box: 0.03 rad)
    assert matrix_to_rotvec(clamped[J["left_shoulder"]]) == pytest.approx([0, 0, limit], abs=0.03)


def test_posing_operators_work_in_pose_mode(bpy_module, avatar):
    from blender_smplify.blender import ik_controls

    bpy = bpy_module
    bpy.context.view_layer.objects.active = avatar.armature
    bpy.ops.object.mode_set(mode="POSE")
    try:
        assert bpy.ops.smplify.toggle_ik() == {"FINISHED"}
        assert bpy.ops.smplify.review_pose(pose="ARMS_DOWN") == {"FINISHED"}
        assert bpy.ops.smplify.toggle_joint_limits() == {"FINISHED"}
        assert ik_controls.ik_enabled(avatar.armature)
        assert bpy.ops.smplify.toggle_ik() == {"FINISHED"}
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    assert not ik_controls.ik_enabled(avatar.armature)


def rigid_residual(a: np.ndarray, b: np.ndarray) -> float:
    """Largest distance (m) between point sets (N, 3) after the best rigid alignment."""
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    turn = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    return float(np.linalg.norm((a - ca) @ turn - (b - cb), axis=1).max())


def test_export_holds_the_pose_ik_and_limits_make(bpy_module, avatar, tmp_path):
    from blender_smplify.blender import export, ik_controls, posing

    bpy = bpy_module
    empties = ik_controls.enable_ik(avatar.armature)
    target = next(e for e in empties if e.name.endswith("IK left_wrist"))
    target.location.z += 0.1
    posing.add_joint_limits(avatar.armature)
    seen, _ = world_mesh(bpy, avatar.body)
    result = export.export_avatar(avatar.armature, tmp_path / "review.obj", rest_pose="t")
    posed = next(p for p in result.paths if "rest" not in p.name)
    lines = [line.split() for line in posed.read_text().splitlines() if line.startswith("v ")]
    exported = np.array([[float(x) for x in line[1:4]] for line in lines])
    assert rigid_residual(exported, seen) < 1e-3  # the IK'd pose, not the FK one (0.75 m off)
    assert ik_controls.ik_enabled(avatar.armature)  # the user's rig keeps its controls
