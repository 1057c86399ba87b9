"""The rendered benchmark's measures (benchmarks/depth_metrics.py) on bodies posed by the open
model in the camera frame (OpenCV axes, the camera at the origin)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.joints import J
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import depth_metrics as dm

FOREARM = dm.LIMB_SEGMENTS.index((J["left_elbow"], J["left_wrist"]))


@pytest.fixture(scope="module")
def model():
    return BodyModel.load(gender="neutral")


def posed(model, elbow_y: float = -1.5, yaw: float = 0.0) -> np.ndarray:
    """Joints (24, 3) of an upright body 3 m in front of the camera, turned by ``yaw`` about the
    vertical, arms out, the left forearm bent by ``elbow_y`` about the upper arm's y axis
    (negative: forward, which faces the camera at yaw 0)."""
    pose = np.zeros((24, 3))
    # a half turn about x: upright in the camera frame and facing the camera; then the yaw
    root = rodrigues(np.array([0.0, yaw, 0.0])) @ rodrigues(np.array([np.pi, 0.0, 0.0]))
    pose[0] = matrix_to_rotvec(root)
    pose[J["left_elbow"]] = [0.0, elbow_y, 0.0]
    _, joints = model.forward(np.zeros(10), pose.ravel(), None)
    return joints - joints[J["pelvis"]] + np.array([0.0, 0.0, 3.0])


def test_pa_mpjpe_of_a_similarity_transformed_copy_is_zero(model):
    rng = np.random.default_rng(0)
    truth = posed(model)
    R = rodrigues(rng.normal(size=3))
    copy = 1.37 * truth @ R.T + rng.normal(size=3)
    assert dm.pa_mpjpe(copy, truth) == pytest.approx(0.0, abs=1e-9)
    assert dm.pa_mpjpe(copy, truth, dm.LIMB_JOINTS) == pytest.approx(0.0, abs=1e-9)
    # not blind: a mirror image is no similarity transform, and noise shows
    mirrored = truth * np.array([-1.0, 1.0, 1.0])
    assert dm.pa_mpjpe(mirrored, truth) > 0.01
    noisy = copy + rng.normal(scale=0.02, size=copy.shape)
    assert 0.005 < dm.pa_mpjpe(noisy, truth) < 0.05


def test_mpjpe_is_zero_for_a_shifted_copy_only(model):
    truth = posed(model)
    assert dm.mpjpe(truth + [0.3, -0.1, 2.0], truth) == pytest.approx(0.0, abs=1e-12)
    assert dm.mpjpe(1.1 * truth, truth) > 0.005


def test_forearm_toward_the_camera_has_negative_depth_and_counts(model):
    truth = posed(model, elbow_y=-1.5)
    depth, length = dm.segment_depths(truth)
    assert depth[FOREARM] / length[FOREARM] < -0.9  # pointing at the camera
    back, counted = dm.backwards_segments(truth, truth)
    assert back == 0 and counted >= 1


def test_a_limb_flipped_in_depth_counts_as_backwards(model):
    truth = posed(model, elbow_y=-1.5)
    flipped = posed(model, elbow_y=1.5)  # the same forearm bent away from the camera
    assert dm.backwards_segments(flipped, truth) == (1, dm.backwards_segments(truth, truth)[1])
    # mirroring the wrist in depth about the elbow, all else equal, is caught too
    mirrored = truth.copy()
    ray = (truth[J["left_elbow"]] + truth[J["left_wrist"]]) / 2
    ray /= np.linalg.norm(ray)
    d = (truth[J["left_wrist"]] - truth[J["left_elbow"]]) @ ray
    mirrored[J["left_wrist"]] -= 2 * d * ray
    assert dm.backwards_segments(mirrored, truth)[0] == 1


def test_segments_in_the_image_plane_do_not_count(model):
    truth = posed(model, elbow_y=-0.1)  # arms straight out sideways, legs down
    _, counted = dm.backwards_segments(truth, truth)
    assert counted == 0


def test_a_body_turned_half_round_faces_wrong(model):
    truth = posed(model)
    assert dm.facing_toward(truth) > 0.9
    assert dm.facing_right(truth, truth) is True
    pelvis = truth[J["pelvis"]]
    turned = (truth - pelvis) @ rodrigues(np.array([0.0, np.pi, 0.0])).T + pelvis
    assert dm.facing_right(turned, truth) is False
    from_behind = posed(model, yaw=np.pi)
    assert dm.facing_toward(from_behind) < -0.9
    assert dm.facing_right(truth, from_behind) is False


def test_facing_is_not_judged_side_on(model):
    side = posed(model, yaw=np.pi / 2)
    assert abs(dm.facing_toward(side)) < 0.2
    assert dm.facing_right(posed(model), side) is None


def test_case_metrics_in_millimetres(model):
    truth = posed(model)
    m = dm.case_metrics(truth + [0.0, 0.0, 0.5], truth)
    assert m["pa24"] == pytest.approx(0.0, abs=1e-6) and m["mpjpe12"] == pytest.approx(
        0.0, abs=1e-6
    )
    m = dm.case_metrics(truth * 1.01, truth)
    assert 1.0 < m["mpjpe24"] < 30.0
