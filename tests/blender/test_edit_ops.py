"""The artist in the loop through bpy: keypoint markers, live refit, flip depth and facing, pins,
undo (``blender/edit_ops.py``, ``blender/keypoint_markers.py``), with the open body model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import evaluated_joints

from blender_smplify.core.axes import CAMERA_TO_BLENDER
from blender_smplify.core.edit_terms import LIMB_SEGMENTS, body_facing, segment_depth
from blender_smplify.core.joints import SMPL_JOINT_NAMES, J
from blender_smplify.core.keypoints import Keypoints2D
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

SIZE = (750, 1000)
FOCAL = 1000.0
CENTRE = np.array([375.0, 500.0])


@pytest.fixture(scope="module")
def open_model():
    from blender_smplify.core.pipeline import load_model

    return load_model("neutral")


@pytest.fixture(scope="module")
def photo(open_model):
    """Keypoints (smpl24) of a body with bent arms, turned a little, and the fit to them."""
    from blender_smplify.core.fit import fit
    from blender_smplify.core.fit_setup import get_setup
    from blender_smplify.core.priors import PosePrior

    pose = np.zeros(72)
    pose[3:] = PosePrior.load().mean_pose
    pose[3 * J["left_elbow"] + 1] -= 0.9
    pose[3 * J["right_elbow"] + 1] += 0.6
    pose[:3] = matrix_to_rotvec(rodrigues(np.array([np.pi, 0, 0])) @ rodrigues([0, 0.4, 0]))
    setup = get_setup(open_model, "smpl24", 10, True)
    pts, _ = setup.kin.evaluate(pose, np.zeros(10), np.array([0.1, 0.05, 3.5]), jacobian=False)
    xy = FOCAL * pts[setup.point_index, :2] / pts[setup.point_index, 2:] + CENTRE
    keypoints = Keypoints2D("smpl24", xy, np.ones(24))
    return fit(open_model, keypoints, SIZE, FOCAL), keypoints


@pytest.fixture
def avatar(bpy_module, empty_scene, open_model, photo):
    from blender_smplify.blender import build_rig, edit_ops

    fit, keypoints = photo
    built = build_rig.build(fit, open_model, name="edit")
    bpy_module.context.view_layer.objects.active = built.armature
    edit_ops.edit_keypoints(built.armature, keypoints)
    return built


def camera_joints(bpy, armature) -> np.ndarray:
    """Posed joints (24, 3) in the fit's camera frame, through the depsgraph."""
    return evaluated_joints(bpy, armature) @ CAMERA_TO_BLENDER


def projected(bpy, armature) -> np.ndarray:
    joints = camera_joints(bpy, armature)
    return FOCAL * joints[:, :2] / joints[:, 2:] + CENTRE


def drag_marker(armature, name: str, offset) -> np.ndarray:
    """Move a marker by ``offset`` pixels, as a drag in the camera view does; its new pixel."""
    from blender_smplify.blender import keypoint_markers as km
    from blender_smplify.blender.avatar_ops import stored_fit

    fit = stored_fit(armature)
    marker = km.markers(armature)[name]
    target = km.marker_pixels(marker, fit) + np.asarray(offset, dtype=float)
    marker.location = km.pixels_to_local(target, fit)[0]
    return target


def test_markers_sit_on_the_keypoints_in_the_avatar_collection(bpy_module, avatar, photo):
    from blender_smplify.blender import keypoint_markers as km

    _, keypoints = photo
    found = km.markers(avatar.armature)
    assert sorted(found) == sorted(keypoints.layout_spec.names)
    bpy_module.context.view_layer.update()
    camera = avatar.camera
    for name, marker in found.items():
        assert marker.parent == camera and marker.users_collection[0] == avatar.collection
        # seen through the Blender camera (world -> camera frame), on its keypoint's pixel
        world = np.array(marker.matrix_world.translation)
        point = CAMERA_TO_BLENDER.T @ world
        uv = FOCAL * point[:2] / point[2] + CENTRE
        np.testing.assert_allclose(uv, keypoints.xy[J[name]], atol=1e-3)


def test_a_marker_dragged_20_px_pulls_its_body_point(bpy_module, avatar):
    from blender_smplify.blender import edit_ops

    bpy = bpy_module
    before = projected(bpy, avatar.armature)[J["left_wrist"]]
    target = drag_marker(avatar.armature, "left_wrist", (20.0, 0.0))
    assert edit_ops.refit_moved(bpy.context.scene) == [avatar.armature]
    after = projected(bpy, avatar.armature)[J["left_wrist"]]
    assert np.linalg.norm(after - target) < 0.5 * np.linalg.norm(before - target)
    assert edit_ops.refit_moved(bpy.context.scene) == []  # nothing moved since


