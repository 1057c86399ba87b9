"""Several photos of one person in Blender: ``build --same-person`` and the Avatar panel's
Add photo to this avatar / Refit with all photos (blender/same_person.py), through bpy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"
SIZE = (500, 500)


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory, toy_model_data) -> Path:
    path = tmp_path_factory.mktemp("model") / "toy.npz"
    np.savez(path, **toy_model_data)
    return path


def toy_keypoints(model, betas, yaw: float) -> dict:
    """smpl24 keypoints of the toy body turned by ``yaw``, 5 m from a 1000 px camera."""
    from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

    pose = np.zeros(72)
    pose[:3] = matrix_to_rotvec(rodrigues(np.r_[np.pi, 0, 0]) @ rodrigues(np.r_[0, yaw, 0]))
    pose[3 * 16 + 2], pose[3 * 17 + 2] = -1.0, 1.0  # arms down
    _, joints = model.forward(betas, pose, np.array([0.0, 0.2, 5.0]))
    xy = 1000.0 * joints[:, :2] / joints[:, 2:] + 250.0
    return {"layout": "smpl24", "xy": xy.tolist(), "confidence": [1.0] * 24}


@pytest.fixture
def photos(tmp_path, toy_model) -> list[tuple[Path, Path]]:
    """(photo, keypoints file) of the front and the side of one toy body."""
    betas = np.random.default_rng(0).normal(size=10)
    out = []
    for name, yaw in (("front", 0.1), ("side", np.pi / 2)):
        photo, keypoints = tmp_path / f"{name}.jpg", tmp_path / f"{name}.json"
        shutil.copy(SAMPLE, photo)
        keypoints.write_text(json.dumps(toy_keypoints(toy_model, betas, yaw)))
        out.append((photo, keypoints))
    return out


def armatures(bpy):
    return sorted(
        (o for o in bpy.data.objects if o.get("smplify_role") == "armature"), key=lambda o: o.name
    )


def stature(model, betas) -> float:
    from blender_smplify.core.known_measurements import Stature

    return Stature(model, len(betas))(np.asarray(betas))[0]


def test_build_same_person_makes_one_shape_an_avatar_per_photo(
    bpy_module, empty_scene, tmp_path, toy_file, toy_model, photos, capsys
):
    from blender_smplify.__main__ import main

    blend = tmp_path / "person.blend"
    argv = ["build", *(str(p) for p, _ in photos), "--same-person", "--blend", str(blend)]
    for _, keypoints in photos:
        argv += ["--keypoints", str(keypoints)]
    argv += ["--model", str(toy_file), "--focal", "1000", "--height", "172"]
    assert main(argv) == 0, capsys.readouterr().err
    assert blend.is_file() and "one person, 2 photos" in capsys.readouterr().out
    front, side = armatures(bpy_module)
    assert list(front["betas"]) == list(side["betas"])
    assert list(front["body_pose"]) != list(side["body_pose"])
    assert front["smplify_person"] == side["smplify_person"]
    assert stature(toy_model, front["betas"]) == pytest.approx(1.72, abs=0.005)
    # each avatar sees its own photo through its own camera
    assert {Path(a["image_path"]).name for a in (front, side)} == {"front.jpg", "side.jpg"}


def test_build_same_person_needs_one_keypoints_file_per_photo(
    bpy_module, empty_scene, tmp_path, toy_file, photos, capsys
):
    from blender_smplify.__main__ import main

    argv = ["build", *(str(p) for p, _ in photos), "--same-person", "--blend", "x.blend"]
    argv += ["--keypoints", str(photos[0][1]), "--model", str(toy_file)]
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == (
        "error: 1 --keypoints files for 2 photos: give one per photo"
    )
    assert armatures(bpy_module) == []


@pytest.fixture
def panel(bpy_module, empty_scene, toy_file, monkeypatch):
    """The panel set to the toy model as the user's SMPL file, a 1000 px focal length."""
    from blender_smplify.blender import inputs

    preferences = SimpleNamespace(
        threads=0, **{f"smpl_{g}_path": str(toy_file) for g in ("neutral", "female", "male")}
    )
    monkeypatch.setattr(inputs, "get_preferences", lambda context=None: preferences)
    settings = empty_scene.smplify
    settings.model_source, settings.focal_mode, settings.focal_length = "SMPL", "MANUAL", 1000.0
    return settings


