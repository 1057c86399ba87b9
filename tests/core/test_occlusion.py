"""Occlusion as depth evidence (``core/occlusion.py``): which limb keypoints another part of
the body hides along their camera rays, on the mesh and on the skinned surface sample, and
the evidence a body's occlusion gives against BlazePose's visibility."""

from __future__ import annotations

import numpy as np
import pytest
import toy_camera
from test_depth_search import scene  # noqa: F401  (the depth search's fixture)

from blender_smplify.core import occlusion as oc
from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.joints import J
from blender_smplify.core.rotation import rodrigues

FOCAL = 1000.0
CENTRE = np.array([320.0, 240.0])
SIZE, FOCAL_DS = toy_camera.SIZE, toy_camera.FOCAL
WRIST = [oc.own_parts("left_wrist")]


@pytest.fixture(scope="module")
def model():
    return BodyModel.load(gender="neutral")


def square(z: float, half: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Two triangles of a square facing the camera at depth z, centred on the optical axis."""
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    return v, np.array([[0, 1, 2], [0, 2, 3]])


def test_first_hits_meets_the_square_at_its_depth_and_misses_beside_it():
    v, f = square(2.0)
    pixels = np.array(CENTRE[None] + [[0.0, 0.0], [100.0, -50.0], [400.0, 0.0]])
    depth, inside = oc.first_hits(v, f, pixels, FOCAL, CENTRE)
    assert np.allclose(depth[:2].min(axis=1), 2.0)
    assert np.isinf(depth[2]).all() and not inside[2].any()


def test_first_hits_interpolates_depth_exactly_on_a_slanted_triangle():
    v = np.array([[-1.0, -1.0, 2.0], [1.0, -1.0, 4.0], [0.0, 1.0, 3.0]])
    normal = np.cross(v[1] - v[0], v[2] - v[0])
    x, y = 0.2, -0.3  # a point of the triangle's plane inside it
    z = v[0, 2] - (normal[0] * (x - v[0, 0]) + normal[1] * (y - v[0, 1])) / normal[2]
    point = np.array([x, y, z])
    depth, _ = oc.first_hits(v, np.array([[0, 1, 2]]), oc.project(point[None], FOCAL, CENTRE),
                             FOCAL, CENTRE)  # fmt: skip
    assert depth[0, 0] == pytest.approx(point[2], abs=1e-9)


@pytest.mark.parametrize("z, hidden", [(3.0, True), (1.5, False)])
def test_mesh_occlusion_another_part_in_front_hides_the_point(z, hidden):
    v, f = square(2.0)
    parts = np.full(2, J["spine1"])
    got_hidden, over = oc.mesh_occlusion(
        v, f, parts, np.array([[0.05, 0.02, z]]), WRIST, FOCAL, CENTRE
    )
    assert got_hidden[0] == hidden and over[0]


def test_mesh_occlusion_the_points_own_limb_in_front_does_not_hide_it():
    v, f = square(2.0)
    parts = np.full(2, J["left_elbow"])  # the forearm: the wrist's own limb
    hidden, over = oc.mesh_occlusion(v, f, parts, np.array([[0.0, 0.0, 3.0]]), WRIST, FOCAL,
                                     CENTRE)  # fmt: skip
    assert not hidden[0] and not over[0]


def test_sphere_occlusion_in_front_behind_beside_and_own():
    centres = np.array([[0.0, 0.0, 2.0]])
    belly, forearm = np.array([J["spine1"]]), np.array([J["left_elbow"]])
    points = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 1.0], [0.3, 0.0, 3.0]])
    hidden, over = oc.sphere_occlusion(centres, belly, 0.1, points, WRIST * 3)
    assert hidden.tolist() == [True, False, False]
    assert over.tolist() == [True, True, False]
    hidden, over = oc.sphere_occlusion(centres, forearm, 0.1, points, WRIST * 3)
    assert not hidden.any() and not over.any()


def test_surface_sample_is_the_mesh_at_rest_and_turns_rigidly_with_the_root(model):
    sample = oc.SurfaceSample(model, 10)
    kin = get_setup(model, "blazepose33", 10).kin
    betas = np.linspace(-1.0, 1.0, 10)
    rest_mesh, _ = model.forward(betas, np.zeros(72))
    rest = sample.posed(kin.chain(np.zeros(72), betas, np.zeros(3)), betas)
    kept = np.array([np.flatnonzero((model.v_template == r).all(axis=1))[0] for r in sample.rest])
    assert np.allclose(rest, rest_mesh[kept], atol=1e-9)
    pose = np.zeros(72)
    pose[:3] = [0.3, -1.1, 0.4]
    transl = np.array([0.1, -0.2, 3.0])
    root = kin.chain(np.zeros(72), betas, np.zeros(3))[0][0]
    turned = sample.posed(kin.chain(pose, betas, transl), betas)
    expected = (rest - root) @ rodrigues(pose[:3]).T + root + transl
    assert np.allclose(turned, expected, atol=1e-9)
    assert 500 < len(sample.rest) < 3000  # a sparse sample, yet more than a few points


def test_surface_sample_hides_a_wrist_behind_the_belly_not_one_in_front(model):
    """The rest body faced to the camera (root turned π about x: OpenCV's y down, z forward),
    3 m away; a wrist point 30 cm behind the belly joint is hidden, 30 cm in front is not,
    and both lie over another part; beside the body neither is."""
    sample = oc.SurfaceSample(model, 10)
    kin = get_setup(model, "blazepose33", 10).kin
    pose = np.zeros(72)
    pose[:3] = [np.pi, 0.0, 0.0]
    chain = kin.chain(pose, np.zeros(10), np.array([0.0, 0.0, 3.0]))
    centres = sample.posed(chain, np.zeros(10))
    belly = chain[0][J["spine1"]]
    points = belly + np.array([[0.0, 0.0, 0.3], [0.0, 0.0, -0.3], [0.6, 0.0, 0.3]])
    hidden, over = oc.sphere_occlusion(centres, sample.part, sample.radius, points, WRIST * 3)
    assert hidden.tolist() == [True, False, False]
    assert over.tolist() == [True, True, False]


def test_evidence_favours_the_body_whose_occlusion_matches_the_visibility():
    visibility = np.array([0.1, 0.9, 0.1, 0.0])
    base = (np.array([False, False, False, True]), np.array([True, True, False, True]))
    other = (np.array([True, False, True, False]), np.array([True, True, False, True]))
    # keypoint 0 turns hidden (BlazePose: hidden); 2 lies over nothing; 3 was not detected
    assert oc.evidence(base, other, visibility) == pytest.approx(np.log(0.9) - np.log(0.1))
    assert oc.evidence(other, base, visibility) == pytest.approx(np.log(0.1) - np.log(0.9))
    assert oc.evidence(base, base, visibility) == 0.0


def test_own_parts_and_groups():
    assert oc.own_parts("right_thumb") == (J["right_elbow"], J["right_wrist"], J["right_hand"])
    names = ("left_elbow", "nose", "right_knee", "left_heel", "right_index")
    groups = oc.limb_keypoints(names)
    assert groups["elbows"].tolist() == [0] and groups["knees"].tolist() == [2]
    assert groups["ankles"].tolist() == [3] and groups["hands"].tolist() == [4]
    with pytest.raises(KeyError):
        oc.own_parts("left_shoulder")


def arm_pose(direction) -> np.ndarray:
    """Facing the camera 3 m away (root π about x), the left arm straight along ``direction``
    in the body's frame (x left, y up, z forward) from the T-pose's +x."""
    pose = np.zeros(72)
    pose[:3] = [np.pi, 0.0, 0.0]
    d = np.asarray(direction, dtype=np.float64) / np.linalg.norm(direction)
    axis = np.cross([1.0, 0.0, 0.0], d)
    angle = np.arccos(np.clip(d[0], -1.0, 1.0))
    pose[3 * J["left_shoulder"] : 3 * J["left_shoulder"] + 3] = axis / np.linalg.norm(axis) * angle
    return np.concatenate([pose, np.zeros(10), [0.0, 0.0, 3.0]])


def split(x):
    return x[:72], x[72:82], x[82:]


@pytest.mark.parametrize("hand_seen", [False, True])
def test_veto_refuses_the_flip_the_visibility_contradicts(model, hand_seen):
    """The left arm reaching forward across the chest (hand in front of the body) and its
    depth flip (hand behind the back): BlazePose seeing the hand allows the flip to the front
    only, not seeing it the flip to the back only; a flip of the other arm moves none of its
    keypoints and is allowed either way."""
    setup = get_setup(model, "blazepose33", 10)
    names = setup.layout.names
    visibility = np.full(33, 0.9)
    hand = [names.index(f"left_{p}") for p in ("wrist", "pinky", "index", "thumb")]
    visibility[hand] = 0.95 if hand_seen else 0.05
    veto = oc.OcclusionVeto(model, setup, visibility)
    front, back = arm_pose([-0.5, -0.2, 0.85]), arm_pose([-0.5, -0.2, -0.85])
    occ = veto.occluders
    wrist = occ.limbs.tolist().index(names.index("left_wrist"))
    assert occ.judge(setup.kin, *split(back))[0][wrist]  # the body hides the hand behind it
    assert not occ.judge(setup.kin, *split(front))[0][wrist]
    assert veto.allows(split, back, front, ("left_shoulder",)) == hand_seen
    assert veto.allows(split, front, back, ("left_shoulder",)) != hand_seen
    assert veto.allows(split, front, back, ("right_shoulder",))


class Refusing:
    """An occlusion check that refuses every flip and notes what it was asked."""

    def __init__(self):
        self.asked = []

    def allows(self, split, x_from, x_to, segments):
        self.asked.append(tuple(segments))
        return False


def test_the_depth_search_keeps_no_flip_its_occlusion_check_refuses(body, scene):  # noqa: F811
    """The depth search's scene (``test_depth_search``): with the true 3D evidence it turns
    the forearm back; with an occlusion check that refuses, it asks about that flip and keeps
    the fit as it was."""
    from test_depth_search import landmarks_of, settled

    from blender_smplify.core import depth_search as ds
    from blender_smplify.core.fit import FitOptions
    from blender_smplify.core.fit_setup import prepare
    from blender_smplify.core.objective import SmplifyWeights

    truth, keypoints, x, _ = scene
    plain = prepare(body, keypoints, SIZE, FOCAL_DS, SmplifyWeights(), FitOptions())
    wrong = settled(plain, ds.mirrored(plain, x, ("left_elbow",)))
    weak = SmplifyWeights(world=1.0)
    problem = prepare(body, keypoints, SIZE, FOCAL_DS, weak, FitOptions(), landmarks_of(truth))
    _, flipped = ds.search_depth(problem, wrong, weak.pose_stage(3))
    assert "left_elbow" in flipped
    refusing = Refusing()
    found, flipped = ds.search_depth(problem, wrong, weak.pose_stage(3), occlusion=refusing)
    assert flipped == () and ("left_elbow",) in refusing.asked
    np.testing.assert_array_equal(found, wrong)


def test_the_occlusion_check_needs_blazepose33_keypoints(model):
    from blender_smplify.core.errors import KeypointsError
    from blender_smplify.core.fit import FitOptions, fit
    from blender_smplify.core.keypoints import Keypoints2D
    from blender_smplify.core.world_landmarks import WorldLandmarks

    setup = get_setup(model, "smpl24", 10)
    x = arm_pose([0.0, -1.0, 0.0])
    pts, _ = setup.kin.evaluate(*split(x), jacobian=False)
    xy = oc.project(pts[setup.point_index], FOCAL, CENTRE)
    keypoints = Keypoints2D("smpl24", xy, np.ones(24))
    detected = WorldLandmarks(np.zeros((33, 3)), np.ones(33))
    options = FitOptions(occlusion=True)
    with pytest.raises(KeypointsError, match="needs blazepose33 keypoints"):
        fit(model, keypoints, (640, 480), FOCAL, options=options, detected=detected)
