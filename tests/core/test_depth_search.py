"""The depth-hypothesis search (``core/depth_search.py``) on a synthetic body: a forearm put
into the wrong depth basin stays there under the fit's own iterations, and the search turns it
back where the 3D evidence puts it on the other side (and only there)."""

from __future__ import annotations

import numpy as np
import pytest
from toy_camera import CENTRE, FOCAL, SIZE, project

from blender_smplify.core import depth_search as ds
from blender_smplify.core.dogleg import dogleg
from blender_smplify.core.edit_terms import LIMB_SEGMENTS, segment_depth
from blender_smplify.core.fit import FitOptions, fit
from blender_smplify.core.fit_setup import get_setup, prepare
from blender_smplify.core.joints import J
from blender_smplify.core.keypoints import Keypoints2D
from blender_smplify.core.objective import SmplifyWeights
from blender_smplify.core.priors import PosePrior
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

CONFIG = SmplifyWeights().pose_stage(3)


@pytest.fixture(scope="module")
def scene(body):
    """Exact keypoints of a body whose left forearm points at the camera, its fit, and the
    fit's problem."""
    pose = np.zeros(72)
    pose[3:] = PosePrior.load().mean_pose
    pose[3 * J["left_elbow"] + 1] -= 1.2
    pose[:3] = matrix_to_rotvec(rodrigues(np.array([np.pi, 0, 0])) @ rodrigues([0, 0.4, 0]))
    betas = np.random.default_rng(0).normal(scale=0.5, size=10)
    setup = get_setup(body, "smpl24", 10, True)
    pts, _ = setup.kin.evaluate(pose, betas, np.array([0.1, 0.05, 3.5]), jacobian=False)
    keypoints = Keypoints2D("smpl24", project(pts[setup.point_index]), np.ones(24))
    result = fit(body, keypoints, SIZE, FOCAL)
    problem = prepare(body, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions())
    x = np.concatenate([result.pose, result.betas, result.transl])
    return pts[:24], keypoints, x, problem


def settled(problem, x, iterations=40, config=CONFIG):
    """x after the last stage's dogleg, as the fit would leave it."""
    free = np.arange(problem.objective.n)
    res = dogleg(
        lambda y: problem.objective.normal_equations(y, free, config),
        x,
        max_iterations=iterations,
        ftol=1e-4,
    )
    return res.x


def test_without_3d_evidence_the_search_leaves_the_fit_alone(scene, monkeypatch):
    _, _, x, problem = scene
    wrong = settled(problem, ds.mirrored(problem, x, ("left_elbow",)))

    def evaluated(*args, **kwargs):
        raise AssertionError("without 3D evidence the search evaluates nothing")

    monkeypatch.setattr(ds, "hypothesis", evaluated)  # nor costs a fit anything
    found, flipped = ds.search_depth(problem, wrong, CONFIG)
    assert flipped == ()
    np.testing.assert_array_equal(found, wrong)


@pytest.mark.parametrize(
    "segments",
    [("left_shoulder",), ("left_elbow",), ("left_shoulder", "left_elbow"), ("right_hip",)],
)
def test_a_mirrored_hypothesis_flips_its_segments_only_and_projects_alike(scene, segments):
    _, keypoints, x, problem = scene
    before = ds.joints_of(problem, x)
    after = ds.joints_of(problem, ds.mirrored(problem, x, segments))
    for segment in LIMB_SEGMENTS:
        if ds._tilt(before, segment) < 0.2:  # too close to the image plane to have a sign
            continue
        changed = segment_depth(after, segment) != segment_depth(before, segment)
        assert changed == (segment in segments), segment
    # the moved ends stay on their camera rays (the limb joints project alike; a leaf such as
    # a foot turns with its bone) and move in depth
    limbs = [J[s] for s in LIMB_SEGMENTS] + [J[c] for c in LIMB_SEGMENTS.values()]
    moved = np.linalg.norm(project(after[limbs]) - project(before[limbs]), axis=1)
    assert moved.max() < 0.02 * np.ptp(keypoints.xy[:, 1])
    ends = [J[LIMB_SEGMENTS[s]] for s in segments]
    assert np.abs(after[ends, 2] - before[ends, 2]).max() > 0.05


