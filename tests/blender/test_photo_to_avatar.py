"""The whole flow on the bundled sample photo with the open body model and the shipped detector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core.axes import CAMERA_TO_BLENDER
from blender_smplify.core.joints import SMPL_JOINT_NAMES

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"


def avatars(bpy):
    return [c for c in bpy.data.collections if c.get("smplify_key")]


def test_buttons_detect_fit_build_on_the_sample(bpy_module, empty_scene):
    bpy = bpy_module
    settings = empty_scene.smplify
    settings.image_path = str(SAMPLE)
    assert bpy.ops.smplify.detect() == {"FINISHED"}
    keypoints = json.loads(settings.keypoints_json)
    assert keypoints["image_size"] == [500, 500] and len(keypoints["xy"]) >= 17
    assert bpy.ops.smplify.fit() == {"FINISHED"}
    assert "energy" in settings.status and settings.fit_key == str(SAMPLE.resolve())
    assert bpy.ops.smplify.build() == {"FINISHED"}
    assert bpy.ops.smplify.build() == {"FINISHED"}  # again: updates, no duplicate
    # again: one camera, rig and body, and one marker per keypoint on the camera (not two sets)
    roles = [o.get("smplify_role") for o in bpy.data.objects]
    assert len(avatars(bpy)) == 1 and sorted(r for r in roles if r != "keypoint") == [
        "armature",
        "body",
        "camera",
    ]
    markers = [o for o in bpy.data.objects if o.get("smplify_role") == "keypoint"]
    assert len(markers) >= 12 and len({o.get("smplify_keypoint") for o in markers}) == len(markers)
    fit = json.loads(settings.fit_json)
    # the posed skeleton, seen through the camera, is where the fit put it
    armature = next(o for o in bpy.data.objects if o.get("smplify_role") == "armature")
    evaluated = armature.evaluated_get(bpy.context.evaluated_depsgraph_get())
    world = np.array(evaluated.matrix_world)
    heads = np.array([evaluated.pose.bones[n].head for n in SMPL_JOINT_NAMES])
    heads = heads @ world[:3, :3].T + world[:3, 3]
    expected = np.asarray(fit["joints_3d"]) @ CAMERA_TO_BLENDER.T
    assert np.abs(heads - expected).max() < 1e-3
    # and that skeleton stands on the person in the photo: the detected hips and shoulders are
    # near the projected body (loose: this checks the wiring, the fit has its own tests)
    camera = np.asarray(fit["joints_3d"])
    projected = fit["camera"]["focal_length"] * camera[:, :2] / camera[:, 2:] + 250.0
    box_min, box_max = projected.min(axis=0), projected.max(axis=0)
    xy = np.asarray(keypoints["xy"])[np.asarray(keypoints["confidence"]) > 0.5]
    centre = xy.mean(axis=0)
    assert np.all(centre > box_min) and np.all(centre < box_max)


def test_detect_keeps_the_world_landmarks_for_a_later_fit(bpy_module, empty_scene):
    """Detect stores BlazePose's world landmarks with the keypoints, and Fit uses them: the same
    fit as the core pipeline's, which detects them itself."""
    from blender_smplify.core import pipeline

    bpy = bpy_module
    settings = empty_scene.smplify
    settings.image_path = str(SAMPLE)
    assert bpy.ops.smplify.detect() == {"FINISHED"}
    stored = json.loads(settings.keypoints_json)["world"]
    assert np.shape(stored["points"]) == (33, 3) and np.shape(stored["visibility"]) == (33,)
    assert bpy.ops.smplify.fit() == {"FINISHED"}
    fit = json.loads(settings.fit_json)
    direct = pipeline.fit_photo(SAMPLE)
    assert direct.world is not None and "world" in direct.fit.energy
    assert fit["energy"].keys() == direct.fit.energy.keys()
    np.testing.assert_allclose(fit["body_pose"], direct.fit.pose[3:], atol=1e-9)
    assert fit["diagnostics"] == direct.fit.to_dict()["diagnostics"]


