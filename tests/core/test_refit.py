"""Refit after the artist's edits (``core/refit.py``) on a synthetic body: a dragged keypoint,
a flipped limb, a flipped facing, a pinned bone."""

from __future__ import annotations

import numpy as np
import pytest
from toy_camera import FOCAL, SIZE, project

from blender_smplify.core.dogleg import Status
from blender_smplify.core.edit_terms import LIMB_SEGMENTS, body_facing, segment_depth
from blender_smplify.core.fit import fit
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.joints import J
from blender_smplify.core.keypoints import Keypoints2D, get_layout
from blender_smplify.core.priors import PosePrior
from blender_smplify.core.refit import RefitOptions, flip_depth, flip_facing, refit
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

LAYOUT = get_layout("smpl24")


@pytest.fixture(scope="module")
def fitted(body):
    """A fit of a body with bent elbows and knees, turned a little, 3.5 m away."""
    pose = np.zeros(72)
    pose[3:] = PosePrior.load().mean_pose
    pose[3 * J["left_elbow"] + 1] -= 0.9
    pose[3 * J["right_elbow"] + 1] += 0.6
    pose[3 * J["left_knee"]] += 0.6
    pose[:3] = matrix_to_rotvec(rodrigues(np.array([np.pi, 0, 0])) @ rodrigues([0, 0.4, 0]))
    betas = np.random.default_rng(0).normal(scale=0.5, size=10)
    setup = get_setup(body, "smpl24", 10, True)
    pts, _ = setup.kin.evaluate(pose, betas, np.array([0.1, 0.05, 3.5]), jacobian=False)
    keypoints = Keypoints2D("smpl24", project(pts[setup.point_index]), np.ones(24))
    return fit(body, keypoints, SIZE, FOCAL), keypoints


def moved(keypoints: Keypoints2D, name: str, offset) -> Keypoints2D:
    xy = keypoints.xy.copy()
    xy[LAYOUT.index(name)] += offset
    return Keypoints2D(keypoints.layout, xy, keypoints.confidence)


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(matrix_to_rotvec(rodrigues(a).T @ rodrigues(b)))))


def test_a_dragged_keypoint_pulls_its_body_point(body, fitted):
    previous, keypoints = fitted
    target = moved(keypoints, "left_wrist", (20.0, -10.0))
    result = refit(previous, target, model=body)
    wrist = J["left_wrist"]
    before = np.linalg.norm(project(previous.joints_3d)[wrist] - target.xy[wrist])
    after = np.linalg.norm(project(result.joints_3d)[wrist] - target.xy[wrist])
    assert after < 0.75 * before
    assert result.status == Status.CONVERGED and result.iterations <= RefitOptions().max_iterations
    np.testing.assert_array_equal(result.betas, previous.betas)  # an edit keeps the shape
    assert len(result.stage_seconds) == 1 and result.energy["joints"] > 0


def test_unchanged_keypoints_leave_the_fit_where_it_is(body, fitted):
    previous, keypoints = fitted
    result = refit(previous, keypoints, model=body)
    assert np.abs(result.joints_3d - previous.joints_3d).max() < 0.01


def test_a_switched_off_keypoint_no_longer_pulls(body, fitted):
    previous, keypoints = fitted
    far = moved(keypoints, "left_wrist", (60.0, 0.0))
    off = Keypoints2D("smpl24", far.xy, np.where(np.arange(24) == J["left_wrist"], 0.0, 1.0))
    wrist = J["left_wrist"]
    shift_on = np.abs(
        project(refit(previous, far, model=body).joints_3d)[wrist]
        - project(previous.joints_3d)[wrist]
    ).max()
    shift_off = np.abs(
        project(refit(previous, off, model=body).joints_3d)[wrist]
        - project(previous.joints_3d)[wrist]
    ).max()
    assert shift_on > 20.0 and shift_off < 5.0


