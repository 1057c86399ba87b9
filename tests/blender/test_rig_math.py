"""The rig's pure geometry (no bpy needed): tails, rolls, rotation conversion and its inverse."""

from __future__ import annotations

import numpy as np

from blender_smplify.blender import rig_math
from blender_smplify.core.axes import SMPL_TO_BLENDER
from blender_smplify.core.joints import J
from blender_smplify.core.rotation import rodrigues


def frames_from(heads: np.ndarray) -> np.ndarray:
    """Bone frames (24, 3, 3) as Blender builds them: y along the bone, z to the roll target."""
    tails = rig_math.bone_tails(heads)
    target = rig_math.roll_targets(heads, tails)
    y = (tails - heads) / np.linalg.norm(tails - heads, axis=1, keepdims=True)
    z = target - np.sum(target * y, axis=1, keepdims=True) * y
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return np.stack([np.cross(y, z), y, z], axis=2)


def test_tails_point_along_the_limbs_and_are_never_degenerate(toy_model):
    heads = toy_model.rest_joints() @ SMPL_TO_BLENDER.T
    tails = rig_math.bone_tails(heads)
    assert np.all(np.linalg.norm(tails - heads, axis=1) >= rig_math.MIN_LENGTH - 1e-12)
    np.testing.assert_allclose(tails[J["left_knee"]], heads[J["left_ankle"]])
    np.testing.assert_allclose(tails[J["pelvis"]], heads[J["spine1"]])
    assert tails[J["head"], 2] > heads[J["head"], 2]  # the head bone points up
    same = np.repeat(heads[:1], 24, axis=0)  # all joints on one point: still valid bones
    assert np.all(np.linalg.norm(rig_math.bone_tails(same) - same, axis=1) > 0)


def test_rotations_convert_to_bone_frames_and_back(toy_model):
    rng = np.random.default_rng(0)
    heads = toy_model.rest_joints() @ SMPL_TO_BLENDER.T
    frames = frames_from(heads)
    rotations = rodrigues(rng.normal(0.0, 0.5, (24, 3)))
    local = rig_math.local_rotations(rotations, frames)
    np.testing.assert_allclose(
        local @ np.swapaxes(local, 1, 2), np.broadcast_to(np.eye(3), local.shape), atol=1e-12
    )
    back = rig_math.smpl_rotations(local, frames, np.eye(3))
    np.testing.assert_allclose(back, rotations, atol=1e-12)


def test_upright_person_facing_the_camera_has_an_unrotated_root():
    """SMPLify's upright pose (half turn about x in the camera frame) is Blender's rest."""
    frames = np.broadcast_to(np.eye(3), (24, 3, 3)).copy()
    rotations = np.broadcast_to(np.eye(3), (24, 3, 3)).copy()
    rotations[0] = rodrigues(np.array([np.pi, 0.0, 0.0]))
    np.testing.assert_allclose(rig_math.local_rotations(rotations, frames), frames, atol=1e-12)


def test_rotations_of_a_rig_resting_in_another_pose(toy_model, rng):
    """A rig resting in the A-pose: its rest pose gives identity bone rotations, and any pose
    converts to bone rotations and back."""
    from blender_smplify.core import rest_pose

    rest = rest_pose.rest_rotations("a")
    heads = rest_pose.posed_joints(toy_model.rest_joints(), rest) @ SMPL_TO_BLENDER.T
    frames = frames_from(heads)
    upright = rest.copy()
    upright[0] = rodrigues(np.array([np.pi, 0.0, 0.0]))
    local = rig_math.local_rotations(upright, frames, rest)
    np.testing.assert_allclose(local, np.broadcast_to(np.eye(3), local.shape), atol=1e-12)
    rotations = rodrigues(rng.normal(0.0, 0.5, (24, 3)))
    local = rig_math.local_rotations(rotations, frames, rest)
    back = rig_math.smpl_rotations(local, frames, np.eye(3), rest)
    np.testing.assert_allclose(back, rotations, atol=1e-12)
