"""Keypoints the detector is unsure of are left out of the fit's joint term (min_confidence)."""

from __future__ import annotations

import numpy as np
import pytest
from toy_camera import FOCAL, SIZE, project

from blender_smplify.core.fit import fit
from blender_smplify.core.fit_setup import MIN_KEYPOINTS, checked_keypoints, get_setup
from blender_smplify.core.joints import J
from blender_smplify.core.keypoints import Keypoints2D
from blender_smplify.core.objective import SmplifyWeights
from blender_smplify.core.priors import PosePrior
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues


@pytest.fixture(scope="module")
def scene(body):
    """The prior's mean pose with a bent elbow, 3.5 m away: smpl24 keypoints (24, 2)."""
    pose = np.zeros(72)
    pose[3:] = PosePrior.load().mean_pose
    pose[3 * J["left_elbow"] + 1] -= 0.6
    pose[:3] = matrix_to_rotvec(rodrigues(np.array([np.pi, 0.0, 0.0])))
    setup = get_setup(body, "smpl24", 10, True)
    pts, _ = setup.kin.evaluate(pose, np.zeros(10), np.array([0.1, 0.05, 3.5]), jacobian=False)
    kp = pts[setup.point_index]
    return project(kp)


def test_keypoints_below_min_confidence_get_no_weight(body, scene):
    setup = get_setup(body, "smpl24", 10, True)
    conf = np.ones(24)
    conf[[J["left_wrist"], J["right_knee"]]] = [0.3, 0.6]
    weights = checked_keypoints(setup, Keypoints2D("smpl24", scene, conf), 0.5)
    assert weights[J["left_wrist"]] == 0.0
    assert weights[J["right_knee"]] == pytest.approx(0.6)
    np.testing.assert_allclose(np.delete(weights, [J["left_wrist"], J["right_knee"]]), 1.0)
    everything = checked_keypoints(setup, Keypoints2D("smpl24", scene, conf), 0.0)
    assert everything[J["left_wrist"]] == pytest.approx(0.3)


def test_too_few_confident_keypoints_keep_their_weights(body, scene):
    setup = get_setup(body, "smpl24", 10, True)
    conf = np.full(24, 0.2)
    conf[: MIN_KEYPOINTS - 1] = 0.9
    weights = checked_keypoints(setup, Keypoints2D("smpl24", scene, conf), 0.5)
    np.testing.assert_allclose(weights, conf)


def fitted_wrist_px(body, keypoints, weights):
    res = fit(body, keypoints, SIZE, FOCAL, weights=weights)
    wrist = res.joints_3d[J["left_wrist"]]
    return project(wrist)


def test_an_unsure_keypoint_is_fitted_as_if_missing(body, scene):
    """A wrist detected 40 px off with confidence 0.45: below min_confidence the fit is the one
    without that keypoint; by default (min_confidence 0) it pulls the wrist toward itself."""
    xy, conf = scene.copy(), np.ones(24)
    wrist = J["left_wrist"]
    xy[wrist] += [30.0, -25.0]
    conf[wrist] = 0.45
    unsure = Keypoints2D("smpl24", xy, conf)
    missing = Keypoints2D("smpl24", xy, np.where(np.arange(24) == wrist, 0.0, conf))
    left_out = fitted_wrist_px(body, unsure, SmplifyWeights(min_confidence=0.5))
    without = fitted_wrist_px(body, missing, SmplifyWeights(min_confidence=0.5))
    kept = fitted_wrist_px(body, unsure, SmplifyWeights())
    np.testing.assert_allclose(left_out, without, atol=1e-6)
    assert np.linalg.norm(kept - xy[wrist]) < np.linalg.norm(left_out - xy[wrist]) - 5.0
