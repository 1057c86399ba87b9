"""MoveNet's second look: the agreeing mean, and the detector using it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core.detector import DetectorSettings, JointDetector
from blender_smplify.core.detector_crop import Crop
from blender_smplify.core.image_io import load_image
from blender_smplify.core.movenet import COCO17_NAMES, LIMB_COCO, LimbPass, MoveNet
from blender_smplify.core.second_look import agreeing_mean, larger_crop

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "blender_smplify/data/samples/standing_person.jpg"
C = {n: i for i, n in enumerate(COCO17_NAMES)}


def _pass(xy: np.ndarray, score: float = 0.5) -> LimbPass:
    crop = Crop(np.array([50.0, 50.0]), 100.0)
    return LimbPass(crop=crop, xy=np.asarray(xy, float), score=np.full(17, score))


def _person() -> np.ndarray:
    """(17, 2) keypoints of an upright person whose torso (right shoulder to left hip) is 50 px."""
    xy = np.zeros((17, 2))
    xy[C["right_shoulder"]], xy[C["left_shoulder"]] = (40.0, 20.0), (60.0, 20.0)
    xy[C["right_hip"]], xy[C["left_hip"]] = (30.0, 60.0), (70.0, 60.0)  # |rs - lh| = 50
    return xy


def test_agreeing_joints_are_averaged_and_the_others_kept():
    first = _pass(_person(), score=0.8)
    moved = _person() + 4.0  # every keypoint 5.7 px away: within 0.3 × 50 = 15 px
    knee = C["left_knee"]
    moved[knee] += 30.0  # 48 px away: disagrees
    out = agreeing_mean(first, _pass(moved, score=0.1), agree=0.3)
    close = [i for i in LIMB_COCO if i != knee]
    np.testing.assert_allclose(out.xy[close], first.xy[close] + 2.0)
    np.testing.assert_allclose(out.xy[knee], first.xy[knee])  # the first pass's, not a mean
    np.testing.assert_allclose(out.xy[C["nose"]], first.xy[C["nose"]])  # face: first's only
    np.testing.assert_allclose(out.score, first.score)  # scores stay the first pass's
    assert out.crop is first.crop


def test_agreement_radius_is_relative_to_the_torso():
    first = _person()
    other = first.copy()
    other[C["left_wrist"]] += (0.0, 12.0)  # 0.24 torso away
    at_02 = agreeing_mean(_pass(first), _pass(other), agree=0.2)
    at_03 = agreeing_mean(_pass(first), _pass(other), agree=0.3)
    assert at_02.xy[C["left_wrist"], 1] == first[C["left_wrist"], 1]
    assert at_03.xy[C["left_wrist"], 1] == first[C["left_wrist"], 1] + 6.0
    small = 2.0 * first  # the same pose twice as large: 12 px is 0.12 torso now
    other = small.copy()
    other[C["left_wrist"]] += (0.0, 12.0)
    assert agreeing_mean(_pass(small), _pass(other), 0.2).xy[C["left_wrist"], 1] == pytest.approx(
        small[C["left_wrist"], 1] + 6.0
    )


def test_larger_crop_keeps_centre_and_turn():
    crop = Crop(np.array([10.0, 20.0]), 100.0, 0.5, 256)
    big = larger_crop(crop, 1.15)
    assert big.side == pytest.approx(115.0) and big.rotation == 0.5 and big.size == 256
    np.testing.assert_allclose(big.centre, crop.centre)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(SAMPLE)


@pytest.fixture(scope="module")
def first(photo) -> LimbPass:
    """MoveNet's pass on the sample photo without the second look."""
    off = JointDetector(threads=2, settings=replace(DetectorSettings(), second_look_scale=0.0))
    return off.results(photo).limbs


def test_detector_averages_in_movenet_on_the_larger_crop(photo, first):
    settings = replace(DetectorSettings(), second_look_limb=1.01)  # every photo
    movenet = MoveNet(JointDetector(threads=1).limb_model_path, 2)
    other = movenet.run(photo, larger_crop(first.crop, settings.second_look_scale))
    expected = agreeing_mean(first, other, settings.second_look_agree)
    assert np.abs(expected.xy - first.xy).max() > 0.5  # the second look moves some joints
    result = JointDetector(threads=2, settings=settings).results(photo)
    np.testing.assert_allclose(result.limbs.xy, expected.xy, atol=0.05)
    np.testing.assert_allclose(result.limbs.score, first.score, atol=1e-4)
    assert result.retried is False  # not a retry: the sample photo needs none


def test_second_look_only_below_its_limb_score(photo, first):
    limb = float(np.mean(first.score[LIMB_COCO]))
    assert DetectorSettings().second_look_limb > 0.0  # on by default
    above = replace(DetectorSettings(), second_look_limb=limb - 0.01)
    result = JointDetector(threads=2, settings=above).results(photo)
    np.testing.assert_allclose(result.limbs.xy, first.xy, atol=0.05)  # first pass only
    below = replace(DetectorSettings(), second_look_limb=limb + 0.01)
    result = JointDetector(threads=2, settings=below).results(photo)
    assert np.abs(result.limbs.xy - first.xy).max() > 0.5
