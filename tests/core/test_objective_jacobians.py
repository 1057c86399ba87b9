"""Every analytic Jacobian of the fit against central finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from differences import central_difference
from smplify_toy import make_placeholder_prior, random_pose

from blender_smplify.core.edit_terms import DepthOrderBlock, FacingBlock, PinBlock
from blender_smplify.core.joints import J
from blender_smplify.core.kinematics import kinematics_from_model
from blender_smplify.core.known_measurements import KnownHeightBlock, Stature
from blender_smplify.core.objective import (
    KeypointBlock,
    Objective,
    StageConfig,
    smplify_objective,
)
from blender_smplify.core.priors import SphereBody
from blender_smplify.core.world_landmarks import BoneTargets, WorldLandmarkBlock

#: every block on, with weights that make each matter
ALL_ON = StageConfig(
    {
        "joints": 1.0,
        "pose_prior": 2.0,
        "angle_prior": 0.7,
        "joint_limits": 30.0,
        "shape_prior": 3.0,
        "interpenetration": 100.0,
        "camera_depth": 5.0,
        "world": 4.0,
        "pins": 50.0,
        "depth_order": 20.0,
        "facing": 4.0,
        "height": 7.0,
    }
)
#: the refit's edit terms (``edit_terms.py``), with margins that keep their hinges active
EDIT_BLOCKS = (
    PinBlock({"left_elbow": [0.1, -0.4, 0.2], "pelvis": [3.0, 0.1, 0.0]}),
    DepthOrderBlock({"left_elbow": "toward", "right_knee": "away"}, margin=10.0),
    FacingBlock("away", margin=100.0),
)


@pytest.fixture(scope="module")
def kin(body):
    return kinematics_from_model(
        body,
        10,
        ["nose", "left_heel", "right_index"],
        [
            (J["head"], np.array([0.0, 0.1, 0.1])),
            (J["left_hip"], np.array([-0.013, 0.028, 0.009]), J["pelvis"]),  # a learned hip
        ],
    )


def test_kinematics_jacobian_matches_finite_differences(kin):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(scale=0.6, size=72), rng.normal(size=10), [0.2, -0.1, 3.0]])

    def points(x):
        return kin.evaluate(x[:72], x[72:82], x[82:], jacobian=False)[0]

    _, jac = kin.evaluate(x[:72], x[72:82], x[82:])
    np.testing.assert_allclose(jac, central_difference(points, x), atol=1e-7)


def test_kinematics_agrees_with_the_skinned_mesh(kin):
    """Joints and landmarks of the kinematics against full linear blend skinning of the mesh
    (``lbs``: every vertex posed, then the regressors applied), which shares no code with it."""
    from smplify_toy import toy_body_arrays

    from blender_smplify.core.body_model import BodyModel

    data = toy_body_arrays()
    body = BodyModel.from_arrays(**data)
    rng = np.random.default_rng(1)
    pose, betas, transl = rng.normal(scale=0.5, size=72), rng.normal(size=10), np.ones(3)
    pts, _ = kin.evaluate(pose, betas, transl)
    vertices, joints = body.forward(betas, pose, transl)
    names = list(data["landmark_names"])
    rows = [names.index(n) for n in ("nose", "left_heel", "right_index")]
    landmarks = data["keypoint_regressor"][rows] @ vertices
    np.testing.assert_allclose(pts[:24], joints, atol=1e-10)
    np.testing.assert_allclose(pts[24:27], landmarks, atol=1e-10)
    # the rigid offset rides on the head joint
    rest = kin.evaluate(np.zeros(72), np.zeros(10), np.zeros(3), False)[0]
    np.testing.assert_allclose(rest[27] - rest[J["head"]], [0.0, 0.1, 0.1], atol=1e-12)


def make_objective(body, kin, rng):
    pose = random_pose(rng, 0.4)
    x_true = np.concatenate([pose, rng.normal(size=10), [0.1, 0.2, 3.5]])
    pts = kin.evaluate(x_true[:72], x_true[72:82], x_true[82:], False)[0]
    index = np.r_[0:24, 24, 25, 26, 27]
    target = 1000 * pts[index, :2] / pts[index, 2:] + 500 + rng.normal(scale=30, size=(28, 2))
    conf = rng.uniform(0.2, 1.0, size=28)
    joints = KeypointBlock(
        point_index=index,
        target=target,
        confidence=conf,
        focal=1000.0,
        centre=np.array([500.0, 500.0]),
        scale=1.3,
        sigma=40.0,
    )
    obj = smplify_objective(
        kinematics=kin,
        keypoints=joints,
        pose_prior=make_placeholder_prior(),
        spheres=SphereBody(body, 10),
        depth=3.0,
        world=WorldLandmarkBlock(random_bones(rng), 0.5),
        known=[KnownHeightBlock(Stature(body, 10), 1.5)],
    )
    return Objective(kinematics=kin, blocks=obj.blocks + EDIT_BLOCKS), x_true


def random_bones(rng) -> BoneTargets:
    """Bone-direction targets of the world block: limbs, a joint to a landmark, random ways."""
    pairs = [
        ("left_shoulder", "left_elbow"),
        ("right_elbow", "right_wrist"),
        ("left_hip", "left_knee"),
        ("right_knee", "right_ankle"),
        ("neck", "head"),
    ]
    parents = np.array([J[a] for a, _ in pairs] + [J["head"]])
    children = np.array([J[b] for _, b in pairs] + [24])  # 24: the "nose" landmark
    directions = rng.normal(size=(len(parents), 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    return BoneTargets(parents, children, directions, rng.uniform(0.2, 1.0, len(parents)))


@pytest.mark.parametrize(
    "term",
    [
        "joints",
        "pose_prior",
        "angle_prior",
        "joint_limits",
        "shape_prior",
        "interpenetration",
        "camera_depth",
        "world",
        "height",
        "pins",
        "depth_order",
        "facing",
    ],
)
def test_each_block_jacobian_matches_finite_differences(body, kin, term):
    rng = np.random.default_rng(2)
    obj, x = make_objective(body, kin, rng)
    x = x + np.concatenate([rng.normal(scale=0.1, size=72), np.zeros(13)])
    # make the hinge terms active: bend the left knee backwards, cross the legs
    x[3 * J["left_knee"]] = -0.5
    x[3 * J["left_hip"] : 3 * J["left_hip"] + 3] = (0.0, 0.0, -0.45)
    x[3 * J["right_hip"] : 3 * J["right_hip"] + 3] = (0.0, 0.0, 0.1)

    def block(x):
        return {n: r for n, r, _ in obj.weighted_blocks(x, ALL_ON, jacobian=False, compact=False)}[
            term
        ]

    r = block(x)
    jac = {n: j for n, _, j in obj.weighted_blocks(x, ALL_ON, compact=False)}[term]
    assert np.any(r != 0), f"{term} is inactive at the test point"
    fd = central_difference(block, x)
    np.testing.assert_allclose(jac, fd, atol=1e-6 * max(1.0, np.abs(fd).max()))


def test_normal_equations_equal_stacked_jacobians(body, kin):
    rng = np.random.default_rng(3)
    obj, x = make_objective(body, kin, rng)
    blocks = obj.weighted_blocks(x, ALL_ON)
    assert [b[0] for b in blocks] == [
        "joints",
        "pose_prior",
        "angle_prior",
        "joint_limits",
        "shape_prior",
        "interpenetration",
        "camera_depth",
        "world",
        "height",
        "pins",
        "depth_order",
        "facing",
    ]
    r = np.concatenate([b[1] for b in blocks])
    Jm = np.concatenate([b[2] for b in blocks])
    free = np.r_[0:3, 10:40, 82:85]
    cost, g, H = obj.normal_equations(x, free, ALL_ON)
    assert cost == pytest.approx(float(r @ r), rel=1e-12)
    np.testing.assert_allclose(g, Jm[:, free].T @ r, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(H, Jm[:, free].T @ Jm[:, free], rtol=1e-10, atol=1e-8)


def test_robust_term_is_geman_mcclure(body, kin):
    rng = np.random.default_rng(4)
    obj, x = make_objective(body, kin, rng)
    r = {n: r for n, r, _ in obj.weighted_blocks(x, ALL_ON, jacobian=False)}["joints"]
    r = r.reshape(-1, 2)
    kp = obj.blocks[0]
    pts = kin.evaluate(x[:72], x[72:82], x[82:], False)[0][kp.point_index]
    e = kp.scale * (1000 * pts[:, :2] / pts[:, 2:] + 500 - kp.target)
    e2 = (e**2).sum(axis=1)
    rho = kp.sigma**2 * e2 / (kp.sigma**2 + e2)
    np.testing.assert_allclose((r**2).sum(axis=1), kp.confidence * rho, rtol=1e-10)


def test_world_block_weighted_by_the_lifters_trust_matches_finite_differences(kin):
    """The lifter's points as world landmarks, each weighted by its keypoint's confidence
    times the trust in it (``lifter.LiftedPoints.trust``, spread here over two orders of
    magnitude), through ``bone_targets``: the Jacobian against central differences, and each
    bone's energy is λ² v_a v_b ρ(e) with those weights."""
    from blender_smplify.core.lifter import LiftedPoints
    from blender_smplify.core.world_landmarks import (
        BONES,
        bone_direction_residuals,
        bone_targets,
    )

    rng = np.random.default_rng(5)
    names = tuple(dict.fromkeys(n for bone in BONES for n in bone))
    point_index = np.array([J[n] for n in names])  # the SMPL joints of the same names
    lifted = LiftedPoints(
        points=rng.normal(scale=0.3, size=(33, 3)),
        visibility=rng.uniform(0.3, 1.0, 33),
        expected_error=rng.uniform(0.01, 0.4, 33),
    )
    visibility = lifted.visibility * lifted.trust(0.08)
    targets = bone_targets(lifted.points, visibility, names, point_index)
    assert len(targets.weights) == len(BONES)
    assert targets.weights.max() > 100 * targets.weights.min()
    x = np.concatenate([rng.normal(scale=0.4, size=72), rng.normal(size=10), [0.1, 0.0, 3.0]])

    def residuals(x):
        pts = kin.evaluate(x[:72], x[72:82], x[82:], False)[0]
        return bone_direction_residuals(pts, None, targets, 3.0, 0.5)[0]

    pts, jac = kin.evaluate(x[:72], x[72:82], x[82:])
    r, jm = bone_direction_residuals(pts, jac, targets, 3.0, 0.5)
    fd = central_difference(residuals, x)
    np.testing.assert_allclose(jm, fd, atol=1e-6 * max(1.0, np.abs(fd).max()))
    u = pts[targets.children] - pts[targets.parents]
    e2 = ((u / np.linalg.norm(u, axis=1)[:, None] - targets.directions) ** 2).sum(1)
    rho = 0.25 * e2 / (0.25 + e2)
    np.testing.assert_allclose((r.reshape(-1, 3) ** 2).sum(1), 9.0 * targets.weights * rho)