def test_a_marker_dragged_off_an_unsure_keypoint_is_trusted(bpy_module, avatar):
    """The detector was unsure of the wrist (confidence 0.3, which SmplifyWeights'
    min_confidence 0.5 would leave out): once the artist drags it, the refit takes it at
    confidence 1."""
    from blender_smplify.blender import keypoint_markers as km
    from blender_smplify.blender.avatar_ops import stored_fit

    fit = stored_fit(avatar.armature)
    recorded = km.stored_keypoints(avatar.armature)
    unsure = recorded.confidence.copy()
    unsure[J["left_wrist"]] = unsure[J["right_wrist"]] = 0.3
    km.store_keypoints(avatar.armature, Keypoints2D("smpl24", recorded.xy, unsure), fit)
    drag_marker(avatar.armature, "left_wrist", (20.0, 0.0))
    confidence = km.marker_keypoints(avatar.armature, fit).confidence
    assert confidence[J["left_wrist"]] == 1.0
    assert confidence[J["right_wrist"]] == pytest.approx(0.3)  # not moved: as detected


def test_a_marker_move_schedules_the_live_refit(bpy_module, avatar):
    from blender_smplify.blender import edit_ops, keypoint_markers
    from blender_smplify.blender.avatar_ops import stored_fit

    bpy = bpy_module
    bpy.context.view_layer.update()
    if bpy.app.timers.is_registered(edit_ops._timer):
        bpy.app.timers.unregister(edit_ops._timer)
    avatar.body.location.x += 0.01  # an avatar object that is not a marker: no refit
    bpy.context.view_layer.update()
    avatar.body.location.x -= 0.01
    assert not bpy.app.timers.is_registered(edit_ops._timer)
    drag_marker(avatar.armature, "right_knee", (0.0, 15.0))
    bpy.context.view_layer.update()
    assert bpy.app.timers.is_registered(edit_ops._timer)
    bpy.app.timers.unregister(edit_ops._timer)
    edit_ops._timer()  # what the timer runs (timers do not run without Blender's event loop)
    assert not keypoint_markers.markers_moved(avatar.armature, stored_fit(avatar.armature))
    # the panel's checkbox sets the switch alone: the timer refits and fixes the marker's look
    marker = keypoint_markers.markers(avatar.armature)["right_knee"]
    marker[keypoint_markers.ON_PROP] = False
    marker.update_tag()
    bpy.context.view_layer.update()
    assert bpy.app.timers.is_registered(edit_ops._timer)
    bpy.app.timers.unregister(edit_ops._timer)
    edit_ops._timer()
    assert keypoint_markers.stored_keypoints(avatar.armature).confidence[J["right_knee"]] == 0
    assert marker.empty_display_type == "PLAIN_AXES"


@pytest.mark.parametrize("segment", ["left_elbow", "right_elbow", "left_shoulder"])
def test_flip_depth_on_the_selected_bone(bpy_module, avatar, photo, segment):
    bpy = bpy_module
    _, keypoints = photo
    before_joints = camera_joints(bpy, avatar.armature)
    avatar.armature.data.bones.active = avatar.armature.data.bones[segment]
    assert bpy.ops.smplify.flip_depth() == {"FINISHED"}
    joints = camera_joints(bpy, avatar.armature)
    assert segment_depth(joints, segment) != segment_depth(before_joints, segment)
    ends = [J[segment], J[LIMB_SEGMENTS[segment]]]
    reprojection = np.linalg.norm(projected(bpy, avatar.armature) - keypoints.xy, axis=1)
    assert reprojection[ends].max() < 3.0
    held = json.loads(avatar.armature["smplify_depth_choices"])
    assert held == {segment: segment_depth(joints, segment)}


def test_flip_depth_refuses_a_bone_that_is_not_a_limb_segment(bpy_module, avatar):
    with pytest.raises(RuntimeError, match="not a limb segment"):
        bpy_module.ops.smplify.flip_depth(bone="spine2")


def test_flip_facing_turns_the_body_and_swaps_the_sides(bpy_module, avatar, photo):
    from blender_smplify.blender import keypoint_markers as km
    from blender_smplify.blender.avatar_ops import stored_fit

    bpy = bpy_module
    _, keypoints = photo
    assert body_facing(camera_joints(bpy, avatar.armature)) == "toward"
    assert bpy.ops.smplify.flip_facing() == {"FINISHED"}
    assert body_facing(camera_joints(bpy, avatar.armature)) == "away"
    assert avatar.armature["smplify_facing"] == "away"
    marker = km.markers(avatar.armature)["left_wrist"]
    np.testing.assert_allclose(
        km.marker_pixels(marker, stored_fit(avatar.armature)),
        keypoints.xy[J["right_wrist"]],
        atol=1e-3,
    )


