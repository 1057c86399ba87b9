"""The rendered benchmark's scene geometry (benchmarks/render_scene.py, no bpy): bodies on the
floor, cameras that see the whole body, and truth that reproduces itself."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import render_scene as rs
import rendered_poses as rp


@pytest.fixture(scope="module")
def model():
    return BodyModel.load(gender="female")


def test_bodies_rest_on_the_floor(model):
    rng = np.random.default_rng(1)
    for builder in rp.HAND_BUILT.values():
        pose, betas = builder(rp.PoseBuilder(rng)), rng.normal(size=10)
        vertices, _ = model.forward(betas, pose, rs.place_on_floor(model, betas, pose))
        assert vertices[:, 1].min() == pytest.approx(0.0, abs=1e-9)


def test_crawl_rests_on_hands_and_knees_together(model):
    rng = np.random.default_rng(2)
    front, back = rp.SUPPORTS["crawl"]
    dominant = model.lbs_weights.argmax(axis=1)
    for _ in range(3):
        betas = rng.normal(size=10)
        pose = rs.level_on_supports(model, betas, rp.crawl(rp.PoseBuilder(rng)), front, back)
        vertices, _ = model.forward(betas, pose, rs.place_on_floor(model, betas, pose))
        lows = [
            vertices[np.isin(dominant, [rp.J[n] for n in part]), 1].min() for part in (front, back)
        ]
        assert max(lows) < 0.01


def test_framed_camera_sees_the_whole_body_in_front(model):
    rng = np.random.default_rng(3)
    pose = np.zeros(72)
    betas = rng.normal(size=10)
    vertices, _ = model.forward(betas, pose, rs.place_on_floor(model, betas, pose))
    inside = 0
    for _ in range(40):
        shot = dataclasses.replace(rs.sample_shot(rng, landscape=False), fill=0.8)
        camera = rs.frame_body(vertices, rs.body_facing(pose), shot)
        assert camera.position[1] == pytest.approx(shot.height)
        assert camera.to_camera(vertices)[:, 2].min() > 0.3
        uv = camera.project(vertices) / camera.image_size
        fill = (uv.max(axis=0) - uv.min(axis=0)).max()
        assert fill == pytest.approx(0.8, abs=0.05)
        # the off-centre turn is a small-angle estimate: wide lenses may overshoot a little
        assert uv.min() > -0.02 and uv.max() < 1.02
        inside += bool(uv.min() >= 0 and uv.max() < 1)
    assert inside >= 36


def test_camera_yaw_zero_sees_the_front_and_pi_the_back(model):
    pose = np.zeros(72)
    vertices, _ = model.forward(None, pose, rs.place_on_floor(model, None, pose))
    rng = np.random.default_rng(4)
    for yaw, sign in ((0.0, -1.0), (np.pi, 1.0)):
        shot = dataclasses.replace(rs.sample_shot(rng, False), yaw=yaw)
        camera = rs.frame_body(vertices, rs.body_facing(pose), shot)
        # the body's forward (+z) in the camera frame points at the camera (−z) from the front
        forward = camera.rotation @ np.array([0.0, 0.0, 1.0])
        assert np.sign(forward[2]) == sign and abs(forward[2]) > 0.8


def kneeling_shot(model, seed: int):
    """A kneeling body on the floor, a camera framing it, its joints (24, 3) and its truth."""
    rng = np.random.default_rng(seed)
    pose, betas = rp.kneel(rp.PoseBuilder(rng)), rng.normal(size=10)
    transl = rs.place_on_floor(model, betas, pose)
    vertices, joints = model.forward(betas, pose, transl)
    camera = rs.frame_body(vertices, rs.body_facing(pose), rs.sample_shot(rng, False))
    return camera, joints, rs.truth(model, betas, pose, transl, camera)


def test_truth_in_the_camera_frame_reproduces_the_joints(model):
    camera, joints, info = kneeling_shot(model, 5)
    betas = np.array(info["betas"])
    _, again = model.forward(betas, np.array(info["pose_camera"]), np.array(info["transl_camera"]))
    np.testing.assert_allclose(again, info["joints_camera"], atol=1e-9)
    np.testing.assert_allclose(info["joints_2d"], camera.project(joints), atol=1e-9)


def test_truth_keypoints_refuse_a_render_made_with_another_model(model):
    import rendered_eval

    info = {**kneeling_shot(model, 6)[2], "category": "kneel"}
    assert rendered_eval.truth_keypoints(model, info, "blazepose33").xy.shape == (33, 2)
    other = BodyModel.load(gender="male")
    with pytest.raises(rendered_eval.StaleRenderError, match="another body model"):
        rendered_eval.truth_keypoints(other, info, "blazepose33")


def test_a_render_cache_reads_the_models_it_keeps(tmp_path):
    import shutil

    import rendered_eval

    from blender_smplify.core.body_model import open_model_path

    shipped = rendered_eval.truth_models(tmp_path)
    kept = tmp_path / rendered_eval.MODELS_FOLDER
    kept.mkdir()
    shutil.copyfile(open_model_path("male"), kept / open_model_path("female").name)
    models = rendered_eval.truth_models(tmp_path)
    np.testing.assert_array_equal(models["female"].v_template, shipped["male"].v_template)
    np.testing.assert_array_equal(models["male"].v_template, shipped["male"].v_template)
    assert not np.array_equal(shipped["female"].v_template, shipped["male"].v_template)
