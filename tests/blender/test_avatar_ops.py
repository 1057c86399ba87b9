"""Operators on a built avatar, the worker-thread job and registration, through bpy."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from conftest import evaluated_joints, make_fit

from blender_smplify.core.axes import SMPL_TO_BLENDER
from blender_smplify.core.errors import FitCancelled
from blender_smplify.core.joints import SMPL_JOINT_NAMES


@pytest.fixture
def avatar(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    fit = make_fit(toy_model)
    built = build_rig.build(fit, toy_model, name="toy")
    bpy_module.context.view_layer.objects.active = built.armature
    return built, fit


def test_rest_and_fitted_pose(bpy_module, avatar, toy_model):
    built, fit = avatar
    bpy = bpy_module
    assert bpy.ops.smplify.rest_pose() == {"FINISHED"}
    location = np.array(built.armature.location)
    rest = toy_model.rest_joints(fit.betas) @ SMPL_TO_BLENDER.T + location
    np.testing.assert_allclose(evaluated_joints(bpy, built.armature), rest, atol=1e-5)
    assert built.body.data.shape_keys.key_blocks["pose_correctives"].value == 0.0
    assert bpy.ops.smplify.fitted_pose() == {"FINISHED"}
    expected = fit.joints_3d @ np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]]).T
    np.testing.assert_allclose(evaluated_joints(bpy, built.armature), expected, atol=1e-4)


def test_bones_follow_edited_shape_keys(bpy_module, avatar, toy_model):
    built, fit = avatar
    blocks = built.body.data.shape_keys.key_blocks
    betas = np.array(fit.betas, dtype=float)
    betas[0], betas[3] = 4.0, -3.0
    blocks["beta_00"].value, blocks["beta_03"].value = betas[0], betas[3]
    assert bpy_module.ops.smplify.bones_from_shape() == {"FINISHED"}
    bones = built.armature.data.bones
    heads = np.array([bones[n].head_local for n in SMPL_JOINT_NAMES])
    np.testing.assert_allclose(heads, toy_model.rest_joints(betas) @ SMPL_TO_BLENDER.T, atol=1e-5)


@pytest.mark.parametrize(
    "operator", ["rest_pose", "fitted_pose", "bones_from_shape", "export_parameters"]
)
def test_a_renamed_bone_is_reported_and_the_rig_left_alone(bpy_module, avatar, tmp_path, operator):
    built, _ = avatar
    bones = built.armature.data.bones
    bones["left_elbow"].name = "forearm.L"
    pose_before = [tuple(b.rotation_quaternion) for b in built.armature.pose.bones]
    kwargs = {"filepath": str(tmp_path / "fit.json")} if operator == "export_parameters" else {}
    with pytest.raises(RuntimeError, match="left_elbow not found"):
        getattr(bpy_module.ops.smplify, operator)(**kwargs)
    assert "left_elbow" not in bones and bones["left_wrist"].parent.name == "forearm.L"
    assert [tuple(b.rotation_quaternion) for b in built.armature.pose.bones] == pose_before


@pytest.mark.parametrize("source", ["FIT", "CURRENT"])
@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_export_parameters(bpy_module, avatar, tmp_path, suffix, source):
    from blender_smplify.core.rotation import rodrigues

    _, fit = avatar
    path = tmp_path / f"fit{suffix}"
    result = bpy_module.ops.smplify.export_parameters(
        filepath=str(path), file_format=suffix[1:].upper(), source=source
    )
    assert result == {"FINISHED"}
    if suffix == ".json":
        data = json.loads(path.read_text())
    else:
        data = dict(np.load(path))
    pose = np.concatenate([data["global_orient"], data["body_pose"]]).reshape(24, 3)
    if source == "FIT":  # exactly the stored numbers
        np.testing.assert_allclose(pose.ravel(), fit.pose)
    else:  # the same rotations, as the rig holds them (axis-angle may wrap)
        np.testing.assert_allclose(rodrigues(pose), rodrigues(fit.pose.reshape(24, 3)), atol=1e-5)
    np.testing.assert_allclose(data["betas"], fit.betas, atol=1e-6)
    np.testing.assert_allclose(data["transl"], fit.transl, atol=1e-5)


def test_export_file_name_follows_the_chosen_format(bpy_module):
    """What the file browser calls when the format is switched to NPZ."""
    from types import SimpleNamespace

    from blender_smplify.blender.avatar_ops import SMPLIFY_OT_export_parameters as Export

    browser = SimpleNamespace(
        file_format="NPZ",
        filepath="/somewhere/fit.json",
        filename_ext=Export.filename_ext,
        check_extension=True,
    )
    assert Export.check(browser, None) and browser.filepath == "/somewhere/fit.npz"


def test_operators_report_bad_input_and_cancel(bpy_module, empty_scene, tmp_path):
    settings = empty_scene.smplify
    settings.image_path = str(tmp_path / "missing.jpg")
    with pytest.raises(RuntimeError, match="no such file"):
        bpy_module.ops.smplify.build()
    settings.image_path = ""
    with pytest.raises(RuntimeError, match="choose a photo"):
        bpy_module.ops.smplify.fit()
    assert settings.status.startswith("error:")
    assert len(bpy_module.data.objects) == 0


def test_build_uses_the_model_file_the_fit_used(
    bpy_module, empty_scene, tmp_path, toy_model_data, monkeypatch
):
    """Fit as female with SMPL files, switch the panel to male and the open model, Build:
    the avatar is made with the female file the fit used."""
    from pathlib import Path
    from types import SimpleNamespace

    from blender_smplify.blender import inputs

    files = {}
    for gender in ("female", "male"):
        files[gender] = tmp_path / f"smpl_{gender}.npz"
        np.savez(files[gender], **toy_model_data)
    preferences = SimpleNamespace(
        threads=0, **{f"smpl_{g}_path": str(f) for g, f in files.items()}
    )
    monkeypatch.setattr(inputs, "get_preferences", lambda context=None: preferences)
    settings = empty_scene.smplify
    root = Path(__file__).resolve().parents[2]
    settings.image_path = str(
        root / "blender_smplify" / "data" / "samples" / "standing_person.jpg"
    )
    settings.model_source, settings.gender = "SMPL", "female"
    assert bpy_module.ops.smplify.fit() == {"FINISHED"}
    settings.model_source, settings.gender = "OPEN", "male"
    assert bpy_module.ops.smplify.build() == {"FINISHED"}
    armature = next(o for o in bpy_module.data.objects if o.get("smplify_role") == "armature")
    assert armature["gender"] == "female" and armature["model_source"] == str(files["female"])


def test_job_runs_in_a_thread_and_cancels():
    from blender_smplify.blender.jobs import Job

    started = threading.Event()

    def work(progress):
        started.set()
        for i in range(1000):
            if not progress(i / 1000, f"step {i}"):
                raise FitCancelled("stopped")
            time.sleep(0.002)
        return "done"

    job = Job(work).start()
    assert started.wait(2.0) and not job.done
    job.cancel()
    job._thread.join(2.0)
    assert job.done and isinstance(job.error, FitCancelled) and job.result is None
    assert Job(lambda progress: progress(1.0, "x") and 42).run_here() == 42


def test_cancel_button_stops_the_running_job(bpy_module):
    from blender_smplify.blender import jobs

    def work(progress):
        while progress(0.5, "working"):
            time.sleep(0.002)
        raise FitCancelled("stopped")

    assert not bpy_module.ops.smplify.cancel.poll()  # nothing running: the button is grey
    job = jobs.Job(work).start()
    jobs._running[:] = [job]
    try:
        assert bpy_module.ops.smplify.cancel.poll()
        assert bpy_module.ops.smplify.cancel() == {"FINISHED"}
        job._thread.join(2.0)
        assert job.cancelled and job.done and isinstance(job.error, FitCancelled)
        assert not bpy_module.ops.smplify.cancel.poll()
    finally:
        job.cancel()
        jobs._running.clear()


def test_modal_operator_ends_without_building_once_its_job_is_cancelled():
    """The Cancel button cancels the job; the operator's next timer tick ends it, like Esc."""
    from types import SimpleNamespace

    from blender_smplify.blender.jobs import Job, ModalJobOperator

    class Operator(ModalJobOperator):
        def finish(self, context, result):
            raise AssertionError("a cancelled job must not reach finish()")

    manager = SimpleNamespace(event_timer_remove=lambda timer: None, progress_end=lambda: None)
    settings = SimpleNamespace(status="fitting", progress=0.4)
    context = SimpleNamespace(window_manager=manager, scene=SimpleNamespace(smplify=settings))
    operator = Operator()
    operator._job, operator._timer = Job(lambda progress: 42).start(), "the timer"
    operator._job._thread.join(2.0)
    operator._job.cancel()
    assert operator.modal(context, SimpleNamespace(type="TIMER")) == {"CANCELLED"}
    assert (settings.status, settings.progress) == ("cancelled", 0.0)