def test_fit_runs_the_search_unless_switched_off(body, scene, monkeypatch):
    _, keypoints, _, _ = scene
    calls = []
    real = ds.search_depth

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("blender_smplify.core.fit.search_depth", spy)
    fit(body, keypoints, SIZE, FOCAL, options=FitOptions(depth_search=False))
    assert calls == []
    fit(body, keypoints, SIZE, FOCAL)  # on by default
    assert calls == [1]


@pytest.fixture
def search_calls(monkeypatch) -> list[dict]:
    """The keyword arguments of every call fit makes to the depth search (which still runs)."""
    calls = []
    real = ds.search_depth

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr("blender_smplify.core.fit.search_depth", spy)
    return calls


def test_fit_hands_the_detectors_landmarks_to_the_search(body, scene, search_calls):
    from blender_smplify.core.world_landmarks import WorldLandmarks

    truth, keypoints, _, _ = scene
    detected = WorldLandmarks(landmarks_of(truth).points, np.ones(33), 0.0, CENTRE)
    fit(body, keypoints, SIZE, FOCAL, world=landmarks_of(truth), detected=detected)
    assert [call.get("detected") for call in search_calls] == [detected]


def test_the_ray_hold_jacobian_matches_finite_differences(body):
    """RayOrderBlock (held signs along fixed rays), hinges made active by a large margin."""
    from blender_smplify.core.kinematics import kinematics_from_model
    from blender_smplify.core.objective import Objective

    kin = kinematics_from_model(body, 10, [], [])
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(scale=0.4, size=72), rng.normal(size=10), [0.3, -0.2, 3.0]])
    joints = kin.evaluate(x[:72], x[72:82], x[82:], jacobian=False)[0][:24]
    block = ds.RayOrderBlock(joints, ["left_elbow", "right_hip"], flip=("right_hip",), margin=1)
    assert sorted(block.signs) == [-1.0, 1.0]  # both directions of the hinge are checked
    objective = Objective(kinematics=kin, blocks=[block])
    config = ds.StageConfig({"depth_order": 3.0})

    def residuals(x):
        return objective.residuals(x, config)

    r = residuals(x)
    jac = objective.weighted_blocks(x, config, compact=False)[0][2]
    assert np.all(r > 0)
    h = 1e-6
    fd = np.stack(
        [(residuals(x + h * e) - residuals(x - h * e)) / (2 * h) for e in np.eye(len(x))], axis=1
    )
    np.testing.assert_allclose(jac, fd, atol=1e-6 * max(1.0, np.abs(fd).max()))
    # at the joints it was made from, a kept sign is satisfied by its depth |Δ| (m − |Δ|), a
    # flipped one is short of it by |Δ| (m + |Δ|)
    depth = [
        abs((joints[J[child]] - joints[J[parent]]) @ ray)
        for (parent, child), ray in zip(
            [("left_elbow", "left_wrist"), ("right_hip", "right_knee")], block.rays
        )
    ]
    np.testing.assert_allclose(r, 3.0 * np.array([1.0 - depth[0], 1.0 + depth[1]]))


def landmarks_of(joints: np.ndarray):
    """World landmarks (blazepose33 order, hip-centred) at the limb joints of joints (24, 3)."""
    from blender_smplify.core.keypoints import BLAZEPOSE33
    from blender_smplify.core.world_landmarks import WorldLandmarks

    points = np.zeros((33, 3))
    for name in LIMB_SEGMENTS | {c: c for c in LIMB_SEGMENTS.values()}:
        points[BLAZEPOSE33.index(name)] = joints[J[name]] - joints[J["pelvis"]]
    return WorldLandmarks(points, np.ones(33))


