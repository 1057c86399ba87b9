"""``fit PHOTO PHOTO --same-person`` and ``measure`` of its JSON; the same-person door's errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from blender_smplify.__main__ import main
from blender_smplify.core import pipeline
from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.known_measurements import Stature
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues
from blender_smplify.core.same_person_pipeline import detect_and_fit_same_person


def keypoints_file(path, model, betas, yaw):
    """smpl24 keypoints of ``betas`` standing turned by ``yaw``, 4 m from an 800 px camera."""
    pose = np.zeros(72)
    pose[:3] = matrix_to_rotvec(rodrigues(np.r_[np.pi, 0, 0]) @ rodrigues(np.r_[0, yaw, 0]))
    pose[3 * 16 + 2], pose[3 * 17 + 2] = -1.2, 1.2  # arms down
    pts, _ = get_setup(model, "smpl24", 10).kin.evaluate(pose, betas, np.r_[0, 0.1, 4.0], False)
    xy = 800.0 * pts[:24, :2] / pts[:24, 2:] + np.array([300.0, 400.0])
    data = {"layout": "smpl24", "xy": xy.tolist(), "image_size": [600, 800]}
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def front_side(tmp_path, male):
    betas = np.random.default_rng(0).normal(size=10)
    return [
        keypoints_file(tmp_path / "front.json", male, betas, 0.1),
        keypoints_file(tmp_path / "side.json", male, betas, np.pi / 2),
    ]


def fit_argv(photos, keypoints, out, *extra):
    argv = ["fit", *photos, "--out", str(out), "--gender", "male", "--focal", "800", *extra]
    for k in keypoints:
        argv += ["--keypoints", str(k)]
    return argv


def test_fit_same_person_writes_one_shape_and_a_pose_per_photo(tmp_path, front_side, male, capsys):
    out = tmp_path / "person.json"
    argv = fit_argv(["front.jpg", "side.jpg"], front_side, out, "--same-person")
    assert main([*argv, "--height", "183.5"]) == 0
    data = json.loads(out.read_text())
    assert data["format"] == "same_person" and data["gender"] == "male"
    assert [p["image"] for p in data["photos"]] == ["front.jpg", "side.jpg"]
    assert all(p["betas"] == data["betas"] for p in data["photos"])
    assert data["photos"][0]["body_pose"] != data["photos"][1]["body_pose"]
    assert data["known_measurements"] == {"height": 1.835}
    assert Stature(male, 10)(np.array(data["betas"]))[0] == pytest.approx(1.835, abs=0.005)
    assert "one shape for 2 photos" in capsys.readouterr().out
    # measure reads the shared shape: one body
    table = tmp_path / "m.json"
    assert main(["measure", str(out), "--out", str(table)]) == 0
    bodies = json.loads(table.read_text())["bodies"]
    assert len(bodies) == 1 and bodies[0]["measurements"]["stature"] == pytest.approx(183.5, 0.5)


def test_one_photo_with_same_person_is_its_single_fit(tmp_path, front_side):
    """Allowed: the shape of that photo alone, in the same-person form."""
    alone, person = tmp_path / "alone.json", tmp_path / "person.json"
    assert main(fit_argv(["front.jpg"], front_side[:1], alone, "--height", "175")) == 0
    argv = fit_argv(["front.jpg"], front_side[:1], person, "--height", "175", "--same-person")
    assert main(argv) == 0
    single, joint = json.loads(alone.read_text()), json.loads(person.read_text())
    assert joint["betas"] == single["betas"]
    assert joint["photos"][0]["body_pose"] == single["body_pose"]
    assert "format" not in single  # the single-photo form is unchanged


@pytest.mark.parametrize(
    "photos, keypoints, extra, message",
    [
        (
            ["a.jpg", "b.jpg"],
            2,
            [],
            "2 photos given: add --same-person to fit one person's shape to all of them, or "
            "fit each photo on its own",
        ),
        (
            ["a.jpg", "b.jpg"],
            1,
            ["--same-person"],
            "1 --keypoints files for 2 photos: give one per photo",
        ),
        (
            ["a.jpg", "b.jpg"],
            2,
            ["--same-person", "--height", "50"],
            "height must be between 100 cm and 250 cm (an adult's stature), got 0.5 m (50 cm)",
        ),
    ],
)
def test_bad_same_person_input_exits_2(
    tmp_path, front_side, capsys, photos, keypoints, extra, message
):
    out = tmp_path / "x.json"
    assert main(fit_argv(photos, front_side[:keypoints], out, *extra)) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not out.exists()


def test_photos_of_different_body_models_are_refused(front_side):
    male = pipeline.prepare("a.jpg", gender="male", keypoints=front_side[0], focal_length=800.0)
    female = pipeline.prepare("b.jpg", gender="female", keypoints=front_side[1], focal_length=800)
    with pytest.raises(SmplifyError, match="photo 2 uses another body model \\(female"):
        detect_and_fit_same_person([male, female])
    with pytest.raises(SmplifyError, match="no photos given"):
        detect_and_fit_same_person([])


def test_fit_takes_known_girths_in_cm(tmp_path, front_side, capsys):
    """``--chest/--waist/--hip CM``: the fitted body's girths (measure, cm) are those."""
    out, table = tmp_path / "fit.json", tmp_path / "m.json"
    girths = ["--chest", "104", "--waist", "91", "--hip", "101"]
    assert main(fit_argv(["front.jpg"], front_side[:1], out, "--height", "178", *girths)) == 0
    assert main(["measure", str(out), "--out", str(table)]) == 0
    values = json.loads(table.read_text())["bodies"][0]["measurements"]
    for name, cm in (
        ("stature", 178),
        ("chest_girth", 104),
        ("waist_girth", 91),
        ("hip_girth", 101),
    ):
        assert values[name] == pytest.approx(cm, abs=0.5), name