def test_an_operator_ended_by_blender_stops_its_job_timer_and_progress():
    """Opening a file while a job runs ends the modal operator through ``cancel``."""
    from types import SimpleNamespace

    from blender_smplify.blender.jobs import Job, ModalJobOperator

    def work(progress):
        while progress(0.5, "working"):
            time.sleep(0.002)
        raise FitCancelled("stopped")

    calls = []
    manager = SimpleNamespace(
        event_timer_remove=lambda timer: calls.append(("timer", timer)),
        progress_end=lambda: calls.append("progress_end"),
    )
    operator = ModalJobOperator()
    operator._job, operator._timer = Job(work).start(), "the timer"
    operator.cancel(SimpleNamespace(window_manager=manager))
    operator._job._thread.join(2.0)
    assert operator._job.done and isinstance(operator._job.error, FitCancelled)
    assert calls == [("timer", "the timer"), "progress_end"]


def test_register_and_unregister_are_symmetric(bpy_module):
    import blender_smplify
    from blender_smplify.blender import registration

    bpy = bpy_module
    classes = [c for m in registration._modules for c in getattr(m, "classes", ())]
    assert len(classes) >= 10 and all(c.is_registered for c in classes)
    blender_smplify.unregister()
    try:
        assert not any(c.is_registered for c in classes)
        assert not hasattr(bpy.types.Scene, "smplify")
        assert not _op_exists(bpy, "build")
    finally:
        blender_smplify.register()
    assert all(c.is_registered for c in classes)
    assert _op_exists(bpy, "photo_to_avatar")


