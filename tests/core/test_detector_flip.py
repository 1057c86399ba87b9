"""MoveNet's mirrored view: the mirrored crop, left and right swapped back, the views' mean."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core.detector import DetectorSettings, JointDetector
from blender_smplify.core.detector_crop import Crop, sample
from blender_smplify.core.image_io import load_image
from blender_smplify.core.movenet import COCO17_NAMES, LIMB_COCO, LimbPass
from blender_smplify.core.second_look import agreeing_views

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "blender_smplify/data/samples/standing_person.jpg"
C = {n: i for i, n in enumerate(COCO17_NAMES)}


def test_mirrored_crop_samples_the_crop_mirrored():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (90, 120, 3)).astype(np.uint8)
    for crop in (Crop(np.array([60.0, 40.0]), 70.0, 0.4, 32), Crop(np.array([50, 50.0]), 200.0)):
        np.testing.assert_allclose(
            sample(image, crop.mirror()), sample(image, crop)[:, ::-1], atol=1e-3
        )


def test_mirrored_crop_maps_u_from_the_other_side():
    crop = Crop(np.array([120.0, 80.0]), 300.0, 0.7, 256)
    uv = np.array([[10.0, 20.0], [200.0, 31.5], [128.0, 128.0]])
    across = uv * [-1.0, 1.0] + [256.0, 0.0]  # u -> 256 - u
    np.testing.assert_allclose(crop.mirror().to_image(uv), crop.to_image(across))
    np.testing.assert_allclose(crop.mirror().to_crop(crop.mirror().to_image(uv)), uv)
    twice = crop.mirror().mirror()
    assert not twice.mirrored and twice.rotation == crop.rotation and twice.side == crop.side
    assert crop.mirror().mirrored and not crop.mirrored


def _pass(xy: np.ndarray, score) -> LimbPass:
    return LimbPass(
        crop=Crop(np.zeros(2), 100.0),
        xy=np.asarray(xy, float),
        score=np.broadcast_to(np.asarray(score, float), (17,)).copy(),
    )


def _person() -> np.ndarray:
    """(17, 2) keypoints whose torso (right shoulder to left hip) is 50 px."""
    xy = np.zeros((17, 2))
    xy[C["right_shoulder"]], xy[C["left_shoulder"]] = (40.0, 20.0), (60.0, 20.0)
    xy[C["right_hip"]], xy[C["left_hip"]] = (30.0, 60.0), (70.0, 60.0)
    return xy


def test_each_joint_is_the_mean_of_the_views_that_agree_with_the_first():
    first = _person()
    a, b = first + 6.0, first - 3.0  # 8.5 and 4.2 px away: within 0.3 × 50
    knee, wrist = C["left_knee"], C["right_wrist"]
    a[knee] += 40.0  # view a disagrees on the knee
    a[wrist] += 40.0
    b[wrist] += 40.0  # both disagree on the wrist
    out = agreeing_views(_pass(first, 0.9), [(_pass(a, 0.1), 0.3), (_pass(b, 0.1), 0.3)])
    rest = [i for i in LIMB_COCO if i not in (knee, wrist)]
    np.testing.assert_allclose(out.xy[rest], first[rest] + 1.0)  # (0 + 6 - 3) / 3
    np.testing.assert_allclose(out.xy[knee], first[knee] - 1.5)  # first and b
    np.testing.assert_allclose(out.xy[wrist], first[wrist])  # first alone
    np.testing.assert_allclose(out.xy[C["nose"]], first[C["nose"]])  # face: first's
    np.testing.assert_allclose(out.score, 0.9)  # scores: first's


def test_weighted_views_weigh_each_joint_by_its_score():
    first = _person()
    other = first + 4.0
    out = agreeing_views(_pass(first, 0.6), [(_pass(other, 0.2), 0.3)], weighted=True)
    np.testing.assert_allclose(out.xy[LIMB_COCO], first[LIMB_COCO] + 1.0, atol=1e-4)  # 0.2/0.8


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(SAMPLE)


@pytest.fixture(scope="module")
def plain(photo):
    """The detector's passes on the sample photo with the mirrored view and second look off."""
    settings = replace(DetectorSettings(), flip_limb=0.0, second_look_scale=0.0)
    detector = JointDetector(threads=2, settings=settings)
    return detector, detector.results(photo).limbs


