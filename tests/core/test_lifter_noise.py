"""The detector's own errors, resampled for the lifter's training (``tools/lifter_noise.py``)."""

import numpy as np
import pytest

from blender_smplify.core.lifter import MIRROR
from tools.lifter_noise import body_frames, empirical_noise, mirror_residuals, residual_bank


def _bodies(m: int, rng) -> np.ndarray:
    """(m, 33, 2) keypoint sets spread like a body in a photo, in pixels."""
    return rng.uniform(100, 600, (m, 33, 2))


def _renders(m: int, seed: int = 0):
    """Truth and detections of m renders, every keypoint inside the image and kept."""
    rng = np.random.default_rng(seed)
    truth = _bodies(m, rng)
    return truth, truth + rng.normal(0, 8, truth.shape)


def _rotate(xy: np.ndarray, angle: float, scale: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return scale * xy @ np.array([[c, -s], [s, c]]).T


def test_body_frame_points_down_the_torso_and_falls_back_to_the_image_axes():
    xy = _bodies(1, np.random.default_rng(1))
    frame, height = body_frames(xy)
    hips, shoulders = xy[0, [23, 24]].mean(0), xy[0, [11, 12]].mean(0)
    down = (hips - shoulders) / np.linalg.norm(hips - shoulders)
    np.testing.assert_allclose(frame[0, :, 0], down)
    np.testing.assert_allclose(frame[0].T @ frame[0], np.eye(2), atol=1e-12)
    assert np.linalg.det(frame[0]) == pytest.approx(1.0)  # a rotation, not a reflection
    assert height[0] == pytest.approx(np.ptp(xy[0] @ frame[0], axis=0).max())
    xy[0, [23, 24]] = xy[0, [11, 12]]  # torso seen end on: no direction
    np.testing.assert_allclose(body_frames(xy)[0][0], [[0, -1], [1, 0]])  # down = +y


def test_a_render_s_own_errors_come_back_on_its_own_truth():
    truth, detected = _renders(1)
    kept = np.ones((1, 33), bool)
    kept[0, 5] = False
    bank = residual_bank(truth, np.ones((1, 33), bool), detected, kept)
    assert np.isnan(bank["residuals"][0, 5]).all()
    err, keep = empirical_noise(truth, bank, np.random.default_rng(0), scale=(1, 1), mirror=False)
    np.testing.assert_array_equal(keep, kept)
    np.testing.assert_allclose((truth + err)[keep], detected[kept], atol=1e-9)


def test_errors_turn_and_grow_with_the_body():
    truth, detected = _renders(5)
    bank = residual_bank(truth, np.ones((5, 33), bool), detected, np.ones((5, 33), bool))
    body = _bodies(4, np.random.default_rng(3))
    err, _ = empirical_noise(body, bank, np.random.default_rng(7))
    moved, _ = empirical_noise(_rotate(body, 1.1, 2.5), bank, np.random.default_rng(7))
    np.testing.assert_allclose(moved, _rotate(err, 1.1, 2.5), atol=1e-9)


def test_mirrored_residuals_are_those_of_the_mirrored_photo():
    truth, detected = _renders(3)
    seen = np.ones((3, 33), bool)
    flip = np.array([-1.0, 1.0])
    bank = residual_bank(truth, seen, detected, seen)
    mirrored = residual_bank((truth * flip)[:, MIRROR], seen, (detected * flip)[:, MIRROR], seen)
    np.testing.assert_allclose(mirror_residuals(bank["residuals"]), mirrored["residuals"],
                               atol=1e-12)  # fmt: skip


def test_correlated_sets_keep_one_render_together_and_fill_its_gaps():
    truth = np.repeat(_bodies(1, np.random.default_rng(4)), 2, axis=0)
    detected = truth.copy()
    detected[0] += [0.0, 30.0]  # render 0: every keypoint 30 px down; render 1: exact
    seen, kept = np.ones((2, 33), bool), np.ones((2, 33), bool)
    seen[0, 7] = False  # render 0 lacks one residual: filled from render 1
    bank = residual_bank(truth, seen, detected, kept)
    body = np.repeat(truth[:1], 400, axis=0)
    rng = np.random.default_rng(0)
    err, keep = empirical_noise(body, bank, rng, scale=(1, 1), mirror=False)
    shifted = np.abs(err[:, :, 1] - 30.0) < 1e-9
    exact = np.abs(err).max(2) < 1e-9
    others = np.arange(33) != 7
    assert keep.all()
    assert np.all(shifted[:, others].all(1) | exact[:, others].all(1))  # one render per set
    assert 100 < shifted[:, 0].sum() < 300  # both renders drawn
    assert exact[:, 7].all()
    err, _ = empirical_noise(body, bank, rng, correlated=False, scale=(1, 1), mirror=False)
    assert (shifted := np.abs(err[:, others, 1] - 30.0) < 1e-9).any(1).all()
    assert not shifted.all(1).any()  # independent draws mix the renders


def test_a_mirrored_set_mirrors_its_errors_and_its_dropped_keypoints():
    truth, detected = _renders(1, seed=5)
    kept = np.ones((1, 33), bool)
    kept[0, 13] = False  # left elbow dropped
    bank = residual_bank(truth, np.ones((1, 33), bool), detected, kept)
    body = np.repeat(truth, 200, axis=0)
    err, keep = empirical_noise(body, bank, np.random.default_rng(2), scale=(1, 1))
    frame, height = body_frames(truth)
    own = np.nan_to_num(bank["residuals"])
    mirrored = np.nan_to_num(mirror_residuals(bank["residuals"]))
    as_is = [np.einsum("ij,kj->ki", frame[0], r) * height[0] for r in (own[0], mirrored[0])]
    plain = np.all(np.abs(err - as_is[0]).max(2) < 1e-9, axis=1) & (keep == kept[0]).all(1)
    flipped = np.all(np.abs(err - as_is[1]).max(2) < 1e-9, axis=1)
    flipped &= (keep == kept[0][MIRROR]).all(1)
    assert np.all(plain ^ flipped)
    assert 50 < flipped.sum() < 150
    assert not keep[flipped, MIRROR[13]].any()  # the right elbow is the dropped one
