"""Checks on the shipped pose prior (blender_smplify/data/pose_prior.npz) and its build tools."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from blender_smplify.core.joints import MIRROR_PERMUTATION, J

REPO = Path(__file__).resolve().parents[2]
PRIOR = REPO / "blender_smplify" / "data" / "pose_prior.npz"
sys.path.insert(0, str(REPO))


@pytest.fixture(scope="module")
def prior() -> dict:
    with np.load(PRIOR, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _body(name: str) -> slice:
    """Slice of the 69-vector holding joint ``name``'s axis-angle."""
    i = J[name] - 1
    return slice(3 * i, 3 * i + 3)


def test_shapes_and_size(prior):
    k = len(prior["weights"])
    assert k == json.loads(str(prior["provenance"]))["components"]
    assert prior["means"].shape == (k, 69)
    assert prior["covariances"].shape == (k, 69, 69)
    assert prior["precisions_cholesky"].shape == (k, 69, 69)
    assert prior["log_normalizers"].shape == (k,)
    for key in ("weights", "means", "covariances", "precisions_cholesky", "log_normalizers"):
        assert prior[key].dtype == np.float64 and np.isfinite(prior[key]).all(), key
    assert PRIOR.stat().st_size < 1_000_000


def test_weights_are_a_distribution(prior):
    w = prior["weights"]
    assert (w > 0).all()
    assert abs(w.sum() - 1.0) < 1e-9


def test_covariances_symmetric_positive_definite(prior):
    cov = prior["covariances"]
    assert np.allclose(cov, np.swapaxes(cov, 1, 2), atol=1e-12)
    eig = np.linalg.eigvalsh(cov)
    assert eig.min() > 1e-6  # regularised: no direction is pinned harder than ~0.06 degrees
    assert eig.max() < 10.0  # no direction is looser than ~3 rad standard deviation


def test_precision_cholesky_matches_covariance(prior):
    chol = prior["precisions_cholesky"]
    assert np.allclose(np.triu(chol, 1), 0.0)
    assert (np.diagonal(chol, axis1=1, axis2=2) > 0).all()
    for L, cov in zip(chol, prior["covariances"], strict=True):
        assert np.allclose(L @ L.T @ cov, np.eye(69), atol=1e-6)


def test_log_normalizers_give_mixture_density(prior):
    """-log(w_k N(x)) = 0.5 |L^T (x - mu)|^2 - log_normalizers[k] against SciPy's density."""
    from scipy.stats import multivariate_normal

    x = prior["means"][0] + 0.05
    for k in range(len(prior["weights"])):
        r = (x - prior["means"][k]) @ prior["precisions_cholesky"][k]
        ours = 0.5 * r @ r - prior["log_normalizers"][k]
        ref = -np.log(prior["weights"][k]) - multivariate_normal(
            prior["means"][k], prior["covariances"][k]
        ).logpdf(x)
        assert abs(ours - ref) < 1e-6 * max(1.0, abs(ref))


def test_mean_pose_is_anatomically_plausible(prior):
    mean = prior["weights"] @ prior["means"]
    # knees bend about +x (shank swings backwards): walking data flexes them on average
    assert mean[_body("left_knee")][0] > 0.1 and mean[_body("right_knee")][0] > 0.1
    for k in range(len(prior["weights"])):  # no component is a hyper-extended knee
        assert prior["means"][k][_body("left_knee")][0] > -0.1
        assert prior["means"][k][_body("right_knee")][0] > -0.1
    # elbows flex forwards: about -y on the left, +y on the right (arms along +-x at rest)
    assert mean[_body("left_elbow")][1] < -0.05 and mean[_body("right_elbow")][1] > 0.05
    # arms hang down from the T-pose on average: left shoulder turns about -z, right about +z
    assert mean[_body("left_shoulder")][2] < -0.5 and mean[_body("right_shoulder")][2] > 0.5
    # no joint's mean rotation is wild
    assert np.linalg.norm(mean.reshape(23, 3), axis=1).max() < 1.6


