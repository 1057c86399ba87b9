"""JointDetector on the shipped ONNX models: conversion reference, real photos, bad input."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blender_smplify.core.detector import (
    BLAZEPOSE33_NAMES,
    BLAZEPOSE_MIRROR,
    LIMB_JOINTS,
    MODEL_DIR,
    B,
    Detection,
    JointDetector,
)
from blender_smplify.core.detector_crop import Crop, letterbox, paste_back, sample
from blender_smplify.core.errors import ModelFileError, NoPersonFound
from blender_smplify.core.image_io import load_image

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests/data"
SAMPLE = REPO / "blender_smplify/data/samples/standing_person.jpg"

# Joint positions in standing_person.jpg, read off the photo by eye (image pixels, x right,
# y down; left/right are the person's own: the person faces the camera, so their left is on
# the image's right).
SAMPLE_JOINTS = {
    "left_shoulder": (310, 182),
    "right_shoulder": (232, 181),
    "left_elbow": (332, 241),
    "right_elbow": (215, 237),
    "left_wrist": (363, 295),
    "right_wrist": (183, 290),
    "left_hip": (295, 298),
    "right_hip": (244, 297),
    "left_knee": (296, 360),
    "right_knee": (233, 357),
    "left_ankle": (293, 440),
    "right_ankle": (245, 435),
}
TOLERANCE_PX = 15.0  # the person is about 350 px tall; 15 px is 0.13 of the torso


@pytest.fixture(scope="module")
def detector() -> JointDetector:
    return JointDetector(threads=2)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(SAMPLE)


@pytest.fixture(scope="module")
def detection(detector, photo) -> Detection:
    return detector.detect(photo)


def _errors(det: Detection, names=SAMPLE_JOINTS) -> dict[str, float]:
    return {
        n: float(np.linalg.norm(det.keypoints.xy[B[n]] - np.array(names[n], float))) for n in names
    }


# ----------------------------------------------------------------------------- shipped files
def _run(model: str, feed: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(MODEL_DIR / model), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"image": feed})))


def test_blazepose_onnx_matches_the_tflite_reference():
    ref = np.load(DATA / "detector_reference.npz")
    img = np.asarray(Image.open(DATA / "sample_256.png").convert("RGB"))
    out = _run("blazepose_full.onnx", img[None].astype(np.float32) / 255.0)
    ours = out["landmarks"].reshape(39, 5)
    theirs = ref["blazepose_full/landmarks"].reshape(39, 5)
    assert np.abs(ours[:, :2] - theirs[:, :2]).max() < 0.5  # pixels at 256 px
    assert np.abs(out["presence"] - ref["blazepose_full/presence"]).max() < 1e-3
    assert np.abs(out["world"] - ref["blazepose_full/world"]).max() < 1e-3


def test_movenet_onnx_matches_the_tensorflow_reference():
    ref = np.load(DATA / "detector_reference.npz")["movenet_thunder/keypoints"].reshape(17, 3)
    img = np.asarray(Image.open(DATA / "sample_256.png").convert("RGB"))
    ours = _run("movenet_thunder.onnx", img[None].astype(np.int32))["keypoints"].reshape(17, 3)
    assert np.abs(ours[:, :2] - ref[:, :2]).max() * 256 < 0.5
    assert np.abs(ours[:, 2] - ref[:, 2]).max() < 1e-3


def test_model_readme_lists_the_shipped_files_with_their_sha256():
    readme = (MODEL_DIR / "README.md").read_text()
    assert "Apache" in readme and (MODEL_DIR / "LICENSE-Apache-2.0.txt").exists()
    for onnx_file in MODEL_DIR.glob("*.onnx"):
        digest = hashlib.sha256(onnx_file.read_bytes()).hexdigest()
        assert re.search(rf"`{onnx_file.name}`.*`{digest}`", readme), onnx_file.name
    assert sum(f.stat().st_size for f in MODEL_DIR.glob("*.onnx")) < 40e6


# ----------------------------------------------------------------------------- real photos
def test_sample_photo_joints(detection, photo):
    det = detection
    assert det.keypoints.layout == "blazepose33"
    assert det.keypoints.xy.shape == (33, 2) and det.world.shape == (33, 3)
    assert det.score > 0.9
    errors = _errors(det)
    assert max(errors.values()) < TOLERANCE_PX, errors
    assert det.keypoints.confidence[[B[n] for n in LIMB_JOINTS]].min() > 0.5
    # head above shoulders above hips above knees above ankles
    y = det.keypoints.xy[:, 1]
    assert (
        y[B["nose"]]
        < y[B["left_shoulder"]]
        < y[B["left_hip"]]
        < y[B["left_knee"]]
        < y[B["left_ankle"]]
    )


def test_box_and_mask(detection, photo):
    det = detection
    h, w = photo.shape[:2]
    assert det.mask.shape == (h, w) and det.mask.dtype == np.float32
    assert 0.0 <= det.mask.min() and det.mask.max() <= 1.0
    x0, y0, x1, y1 = det.box
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    limbs = det.keypoints.xy[[B[n] for n in LIMB_JOINTS]]
    assert np.all((limbs >= [x0, y0]) & (limbs <= [x1, y1]))
    # the mask covers the torso and not the sky in the top-left corner
    torso = det.keypoints.xy[[B["left_shoulder"], B["right_hip"]]].mean(axis=0).astype(int)
    assert det.mask[torso[1], torso[0]] > 0.9
    assert det.mask[:60, :100].max() < 0.1
    assert 0.05 < (det.mask > 0.5).mean() < 0.4


def test_mirrored_photo_gives_mirrored_joints(detector, photo, detection):
    mirrored = detector.detect(photo[:, ::-1].copy())
    xy = mirrored.keypoints.xy[BLAZEPOSE_MIRROR[:33]]
    xy[:, 0] = photo.shape[1] - xy[:, 0]
    idx = [B[n] for n in LIMB_JOINTS]
    assert np.abs(xy[idx] - detection.keypoints.xy[idx]).max() < 10.0


def test_rotated_photo_is_found_upright(detector, photo, detection):
    # A person lying sideways: the crop is rotated from the model's alignment landmarks.
    h = photo.shape[0]
    turned = np.rot90(photo, 1).copy()  # counter-clockwise: (x, y) -> (y, W - x)
    det = detector.detect(turned)
    back = np.stack([h - det.keypoints.xy[:, 1], det.keypoints.xy[:, 0]], axis=1)
    idx = [B[n] for n in LIMB_JOINTS]
    err = np.linalg.norm(back[idx] - detection.keypoints.xy[idx], axis=1)
    assert err.max() < 12.0, err


def test_upside_down_photo_is_found_upside_down(detector, photo, detection):
    # A photo turned by 180° without EXIF: BlazePose's whole-image pass invents an upright body
    # with a high presence; MoveNet's low limb score sends detect to the turned image.
    h, w = photo.shape[:2]
    det = detector.detect(photo[::-1, ::-1].copy())
    back = np.array([w, h]) - det.keypoints.xy
    idx = [B[n] for n in LIMB_JOINTS]
    err = np.linalg.norm(back[idx] - detection.keypoints.xy[idx], axis=1)
    assert err.max() < 12.0, err
    assert det.limb_score > 0.8


def test_small_person_in_a_big_photo(detector, photo, detection, tall=150):
    # ~150 px tall in 3000 x 2000: too small for the whole image and the search windows;
    # found through MoveNet's keypoints in the smallest windows.
    small = np.asarray(Image.fromarray(photo).resize((tall, tall), Image.BILINEAR))
    rng = np.random.default_rng(0)
    canvas = np.clip(128 + rng.normal(0, 10, (2000, 3000, 3)), 0, 255).astype(np.uint8)
    x0, y0 = 2100, 1400
    canvas[y0 : y0 + tall, x0 : x0 + tall] = small
    det = detector.detect(canvas)
    expected = detection.keypoints.xy * (tall / photo.shape[0]) + [x0, y0]
    idx = [B[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    err = np.linalg.norm(det.keypoints.xy[idx] - expected[idx], axis=1)
    assert err.max() < 6.0, err
    assert det.box[0] >= x0 - 20 and det.box[2] <= x0 + tall + 20


@pytest.mark.parametrize("big_x, small_x", [(500, 50), (50, 750)])
def test_of_two_people_the_larger_is_detected(detector, photo, big_x, small_x):
    # Big on the right: the whole-image pass invents one lying body across both (limb score
    # 0.18); windows of the short side find both and the larger one is kept.
    big = np.asarray(Image.fromarray(photo).resize((550, 550), Image.BILINEAR))
    small = np.asarray(Image.fromarray(photo).resize((300, 300), Image.BILINEAR))
    canvas = np.full((600, 1100, 3), 120, np.uint8)
    canvas[50:600, big_x : big_x + 550] = big
    canvas[300:600, small_x : small_x + 300] = small
    det = detector.detect(canvas)
    hips = det.keypoints.xy[[B["left_hip"], B["right_hip"]]].mean(axis=0)
    assert big_x < hips[0] < big_x + 550 and det.box[3] - det.box[1] > 400, det.box


def test_person_cut_off_at_the_knees(detector, photo):
    cut = photo[:365].copy()  # the knees are at y ~ 360
    det = detector.detect(cut)
    conf = det.keypoints.confidence
    feet = [
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ]
    assert conf[[B[n] for n in feet]].max() < 0.3
    upper = {
        n: SAMPLE_JOINTS[n]
        for n in (
            "left_shoulder",
            "right_shoulder",
            "left_elbow",
            "right_elbow",
            "left_hip",
            "right_hip",
        )
    }
    assert max(_errors(det, upper).values()) < TOLERANCE_PX
    assert conf[[B[n] for n in upper]].min() > 0.5


def test_person_cut_off_at_the_waist_is_named_in_the_error(detector, photo):
    with pytest.raises(NoPersonFound, match="cut off by the frame"):
        detector.detect(photo[:200].copy())  # the hips are at y ~ 290


def test_two_people_and_choosing_one(detector):
    image = load_image(DATA / "two_people.jpg")
    boxes = {"man": np.array([270, 30, 370, 240]), "woman": np.array([570, 250, 700, 470])}
    det = detector.detect(image)  # someone is found (the whole-image pass alone finds nobody)
    assert det.score > 0.5
    for name, box in boxes.items():
        det = detector.detect(image, person_box=box)
        hips = det.keypoints.xy[[B["left_hip"], B["right_hip"]]].mean(axis=0)
        assert box[0] <= hips[0] <= box[2] and box[1] <= hips[1] <= box[3], name


# ----------------------------------------------------------------------------- no person
@pytest.mark.parametrize(
    "name", ["no_person_forest.jpg", "no_person_interior.jpg", "no_person_sunrise.jpg"]
)
def test_photo_without_a_person(detector, name):
    with pytest.raises(NoPersonFound, match="no person"):
        detector.detect(load_image(DATA / name))


@pytest.mark.parametrize("kind", ["noise", "black", "tiny", "sliver"])
def test_synthetic_images_without_a_person(detector, kind):
    rng = np.random.default_rng(0)
    image = {
        "noise": rng.integers(0, 256, (300, 400, 3), dtype=np.uint8),
        "black": np.zeros((200, 200, 3), np.uint8),
        "tiny": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8),
        "sliver": rng.integers(0, 256, (4, 3000, 3), dtype=np.uint8),
    }[kind]
    with pytest.raises(NoPersonFound):
        detector.detect(image)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("shape", [(100, 100), (100, 100, 4), (0, 10, 3), (5,)])
def test_wrong_image_shape(detector, shape):
    with pytest.raises(ValueError, match="shape"):
        detector.detect(np.zeros(shape, np.uint8))


def test_float_image_in_0_1_is_refused(detector, photo):
    with pytest.raises(ValueError, match="0..255"):
        detector.detect(photo / 255.0)


@pytest.mark.parametrize("box", [[10, 10, 5, 50], [0, 0, np.nan, 10], [1, 2, 3]])
def test_bad_person_box(detector, photo, box):
    with pytest.raises(ValueError):
        detector.detect(photo, person_box=np.array(box, float))


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        JointDetector(model_path=tmp_path / "nope.onnx")


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 100)
    with pytest.raises(ModelFileError, match="bad.onnx"):
        JointDetector(model_path=bad)
    with pytest.raises(ModelFileError, match="bad.onnx"):
        JointDetector(limb_model_path=bad)


def test_names_follow_blazepose_order():
    assert len(BLAZEPOSE33_NAMES) == 33 and BLAZEPOSE33_NAMES[11] == "left_shoulder"
    assert BLAZEPOSE33_NAMES[28] == "right_ankle" and BLAZEPOSE33_NAMES[32] == "right_foot_index"
    assert all(
        BLAZEPOSE33_NAMES[BLAZEPOSE_MIRROR[i]].replace("right", "left")
        == n.replace("right", "left")
        for i, n in enumerate(BLAZEPOSE33_NAMES)
    )


# ----------------------------------------------------------------------------- crop geometry
def test_crop_maps_round_trip():
    crop = Crop(np.array([120.0, 80.0]), 300.0, 0.7, 256)
    uv = np.random.default_rng(0).uniform(0, 256, (20, 2))
    np.testing.assert_allclose(crop.to_crop(crop.to_image(uv)), uv, atol=1e-9)
    # the crop centre is the given centre; the crop's "up" is rotated by the given angle
    np.testing.assert_allclose(crop.to_image(np.array([[128.0, 128.0]]))[0], [120, 80])


def test_sample_and_paste_back_invert_each_other():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (64, 64, 1)).astype(np.float32)
    image = np.repeat(np.repeat(image, 4, 0), 4, 1)  # 256 x 256, smooth enough to resample
    crop = letterbox(256, 256, 256)
    np.testing.assert_allclose(sample(image, crop), image, atol=1e-6)
    rotated = Crop(np.array([128.0, 128.0]), 180.0, 0.4, 256)
    back = paste_back(sample(image, rotated)[..., 0], rotated, 256, 256)
    inner = (slice(100, 156), slice(100, 156))
    assert np.abs(back[inner] - image[..., 0][inner]).mean() < 0.05


def test_box_downsample_is_the_block_mean():
    from blender_smplify.core.detector_crop import box_downsample

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (101, 77, 3), dtype=np.uint8)
    for factor in (2, 3, 7):
        h, w = 101 // factor * factor, 77 // factor * factor
        blocks = (
            image[:h, :w].astype(np.float64).reshape(h // factor, factor, w // factor, factor, 3)
        )
        np.testing.assert_allclose(
            box_downsample(image, factor), blocks.mean(axis=(1, 3)), atol=1e-4
        )


def test_heatmap_refinement_moves_to_the_peak():
    from blender_smplify.core.detector_crop import refine_from_heatmaps

    landmarks = np.zeros((39, 5))
    landmarks[:, :2] = [100.0, 60.0]  # crop pixels; heatmap cell k is centred on 4 k
    rows, cols = np.mgrid[0:64, 0:64]
    peak = np.array([26.3, 14.6])  # (col, row) in cells, one cell away from the landmark
    logits = 6.0 - ((cols - peak[0]) ** 2 + (rows - peak[1]) ** 2)
    heatmaps = np.repeat(logits[:, :, None], 39, axis=2)
    heatmaps[:, :, 5] = -50.0  # no confident peak: landmark 5 stays where it is
    out = refine_from_heatmaps(landmarks, heatmaps)
    np.testing.assert_allclose(out[0, :2], peak * 4.0, atol=0.5)
    np.testing.assert_allclose(out[5, :2], [100.0, 60.0])


def test_parallel_and_sequential_runs_agree(detection, photo):
    # the default detector runs MoveNet in a worker thread; the result must not depend on it
    sequential = JointDetector(threads=2, parallel=False).detect(photo)
    np.testing.assert_allclose(sequential.keypoints.xy, detection.keypoints.xy, atol=0.05)
    np.testing.assert_allclose(
        sequential.keypoints.confidence, detection.keypoints.confidence, atol=1e-3
    )
    assert abs(sequential.limb_score - detection.limb_score) < 1e-3


def test_one_pass_detector_uses_the_same_limb_crop(detection, photo):
    # MoveNet's crop comes from pass-1 landmarks in both set-ups, so the limb joints agree
    one = JointDetector(threads=2, passes=1).detect(photo)
    idx = [B[n] for n in LIMB_JOINTS]
    assert np.abs(one.keypoints.xy[idx] - detection.keypoints.xy[idx]).max() < 0.05


def test_fit_layouts_name_the_model_outputs_in_their_documented_order():
    # the fit maps the detector's keypoints to the body by the layouts' names, in this order; the
    # order of each model's outputs is documented with the models (onnx_models/README.md, as
    # tools/convert_detector.py transcribed it from the models' own documentation)
    from blender_smplify.core.keypoints import LAYOUTS

    readme = (REPO / "onnx_models" / "README.md").read_text(encoding="utf-8")
    blazepose = re.search(r"Body landmark order \(0–32[^)]*\): ([^.]+)\.", readme)
    movenet = re.search(r"in COCO order: ([^.]+)\.", readme)
    assert blazepose and movenet, "landmark orders not found in onnx_models/README.md"
    assert LAYOUTS["blazepose33"].names == tuple(re.split(r",\s*", blazepose[1]))
    assert LAYOUTS["coco17"].names == tuple(re.split(r",\s*", movenet[1]))
