"""Rest poses and moving a skinned body between them (core.rest_pose)."""

from __future__ import annotations

import numpy as np
import pytest

from blender_smplify.core import rest_pose
from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.joints import SMPL_PARENTS, J
from blender_smplify.core.lbs import blend_shapes, lbs
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

T = rest_pose.rest_rotations("t")


def shaped(model, betas):
    return model.v_template + blend_shapes(betas, model.shapedirs)


@pytest.mark.parametrize("name", ["a", "down"])
def test_a_body_moved_to_a_rest_is_smpl_posed_in_it_and_comes_back(toy_model, rng, name):
    betas = rng.normal(0.0, 1.0, toy_model.num_betas)
    body, joints = shaped(toy_model, betas), toy_model.rest_joints(betas)
    rest = rest_pose.rest_rotations(name)
    moved = rest_pose.change_rest(body, toy_model.lbs_weights, joints, T, rest)
    expected, _ = lbs(
        betas,
        matrix_to_rotvec(rest),
        toy_model.v_template,
        toy_model.shapedirs,
        None,
        toy_model.J_regressor,
        SMPL_PARENTS,
        toy_model.lbs_weights,
        rest_pose.LEVELS,
    )
    np.testing.assert_allclose(moved, expected, atol=1e-10)
    back = rest_pose.change_rest(moved, toy_model.lbs_weights, joints, rest, T)
    np.testing.assert_allclose(back, body, atol=1e-10)


def test_shape_keys_moved_with_their_own_joints_still_blend_to_the_shaped_body(toy_model, rng):
    """Basis + Σ β_i (K_i − Basis) in the new rest is the body of shape β in the new rest."""
    rest, weights = rest_pose.rest_rotations("a"), toy_model.lbs_weights
    template = toy_model.rest_joints(np.zeros(toy_model.num_betas))
    basis = rest_pose.change_rest(toy_model.v_template, weights, template, T, rest)
    betas = rng.normal(0.0, 1.5, toy_model.num_betas)
    mix = basis.copy()
    for i, unit in enumerate(np.eye(toy_model.num_betas)):
        key = toy_model.v_template + toy_model.shapedirs[:, :, i]
        moved = rest_pose.change_rest(key, weights, toy_model.rest_joints(unit), T, rest)
        mix += betas[i] * (moved - basis)
    body, joints = shaped(toy_model, betas), toy_model.rest_joints(betas)
    expected = rest_pose.change_rest(body, weights, joints, T, rest)
    np.testing.assert_allclose(mix, expected, atol=1e-10)


def test_rest_poses_lower_the_arms_by_their_angle(toy_model):
    joints = toy_model.rest_joints()
    for name, degrees in rest_pose.ARM_DROP_DEG.items():
        posed = rest_pose.posed_joints(joints, rest_pose.rest_rotations(name))
        for side, sign in (("left", 1.0), ("right", -1.0)):
            before = joints[J[f"{side}_elbow"]] - joints[J[f"{side}_shoulder"]]
            after = posed[J[f"{side}_elbow"]] - posed[J[f"{side}_shoulder"]]
            drop = np.degrees(np.arctan2(-after[1], sign * after[0]))
            drop0 = np.degrees(np.arctan2(-before[1], sign * before[0]))
            assert drop - drop0 == pytest.approx(degrees, abs=1e-6)
        np.testing.assert_allclose(posed[J["left_hip"]], joints[J["left_hip"]])


def test_unposed_joints_invert_posed_joints(toy_model, rng):
    joints = toy_model.rest_joints(rng.normal(0.0, 1.0, toy_model.num_betas))
    rotations = rodrigues(rng.normal(0.0, 0.5, (24, 3)))
    posed = rest_pose.posed_joints(joints, rotations)
    np.testing.assert_allclose(rest_pose.unposed_joints(posed, rotations), joints, atol=1e-12)


def test_solve_rest_inverts_blended_skinning_and_unweighted_vertices_stay(rng):
    transforms = np.concatenate(
        [rodrigues(rng.normal(0, 0.6, (24, 3))), rng.normal(0, 0.2, (24, 3, 1))], axis=2
    )
    weights = rng.dirichlet(np.ones(4) * 0.5, size=50)
    weights = np.pad(weights, ((0, 0), (0, 20)))[:, rng.permutation(24)]
    weights[0] = 0.0  # a vertex of no bone
    points = rng.normal(0.0, 0.5, (50, 3))
    blended = rest_pose.blend(weights, transforms)
    posed = rest_pose.apply(blended, points)
    np.testing.assert_allclose(posed[0], points[0])
    np.testing.assert_allclose(rest_pose.solve_rest(blended, posed), points, atol=1e-10)


def test_unknown_rest_pose_is_refused_by_name():
    with pytest.raises(SmplifyError, match="unknown rest pose 'x'.*t, a, down"):
        rest_pose.rest_rotations("x")