def test_the_mirrored_pass_names_the_persons_own_joints(photo, plain):
    detector, first = plain
    mirrored = detector.movenet.run(photo, first.crop.mirror())
    assert mirrored.crop.mirrored
    gap = np.linalg.norm(mirrored.xy[LIMB_COCO] - first.xy[LIMB_COCO], axis=1)
    assert gap.max() < 8.0  # the same joints, a few pixels apart, not the other side's
    assert gap.max() > 0.3  # a second opinion, not the same pass again
    # the person faces the camera: their left shoulder is on the image's right
    assert mirrored.xy[C["left_shoulder"], 0] > mirrored.xy[C["right_shoulder"], 0] + 40.0


def test_detector_averages_in_the_mirrored_view(photo, plain):
    detector, first = plain
    settings = replace(DetectorSettings(), flip_limb=1.01, second_look_scale=0.0)
    mirrored = detector.movenet.run(photo, first.crop.mirror())
    expected = agreeing_views(first, [(mirrored, settings.flip_agree)], settings.flip_weighted)
    assert np.abs(expected.xy - first.xy).max() > 0.3  # the mirrored view moves joints
    result = JointDetector(threads=2, settings=settings).results(photo)
    np.testing.assert_allclose(result.limbs.xy, expected.xy, atol=0.05)
    np.testing.assert_allclose(result.limbs.score, first.score, atol=1e-4)
    assert result.retried is False


def test_mirrored_view_only_below_its_limb_score(photo, plain):
    _, first = plain
    limb = float(np.mean(first.score[LIMB_COCO]))
    off = replace(DetectorSettings(), second_look_scale=0.0, flip_limb=limb - 0.01)
    result = JointDetector(threads=2, settings=off).results(photo)
    np.testing.assert_allclose(result.limbs.xy, first.xy, atol=0.05)
    on = replace(off, flip_limb=limb + 0.01)
    result = JointDetector(threads=2, settings=on).results(photo)
    assert np.abs(result.limbs.xy - first.xy).max() > 0.3


class _Favouring:
    """A MoveNet whose passes on crops mirrored (or not, ``mirrored``) score 0.1 higher."""

    def __init__(self, movenet, mirrored: bool) -> None:
        self.movenet, self.mirrored = movenet, mirrored

    def run(self, image, crop):
        out = self.movenet.run(image, crop)
        bonus = 0.1 if crop.mirrored == self.mirrored else 0.0
        return replace(out, score=np.clip(out.score + bonus, 0.0, 1.0))


@pytest.mark.parametrize("favoured", [False, True])
def test_the_mirror_checks_other_pass_is_the_mirrored_view(photo, favoured):
    # the mirror check keeps the pass with the higher limb score; the other one is the view
    off = replace(DetectorSettings(), flip_limb=0.0, second_look_scale=0.0, mirror_check_limb=0.0)
    on = replace(off, flip_limb=1.01, mirror_check_limb=1.01)
    detectors = [JointDetector(threads=2, settings=s, parallel=False) for s in (off, on)]
    for d in detectors:
        d.movenet = d._movenet_alone = _Favouring(d.movenet, favoured)
    plain = detectors[0].results(photo).limbs
    mirrored = detectors[0].movenet.run(photo, plain.crop.mirror())
    kept, other = (mirrored, plain) if favoured else (plain, mirrored)
    assert kept.limb_score() > other.limb_score()
    result = detectors[1].results(photo)
    expected = agreeing_views(kept, [(other, on.flip_agree)], on.flip_weighted)
    assert result.retried  # the mirror check ran
    assert result.limbs.crop.mirrored == favoured
    assert np.abs(expected.xy - kept.xy).max() > 0.3  # the view moves joints
    np.testing.assert_allclose(result.limbs.xy, expected.xy, atol=0.05)
    np.testing.assert_allclose(result.limbs.score, kept.score, atol=1e-4)