def bone_rotation(armature, name: str) -> np.ndarray:
    return np.array(armature.pose.bones[name].rotation_quaternion.to_matrix())


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(matrix_to_rotvec(a.T @ b))))


def test_a_pinned_bone_keeps_its_rotation_and_unpinning_frees_it(bpy_module, avatar):
    from mathutils import Quaternion

    bpy = bpy_module
    bone = avatar.armature.pose.bones["left_elbow"]
    bone.rotation_quaternion = Quaternion((0.0, 0.0, 1.0), 0.5) @ bone.rotation_quaternion
    posed = bone_rotation(avatar.armature, "left_elbow")
    assert bpy.ops.smplify.toggle_pin(bone="left_elbow") == {"FINISHED"}
    drag_marker(avatar.armature, "left_wrist", (15.0, 15.0))
    assert bpy.ops.smplify.refit() == {"FINISHED"}
    assert angle_deg(bone_rotation(avatar.armature, "left_elbow"), posed) < 1.0
    assert bpy.ops.smplify.toggle_pin(bone="left_elbow") == {"FINISHED"}
    assert bpy.ops.smplify.refit() == {"FINISHED"}
    assert angle_deg(bone_rotation(avatar.armature, "left_elbow"), posed) > 5.0


def test_a_switched_off_keypoint_is_left_out(bpy_module, avatar):
    from blender_smplify.blender import keypoint_markers as km

    bpy = bpy_module
    marker = km.markers(avatar.armature)["left_wrist"]
    for obj in bpy.context.selected_objects:
        obj.select_set(False)
    marker.select_set(True)
    bpy.context.view_layer.objects.active = marker
    assert bpy.ops.smplify.toggle_keypoint() == {"FINISHED"}
    assert not marker["smplify_keypoint_on"]
    stored = km.stored_keypoints(avatar.armature)
    assert stored.confidence[J["left_wrist"]] == 0 and stored.confidence.sum() == 23


def test_each_edit_is_one_undo_step(bpy_module, avatar):
    bpy = bpy_module
    armature_name = avatar.armature.name
    bpy.ops.ed.undo_push(message="before the edits")
    fit_before = avatar.armature["smplify_fit"]
    heads_before = evaluated_joints(bpy, avatar.armature)
    avatar.armature.data.bones.active = avatar.armature.data.bones["right_elbow"]
    # "EXEC_DEFAULT", True: with the undo push a button press makes
    assert bpy.ops.smplify.flip_depth("EXEC_DEFAULT", True) == {"FINISHED"}
    assert bpy.ops.smplify.flip_facing("EXEC_DEFAULT", True) == {"FINISHED"}
    bpy.ops.ed.undo()
    armature = bpy.data.objects[armature_name]  # undo reloads the scene: references dangle
    assert "smplify_facing" not in armature and "smplify_depth_choices" in armature
    bpy.ops.ed.undo()
    armature = bpy.data.objects[armature_name]
    assert armature["smplify_fit"] == fit_before and "smplify_depth_choices" not in armature
    np.testing.assert_allclose(evaluated_joints(bpy, armature), heads_before, atol=1e-5)


def test_edits_leave_the_users_objects_alone(bpy_module, avatar):
    bpy = bpy_module
    bpy.ops.mesh.primitive_cube_add(location=(1.0, 2.0, 3.0))
    cube = bpy.context.active_object
    cube_collections = list(cube.users_collection)
    names = sorted(o.name for o in bpy.data.objects)
    bpy.context.view_layer.objects.active = avatar.armature
    drag_marker(avatar.armature, "right_wrist", (-20.0, 0.0))
    assert bpy.ops.smplify.refit() == {"FINISHED"}
    assert bpy.ops.smplify.flip_facing() == {"FINISHED"}
    assert sorted(o.name for o in bpy.data.objects) == names
    assert (
        tuple(cube.location) == (1.0, 2.0, 3.0) and list(cube.users_collection) == cube_collections
    )
    assert cube.parent is None and not cube.keys()
    new = [o for o in bpy.data.objects if o.get("smplify_role") == "keypoint"]
    assert all(o.users_collection[0] == avatar.collection for o in new)


def test_markers_need_keypoints_of_the_photo(bpy_module, empty_scene, open_model, photo):
    from blender_smplify.blender import build_rig

    built = build_rig.build(photo[0], open_model, name="no keypoints")
    bpy_module.context.view_layer.objects.active = built.armature
    with pytest.raises(RuntimeError, match="press Detect or Fit"):
        bpy_module.ops.smplify.edit_keypoints()
    with pytest.raises(RuntimeError, match="no keypoints to edit"):
        bpy_module.ops.smplify.refit()
    assert SMPL_JOINT_NAMES[0] in built.armature.pose.bones