@pytest.mark.parametrize("evidence", ["truth", "wrong"])
def test_with_3d_evidence_the_search_flips_only_where_the_evidence_agrees(body, scene, evidence):
    truth, keypoints, x, _ = scene
    plain = prepare(body, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions())
    right = segment_depth(truth, "left_elbow")
    assert segment_depth(ds.joints_of(plain, x), "left_elbow") == right
    # put the forearm in the other basin: the fit's own iterations leave it there
    wrong = settled(plain, ds.mirrored(plain, x, ("left_elbow",)))
    assert segment_depth(ds.joints_of(plain, wrong), "left_elbow") != right
    assert segment_depth(ds.joints_of(plain, settled(plain, wrong)), "left_elbow") != right
    world = landmarks_of(truth if evidence == "truth" else ds.joints_of(plain, wrong))
    # weak 3D evidence in the objective: its energy alone would still prefer the truth
    weak = SmplifyWeights(world=1.0)
    problem = prepare(body, keypoints, SIZE, FOCAL, weak, FitOptions(), world)
    votes = ds.lifted_depths(problem, ds.joints_of(problem, wrong))
    assert (votes["left_elbow"] * ds._depth(ds.joints_of(problem, wrong), "left_elbow") < 0) == (
        evidence == "truth"
    )
    found, flipped = ds.search_depth(problem, wrong, weak.pose_stage(3))
    joints = ds.joints_of(problem, found)
    if evidence == "truth":  # turned back, on the keypoints, no clear segment turned wrong
        assert "left_elbow" in flipped
        assert np.linalg.norm(project(joints) - keypoints.xy, axis=1).max() < 5.0
        for segment in LIMB_SEGMENTS:
            if ds._tilt(truth, segment) >= ds.TILT:
                assert segment_depth(joints, segment) == segment_depth(truth, segment), segment
    else:  # the evidence sides with the wrong basin: nothing to try there
        assert "left_elbow" not in flipped and segment_depth(joints, "left_elbow") != right


def test_a_flip_the_evidence_asks_for_is_kept_only_where_the_energy_drops(body, scene):
    truth, keypoints, x, _ = scene
    plain = prepare(body, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions())
    right = segment_depth(truth, "left_elbow")
    wrong = ds.joints_of(plain, ds.mirrored(plain, x, ("left_elbow",)))
    # the fit x is right; weak evidence with the forearm mirrored asks for the flip, the
    # energy (keypoints and prior) still prefers the fit: the criterion needs both, so no flip
    weak = SmplifyWeights(world=1.0)
    problem = prepare(body, keypoints, SIZE, FOCAL, weak, FitOptions(), landmarks_of(wrong))
    config = weak.pose_stage(3)
    x = settled(problem, x, config=config)
    base = ds.hypothesis(problem, x, config, ())
    assert segment_depth(base.joints, "left_elbow") == right
    asked = ds.screened(problem, base, config, {"lifter": ds.lifted_depths(problem, base.joints)})
    assert asked == [("left_elbow",)]
    trial = ds.refitted(problem, base, config, ("left_elbow",))
    assert trial.energy > (1.0 - ds.MARGIN) * base.energy
    found, flipped = ds.search_depth(problem, x, config)
    assert flipped == ()
    np.testing.assert_array_equal(found, x)


def test_detector_votes_read_the_far_end_from_depth_and_from_visibility():
    from blender_smplify.core.keypoints import BLAZEPOSE33

    points, visibility = np.zeros((33, 3)), np.ones(33)
    wrist = BLAZEPOSE33.index("left_wrist")
    points[wrist] = [0.0, 0.3, 0.4]  # the wrist 0.4 m farther than the elbow, 0.3 m lower
    visibility[wrist] = 0.3
    votes = ds.detector_votes(points, visibility)
    assert votes["blazepose"]["left_elbow"] == pytest.approx(0.8)
    assert votes["visibility"]["left_elbow"] == pytest.approx(0.7)
    assert votes["visibility"]["right_elbow"] == 0.0
    points[wrist] = np.nan  # no direction, no depth vote
    assert "left_elbow" not in ds.detector_votes(points, visibility)["blazepose"]