def test_prior_is_left_right_symmetric(prior):
    """Trained with mirrored copies: the mean mirrors onto itself."""
    mean = np.concatenate([np.zeros(3), prior["weights"] @ prior["means"]]).reshape(24, 3)
    mirrored = mean[MIRROR_PERMUTATION] * np.array([1.0, -1.0, -1.0])
    assert np.abs(mirrored - mean).max() < 0.05


def test_mixture_prefers_a_natural_pose_to_a_broken_one(prior):
    def nll(x):
        terms = [
            0.5 * np.sum(((x - m) @ L) ** 2) - c
            for m, L, c in zip(
                prior["means"], prior["precisions_cholesky"], prior["log_normalizers"], strict=True
            )
        ]
        return min(terms)

    natural = prior["weights"] @ prior["means"]
    costs = []
    for angle in (0.0, -0.3, -0.6, -1.2):  # knee straight, then hyper-extended up to 70 degrees
        bent = natural.copy()
        bent[_body("left_knee")] = [angle, 0.0, 0.0]
        costs.append(nll(bent) - nll(natural))
    assert np.all(np.diff(costs) > 0)
    assert costs[-1] > 20.0  # 70 degrees the wrong way is at least e^20 times less likely


def test_provenance_is_recorded(prior):
    from tools.pose_prior_data import HDM05_HELD_OUT_ACTORS, HDM05_HELD_OUT_CLASSES

    meta = json.loads(str(prior["provenance"]))
    assert "mocap.cs.cmu.edu" in str(prior["acknowledgement"])
    assert "obtained from HDM05" in str(prior["acknowledgement"])
    assert "CC BY-SA 4.0" in str(prior["licence"])
    assert meta["held_out_trials"] and meta["training_trials"]
    assert not set(meta["held_out_trials"]) & set(meta["training_trials"])
    # no clip of a held-out HDM05 activity or actor was trained on
    hdm05 = [t for t in meta["training_trials"] if t.startswith("hdm05/")]
    assert hdm05
    assert not [t for t in hdm05 if any(f"_{c}_" in t for c in HDM05_HELD_OUT_CLASSES)]
    assert not [t for t in hdm05 if any(f"HDM_{a}_" in t for a in HDM05_HELD_OUT_ACTORS)]
    assert meta["held_out_log_likelihood"] > meta["held_out_log_likelihood_single_gaussian"]
    doc = (REPO / "blender_smplify" / "data" / "pose_prior.md").read_text()
    assert "obtained from HDM05" in doc and "CC BY-SA 4.0" in doc and "NSF EIA-0196217" in doc


def test_bvh_forward_kinematics_of_a_small_chain(tmp_path):
    from tools.bvh import forward_kinematics, read_bvh

    text = """HIERARCHY
ROOT Hips
{
 OFFSET 0 0 0
 CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
 JOINT Knee
 {
  OFFSET 0 -2 0
  CHANNELS 3 Zrotation Xrotation Yrotation
  End Site
  {
   OFFSET 0 -3 0
  }
 }
}
MOTION
Frames: 2
Frame Time: 0.01
1 2 3 0 0 0 0 0 0
0 0 0 90 0 0 0 90 0
"""
    path = tmp_path / "chain.bvh"
    path.write_text(text)
    bvh = read_bvh(path)
    assert bvh.names == ["Hips", "Knee", "Knee_end"]
    rot, pos = forward_kinematics(bvh)
    assert np.allclose(pos[0], [[1, 2, 3], [1, 0, 3], [1, -3, 3]])
    # frame 2: hips turned 90 degrees about z, so the thigh (0,-2,0) points along +x
    assert np.allclose(pos[1, 1], [2, 0, 0])
    expected = Rotation.from_euler("ZX", [90, 90], degrees=True).as_matrix()
    assert np.allclose(rot[1, 1], expected)


def test_bvh_reader_names_the_file_on_bad_input(tmp_path):
    from tools.bvh import BvhError, read_bvh

    path = tmp_path / "broken.bvh"
    path.write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0\n")
    with pytest.raises(BvhError, match="broken.bvh"):
        read_bvh(path)


