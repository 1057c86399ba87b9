import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from blender_smplify.core.rotation import (
    matrix_to_rotvec,
    rodrigues,
    rodrigues_with_left_jacobian,
    rotation_derivatives,
)

EDGE_ANGLES = [0.0, 1e-9, 1e-5, 1e-3, 0.5, 2.0, np.pi - 1e-6, np.pi]


@pytest.mark.parametrize("angle", EDGE_ANGLES)
def test_rodrigues_matches_scipy_from_zero_to_pi(angle, rng):
    axis = rng.normal(size=3)
    rotvec = angle * axis / np.linalg.norm(axis)
    np.testing.assert_allclose(
        rodrigues(rotvec), Rotation.from_rotvec(rotvec).as_matrix(), atol=1e-12
    )


@pytest.mark.parametrize("angle", EDGE_ANGLES)
def test_rotation_derivative_matches_central_differences(angle, rng):
    axis = rng.normal(size=3)
    rotvec = angle * axis / np.linalg.norm(axis)
    h = 1e-6
    numeric = np.stack(
        [(rodrigues(rotvec + h * e) - rodrigues(rotvec - h * e)) / (2 * h) for e in np.eye(3)]
    )
    np.testing.assert_allclose(rotation_derivatives(rotvec), numeric, atol=1e-8)


def test_left_jacobian_is_identity_at_zero():
    R, J_left = rodrigues_with_left_jacobian(np.zeros(3))
    np.testing.assert_array_equal(R, np.eye(3))
    np.testing.assert_array_equal(J_left, np.eye(3))


def test_matrix_to_rotvec_round_trip_near_pi(rng):
    rotvecs = rng.normal(size=(20, 3))
    rotvecs *= (np.pi - 1e-7) / np.linalg.norm(rotvecs, axis=1, keepdims=True)
    back = matrix_to_rotvec(rodrigues(rotvecs))
    np.testing.assert_allclose(rodrigues(back), rodrigues(rotvecs), atol=1e-9)


@pytest.mark.parametrize("angle", EDGE_ANGLES)
def test_matrix_to_rotvec_inverts_rodrigues_from_zero_to_pi(angle, rng):
    """The one SO(3) log map of the project (the fit mirrors its yaw starts with it)."""
    axis = rng.normal(size=3)
    rotvec = angle * axis / np.linalg.norm(axis)
    np.testing.assert_allclose(
        rodrigues(matrix_to_rotvec(rodrigues(rotvec))), rodrigues(rotvec), atol=1e-12
    )
    if angle < np.pi - 1e-3:  # below a half turn the vector itself comes back
        np.testing.assert_allclose(matrix_to_rotvec(rodrigues(rotvec)), rotvec, atol=1e-12)


def test_cross_equals_numpy_cross_with_broadcasting():
    from blender_smplify.core.rotation import cross

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 4, 3)), rng.normal(size=(4, 3))
    np.testing.assert_array_equal(cross(a, b), np.cross(a, b))
