"""The image's depth-sign network (``core/depth_sign.py``): its crops, its answer's mirror
symmetry, its errors, and its vote in the depth search."""

from __future__ import annotations

import numpy as np
import pytest

from blender_smplify.core.depth_sign import (
    CHANNELS,
    SEGMENT_ENDS,
    SEGMENT_NAMES,
    SIZE,
    DepthSign,
    segment_crops,
)
from blender_smplify.core.errors import KeypointsError, ModelFileError
from blender_smplify.core.keypoints import Keypoints2D, get_layout
from blender_smplify.core.lifter import MIRROR, SEGMENT_MIRROR

LAYOUT = get_layout("blazepose33")
W, H = 320, 400


def person() -> np.ndarray:
    """blazepose33 keypoints (33, 2) of a rough person standing in a W × H photo, the left
    forearm raised sideways."""
    at = {
        "nose": (160, 60), "left_shoulder": (195, 110), "right_shoulder": (125, 110),
        "left_elbow": (215, 170), "right_elbow": (110, 175), "left_wrist": (260, 190),
        "right_wrist": (105, 235), "left_hip": (180, 230), "right_hip": (140, 230),
        "left_knee": (185, 305), "right_knee": (135, 305), "left_ankle": (188, 375),
        "right_ankle": (132, 375),
    }  # fmt: skip
    xy = np.tile([160.0, 200.0], (33, 1))
    for name, p in at.items():
        xy[LAYOUT.index(name)] = p
    return xy


