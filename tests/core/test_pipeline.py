"""The bpy-free door every front end takes: inputs read and checked in one order, the focal
length chosen once, errors that name each file once."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from smplify_toy import toy_body_arrays

from blender_smplify.core import pipeline
from blender_smplify.core.camera import DEFAULT_FOV_DEG, choose_focal, focal_from_fov
from blender_smplify.core.errors import (
    CameraError,
    FitCancelled,
    ImageError,
    KeypointsError,
    ModelFileError,
    naming,
)
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.keypoints import Keypoints2D, get_layout

SIZE = (600, 800)


@pytest.fixture(scope="module")
def toy_npz(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "toy.npz"
    np.savez(path, **toy_body_arrays())
    return path


@pytest.fixture(scope="module")
def keypoints(toy_npz) -> dict:
    """smpl24 keypoints of the toy body, upright, arms down, 3 m before an 800 px camera."""
    body = pipeline.load_model("neutral", toy_npz)
    setup = get_setup(body, "smpl24", 10, True)
    pose = np.zeros(72)
    pose[0] = np.pi
    pose[3 * 16 + 2], pose[3 * 17 + 2] = -1.2, 1.2
    pts, _ = setup.kin.evaluate(pose, np.zeros(10), np.array([0.0, 0.1, 3.0]), jacobian=False)
    xy = 800.0 * pts[:24, :2] / pts[:24, 2:] + np.array(SIZE) / 2
    return {"layout": "smpl24", "xy": xy.tolist(), "image_size": list(SIZE)}


@pytest.fixture
def files(tmp_path, keypoints) -> dict[str, Path]:
    photo = tmp_path / "photo.png"
    Image.new("RGB", SIZE, "grey").save(photo)
    kp = tmp_path / "kp.json"
    kp.write_text(json.dumps(keypoints))
    return {"photo": photo, "keypoints": kp, "folder": tmp_path}


def test_a_fit_from_a_keypoints_file(files, toy_npz):
    result = pipeline.fit_photo(
        files["photo"], model_path=toy_npz, focal_length=800.0, keypoints=files["keypoints"]
    )
    assert result.fit.focal_length == 800.0 and result.focal_source == "given"
    assert result.image_size == SIZE and result.keypoints_source.startswith("read from ")
    assert abs(result.fit.transl[2] - 3.0) < 0.5
    assert {"keypoints", "image", "model", "fit"} <= set(result.seconds)


def test_inputs_are_checked_in_one_order(files):
    """focal, keypoints file, photo, model: with several bad, each front end names the same."""
    missing = files["folder"] / "absent"
    photo, kp, model = missing / "p.jpg", missing / "kp.json", missing / "m.npz"
    with pytest.raises(CameraError, match="focal length must be a positive number of pixels"):
        pipeline.prepare(photo, focal_length=0.0, keypoints=kp, model_path=model)
    with pytest.raises(KeypointsError, match=f"^{kp}: keypoints file not found"):
        pipeline.prepare(photo, keypoints=kp, model_path=model)
    with pytest.raises(ImageError, match=f"^{photo}: no such file"):
        pipeline.prepare(photo, model_path=model)
    with pytest.raises(ModelFileError, match="not found"):
        pipeline.prepare(files["photo"], model_path=model)


def test_a_missing_photo_is_allowed_only_when_the_keypoints_give_its_size(files, toy_npz):
    absent = files["folder"] / "absent.jpg"
    inputs = pipeline.prepare(absent, model_path=toy_npz, keypoints=files["keypoints"])
    assert inputs.image is None and inputs.image_size == SIZE
    assert inputs.focal_source.startswith("default")
    with pytest.raises(ImageError, match="no such file"):  # build puts the photo in the scene
        pipeline.prepare(absent, model_path=toy_npz, keypoints=files["keypoints"], need_image=True)


def test_keypoints_of_another_image_size_are_refused(files, toy_npz, keypoints):
    files["keypoints"].write_text(json.dumps({**keypoints, "image_size": [640, 480]}))
    with pytest.raises(KeypointsError, match="image_size 640 x 480 is not the size of the photo"):
        pipeline.prepare(files["photo"], model_path=toy_npz, keypoints=files["keypoints"])


def test_errors_about_the_photo_name_it_once(files, toy_npz, keypoints):
    few = {**keypoints, "confidence": [1.0] * 3 + [0.0] * 21}
    files["keypoints"].write_text(json.dumps(few))
    with pytest.raises(KeypointsError) as info:
        pipeline.fit_photo(files["photo"], model_path=toy_npz, keypoints=files["keypoints"])
    assert str(info.value).startswith(f"{files['photo']}: too few keypoints")
    named = naming(files["photo"], ImageError(f"{files['photo']}: not an image"))
    assert str(named) == f"{files['photo']}: not an image"  # already named: as it was
    assert str(naming(None, ImageError("x"))) == "x"


def test_cancelling_is_not_blamed_on_the_photo(files, toy_npz):
    inputs = pipeline.prepare(files["photo"], model_path=toy_npz, keypoints=files["keypoints"])
    with pytest.raises(FitCancelled) as info:
        pipeline.detect_and_fit(inputs, progress=lambda fraction, message: fraction < 0.5)
    assert "photo.png" not in str(info.value)


def test_the_focal_length_is_chosen_once(tmp_path):
    plain = tmp_path / "plain.jpg"
    Image.new("RGB", (400, 300)).save(plain)
    phone = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 52
    Image.new("RGB", (400, 300)).save(phone, exif=exif)
    assert choose_focal(900, phone, (400, 300)) == (900.0, "given")
    focal, source = choose_focal(None, phone, (400, 300))
    assert focal == pytest.approx(52 * 500 / math.hypot(36, 24)) and source.startswith("EXIF")
    default = (focal_from_fov((400, 300)), f"default {DEFAULT_FOV_DEG:g}° diagonal field of view")
    assert choose_focal(None, plain, (400, 300)) == default
    assert choose_focal(None, None, (400, 300)) == default
    for bad in (0, -3, float("nan"), float("inf"), "wide"):
        with pytest.raises(CameraError, match="focal length must be"):
            choose_focal(bad, phone, (400, 300))


def test_models_are_loaded_once_per_file_version(tmp_path, toy_npz):
    copy = tmp_path / "toy.npz"
    copy.write_bytes(toy_npz.read_bytes())
    first = pipeline.load_model("neutral", copy)
    assert pipeline.load_model("neutral", copy) is first
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file was replaced
    assert pipeline.load_model("neutral", copy) is not first


def test_limbs_outside_the_photo_are_named_in_a_warning(tmp_path):
    # the sample photo cut between knees and ankles: the detector places the ankles outside
    sample = Path(pipeline.__file__).parents[1] / "data" / "samples" / "standing_person.jpg"
    photo = np.asarray(Image.open(sample).convert("RGB"))
    whole = pipeline.fit_photo(sample)
    assert not any("outside the photo" in w for w in whole.fit.warnings)
    names = get_layout("blazepose33").names
    knees, ankles = (
        whole.keypoints.xy[[names.index(f"left_{j}"), names.index(f"right_{j}")], 1]
        for j in ("knee", "ankle")
    )
    cut = tmp_path / "cut.png"
    Image.fromarray(photo[: int((knees.max() + ankles.min()) / 2)]).save(cut)
    result = pipeline.fit_photo(cut)
    notes = [w for w in result.fit.warnings if w.startswith("outside the photo")]
    assert len(notes) == 1 and "left ankle" in notes[0] and "right ankle" in notes[0]
    assert "knee" not in notes[0] and "wrist" not in notes[0]


def test_out_of_frame_warning_names_only_limb_ends():
    layout = get_layout("blazepose33")
    keypoints = Keypoints2D("blazepose33", np.zeros((33, 2)), np.ones(33))
    outside = np.zeros(33, bool)
    assert pipeline.out_of_frame_warnings(keypoints, outside) == ()
    outside[[layout.index("left_heel"), layout.index("right_wrist")]] = True
    (note,) = pipeline.out_of_frame_warnings(keypoints, outside)
    assert "right wrist" in note and "heel" not in note