def test_global_to_pose_and_mirror_round_trip(rng):
    from tools.pose_prior_mixture import mirror
    from tools.retarget_bvh import SMPL_PARENTS, global_to_pose

    pose = rng.normal(scale=0.4, size=(5, 72))
    local = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(5, 24, 3, 3)
    glob = np.empty_like(local)
    glob[:, 0] = local[:, 0]
    for j in range(1, 24):
        glob[:, j] = glob[:, SMPL_PARENTS[j]] @ local[:, j]
    assert np.allclose(global_to_pose(glob), pose, atol=1e-9)
    assert np.allclose(mirror(mirror(pose[:, 3:])), pose[:, 3:])
    # mirroring a left-knee bend gives the same bend on the right knee
    bent = np.zeros((1, 69))
    bent[0, _body("left_knee")] = [0.8, 0.1, 0.2]
    assert np.allclose(mirror(bent)[0, _body("right_knee")], [0.8, -0.1, -0.2])


# A small T-posed skeleton with the 31-joint CMU names (metres; y up, facing +z, left at +x).
_ARM = (
    "{S}Collar",
    (0, 0.15, 0),
    [
        (
            "{S}Shoulder",
            (0.15, 0, 0),
            [
                (
                    "{S}Elbow",
                    (0.25, 0, 0),
                    [
                        (
                            "{S}Wrist",
                            (0.25, 0, 0),
                            [
                                (
                                    "{s}hand",
                                    (0, 0, 0),
                                    [("{s2}Fingers", (0.08, 0, 0), [("end", (0.05, 0, 0), [])])],
                                )
                            ],
                        )
                    ],
                )
            ],
        )
    ],
)
_LEG = (
    "{S}Hip",
    (0.1, -0.1, 0),
    [
        (
            "{S}Knee",
            (0, -0.4, 0),
            [
                (
                    "{S}Ankle",
                    (0, -0.4, 0),
                    [("{S}Toe", (0, -0.05, 0.1), [("end", (0, 0, 0.05), [])])],
                )
            ],
        )
    ],
)
_SPINE = (
    "lowerback",
    (0, 0, 0),
    [
        (
            "Chest",
            (0, 0.1, 0),
            [
                (
                    "Chest2",
                    (0, 0.1, 0),
                    [
                        ("Neck", (0, 0.2, 0), [("Head", (0, 0.1, 0), [("end", (0, 0.1, 0), [])])]),
                        "LEFT_ARM",
                        "RIGHT_ARM",
                    ],
                )
            ],
        )
    ],
)


def _side(node, side: str):
    if isinstance(node, str):
        return node
    name, off, kids = node
    sign = 1.0 if side == "Left" else -1.0
    name = name.format(S=side, s=side[0].lower(), s2=side[0])
    return (name, (sign * off[0], off[1], off[2]), [_side(k, side) for k in kids])


def _tpose_bvh_text(frames: list[dict[str, tuple[float, float, float]]]) -> tuple[str, list]:
    """BVH text of the skeleton and the joint order; frames map joint -> (z, y, x) degrees."""
    spine = _SPINE
    chest2 = spine[2][0][2][0]
    chest2[2][1:] = [_side(_ARM, "Left"), _side(_ARM, "Right")]
    root = ("Hips", (0, 1.0, 0), [_side(_LEG, "Left"), _side(_LEG, "Right"), spine])
    lines, order = ["HIERARCHY"], []

    def emit(node, depth, parent):
        name, off, kids = node
        pad = " " * depth
        if name == "end":
            lines.extend(
                [
                    f"{pad}End Site",
                    f"{pad}{{",
                    f"{pad} OFFSET {off[0]} {off[1]} {off[2]}",
                    f"{pad}}}",
                ]
            )
            return
        lines.append(f"{pad}{'ROOT' if parent is None else 'JOINT'} {name}")
        lines.extend([f"{pad}{{", f"{pad} OFFSET {off[0]} {off[1]} {off[2]}"])
        pos = "Xposition Yposition Zposition " if parent is None else ""
        lines.append(
            f"{pad} CHANNELS {6 if parent is None else 3} {pos}Zrotation Yrotation Xrotation"
        )
        order.append(name)
        for k in kids:
            emit(k, depth + 1, name)
        lines.append(f"{pad}}}")

    emit(root, 0, None)
    lines += ["MOTION", f"Frames: {len(frames)}", "Frame Time: 0.01"]
    for fr in frames:
        row = [0.0, 1.0, 0.0]
        for name in order:
            row += list(fr.get(name, (0.0, 0.0, 0.0)))
        lines.append(" ".join(str(v) for v in row))
    return "\n".join(lines) + "\n", order


