"""The lifted points of known quality that benchmarks/studies/lift_needed.py fits with."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(1, str(ROOT / "benchmarks/studies"))

import lift_needed as ln  # noqa: E402

from blender_smplify.core.keypoints import BLAZEPOSE33  # noqa: E402

I = {n: i for i, n in enumerate(BLAZEPOSE33.names)}  # noqa: E741


def body(rng) -> np.ndarray:
    """(33, 3) points 3 m away whose right forearm points clearly away from the camera and
    whose left thigh lies in the image plane."""
    points = rng.normal(0.0, 0.3, (33, 3)) + np.array([0.0, 0.0, 3.0])
    points[I["right_wrist"]] = points[I["right_elbow"]] + np.array([0.1, 0.1, 0.2])
    points[I["left_knee"]] = points[I["left_hip"]] + np.array([0.05, 0.4, 0.01])
    return points


def test_true_signs_turn_a_backwards_forearm_over_with_its_hand():
    rng = np.random.default_rng(0)
    truth = body(rng)
    lifted = truth.copy()
    hand = [I[n] for n in ("right_wrist", "right_pinky", "right_index", "right_thumb")]
    depth = truth[I["right_wrist"], 2] - truth[I["right_elbow"], 2]
    lifted[hand, 2] -= 2 * depth  # the forearm toward the camera, the hand carried with it
    np.testing.assert_allclose(ln.with_true_signs(lifted, truth), truth, atol=1e-12)


def test_true_signs_leave_right_sides_and_unclear_segments_alone():
    rng = np.random.default_rng(1)
    truth = body(rng)
    lifted = truth + rng.normal(0.0, 0.01, truth.shape)
    knee = [I[n] for n in ("left_knee", "left_ankle", "left_heel", "left_foot_index")]
    lifted[knee, 2] = 2 * lifted[I["left_hip"], 2] - lifted[knee, 2]  # in the plane: unclear
    np.testing.assert_array_equal(ln.with_true_signs(lifted, truth), lifted)


def test_limb_below_names_the_same_points_on_either_side():
    assert ln.limb_below("right_knee") == ("right_knee", "right_ankle", "right_heel",
                                           "right_foot_index")  # fmt: skip
    assert ln.limb_below("left_wrist") == ln.LIMB_BELOW["left_wrist"]


def test_bone_angles_and_the_error_scaled_variants():
    rng = np.random.default_rng(2)
    truth = body(rng)
    lifted = truth + rng.normal(0.0, 0.05, truth.shape)
    np.testing.assert_allclose(ln.bone_angles(truth, truth), 0.0, atol=1e-5)
    turned = truth.copy()
    forearm = truth[I["right_wrist"]] - truth[I["right_elbow"]]
    side = np.cross(forearm, [0.0, 0.0, 1.0])
    turned[I["right_wrist"]] = truth[I["right_elbow"]] + np.linalg.norm(forearm) * side / (
        np.linalg.norm(side)
    )
    angles = ln.bone_angles(turned, truth)
    assert abs(angles[3] - 90.0) < 1e-6 and np.count_nonzero(angles > 1e-6) == 1
    got = ln.variants(lifted, truth, np.random.default_rng(0))
    np.testing.assert_array_equal(got["shipped"], lifted)
    np.testing.assert_array_equal(got["exact"], truth)
    np.testing.assert_allclose(got["lifter's error × 0.5"], 0.5 * (truth + lifted))