@pytest.mark.parametrize("vote", ["blazepose", "visibility", "none"])
def test_the_detectors_landmarks_vote_where_the_lifter_does_not(body, scene, vote):
    from blender_smplify.core.keypoints import BLAZEPOSE33
    from blender_smplify.core.world_landmarks import WorldLandmarks

    truth, keypoints, x, _ = scene
    plain = prepare(body, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions())
    right = segment_depth(truth, "left_elbow")
    wrong = settled(plain, ds.mirrored(plain, x, ("left_elbow",)))
    # the lifter's points side with the wrong basin: they ask for no flip there
    weak = SmplifyWeights(world=1.0)
    problem = prepare(
        body, keypoints, SIZE, FOCAL, weak, FitOptions(), landmarks_of(ds.joints_of(plain, wrong))
    )
    # the detector's own landmarks (camera frame, the crop on the optical axis): the truth's
    # depths, or the wrong basin's with the forearm's near end (the wrist) seen, its elbow not
    source = truth if vote == "blazepose" else ds.joints_of(plain, wrong)
    visibility = np.ones(33)
    if vote == "visibility":
        visibility[BLAZEPOSE33.index("left_elbow")] = 0.2
    detected = WorldLandmarks(landmarks_of(source).points, visibility, 0.0, CENTRE)
    found, flipped = ds.search_depth(problem, wrong, weak.pose_stage(3), detected=detected)
    turned = segment_depth(ds.joints_of(problem, found), "left_elbow") == right
    assert turned == (vote != "none") == ("left_elbow" in flipped)
    unheard, _ = ds.search_depth(problem, wrong, weak.pose_stage(3))
    assert segment_depth(ds.joints_of(problem, unheard), "left_elbow") != right


def test_the_mirrored_lean_keeps_the_neck_on_its_ray_and_the_legs_unturned(scene):
    _, _, x, problem = scene
    before = ds.joints_of(problem, x)
    lean = x.copy()
    lean[:72] = ds._lean_mirrored(x[:72], before)
    after = ds.joints_of(problem, lean)
    assert ds._depth(after, ds.TRUNK) * ds._depth(before, ds.TRUNK) < 0
    for k in (J["pelvis"], J["neck"]):
        np.testing.assert_allclose(project(after[[k]]), project(before[[k]]), atol=1e-6)
    for hip, knee in (("left_hip", "left_knee"), ("right_hip", "right_knee")):
        np.testing.assert_allclose(
            after[J[knee]] - after[J[hip]], before[J[knee]] - before[J[hip]], atol=1e-9
        )


def test_the_pipeline_hands_the_fit_the_detectors_landmarks_beside_the_lifted_points(
    tmp_path, monkeypatch
):
    import json
    from pathlib import Path

    from blender_smplify.core import fit as fit_module
    from blender_smplify.core import pipeline

    seen = []
    real = fit_module.fit

    def spy(*args, **kwargs):
        seen.append((kwargs.get("world"), kwargs.get("detected")))
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    sample = Path(pipeline.__file__).parents[1] / "data" / "samples" / "standing_person.jpg"
    result = pipeline.fit_photo(sample)
    world, detected = seen[-1]
    assert world is result.world and world.crop_centre is None  # the lifter's points
    assert detected is not None and detected.crop_centre is not None  # BlazePose's own
    stored = tmp_path / "keypoints.json"
    stored.write_text(json.dumps(result.keypoints.to_dict(result.image_size)))
    pipeline.fit_photo(sample, keypoints=stored)  # a keypoints file brings no landmarks
    assert seen[-1][1] is None


