"""BlazePose world landmarks: their frame, the bone-direction block and its Jacobian, facing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from differences import central_difference
from smplify_toy import make_placeholder_prior, make_toy_body, random_pose
from toy_camera import CENTRE, FOCAL, SIZE, project

from blender_smplify.core.camera import focal_from_fov, principal_point
from blender_smplify.core.detector import B, JointDetector
from blender_smplify.core.detector_crop import Crop
from blender_smplify.core.errors import KeypointsError
from blender_smplify.core.fit_setup import FACING, FACING_AWAY, get_setup
from blender_smplify.core.image_io import load_image
from blender_smplify.core.objective import KeypointBlock, StageConfig, smplify_objective
from blender_smplify.core.rotation import rodrigues
from blender_smplify.core.world_landmarks import (
    BONES,
    WorldLandmarkBlock,
    WorldLandmarks,
    bone_direction_residuals,
    bone_targets,
    ray_rotation,
    torso_forward,
    world_to_camera,
)

SAMPLE = Path(__file__).resolve().parents[2] / "blender_smplify/data/samples/standing_person.jpg"


@pytest.mark.parametrize("rotation", [0.0, 0.4, -np.pi / 2, 2.9])
def test_world_axes_turn_like_the_crop(rotation):
    """The crop's upright x and y axes, in image pixels, are world x and y in the camera."""
    crop = Crop(np.array([100.0, 80.0]), 50.0, rotation)
    lin = crop.crop_to_image()[:, :2]
    axes = world_to_camera(np.eye(3), rotation)
    np.testing.assert_allclose(axes[:2, :2].T, lin / np.linalg.norm(lin[:, 0]), atol=1e-12)
    np.testing.assert_allclose(axes[2], [0.0, 0.0, 1.0], atol=1e-12)


def test_ray_rotation_points_the_optical_axis_through_the_pixel():
    pp, f = np.array([320.0, 240.0]), 500.0
    for pixel in ([320.0, 240.0], [600.0, 30.0], [10.0, 470.0]):
        R = ray_rotation(np.array(pixel), f, pp)
        ray = np.array([*(np.array(pixel) - pp) / f, 1.0])
        np.testing.assert_allclose(R @ [0.0, 0.0, 1.0], ray / np.linalg.norm(ray), atol=1e-12)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(ray_rotation(pp, f, pp), np.eye(3))


@pytest.fixture(scope="module")
def detector() -> JointDetector:
    return JointDetector(threads=2)


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_detected_world_landmarks_in_the_camera_frame(detector, turns):
    """On the sample photo turned by 0-270°: converted world landmarks point like the 2D
    keypoints (up the torso, right to left shoulder), and the torso faces the camera."""
    image = np.rot90(load_image(SAMPLE), turns).copy()
    det = detector.detect(image)
    h, w = image.shape[:2]
    world = WorldLandmarks.from_detection(det)
    cam = world.in_camera(focal_from_fov((w, h)), principal_point((w, h)))
    xy = det.keypoints.xy

    def direction(p, a, b):
        v = p[B[b]] - p[B[a]]
        return v / np.linalg.norm(v)

    for a, b in (
        ("left_hip", "left_shoulder"),
        ("right_shoulder", "left_shoulder"),
        ("left_knee", "left_ankle"),
    ):
        in_image, in_3d = direction(xy, a, b), direction(cam, a, b)
        cos = in_image @ in_3d[:2] / np.linalg.norm(in_3d[:2])
        assert cos > np.cos(np.radians(15)), (a, b, in_image, in_3d)
    assert torso_forward(cam)[2] < -0.8  # he faces the camera: forward is toward it (−z)
    assert cam[B["nose"], 2] < cam[B["left_hip"], 2]  # the nose is nearer than the hips
    assert det.world_visibility.shape == (33,)
    assert det.world_visibility[B["left_shoulder"]] > 0.9


@pytest.fixture(scope="module")
def setup(body):
    return get_setup(body, "blazepose33", 10, interpenetration=False)


def posed(setup, x):
    return setup.kin.evaluate(x[:72], x[72:82], x[82:], jacobian=True)


def random_targets(setup, rng):
    world = rng.normal(scale=0.3, size=(33, 3))
    visibility = rng.uniform(0.2, 1.0, size=33)
    return bone_targets(world, visibility, setup.layout.names, setup.point_index)