def test_blocks_own_normal_equations_equal_the_generic_ones(body, kin):
    """Blocks that add Jᵀr and JᵀJ without forming J (one column a row, β's identity, the
    pose prior's precomputed precision) against ``ResidualBlock``'s Jᵀr / JᵀJ, all columns."""
    from blender_smplify.core.objective import ResidualBlock

    rng = np.random.default_rng(3)
    obj, x = make_objective(body, kin, rng)
    state = obj.state(x)
    generic = ResidualBlock.add_normal_equations
    own = [b for b in obj.blocks if type(b).add_normal_equations is not generic]
    assert {"angle_prior", "joint_limits", "shape_prior"} <= {b.name for b in own}
    for block in own:
        w = ALL_ON.weight(block.name)
        g0, H0 = np.zeros(obj.n), np.zeros((obj.n, obj.n))
        g1, H1 = np.zeros(obj.n), np.zeros((obj.n, obj.n))
        e0 = generic(block, state, ALL_ON, w, g0, H0)
        e1 = block.add_normal_equations(state, ALL_ON, w, g1, H1)
        assert e1 == pytest.approx(e0, rel=1e-12), block.name
        np.testing.assert_allclose(g1, g0, rtol=1e-10, atol=1e-10, err_msg=block.name)
        np.testing.assert_allclose(H1, H0, rtol=1e-10, atol=1e-10, err_msg=block.name)
