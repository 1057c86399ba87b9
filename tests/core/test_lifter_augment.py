"""The lifter's training-pose augmentations (``tools/train_lifter.py``: ``straightened``,
``abducted``), which widen the mocap's poses toward straight limbs and arms held apart."""

from functools import cache

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.joints import J
from blender_smplify.core.rotation import rodrigues
from tools.train_lifter import BENDING_JOINTS, abducted, straightened


def _poses(n: int, seed: int = 0) -> np.ndarray:
    """(n, 72) random poses, every joint turned by up to about 0.6 rad."""
    return np.random.default_rng(seed).normal(0.0, 0.35, (n, 72))


@cache
def _model() -> BodyModel:
    return BodyModel.load()


def _joints(pose: np.ndarray) -> np.ndarray:
    joints, _ = _model().posed_points(None, pose, None, jacobian=False)
    return joints[:24]


def test_straightened_keeps_each_bend_s_axis_and_takes_out_most_of_its_angle():
    poses = _poses(200)
    out = straightened(poses, np.random.default_rng(1), share=1.0)
    for j in BENDING_JOINTS:
        before, after = poses[:, 3 * j : 3 * j + 3], out[:, 3 * j : 3 * j + 3]
        ratio = np.linalg.norm(after, axis=1) / np.linalg.norm(before, axis=1)
        assert ratio.max() <= 0.15 + 1e-12
        np.testing.assert_allclose(after, before * ratio[:, None])  # same axis
    others = np.ones(72, dtype=bool)
    for j in BENDING_JOINTS:
        others[3 * j : 3 * j + 3] = False
    np.testing.assert_array_equal(out[:, others], poses[:, others])
    np.testing.assert_array_equal(straightened(poses, np.random.default_rng(1), 0.0), poses)


def test_straightened_picks_about_its_share_of_the_limbs():
    poses = _poses(2000)
    out = straightened(poses, np.random.default_rng(2), share=0.3)
    changed = [np.any(out[:, 3 * j : 3 * j + 3] != poses[:, 3 * j : 3 * j + 3], axis=1).mean()
               for j in BENDING_JOINTS]  # fmt: skip
    assert np.allclose(changed, 0.3, atol=0.04)


@pytest.mark.parametrize("side, outward", [("left", 1.0), ("right", -1.0)])
def test_abducted_raises_a_hanging_arm_sideways_in_the_body_s_plane(side, outward):
    pose = np.zeros(72)
    # both arms hanging 70 degrees below the T-pose's horizontal, in the body's plane
    pose[3 * J["left_shoulder"] : 3 * J["left_shoulder"] + 3] = [0.0, 0.0, -np.radians(70)]
    pose[3 * J["right_shoulder"] : 3 * J["right_shoulder"] + 3] = [0.0, 0.0, np.radians(70)]
    raised = abducted(np.tile(pose, (50, 1)), np.random.default_rng(3), share=1.0)
    before = _joints(pose)
    up = before[J["neck"]] - before[J["pelvis"]]
    up /= np.linalg.norm(up)

    def arm(joints):
        u = joints[J[f"{side}_elbow"]] - joints[J[f"{side}_shoulder"]]
        return u / np.linalg.norm(u)

    hang = np.degrees(np.arccos(-arm(before) @ up))
    angles = []
    for p in raised:
        after = arm(_joints(p))
        assert after[2] == pytest.approx(arm(before)[2], abs=1e-9)  # no forward swing
        assert outward * after[0] >= outward * arm(before)[0] - 1e-9  # away from the body
        angles.append(np.degrees(np.arccos(-after @ up)) - hang)
    assert 0.0 <= min(angles) and max(angles) <= 45.0 + 1e-6
    assert max(angles) > 30.0  # the raises spread over the range


def test_abducted_turns_the_shoulder_about_the_body_s_forward_axis_only():
    poses = _poses(20, seed=4)
    out = abducted(poses, np.random.default_rng(5), share=1.0)
    for j in (J["left_shoulder"], J["right_shoulder"]):
        for before, after in zip(poses[:, 3 * j : 3 * j + 3], out[:, 3 * j : 3 * j + 3]):
            turn = rodrigues(after) @ rodrigues(before).T  # the raise, in the parent's frame
            np.testing.assert_allclose(turn[2], [0.0, 0.0, 1.0], atol=1e-9)
    keep = np.ones(72, dtype=bool)
    keep[3 * J["left_shoulder"] : 3 * J["left_shoulder"] + 3] = False
    keep[3 * J["right_shoulder"] : 3 * J["right_shoulder"] + 3] = False
    np.testing.assert_array_equal(out[:, keep], poses[:, keep])