def test_bone_direction_jacobian_matches_finite_differences(setup):
    rng = np.random.default_rng(0)
    x = np.concatenate([random_pose(rng, 0.5), rng.normal(size=10), [0.1, -0.2, 3.0]])
    targets = random_targets(setup, rng)
    assert len(targets.weights) == len(BONES)

    def residuals(x):
        pts, _ = setup.kin.evaluate(x[:72], x[72:82], x[82:], jacobian=False)
        return bone_direction_residuals(pts, None, targets, 7.0, 0.5)[0]

    pts, jac = posed(setup, x)
    r, J = bone_direction_residuals(pts, jac, targets, 7.0, 0.5)
    np.testing.assert_allclose(r, residuals(x), rtol=1e-12)
    fd = central_difference(residuals, x)
    np.testing.assert_allclose(J, fd, rtol=1e-5, atol=1e-7 * np.abs(fd).max())


def test_bone_direction_block_is_geman_mcclure_on_the_chord(setup):
    """‖r_s‖² = λ² v_s σ² ‖e‖² / (σ² + ‖e‖²), zero when the body follows the landmarks."""
    rng = np.random.default_rng(1)
    x = np.concatenate([random_pose(rng, 0.4), rng.normal(size=10), [0.0, 0.0, 3.0]])
    pts, _ = posed(setup, x)
    names, index = setup.layout.names, setup.point_index
    same = np.zeros((33, 3))
    same[: len(names)] = pts[index]  # blazepose33 order: the body's own points
    vis = rng.uniform(0.3, 1.0, size=33)
    exact = bone_targets(same, vis, names, index)
    r, _ = bone_direction_residuals(pts, None, exact, 3.0, 0.5)
    np.testing.assert_allclose(r, 0.0, atol=1e-12)
    noisy = bone_targets(same + rng.normal(scale=0.05, size=(33, 3)), vis, names, index)
    r, _ = bone_direction_residuals(pts, None, noisy, 3.0, 0.5)
    u = pts[noisy.children] - pts[noisy.parents]
    e2 = ((u / np.linalg.norm(u, axis=1)[:, None] - noisy.directions) ** 2).sum(axis=1)
    rho = 0.25 * e2 / (0.25 + e2)
    np.testing.assert_allclose(
        (r.reshape(-1, 3) ** 2).sum(axis=1), 9.0 * noisy.weights * rho, rtol=1e-10
    )


def test_objective_world_block_matches_finite_differences(body, setup):
    """Wired into the Objective: block "world" (weight from the stage) and its Jacobian."""
    rng = np.random.default_rng(2)
    x = np.concatenate([random_pose(rng, 0.4), rng.normal(size=10), [0.1, 0.2, 3.5]])
    target = rng.uniform(300, 700, size=(33, 2))
    joints = KeypointBlock(
        point_index=setup.point_index,
        target=target,
        confidence=np.ones(33),
        focal=1000.0,
        centre=np.array([500.0, 500.0]),
        scale=1.3,
        sigma=100.0,
    )
    world = WorldLandmarkBlock(random_targets(setup, rng), 0.5)
    obj = smplify_objective(
        kinematics=setup.kin,
        keypoints=joints,
        pose_prior=make_placeholder_prior(),
        spheres=None,
        depth=3.0,
        world=world,
    )
    stage = StageConfig({"joints": 1.0, "world": 20.0})

    def block(x):
        blocks = obj.weighted_blocks(x, stage, jacobian=False, compact=False)
        return {n: r for n, r, _ in blocks}["world"]

    J = {n: j for n, _, j in obj.weighted_blocks(x, stage)}["world"]
    fd = central_difference(block, x)
    np.testing.assert_allclose(J, fd, rtol=1e-5, atol=1e-7 * np.abs(fd).max())
    assert obj.energies(x, stage)["world"] == pytest.approx(float(block(x) @ block(x)))
    assert "world" not in obj.energies(x, StageConfig({"joints": 1.0, "world": 0.0}))


def test_bones_missing_from_the_layout_or_too_short_are_left_out(setup):
    world = np.random.default_rng(3).normal(size=(33, 3))
    world[B["left_wrist"]] = world[B["left_elbow"]]  # zero length: no direction
    t = bone_targets(world, np.ones(33), setup.layout.names, setup.point_index)
    assert len(t.weights) == len(BONES) - 1
    coco = get_setup(make_toy_body(), "coco17", 10, interpenetration=False)
    assert len(bone_targets(world, np.ones(33), coco.layout.names, coco.point_index).weights)


def test_torso_forward_of_the_fit_facings(setup):
    """The body turned by FACING faces the camera (forward z < 0), by FACING_AWAY away."""
    for facing, sign in ((FACING, -1.0), (FACING_AWAY, 1.0)):
        x = np.zeros(85)
        x[:3], x[-1] = facing, 3.0
        pts, _ = setup.kin.evaluate(x[:72], x[72:82], x[82:], jacobian=False)
        fwd = torso_forward(pts[setup.point_index])
        assert sign * fwd[2] > 0.9
        assert sign * rodrigues(facing)[2, 2] > 0.9  # the fit's test: the root's forward