def test_retarget_recovers_known_rotations_with_smpl_conventions(tmp_path):
    from tools.bvh import forward_kinematics, read_bvh
    from tools.retarget_bvh import FAMILIES, global_to_pose, retarget

    frames = [
        {},
        {"LeftKnee": (0, 0, 30)},
        {"Hips": (0, 90, 0)},
        {"LeftShoulder": (-40, 0, 0)},
        {"RightElbow": (0, -50, 0), "Chest": (0, 0, 15)},
    ]
    text, _ = _tpose_bvh_text(frames)
    path = tmp_path / "tpose.bvh"
    path.write_text(text)
    bvh = read_bvh(path)
    rest = forward_kinematics(bvh, np.zeros((1, bvh.motion.shape[1])))[1][0]
    mapping = FAMILIES["cmu31"]["map"]
    template = np.array([rest[bvh.index(mapping[n])] for n in J])
    for side in ("Left", "Right"):  # SMPL's hand joint sits at the knuckles
        template[J[f"{side.lower()}_hand"]] = rest[bvh.index(f"{side[0]}Fingers")]
    pose = global_to_pose(retarget(bvh, template=template))
    expected = np.zeros((5, 24, 3))
    expected[1, J["left_knee"]] = [np.radians(30), 0, 0]  # +x: the shank swings backwards
    expected[2, J["pelvis"]] = [0, np.pi / 2, 0]  # turned to face +x; body pose unchanged
    expected[3, J["left_shoulder"]] = [0, 0, np.radians(-40)]  # left arm lowered
    expected[4, J["right_elbow"]] = [0, np.radians(-50), 0]
    expected[4, J["spine2"]] = [np.radians(15), 0, 0]
    assert np.allclose(pose, expected.reshape(5, 72), atol=1e-9)


def test_subsample_and_glitch_filter():
    from tools.pose_prior_data import spike_free, subsample

    pose = np.zeros((50, 72))
    pose[:, 3 * J["left_knee"]] = np.radians(np.arange(50.0))  # knee bends 1 degree per frame
    keep = subsample(pose, 4.5)
    assert keep[0] == 0 and np.all(np.diff(keep) == 5)  # kept once the change exceeds 4.5 degrees
    pose[20, 3 * J["right_wrist"] + 1] = np.pi / 2  # one-frame wrist flip
    ok = spike_free(pose, fps=60.0, max_speed=1500.0)
    assert not ok[19:22].any() and ok[:19].all() and ok[22:].all()


def test_calibration_recovers_a_constant_offset(rng):
    from tools.retarget_bvh import fit_calibration

    a = Rotation.random(40 * 24, random_state=1).as_matrix().reshape(40, 24, 3, 3)
    offset = Rotation.from_rotvec([0.0, 0.0, np.radians(20.0)]).as_matrix()
    noise = Rotation.from_rotvec(rng.normal(scale=0.02, size=(40 * 24, 3))).as_matrix()
    b = a @ offset.T @ noise.reshape(40, 24, 3, 3)  # b D = a with D = offset (plus noise)
    calibration = fit_calibration({"walk": (a, b)})
    assert J["left_ankle"] in calibration and J["left_wrist"] not in calibration
    for d in calibration.values():
        assert np.degrees(Rotation.from_matrix(d @ offset.T).magnitude()) < 1.0