def choose_photo(bpy, settings, photo: Path, keypoints: Path) -> None:
    """The panel's photo, with its keypoints as if detected (no detector run)."""
    from blender_smplify.blender import inputs
    from blender_smplify.core.keypoints import Keypoints2D

    settings.image_path = str(photo)
    run = inputs.resolve(bpy.context)
    data = json.loads(keypoints.read_text())
    inputs.store_keypoints(settings, run.key, Keypoints2D.from_dict(data)[0], SIZE)


def test_add_a_photo_then_refit_with_all_photos(bpy_module, panel, photos, toy_model):
    bpy = bpy_module
    mine = bpy.data.objects.new("my empty", None)  # the user's own object
    bpy.context.scene.collection.objects.link(mine)
    choose_photo(bpy, panel, *photos[0])
    assert bpy.ops.smplify.fit() == {"FINISHED"} and bpy.ops.smplify.build() == {"FINISHED"}
    (front,) = armatures(bpy)
    bpy.context.view_layer.objects.active = front
    choose_photo(bpy, panel, *photos[1])
    panel.height_cm = 181.0
    assert bpy.ops.smplify.add_photo() == {"FINISHED"}
    front, side = armatures(bpy)
    assert front["smplify_person"] == side["smplify_person"]
    assert list(front["betas"]) != list(side["betas"])  # each photo's own fit so far
    assert stature(toy_model, side["betas"]) == pytest.approx(1.81, abs=0.005)  # panel height
    assert bpy.ops.smplify.refit_person() == {"FINISHED"}
    front, side = armatures(bpy)
    assert list(front["betas"]) == list(side["betas"])
    assert stature(toy_model, front["betas"]) == pytest.approx(1.81, abs=0.005)
    blocks = [a.children[0].data.shape_keys.key_blocks for a in (front, side)]
    assert blocks[0]["beta_00"].value == pytest.approx(blocks[1]["beta_00"].value)
    assert "my empty" in bpy.data.objects and panel.status.startswith("one shape fitted to 2")


def test_a_photo_of_another_gender_is_refused(bpy_module, panel, photos):
    bpy = bpy_module
    choose_photo(bpy, panel, *photos[0])
    assert bpy.ops.smplify.fit() == {"FINISHED"} and bpy.ops.smplify.build() == {"FINISHED"}
    (front,) = armatures(bpy)
    bpy.context.view_layer.objects.active = front
    choose_photo(bpy, panel, *photos[1])
    panel.gender = "female"
    with pytest.raises(RuntimeError, match="fitted with the neutral body model, the panel says"):
        bpy.ops.smplify.add_photo()
    assert armatures(bpy) == [front] and "smplify_person" not in front


def test_the_same_photo_is_not_added_twice(bpy_module, panel, photos):
    bpy = bpy_module
    choose_photo(bpy, panel, *photos[0])
    assert bpy.ops.smplify.fit() == {"FINISHED"} and bpy.ops.smplify.build() == {"FINISHED"}
    bpy.context.view_layer.objects.active = armatures(bpy)[0]
    with pytest.raises(RuntimeError, match="front.jpg is already a photo of this avatar"):
        bpy.ops.smplify.add_photo()


def test_a_person_mask_survives_the_blend(bpy_module):
    """The mask kept on an avatar reads back as the same person mask (to 1/255)."""
    from blender_smplify.blender.same_person import mask_from_dict, mask_to_dict
    from blender_smplify.core.silhouette import Silhouette

    rng = np.random.default_rng(0)
    mask = Silhouette(rng.uniform(size=(64, 48)).astype(np.float32), np.eye(2, 3) * 3.5)
    back = mask_from_dict(json.loads(json.dumps(mask_to_dict(mask))))
    np.testing.assert_allclose(back.probability, mask.probability, atol=0.5 / 255)
    np.testing.assert_array_equal(back.to_image, mask.to_image)


def test_detected_photos_refit_with_their_outlines(bpy_module, empty_scene, tmp_path, capsys):
    """Two detected photos (the sample twice, the open model), ``--silhouette``: each avatar
    keeps its photo's mask, and Refit with all photos fits the outlines too."""
    from blender_smplify.__main__ import main

    photos = []
    for name in ("front", "side"):
        photos.append(tmp_path / f"{name}.jpg")
        shutil.copy(SAMPLE, photos[-1])
    argv = ["build", *(str(p) for p in photos), "--same-person", "--silhouette"]
    argv += ["--blend", str(tmp_path / "p")]
    assert main([*argv, "--height", "180"]) == 0, capsys.readouterr().err
    for armature in armatures(bpy_module):
        assert json.loads(armature["smplify_photo_evidence"])["mask"] is not None
        assert "silhouette" in json.loads(armature["smplify_fit"])["energy"]
    bpy_module.context.view_layer.objects.active = armatures(bpy_module)[0]
    bpy_module.context.scene.smplify.height_cm = 180.0  # build opened a new file
    assert bpy_module.ops.smplify.refit_person() == {"FINISHED"}
    front, side = armatures(bpy_module)
    assert list(front["betas"]) == list(side["betas"])
    assert "silhouette" in json.loads(front["smplify_fit"])["energy"]