@pytest.mark.parametrize("segment", ["left_elbow", "right_elbow", "left_shoulder"])
def test_flip_depth_changes_the_segment_and_stays_on_the_photo(body, fitted, segment):
    previous, keypoints = fitted
    before = segment_depth(previous.joints_3d, segment)
    result, choices = flip_depth(previous, keypoints, segment, model=body)
    after = segment_depth(result.joints_3d, segment)
    assert after != before and choices == {segment: after}
    ends = [J[segment], J[LIMB_SEGMENTS[segment]]]
    reprojection = np.linalg.norm(project(result.joints_3d) - keypoints.xy, axis=1)
    previous_reprojection = np.linalg.norm(project(previous.joints_3d) - keypoints.xy, axis=1)
    assert reprojection[ends].max() < previous_reprojection[ends].max() + 3.0
    # the depth difference really changed sign, by more than the hinge's tolerance
    d = np.diff(result.joints_3d[ends, 2])[0]
    assert (d < -0.01) if after == "toward" else (d > 0.01)


def test_a_held_depth_choice_survives_a_drag(body, fitted):
    previous, keypoints = fitted
    flipped, choices = flip_depth(previous, keypoints, "left_elbow", model=body)
    target = moved(keypoints, "left_wrist", (0.0, 20.0))
    held = refit(flipped, target, model=body, depth_choices=choices)
    assert segment_depth(held.joints_3d, "left_elbow") == choices["left_elbow"]


def test_flip_facing_turns_the_body_and_keeps_it_on_the_photo(body, fitted):
    previous, keypoints = fitted
    assert body_facing(previous.joints_3d) == "toward"
    result, facing, swapped = flip_facing(previous, keypoints, model=body)
    assert facing == "away" and body_facing(result.joints_3d) == "away"
    np.testing.assert_array_equal(swapped.xy[J["left_wrist"]], keypoints.xy[J["right_wrist"]])
    reprojection = np.linalg.norm(project(result.joints_3d) - swapped.xy, axis=1)
    assert np.median(reprojection) < 5.0


def test_a_pinned_bone_keeps_its_rotation(body, fitted):
    previous, keypoints = fitted
    posed = previous.pose.copy()
    elbow = slice(3 * J["left_elbow"], 3 * J["left_elbow"] + 3)
    posed[elbow] += (0.0, 0.5, 0.0)  # the artist bends the elbow by hand
    start = type(previous)(**{**previous.__dict__, "pose": posed})
    target = moved(keypoints, "left_wrist", (15.0, 15.0))
    pinned = refit(start, target, model=body, pins={"left_elbow": posed[elbow]})
    free = refit(start, target, model=body)
    assert angle_deg(pinned.pose[elbow], posed[elbow]) < 1.0
    assert angle_deg(free.pose[elbow], posed[elbow]) > 5.0  # without the pin it follows the photo


def test_cancel_returns_the_best_point_so_far(body, fitted):
    previous, keypoints = fitted
    result = refit(
        previous,
        moved(keypoints, "left_wrist", (20, 0)),
        model=body,
        callback=lambda stage, it, energy: False,
    )
    assert result.status == Status.CANCELLED and result.iterations == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"depth_choices": {"left_wrist": "toward"}}, "not a limb segment"),
        ({"depth_choices": {"left_elbow": "up"}}, "must be 'toward' or 'away'"),
        ({"facing": "sideways"}, "facing must be"),
        ({"pins": {"elbow": [0, 0, 0]}}, "not SMPL joints"),
    ],
)
def test_bad_edits_are_named(body, fitted, edit, message):
    previous, keypoints = fitted
    with pytest.raises(ValueError, match=message):
        refit(previous, keypoints, model=body, **edit)


def test_a_dragged_wrist_takes_its_hand_landmarks_along():
    from blender_smplify.core.refit import drag_keypoint

    layout = get_layout("blazepose33")
    xy = np.arange(66, dtype=float).reshape(33, 2)
    keypoints = Keypoints2D("blazepose33", xy, np.full(33, 0.3))
    dragged = drag_keypoint(keypoints, "left_wrist", xy[layout.index("left_wrist")] + (20, -5))
    shift = dragged.xy - xy
    hand = [layout.index(n) for n in ("left_wrist", "left_pinky", "left_index", "left_thumb")]
    np.testing.assert_array_equal(shift[hand], np.tile([20.0, -5.0], (4, 1)))
    assert not np.delete(shift, hand, axis=0).any()
    # placed by hand: trusted even below SmplifyWeights.min_confidence; the rest as detected
    assert dragged.confidence[hand[0]] == 1.0
    np.testing.assert_array_equal(np.delete(dragged.confidence, hand[0]), 0.3)
    with pytest.raises(ValueError, match="no keypoint 'wrist'"):
        drag_keypoint(keypoints, "wrist", (0, 0))