def test_each_photos_view_keeps_the_detectors_landmarks_its_fit_got(monkeypatch):
    """Detected photos (the sample twice): each photo's fit gets BlazePose's own landmarks as
    ``detected`` beside the lifter's points (``pipeline.detect_and_fit``), and the photo's view
    handed to ``fit_same_person`` keeps those same landmarks, so the views hold all of each
    fit's evidence: fitting them again gives the door's own fits."""
    from pathlib import Path

    from blender_smplify.core import fit as fit_module
    from blender_smplify.core import same_person_pipeline
    from blender_smplify.core.fit_same_person import fit_same_person

    fitted, views = [], []
    real_fit, real_joint = fit_module.fit, same_person_pipeline.fit_same_person

    def fit_spy(*args, **kwargs):
        fitted.append(kwargs.get("detected"))
        return real_fit(*args, **kwargs)

    def joint_spy(model, given, **kwargs):
        views.extend(given)
        return real_joint(model, given, **kwargs)

    monkeypatch.setattr(fit_module, "fit", fit_spy)
    monkeypatch.setattr(same_person_pipeline, "fit_same_person", joint_spy)
    sample = Path(pipeline.__file__).parents[1] / "data" / "samples" / "standing_person.jpg"
    inputs = [pipeline.prepare(sample), pipeline.prepare(sample)]
    job = detect_and_fit_same_person(inputs)
    assert len(fitted) == len(views) == 2
    for got, view, photo in zip(fitted, views, job.photos):
        assert got is not None and got.crop_centre is not None  # BlazePose's own
        assert view.detected is got is photo.detected_world
        assert view.world is photo.world and view.world is not got  # the lifter's points
    again = fit_same_person(inputs[0].model, views)
    for mine, door in zip(again.single, job.joint.single):
        np.testing.assert_array_equal(mine.pose, door.pose)
        np.testing.assert_array_equal(mine.betas, door.betas)
