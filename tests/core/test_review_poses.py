"""Garment-review poses: inside the fit's joint limits, the arms where they should be, and no arm
sunk into the torso of the open model (winding numbers of points just outside the arms)."""

from __future__ import annotations

import numpy as np
import pytest

from blender_smplify.core.joints import J
from blender_smplify.core.mesh_checks import winding_numbers
from blender_smplify.core.priors import within_joint_limits
from blender_smplify.core.review_poses import REVIEW_POSES, review_pose

ARM = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")


@pytest.fixture(scope="module")
def model():
    from blender_smplify.core.body_model import BodyModel

    return BodyModel.load()


def arm_direction(model, pose: np.ndarray, side: str) -> np.ndarray:
    """Unit vector (3,) from shoulder to elbow in the SMPL frame."""
    _, joints = model.forward(np.zeros(model.num_betas), pose)
    d = joints[J[f"{side}_elbow"]] - joints[J[f"{side}_shoulder"]]
    return d / np.linalg.norm(d)


@pytest.mark.parametrize("name", REVIEW_POSES)
def test_poses_are_inside_the_joint_limits_with_the_root_untouched(name):
    pose = review_pose(name)
    assert pose.shape == (72,) and np.all(pose[:3] == 0)
    assert within_joint_limits(pose)


def test_arms_come_down_as_named(model):
    angles = {}
    for name in ("T", "A", "ARMS_DOWN"):
        for side, sign in (("left", 1.0), ("right", -1.0)):
            d = arm_direction(model, review_pose(name), side)
            assert d[0] * sign > 0 and abs(d[2]) < 0.05  # out to its side, in the body's plane
            angles[name, side] = np.degrees(np.arcsin(-d[1]))  # below the horizontal
    rest = angles["T", "left"]  # the open models' T-pose arms slope a little
    assert angles["A", "left"] - rest == pytest.approx(45.0, abs=1.0)
    assert angles["ARMS_DOWN", "right"] - angles["T", "right"] == pytest.approx(60.0, abs=1.0)


def test_stride_and_sitting_move_the_legs_forward(model):
    for name, side in (("WALK", "left"), ("SIT", "left"), ("SIT", "right")):
        _, joints = model.forward(np.zeros(model.num_betas), review_pose(name))
        thigh = joints[J[f"{side}_knee"]] - joints[J[f"{side}_hip"]]
        assert thigh[2] > 0.1  # the knee in front of the hip
    _, sitting = model.forward(np.zeros(model.num_betas), review_pose("SIT"))
    knee, ankle = sitting[J["left_knee"]], sitting[J["left_ankle"]]
    assert knee[1] - ankle[1] > 0.3  # shin hangs down


@pytest.mark.parametrize("name", ["ARMS_DOWN", "WALK", "SIT"])
def test_arms_stay_out_of_the_torso(model, name):
    weights = model.lbs_weights[:, [J[n] for n in ARM]].sum(axis=1)
    arm = np.flatnonzero(weights > 0.5)[::16]
    vertices, _ = model.forward(np.zeros(model.num_betas), review_pose(name))
    faces = model.faces
    normals = np.zeros_like(vertices)
    face_normals = np.cross(*(vertices[faces[:, k]] - vertices[faces[:, 0]] for k in (1, 2)))
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    # 2 mm outside the arm's skin: winding number 0 unless that spot is inside another part
    winding = winding_numbers(vertices, faces, vertices[arm] + 0.002 * normals[arm])
    assert np.all(np.abs(winding) < 0.5), f"{np.sum(np.abs(winding) > 0.5)} arm points inside"


def test_unknown_pose_name_raises():
    with pytest.raises(KeyError):
        review_pose("Y")