def test_bad_world_landmarks_are_refused_or_masked():
    with pytest.raises(KeypointsError, match="33, 3"):
        WorldLandmarks(np.zeros((17, 3)), np.ones(17))
    pts = np.ones((33, 3))
    pts[4, 1] = np.nan
    w = WorldLandmarks(pts, np.full(33, 2.0))
    assert w.visibility[4] == 0.0 and np.all(np.isfinite(w.points))
    assert w.visibility.max() == 1.0


# ---------------------------------------------------------------------- in the fit


def synthetic_case(body, layout, root, seed=0):
    """A body near the prior's mean pose with one arm reaching forward, 3.5 m away."""
    from blender_smplify.core.joints import J
    from blender_smplify.core.keypoints import Keypoints2D
    from blender_smplify.core.priors import PosePrior
    from blender_smplify.core.rotation import matrix_to_rotvec

    rng = np.random.default_rng(seed)
    pose = np.zeros(72)
    pose[3:] = PosePrior.load().mean_pose
    pose[3 * J["right_shoulder"] : 3 * J["right_shoulder"] + 3] += (0.0, 1.2, 0.0)
    pose[3 * J["left_knee"]] += 0.7
    pose[:3] = matrix_to_rotvec(root)
    betas = rng.normal(scale=0.5, size=10)
    setup = get_setup(body, layout, 10, True)
    pts, _ = setup.kin.evaluate(pose, betas, np.array([0.1, 0.05, 3.5]), jacobian=False)
    kp = pts[setup.point_index]
    xy = project(kp) + rng.normal(scale=2.0, size=(len(kp), 2))
    return pts, Keypoints2D(layout, xy, np.ones(len(xy)))


def pa_error(pred, gt):
    p, g = pred - pred.mean(0), gt - gt.mean(0)
    U, S, Vt = np.linalg.svd(g.T @ p)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    s = (S * np.diag(D)).sum() / (p**2).sum()
    return float(np.linalg.norm(s * p @ R.T - g, axis=1).mean())


def test_world_landmarks_put_limbs_right_in_depth(body):
    """Landmarks from the true body (in BlazePose's frame) make the fitted bones follow them."""
    from blender_smplify.core.fit import fit

    root = rodrigues(np.array([0.0, 0.5, 0.0])) @ rodrigues(FACING_AWAY)  # seen from behind
    pts, kp = synthetic_case(body, "blazepose33", root, seed=1)
    setup = get_setup(body, "blazepose33", 10, True)
    true = pts[setup.point_index]
    hips = 0.5 * (true[B["left_hip"]] + true[B["right_hip"]])
    centre = project(hips)
    in_crop = (true - hips) @ ray_rotation(centre, FOCAL, CENTRE)  # camera = R · crop
    world = WorldLandmarks(in_crop, np.ones(33), 0.0, centre)
    errors = {}
    for given in (None, world):
        res = fit(body, kp, SIZE, FOCAL, world=given)
        fitted, _ = setup.kin.evaluate(res.pose, res.betas, res.transl, jacobian=False)
        t = bone_targets(true, np.ones(33), setup.layout.names, setup.point_index)
        r, _ = bone_direction_residuals(fitted, None, t, 1.0, 1e9)  # plain d − ŵ
        angles = 2 * np.degrees(np.arcsin(np.linalg.norm(r.reshape(-1, 3), axis=1) / 2))
        errors[given is not None] = angles
    assert errors[True].max() < 10.0, errors[True]
    assert errors[True].mean() < errors[False].mean()


def test_world_landmarks_round_trip_through_json_and_refuse_a_bad_dict():
    import json

    rng = np.random.default_rng(5)
    w = WorldLandmarks(rng.normal(size=(33, 3)), rng.uniform(size=33), 0.3, np.array([10.0, 20.0]))
    back = WorldLandmarks.from_dict(json.loads(json.dumps(w.to_dict())))
    np.testing.assert_array_equal(back.points, w.points)
    np.testing.assert_array_equal(back.visibility, w.visibility)
    np.testing.assert_array_equal(back.crop_centre, w.crop_centre)
    assert back.crop_rotation == w.crop_rotation
    with pytest.raises(KeypointsError, match="world landmarks need"):
        WorldLandmarks.from_dict({"points": [[0.0, 0.0]]})
    with pytest.raises(KeypointsError, match="33, 3"):
        WorldLandmarks.from_dict({"points": [[0.0, 0.0, 0.0]], "visibility": [1.0]})