@pytest.mark.parametrize("vote", ["right", "wrong", "none"])
def test_the_images_depth_signs_vote_where_the_lifter_does_not(body, scene, vote, monkeypatch):
    truth, keypoints, x, _ = scene
    plain = prepare(body, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions())
    right = segment_depth(truth, "left_elbow")
    wrong = settled(plain, ds.mirrored(plain, x, ("left_elbow",)))
    weak = SmplifyWeights(world=1.0)  # the lifter's points side with the wrong basin
    problem = prepare(
        body, keypoints, SIZE, FOCAL, weak, FitOptions(), landmarks_of(ds.joints_of(plain, wrong))
    )
    # the image's network: sure of the truth's side (2p − 1 = ±0.9), or of the wrong one
    sign = {"right": 1.0, "wrong": -1.0, "none": 0.0}[vote]
    image = {"left_elbow": 0.9 * sign * np.sign(ds._depth(truth, "left_elbow"))}
    found, flipped = ds.search_depth(problem, wrong, weak.pose_stage(3), image=image)
    turned = segment_depth(ds.joints_of(problem, found), "left_elbow") == right
    assert turned == (vote == "right") == ("left_elbow" in flipped)


@pytest.mark.parametrize("rise", [-0.01, 0.01])
def test_where_the_image_asks_the_energy_may_rise_by_its_margin(body, scene, monkeypatch, rise):
    truth, keypoints, x, _ = scene
    # the lifter's points where the fit is (its forearm on the truth's side): they ask nothing
    weak = SmplifyWeights(world=1.0)
    plain = prepare(body, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions())
    world = landmarks_of(ds.joints_of(plain, x))
    problem = prepare(body, keypoints, SIZE, FOCAL, weak, FitOptions(), world)
    config = weak.pose_stage(3)
    x = settled(problem, x, config=config)
    base = ds.hypothesis(problem, x, config, ())
    ratio = ds.refitted(problem, base, config, ("left_elbow",)).energy / base.energy
    assert ratio > 1.0  # the other side costs energy: only the image's margin may allow it
    image = {"left_elbow": 0.9 * np.sign(ds._depth(truth, "left_elbow")) * -1.0}
    monkeypatch.setattr(ds, "IMAGE_MARGIN", 1.0 - ratio + rise)
    _, flipped = ds.search_depth(problem, x, config, image=image)
    assert ("left_elbow" in flipped) == (rise < 0)
    _, unheard = ds.search_depth(problem, x, config)
    assert unheard == ()


@pytest.mark.parametrize("rise", [-0.01, 0.01])
def test_where_blazepose_asks_strongly_the_energy_may_rise_by_its_margin(body, scene, rise):
    from blender_smplify.core.world_landmarks import WorldLandmarks

    truth, keypoints, x, _ = scene
    weak = SmplifyWeights(world=1.0)
    plain = prepare(body, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions())
    problem = prepare(
        body, keypoints, SIZE, FOCAL, weak, FitOptions(), landmarks_of(ds.joints_of(plain, x))
    )
    config = weak.pose_stage(3)
    x = settled(problem, x, config=config)
    base = ds.hypothesis(problem, x, config, ())
    ratio = ds.refitted(problem, base, config, ("left_elbow",)).energy / base.energy
    assert ratio > 1.0  # the other side costs energy: only the strong vote's margin may allow it
    # BlazePose's own landmarks put the forearm on the other side, by more than STRONG_VOTE
    other = ds.joints_of(problem, ds.mirrored(problem, x, ("left_elbow",)))
    detected = WorldLandmarks(landmarks_of(other).points, np.ones(33), 0.0, CENTRE)
    vote = ds.detector_votes(detected.in_camera(FOCAL, CENTRE), np.ones(33))["blazepose"]
    assert abs(vote["left_elbow"]) > ds.STRONG_VOTE
    found = {}
    for strong in (1.0 - ratio + rise, None):  # the margin given, and the shipped one
        _, found[strong] = ds.search_depth(
            problem, x, config, margin=0.0, detected=detected, strong_margin=strong
        )
    assert ("left_elbow" in found[1.0 - ratio + rise]) == (rise < 0)
    assert ds.STRONG_MARGIN is None and "left_elbow" not in found[None]  # off as shipped


def test_fit_hands_the_images_votes_to_the_search(body, scene, search_calls):
    truth, keypoints, _, _ = scene
    votes = {"left_elbow": 0.8}
    fit(body, keypoints, SIZE, FOCAL, world=landmarks_of(truth), image_votes=votes)
    assert [call.get("image") for call in search_calls] == [votes]