def test_prior_refers_to_the_shipped_open_body_model(prior):
    """Poses refer to a template's rest bone directions: retrain the prior if the model turns them.

    Retargeting turns each mocap segment onto the template's rest direction of that bone
    (``pose_prior.md``, step 2), so the rotations the prior learned depend on the template only
    through its bone directions, not on where the joints sit. The rebuilt open models (issue 11)
    moved the mean body's joints by up to 10 mm but turned no bone by more than 2.2° (the collar
    to shoulder segments), well inside the prior's spread; a turn past 3° asks for retraining.
    """
    from blender_smplify.core.joints import SMPL_PARENTS

    with np.load(REPO / "blender_smplify" / "data" / "open_body_neutral.npz") as model:
        rest = model["J_regressor"] @ model["v_template"]
    child = np.array([j for j, p in enumerate(SMPL_PARENTS) if p >= 0])
    parent = np.array([SMPL_PARENTS[j] for j in child])
    trained = prior["template_joints"][child] - prior["template_joints"][parent]
    shipped = rest[child] - rest[parent]
    cos = np.sum(trained * shipped, axis=1) / np.linalg.norm(trained, axis=1)
    cos /= np.linalg.norm(shipped, axis=1)
    assert np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).max() < 3.0


def test_regularised_mixture_widens_components_and_scores_like_scipy(rng):
    from scipy.stats import multivariate_normal

    from tools.pose_prior_mixture import Candidate, mixture_log_likelihood, regularised

    x = rng.normal(size=(200, 3)) * np.array([1.0, 0.5, 0.1])
    em = {
        "weights": np.array([0.25, 0.75]),
        "means": np.array([[0.0, 0, 0], [1.0, 0, 0]]),
        "covariances": np.stack([np.diag([0.1, 0.2, 0.01]), np.diag([0.3, 0.1, 0.02])]),
    }
    out = regularised(em, x, floors=[0.0, 0.05], shrinks=[0.0, 0.5])
    assert set(out) == {Candidate(2, f, s) for f in (0.0, 0.05) for s in (0.0, 0.5)}
    expected = 0.5 * em["covariances"][1] + 0.5 * np.cov(x.T) + 0.05 * np.eye(3)
    assert np.allclose(out[Candidate(2, 0.05, 0.5)]["covariances"][1], expected)
    arrays = out[Candidate(2, 0.0, 0.5)]
    ref = np.log(
        sum(
            w * multivariate_normal(m, c).pdf(x[:5])
            for w, m, c in zip(
                arrays["weights"], arrays["means"], arrays["covariances"], strict=True
            )
        )
    )
    assert np.allclose(mixture_log_likelihood(x[:5], arrays), ref)


def test_caches_of_another_template_are_not_reused(tmp_path, monkeypatch):
    """The retargeted frames depend on the template: after a model rebuild the training tool
    must not train on frames cached for the old one, nor reuse the EM result cached beside them."""
    from types import SimpleNamespace

    import tools.train_pose_prior as tool

    collected, fitted = [], []

    def collect(*args):
        collected.append(args)
        return {"t": np.full((2, 69), len(collected), float)}, {"h": np.zeros((1, 69))}, {}

    def fit_em(x, k, seed, max_iter):
        fitted.append(k)
        return {"means": np.full((k, 69), len(fitted), float)}

    monkeypatch.setattr(tool, "collect", collect)
    monkeypatch.setattr(tool, "fit_em", fit_em)
    args = SimpleNamespace(
        cache=tmp_path / "frames.npz", mocap_dir=None, hdm05_dir=None, min_change=5.0,
        max_speed=1500.0, seed=0, max_iter=1,
    )  # fmt: skip
    x = np.zeros((4, 69))
    for _ in range(2):  # written, then read back
        assert tool.load_or_collect(args)[0]["t"][0, 0] == 1.0 and len(collected) == 1
        assert tool.cached_em(args, x, 2)["means"][0, 0] == 1.0 and len(fitted) == 1
    rebuilt = tool.template_joints()[0] + np.array([0.0, 0.002, 0.0])
    monkeypatch.setattr(tool, "template_joints", lambda: (rebuilt, "rebuilt"))
    for _ in range(2):  # collected and fitted again for the new template, then read back
        assert tool.load_or_collect(args)[0]["t"][0, 0] == 2.0 and len(collected) == 2
        assert tool.cached_em(args, x, 2)["means"][0, 0] == 2.0 and len(fitted) == 2
