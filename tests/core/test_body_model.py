import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.errors import ModelFileError
from blender_smplify.core.joints import SMPL_JOINT_NAMES, J
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

LANDMARKS = ("nose", "left_heel", "right_heel")


def random_params(rng, scale=0.5, num_betas=10):
    return rng.normal(size=num_betas), rng.normal(0, scale, 72), rng.normal(0, 1, 3)


def test_zero_pose_gives_rest_joints_and_shaped_mesh(toy_model, rng):
    betas = rng.normal(size=10)
    vertices, joints = toy_model.forward(betas, np.zeros(72))
    np.testing.assert_allclose(joints, toy_model.rest_joints(betas), atol=1e-12)
    np.testing.assert_allclose(vertices, toy_model.shaped_vertices(betas), atol=1e-12)
    np.testing.assert_allclose(joints, toy_model.J_regressor @ vertices, atol=1e-12)


def test_global_rotation_and_translation_are_rigid(toy_model, rng):
    betas, pose, transl = random_params(rng)
    vertices, joints = toy_model.forward(betas, pose)
    turn = rng.normal(size=3)
    turned_pose = pose.copy()
    R = rodrigues(turn)
    turned_pose[:3] = matrix_to_rotvec(R @ rodrigues(pose[:3]))
    v2, j2 = toy_model.forward(betas, turned_pose, transl)
    root = joints[0]
    np.testing.assert_allclose(v2, (vertices - root) @ R.T + root + transl, atol=1e-10)
    np.testing.assert_allclose(j2, (joints - root) @ R.T + root + transl, atol=1e-10)


def test_posed_points_equal_forward_joints_and_regressed_landmarks(toy_model_data, rng):
    data = dict(toy_model_data, posedirs=np.zeros_like(toy_model_data["posedirs"]))
    model = BodyModel.from_arrays(**data)
    assert model.posedirs is None
    betas, pose, transl = random_params(rng)
    vertices, joints = model.forward(betas, pose, transl)
    points, jac = model.posed_points(betas, pose, transl, landmarks=LANDMARKS, jacobian=False)
    assert jac is None
    np.testing.assert_allclose(points[:24], joints, atol=1e-12)
    np.testing.assert_allclose(points[24:], data["keypoint_regressor"] @ vertices, atol=1e-12)


def _numeric_jacobian(model, betas, pose, transl, landmarks, h=1e-6):
    x0 = np.concatenate([pose, betas, transl])
    nb = len(betas)

    def points(x):
        return model.posed_points(
            x[72 : 72 + nb], x[:72], x[72 + nb :], landmarks=landmarks, jacobian=False
        )[0]

    columns = []
    for i in range(len(x0)):
        step = np.zeros_like(x0)
        step[i] = h
        columns.append((points(x0 + step) - points(x0 - step)) / (2 * h))
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize("case", ["random", "zero_pose", "near_pi", "fewer_betas"])
def test_posed_points_jacobian_matches_central_differences(toy_model, rng, case):
    betas, pose, transl = random_params(rng)
    if case == "zero_pose":
        pose = np.zeros(72)
    elif case == "near_pi":
        axes = rng.normal(size=(24, 3))
        pose = ((np.pi - 1e-3) * axes / np.linalg.norm(axes, axis=1, keepdims=True)).ravel()
    elif case == "fewer_betas":
        betas = betas[:4]
    _, jac = toy_model.posed_points(betas, pose, transl, landmarks=LANDMARKS)
    assert jac.shape == (24 + len(LANDMARKS), 3, 72 + len(betas) + 3)
    numeric = _numeric_jacobian(toy_model, betas, pose, transl, LANDMARKS)
    np.testing.assert_allclose(jac, numeric, rtol=1e-5, atol=1e-7)


def test_rest_joints_are_linear_in_betas(toy_model, rng):
    b1, b2 = rng.normal(size=10), rng.normal(size=10)
    j0 = toy_model.rest_joints(None)
    np.testing.assert_allclose(
        toy_model.rest_joints(b1 + 2 * b2) - j0,
        (toy_model.rest_joints(b1) - j0) + 2 * (toy_model.rest_joints(b2) - j0),
        atol=1e-12,
    )


def test_bending_the_left_elbow_moves_only_the_left_forearm_chain(toy_model):
    pose = np.zeros(72)
    pose[3 * J["left_elbow"] + 1] = 1.0
    _, bent = toy_model.forward(None, pose)
    _, rest = toy_model.forward(None, None)
    moved = {
        SMPL_JOINT_NAMES[j] for j in np.flatnonzero(np.linalg.norm(bent - rest, axis=1) > 1e-9)
    }
    assert moved == {"left_wrist", "left_hand"}


def test_model_attributes(toy_model):
    assert toy_model.num_betas == 10
    assert toy_model.joint_names[J["left_elbow"]] == "left_elbow"
    assert toy_model.parents[0] == -1 and toy_model.parents[J["head"]] == J["neck"]
    assert toy_model.faces.shape[1] == 3


def test_bad_inputs_raise_clear_errors(toy_model, toy_model_data):
    with pytest.raises(ValueError, match="11 betas"):
        toy_model.forward(np.zeros(11), None)
    with pytest.raises(ValueError, match="72 numbers"):
        toy_model.forward(None, np.zeros(69))
    with pytest.raises(ModelFileError, match="no surface landmark 'left_ear'"):
        toy_model.posed_points(None, None, landmarks=("left_ear",))
    broken = dict(toy_model_data, J_regressor=toy_model_data["J_regressor"][:20])
    with pytest.raises(ModelFileError, match="J_regressor"):
        BodyModel.from_arrays(**broken)
    nan = dict(toy_model_data, v_template=toy_model_data["v_template"] * np.nan)
    with pytest.raises(ModelFileError, match="non-finite"):
        BodyModel.from_arrays(**nan)
    with pytest.raises(ModelFileError, match="unknown gender"):
        BodyModel.load(gender="robot")
