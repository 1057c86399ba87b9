"""Priors of the fit: pose GMM in min-component form, angle prior, joint limits, spheres."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from blender_smplify.core.errors import ModelFileError
from blender_smplify.core.joints import MIRROR_PERMUTATION, J
from blender_smplify.core.kinematics import kinematics_from_model
from blender_smplify.core.priors import (
    JOINT_LIMIT_LOWER,
    JOINT_LIMIT_UPPER,
    PosePrior,
    SphereBody,
    angle_prior,
    joint_limits,
    shipped_pose_prior,
    within_joint_limits,
)


def write_prior(path, rng, k=3):
    means = rng.normal(scale=0.2, size=(k, 69))
    covs, chols = [], []
    for _ in range(k):
        A = rng.normal(scale=0.05, size=(69, 69))
        cov = A @ A.T + 0.01 * np.eye(69)
        covs.append(cov)
        chols.append(np.linalg.cholesky(np.linalg.inv(cov)))
    weights = rng.dirichlet(np.ones(k))
    np.savez(
        path,
        means=means,
        covariances=np.array(covs),
        precisions_cholesky=np.array(chols),
        weights=weights,
        log_normalizers=np.zeros(k),
    )
    return means, np.array(covs), weights


def test_pose_prior_is_min_component_negative_log_likelihood(tmp_path):
    rng = np.random.default_rng(0)
    means, covs, weights = write_prior(tmp_path / "prior.npz", rng)
    prior = PosePrior.load(tmp_path / "prior.npz")
    np.testing.assert_allclose(prior.mean_pose, weights @ means)
    for _ in range(5):
        theta = rng.normal(scale=0.3, size=69)
        nll = np.array(
            [
                -np.log(w) - multivariate_normal(m, c).logpdf(theta)
                for m, c, w in zip(means, covs, weights)
            ]
        )
        consts = np.array(
            [
                -np.log(w) - multivariate_normal(m, c).logpdf(m)
                for m, c, w in zip(means, covs, weights)
            ]
        )
        r, jac, best = prior.residuals(theta)
        assert best == int(np.argmin(nll))
        assert float(r @ r) == pytest.approx(nll.min() - consts.min(), rel=1e-8)
        assert jac.shape == (70, 69) and np.all(jac[69] == 0)


def test_shipped_pose_prior_loads():
    prior = PosePrior.load()
    assert prior.means.shape[1] == 69 and np.all(np.isfinite(prior.costs))
    r, _, _ = prior.residuals(prior.mean_pose)
    assert np.isfinite(r).all()


def test_pose_prior_file_errors(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        PosePrior.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", means=np.zeros((2, 10)))
    with pytest.raises(ModelFileError, match="bad.npz"):
        PosePrior.load(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ModelFileError, match="junk.npz"):
        PosePrior.load(tmp_path / "junk.npz")


def test_angle_prior_penalises_bending_the_wrong_way():
    pose = np.zeros(72)
    base = float((angle_prior(pose)[0] ** 2).sum())
    for joint, axis, wrong in (
        ("left_elbow", 1, 1.0),
        ("right_elbow", 1, -1.0),
        ("left_knee", 0, -1.0),
        ("right_knee", 0, -1.0),
    ):
        p = pose.copy()
        p[3 * J[joint] + axis] = 0.8 * wrong
        bad = float((angle_prior(p)[0] ** 2).sum())
        p[3 * J[joint] + axis] = -0.8 * wrong
        good = float((angle_prior(p)[0] ** 2).sum())
        assert bad > base > good, joint


def test_joint_limits_are_hinges_and_mirror_symmetric():
    assert within_joint_limits(np.zeros(72))
    assert np.all(np.isinf(JOINT_LIMIT_LOWER[:3]))  # global orientation is free
    r, _, idx = joint_limits(np.zeros(72))
    assert len(r) == 0 and len(idx) == 0
    pose = np.zeros(72)
    k = 3 * J["left_knee"]
    pose[k] = JOINT_LIMIT_LOWER[k] - 0.2  # hyperextended knee
    r, sign, idx = joint_limits(pose)
    assert list(idx) == [k] and r[0] == pytest.approx(0.2) and sign[0] == -1
    assert not within_joint_limits(pose) and within_joint_limits(pose, tolerance=0.25)
    # mirroring the body (x stays, y and z flip) maps each box onto the other side's
    perm = (3 * MIRROR_PERMUTATION[:, None] + np.arange(3)).ravel()
    flip = np.tile([1.0, -1.0, -1.0], 24)
    lo, hi = JOINT_LIMIT_LOWER[perm] * flip, JOINT_LIMIT_UPPER[perm] * flip
    np.testing.assert_allclose(np.minimum(lo, hi)[3:], JOINT_LIMIT_LOWER[3:])
    np.testing.assert_allclose(np.maximum(lo, hi)[3:], JOINT_LIMIT_UPPER[3:])


def sphere_overlaps(body, spheres, pose, betas):
    kin = kinematics_from_model(body, 10)
    pts, jac = kin.evaluate(pose, betas, np.zeros(3))
    return spheres.residuals(pts, jac, betas, slice(72, 82))[0]


def test_spheres_free_at_rest_and_overlap_when_legs_cross(body):
    spheres = SphereBody(body, 10)
    assert len(spheres.pairs) > 50
    assert len(sphere_overlaps(body, spheres, np.zeros(72), np.zeros(10))) == 0
    pose = np.zeros(72)
    pose[3 * J["left_hip"] + 2] = -0.45  # left leg swung across the right one
    assert sphere_overlaps(body, spheres, pose, np.zeros(10)).sum() > 0.01


def test_sphere_radii_follow_shape(body):
    spheres = SphereBody(body, 10)
    girth = np.zeros(10)
    girth[1] = 2.0  # the toy body's second shape direction inflates every limb
    grown = spheres.radius0 + spheres.radius_dirs @ girth
    assert np.all(grown >= spheres.radius0 - 1e-4) and np.mean(grown > spheres.radius0) > 0.8


def test_sphere_part_pairs_are_mirror_symmetric_and_spare_the_shoulders():
    from blender_smplify.core.priors import _part_list, _part_pairs

    names = [p[0] for p in _part_list()]
    pairs = set(_part_pairs(names))

    def mirrored(name):
        for a, b in (("left_", "\0"), ("right_", "left_"), ("\0", "right_")):
            name = name.replace(a, b)
        return name

    assert pairs == {tuple(sorted(map(mirrored, p))) for p in pairs}
    # an upper arm meets the chest at the shoulder: that contact is no interpenetration
    assert not {("chest", "left_upper_arm"), ("chest", "right_upper_arm")} & pairs
    assert ("belly", "left_upper_arm") in pairs


def test_the_shipped_prior_is_read_once_and_shared_read_only():
    """Every fit without its own prior shares one loaded copy; nobody can change it for the
    others."""
    prior = shipped_pose_prior()
    assert shipped_pose_prior() is prior
    np.testing.assert_array_equal(prior.means, PosePrior.load().means)
    with pytest.raises(ValueError, match="read-only"):
        prior.means[0, 0] = 1.0