def test_fit_again_hands_the_fit_the_detectors_landmarks_again(
    bpy_module, empty_scene, monkeypatch
):
    """Fit detects, and keeps the detection with the fit on the scene; Fit again starts from it
    and hands the fit BlazePose's own landmarks as ``detected`` again (not the lifter's points
    the first fit used as ``world``): the same fit twice."""
    from blender_smplify.core import fit as fit_module

    seen, real = [], fit_module.fit

    def spy(*args, **kwargs):
        seen.append(kwargs.get("detected"))
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    settings = empty_scene.smplify
    settings.image_path = str(SAMPLE)
    fits = []
    for _ in range(2):
        assert bpy_module.ops.smplify.fit() == {"FINISHED"}
        fits.append(json.loads(settings.fit_json))
    first, again = seen
    assert first.crop_centre is not None and again.crop_centre is not None  # BlazePose's own
    np.testing.assert_array_equal(again.points, first.points)
    assert fits[1]["body_pose"] == fits[0]["body_pose"]


def test_detect_and_fit_are_undo_steps(bpy_module, empty_scene):
    """Ctrl+Z after Detect or Fit undoes just that button, and Ctrl+Shift+Z brings it back."""
    bpy = bpy_module
    empty_scene.smplify.image_path = str(SAMPLE)
    bpy.ops.ed.undo_push(message="photo")
    empty_scene.smplify.gender = "female"
    bpy.ops.ed.undo_push(message="gender")
    # "EXEC_DEFAULT", True: run with an undo push, as a button press does
    assert bpy.ops.smplify.detect("EXEC_DEFAULT", True) == {"FINISHED"}
    assert bpy.ops.smplify.fit("EXEC_DEFAULT", True) == {"FINISHED"}
    bpy.ops.ed.undo()
    settings = bpy.context.scene.smplify
    assert settings.keypoints_json and not settings.fit_json
    bpy.ops.ed.undo()
    settings = bpy.context.scene.smplify
    assert settings.gender == "female" and not settings.keypoints_json
    bpy.ops.ed.redo()
    assert bpy.context.scene.smplify.keypoints_json


def test_photo_to_avatar_button_and_python_api(bpy_module, empty_scene, tmp_path):
    bpy = bpy_module
    empty_scene.smplify.image_path = str(SAMPLE)
    assert bpy.ops.smplify.photo_to_avatar() == {"FINISHED"}
    assert len(avatars(bpy)) == 1
    from blender_smplify.blender import pipeline
    from blender_smplify.blender.pipeline import photo_to_avatar

    result = photo_to_avatar(SAMPLE, blend_path=tmp_path / "a.blend")
    assert len(avatars(bpy)) == 1  # same photo: the avatar was updated
    assert result.avatar.body.data.shape_keys.key_blocks[0].name == "Basis"
    assert (tmp_path / "a.blend").is_file()
    assert set(result.seconds) >= {"detect", "fit", "build"}
    # the open model's skinning and shape, exactly as the model defines them
    model = pipeline.load_model("neutral")
    body = result.avatar.body
    weights = np.zeros((len(body.data.vertices), 24))
    for vertex in body.data.vertices:
        for element in vertex.groups:
            weights[vertex.index, element.group] = element.weight
    np.testing.assert_allclose(weights, model.lbs_weights, atol=1e-6)
    assert len(body.data.polygons) == len(model.quads if model.quads is not None else model.faces)
    evaluated = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    world = np.array(evaluated.matrix_world)
    co = co.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3]
    vertices, _ = model.forward(result.fit.betas, result.fit.pose, result.fit.transl)
    assert np.abs(co - vertices @ CAMERA_TO_BLENDER.T).max() < 1e-3