def detectors_landmarks(photo: Path):
    """BlazePose's own world landmarks of a photo, detected here."""
    from blender_smplify.core import pipeline
    from blender_smplify.core.image_io import load_image
    from blender_smplify.core.world_landmarks import WorldLandmarks

    return WorldLandmarks.from_detection(pipeline.detector().detect(load_image(photo)))


def refit_views(bpy, monkeypatch) -> list:
    """Refit with all photos of the active avatar's person; the photo views it fitted."""
    from blender_smplify.blender import same_person

    views, real = [], same_person.fit_same_person

    def spy(model, given, **kwargs):
        views.extend(given)
        return real(model, given, **kwargs)

    monkeypatch.setattr(same_person, "fit_same_person", spy)
    assert bpy.ops.smplify.refit_person() == {"FINISHED"}
    return views


def assert_same_landmarks(got, expected) -> None:
    np.testing.assert_array_equal(got.points, expected.points)
    np.testing.assert_array_equal(got.visibility, expected.visibility)
    np.testing.assert_array_equal(got.crop_centre, expected.crop_centre)


def test_the_detectors_landmarks_are_kept_for_refit_and_old_avatars_still_refit(
    bpy_module, empty_scene, tmp_path, capsys, monkeypatch
):
    """``build --same-person`` on detected photos keeps each photo's BlazePose landmarks (what
    its fit got as ``detected``) on its avatar, and Refit with all photos reads them back into
    the photo's view; an avatar kept before they were stored (no "detected") refits with none."""
    from blender_smplify.__main__ import main

    photos = []
    for name in ("front", "side"):
        photos.append(tmp_path / f"{name}.jpg")
        shutil.copy(SAMPLE, photos[-1])
    argv = ["build", *(str(p) for p in photos), "--same-person", "--blend", str(tmp_path / "p")]
    assert main(argv) == 0, capsys.readouterr().err
    expected = detectors_landmarks(SAMPLE)
    bpy_module.context.view_layer.objects.active = armatures(bpy_module)[0]
    views = refit_views(bpy_module, monkeypatch)
    assert len(views) == 2
    for view in views:
        assert_same_landmarks(view.detected, expected)
        assert view.world.crop_centre is None  # the lifter's points, beside them
    for armature in armatures(bpy_module):  # as avatars built before this entry was kept
        evidence = json.loads(armature["smplify_photo_evidence"])
        del evidence["detected"]
        armature["smplify_photo_evidence"] = json.dumps(evidence)
    views.clear()
    assert refit_views(bpy_module, monkeypatch)
    assert [v.detected for v in views] == [None, None] and views[0].world is not None
    front, side = armatures(bpy_module)
    assert list(front["betas"]) == list(side["betas"])


def test_a_detected_photo_joining_a_person_keeps_the_detectors_landmarks(
    bpy_module, empty_scene, tmp_path, monkeypatch
):
    """The panel: Fit and Build a detected photo, then Add photo to this avatar with another:
    both avatars keep their photo's BlazePose landmarks (the first from the scene's detection,
    as it joins the person), and Refit with all photos hands them to the photos' views."""
    photos = []
    for name in ("front", "side"):
        photos.append(tmp_path / f"{name}.jpg")
        shutil.copy(SAMPLE, photos[-1])
    settings = empty_scene.smplify
    settings.image_path = str(photos[0])
    assert bpy_module.ops.smplify.fit() == {"FINISHED"}
    assert bpy_module.ops.smplify.build() == {"FINISHED"}
    bpy_module.context.view_layer.objects.active = armatures(bpy_module)[0]
    settings.image_path = str(photos[1])
    assert bpy_module.ops.smplify.add_photo() == {"FINISHED"}
    expected = detectors_landmarks(SAMPLE)
    views = refit_views(bpy_module, monkeypatch)
    assert len(views) == 2
    for view in views:
        assert_same_landmarks(view.detected, expected)
        assert view.world is not None and view.world.crop_centre is None  # the lifter's