def photo(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def test_crops_have_the_networks_shapes_and_skip_missing_ends():
    conf = np.ones(33)
    crops, scalars, ok = segment_crops(photo(), Keypoints2D("blazepose33", person(), conf))
    assert crops.shape == (8, CHANNELS, SIZE, SIZE) and crops.dtype == np.float32
    assert scalars.shape == (8, 5) and ok.all()
    np.testing.assert_array_equal(scalars[:, :4].argmax(1), [0, 1, 2, 3, 0, 1, 2, 3])
    assert np.abs(crops[:, :3]).max() <= 0.5 and crops[:, 3:5].max() == pytest.approx(1, abs=0.05)
    conf[LAYOUT.index("left_wrist")] = 0.0  # the left forearm's child end is missing
    crops, _, ok = segment_crops(photo(), Keypoints2D("blazepose33", person(), conf))
    assert ok.tolist() == [s != "left_elbow" for s in SEGMENT_NAMES]
    assert not crops[SEGMENT_NAMES.index("left_elbow")].any()


def test_the_crop_turns_each_segment_upright_with_its_marks_on_its_ends():
    # per segment a dark photo with a red dot at its parent end and a blue one at its child end
    xy = person()
    yy, xx = np.mgrid[:H, :W] + 0.5
    keypoints = Keypoints2D("blazepose33", xy, np.ones(33))
    for k, (a, b) in enumerate(SEGMENT_ENDS):
        image = np.zeros((H, W, 3), dtype=np.uint8)
        for end, colour in ((a, 0), (b, 2)):
            image[(xx - xy[end, 0]) ** 2 + (yy - xy[end, 1]) ** 2 < 3.0**2, colour] = 255
        crops, _, _ = segment_crops(image, keypoints)
        for mark, colour in ((3, 0), (4, 2)):
            peak = np.unravel_index(crops[k, mark].argmax(), (SIZE, SIZE))
            dot = np.argwhere(crops[k, colour] > 0.0).mean(0)
            assert np.abs(peak - dot).max() <= 1.0, (SEGMENT_NAMES[k], mark)
        parent = np.unravel_index(crops[k, 3].argmax(), (SIZE, SIZE))
        child = np.unravel_index(crops[k, 4].argmax(), (SIZE, SIZE))
        assert child[0] > parent[0] and abs(child[1] - parent[1]) <= 1  # straight down


def test_the_other_sources_scalars_read_each_segments_sign():
    from blender_smplify.core.depth_sign import MAX_LOGIT, evidence

    lifter_away, points, visibility = np.full(8, 0.5), np.zeros((33, 3)), np.ones(33)
    lifter_away[1] = 0.9  # the left forearm: the lifter leans away
    wrist = LAYOUT.index("left_wrist")
    points[LAYOUT.index("left_elbow")] = [0.1, 0.0, 0.0]
    points[wrist] = [0.1, 0.3, 0.4]  # the wrist 0.4 m farther than the elbow, 0.3 m lower
    visibility[wrist] = 0.2
    e = evidence(lifter_away, points, visibility)
    assert e.shape == (8, 3)
    np.testing.assert_allclose(e[1], [np.log(9) / 4, 0.8, 0.8], rtol=1e-6)
    assert e[0, 0] == 0.0 and e[5].tolist() == [0.0, 0.0, 0.0]  # right forearm: all at 0
    lifter_away[1], points[wrist] = 1.0, np.nan  # sure lifter clipped, no BlazePose direction
    e = evidence(lifter_away, points, visibility)
    assert e[1, 0] == pytest.approx(MAX_LOGIT / 4) and e[1, 1] == 0.0


def test_a_mirrored_photo_gives_each_segments_mirror_image_the_flipped_crop():
    xy, image = person(), photo(1)
    mirrored_xy = xy[MIRROR].copy()
    mirrored_xy[:, 0] = W - mirrored_xy[:, 0]
    crops, scalars, _ = segment_crops(image, Keypoints2D("blazepose33", xy, np.ones(33)))
    seen, seen_scalars, _ = segment_crops(
        np.ascontiguousarray(image[:, ::-1]), Keypoints2D("blazepose33", mirrored_xy, np.ones(33))
    )
    np.testing.assert_allclose(seen[SEGMENT_MIRROR], crops[:, :, :, ::-1], atol=2e-3)
    np.testing.assert_allclose(seen_scalars[SEGMENT_MIRROR], scalars, atol=1e-6)


@pytest.fixture(scope="module")
def network():
    return DepthSign()


def others(seed: int = 0):
    """The other sources' inputs: the lifter's away-probabilities (8,), BlazePose's landmarks
    in the camera frame (33, 3) and visibilities (33,)."""
    rng = np.random.default_rng(seed)
    return rng.random(8), rng.normal(size=(33, 3)), rng.random(33)


def mirrored_others(lifter_away, points, visibility):
    """The same evidence seen in the mirrored photo: each segment's and point's mirror image,
    x negated (a mirror keeps every depth)."""
    points = points[MIRROR].copy()
    points[:, 0] *= -1
    return lifter_away[SEGMENT_MIRROR], points, visibility[MIRROR]


def test_the_answer_is_the_same_on_a_photo_and_its_mirror_image(network):
    xy, image = person(), photo(2)
    mirrored_xy = xy[MIRROR].copy()
    mirrored_xy[:, 0] = W - mirrored_xy[:, 0]
    p = network.away_probability(image, Keypoints2D("blazepose33", xy, np.ones(33)), *others())
    q = network.away_probability(
        np.ascontiguousarray(image[:, ::-1]),
        Keypoints2D("blazepose33", mirrored_xy, np.ones(33)),
        *mirrored_others(*others()),
    )
    assert p.shape == (8,) and ((p > 0) & (p < 1)).all()
    np.testing.assert_allclose(q[SEGMENT_MIRROR], p, atol=2e-3)


def test_votes_are_two_p_minus_one_and_none_where_an_end_is_missing(network):
    conf = np.ones(33)
    conf[LAYOUT.index("right_knee")] = 0.0
    keypoints = Keypoints2D("blazepose33", person(), conf)
    p = network.away_probability(photo(), keypoints, *others())
    votes = network.votes(photo(), keypoints, *others())
    assert set(votes) == set(SEGMENT_NAMES) - {"right_hip", "right_knee"}
    for k, s in enumerate(SEGMENT_NAMES):
        if s in votes:
            assert votes[s] == pytest.approx(2 * p[k] - 1)


def test_bad_inputs_raise_readable_errors(network, tmp_path):
    keypoints = Keypoints2D("blazepose33", person(), np.ones(33))
    with pytest.raises(ValueError, match="uint8 RGB"):
        network.away_probability(photo().astype(np.float32), keypoints, *others())
    with pytest.raises(ValueError, match="uint8 RGB"):
        network.away_probability(photo()[:, :, 0], keypoints, *others())
    coco = Keypoints2D("smpl24", np.zeros((24, 2)), np.ones(24))
    with pytest.raises(KeypointsError, match="blazepose33"):
        network.away_probability(photo(), coco, *others())
    with pytest.raises(ModelFileError, match="depth-sign model file not found"):
        DepthSign(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a readable ONNX depth-sign"):
        DepthSign(tmp_path / "bad.onnx")


@pytest.mark.parametrize("switch", [True, False])
def test_the_pipeline_hands_the_fit_the_photos_votes_when_switched_on(monkeypatch, switch):
    from pathlib import Path

    from blender_smplify.core import fit as fit_module
    from blender_smplify.core import pipeline

    seen = []
    real = fit_module.fit

    def spy(*args, **kwargs):
        seen.append(kwargs.get("image_votes"))
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    monkeypatch.setattr(pipeline, "IMAGE_DEPTH_SIGNS", switch)
    sample = Path(pipeline.__file__).parents[1] / "data" / "samples" / "standing_person.jpg"
    result = pipeline.fit_photo(sample)
    if not switch:
        assert seen == [None]
        return
    assert set(seen[0]) <= set(SEGMENT_NAMES) and len(seen[0]) >= 6
    assert all(-1 <= v <= 1 for v in seen[0].values())
    seen.clear()
    stored = Keypoints2D("blazepose33", result.keypoints.xy, result.keypoints.confidence)
    pipeline.fit_photo(sample, keypoints=stored)  # no landmarks beside them: no votes
    assert seen == [None]