def test_a_job_ending_while_the_user_edits_the_body_stores_the_fit_only(
    bpy_module, empty_scene, monkeypatch
):
    """The job runs for seconds; meanwhile the user may Tab into edit mode on the avatar."""
    from blender_smplify.blender import operators

    bpy = bpy_module
    empty_scene.smplify.image_path = str(SAMPLE)
    assert bpy.ops.smplify.photo_to_avatar() == {"FINISHED"}
    body = next(o for o in bpy.data.objects if o.get("smplify_role") == "body")
    mesh = body.data
    bpy.context.view_layer.objects.active = body
    bpy.ops.object.mode_set(mode="EDIT")
    empty_scene.smplify.fit_json = ""
    # what the modal operator meets when the job ends: its poll was passed when it started
    monkeypatch.setattr(operators, "_object_mode", lambda context: True)
    assert bpy.ops.smplify.photo_to_avatar() == {"FINISHED"}
    assert empty_scene.smplify.fit_json and "Build" in empty_scene.smplify.status
    assert body.data == mesh and body.mode == "EDIT" and len(body.vertex_groups) == 24
    bpy.ops.object.mode_set(mode="OBJECT")


@pytest.mark.parametrize("stop_after", [0.0, 0.3])
def test_cancelling_the_job_leaves_the_scene_as_it_was(bpy_module, empty_scene, stop_after):
    """What Esc does in the modal operator: the job's progress callback says stop."""
    from blender_smplify.blender.inputs import Inputs, fit_job
    from blender_smplify.blender.jobs import Job
    from blender_smplify.core.errors import FitCancelled

    bpy = bpy_module
    bpy.ops.mesh.primitive_cube_add()
    before = sorted(o.name for o in bpy.data.objects)
    fit = fit_job(Inputs(SAMPLE, "neutral", None, None))  # what the panel's Fit runs
    seen = []

    def work(progress):
        def watched(fraction, message):
            seen.append(fraction)
            return progress(fraction, message) and fraction <= stop_after

        return fit(watched)

    job = Job(work).start()
    job._thread.join(30)
    assert job.done and isinstance(job.error, FitCancelled) and job.result is None
    assert max(seen) > stop_after  # it got that far, then stopped
    assert sorted(o.name for o in bpy.data.objects) == before
    assert not avatars(bpy)


def test_an_image_without_a_file_works_too(bpy_module, empty_scene):
    """A pasted, generated or packed image in Blender: its pixels are the photo."""
    from blender_smplify.core.image_io import load_image

    bpy = bpy_module
    photo = load_image(SAMPLE)
    height, width = photo.shape[:2]
    image = bpy.data.images.new("pasted", width, height)
    rgba = np.concatenate([photo[::-1] / 255.0, np.ones((height, width, 1))], axis=2)
    image.pixels.foreach_set(rgba.astype(np.float32).ravel())
    settings = empty_scene.smplify
    settings.image_source, settings.image = "IMAGE", image
    assert bpy.ops.smplify.photo_to_avatar() == {"FINISHED"}
    assert settings.fit_key == "name:pasted"
    camera = next(o for o in bpy.data.objects if o.get("smplify_role") == "camera")
    assert camera.data.background_images[0].image == image
    assert bpy.ops.smplify.build() == {"FINISHED"}  # the stored fit is found again
    assert len(avatars(bpy)) == 1


def test_a_huge_blender_image_is_refused_like_a_huge_file(bpy_module, empty_scene, monkeypatch):
    from blender_smplify.core import image_io

    bpy = bpy_module
    monkeypatch.setattr(image_io, "MAX_PIXELS", 1000)  # instead of allocating 100 megapixels
    settings = empty_scene.smplify
    settings.image_source, settings.image = "IMAGE", bpy.data.images.new("huge", 64, 64)
    with pytest.raises(RuntimeError, match="too large"):
        bpy.ops.smplify.detect()
    assert settings.status.startswith("error:")


def test_a_photo_without_a_person_is_reported_and_changes_nothing(
    bpy_module, empty_scene, tmp_path
):
    from PIL import Image

    bpy = bpy_module
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((240, 320, 3), 200, dtype=np.uint8)).save(blank)
    empty_scene.smplify.image_path = str(blank)
    with pytest.raises(RuntimeError, match="(?i)person"):
        bpy.ops.smplify.photo_to_avatar()
    assert empty_scene.smplify.status.startswith("error:")
    assert len(bpy.data.objects) == 0 and not avatars(bpy)