def _op_exists(bpy, name: str) -> bool:
    try:
        getattr(bpy.ops.smplify, name).get_rna_type()
        return True
    except (KeyError, AttributeError):
        return False


def test_current_parameters_round_trip_and_follow_edits(bpy_module, avatar, toy_model):
    from mathutils import Quaternion

    from blender_smplify.blender.avatar_ops import current_fit

    built, fit = avatar
    bpy = bpy_module
    unedited = current_fit(built.armature)
    _, joints = toy_model.forward(unedited.betas, unedited.pose, unedited.transl)
    np.testing.assert_allclose(joints, fit.joints_3d, atol=1e-5)
    np.testing.assert_allclose(unedited.joints_3d, fit.joints_3d, atol=1e-5)
    np.testing.assert_allclose(unedited.betas, fit.betas, atol=1e-6)
    # an animator bends the left elbow, nudges the root, moves and turns the whole rig
    elbow = built.armature.pose.bones["left_elbow"]
    elbow.rotation_quaternion = Quaternion((1, 0, 0), 0.7) @ elbow.rotation_quaternion
    built.armature.pose.bones["pelvis"].location = (0.05, -0.02, 0.1)
    built.armature.location.z += 0.3
    built.armature.rotation_quaternion = Quaternion((0, 0, 1), 0.4)
    built.body.data.shape_keys.key_blocks["beta_01"].value = 2.0
    assert bpy.ops.smplify.bones_from_shape() == {"FINISHED"}
    edited = current_fit(built.armature)
    _, joints = toy_model.forward(edited.betas, edited.pose, edited.transl)
    expected = joints @ np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]]).T  # camera -> Blender
    np.testing.assert_allclose(evaluated_joints(bpy, built.armature), expected, atol=1e-4)
    np.testing.assert_allclose(edited.joints_3d, joints, atol=1e-6)
    assert edited.betas[1] == pytest.approx(2.0)


def test_update_pose_correctives_after_editing_the_pose(
    bpy_module, empty_scene, tmp_path, toy_model_data
):
    from mathutils import Quaternion

    from blender_smplify.blender import build_rig
    from blender_smplify.blender.avatar_ops import current_fit
    from blender_smplify.core.body_model import BodyModel

    bpy = bpy_module
    path = tmp_path / "toy.npz"
    np.savez(path, **toy_model_data)
    model = BodyModel.load(path)  # the avatar remembers its model file
    built = build_rig.build(make_fit(model), model, name="toy")
    bpy.context.view_layer.objects.active = built.armature
    knee = built.armature.pose.bones["right_knee"]
    knee.rotation_quaternion = Quaternion((1, 0, 0), 0.8) @ knee.rotation_quaternion
    assert bpy.ops.smplify.update_correctives() == {"FINISHED"}
    edited = current_fit(built.armature)
    vertices, _ = model.forward(edited.betas, edited.pose, edited.transl)
    evaluated = built.body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    world = np.array(evaluated.matrix_world)
    co = co.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3]
    expected = vertices @ np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]]).T
    assert np.abs(co - expected).max() < 1e-3


def test_use_camera_restores_its_photo_resolution(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    bpy = bpy_module
    first = build_rig.build(make_fit(toy_model), toy_model, name="first")
    wide = make_fit(toy_model, principal_point=(500.0, 200.0), image_size=(1000, 400))
    second = build_rig.build(wide, toy_model, name="second")
    assert empty_scene.camera == second.camera
    assert (empty_scene.render.resolution_x, empty_scene.render.resolution_y) == (1000, 400)
    bpy.context.view_layer.objects.active = first.body
    assert bpy.ops.smplify.use_camera() == {"FINISHED"}
    assert empty_scene.camera == first.camera
    assert (empty_scene.render.resolution_x, empty_scene.render.resolution_y) == (640, 480)


def test_use_camera_after_moving_the_rig_to_another_collection(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    bpy = bpy_module
    built = build_rig.build(make_fit(toy_model), toy_model, name="toy")
    characters = bpy.data.collections.new("Characters")  # the user tidies the outliner
    empty_scene.collection.children.link(characters)
    characters.objects.link(built.armature)
    built.collection.objects.unlink(built.armature)
    empty_scene.camera = None
    bpy.context.view_layer.objects.active = built.armature
    assert bpy.ops.smplify.use_camera() == {"FINISHED"}
    assert empty_scene.camera == built.camera
