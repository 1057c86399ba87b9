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
    assert k == 8
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
    meta = json.loads(str(prior["provenance"]))
    assert "mocap.cs.cmu.edu" in str(prior["acknowledgement"])
    assert meta["held_out_trials"] and meta["training_trials"]
    assert not set(meta["held_out_trials"]) & set(meta["training_trials"])
    assert meta["held_out_log_likelihood"] > meta["held_out_log_likelihood_single_gaussian"]
    assert (REPO / "blender_smplify" / "data" / "pose_prior.md").exists()


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
    from tools.retarget_bvh import SMPL_PARENTS, global_to_pose
    from tools.train_pose_prior import mirror

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
