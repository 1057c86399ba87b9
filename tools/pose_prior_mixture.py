"""The pose prior's Gaussian mixture: fitting candidates, the shipped arrays, log-likelihoods.

Used by ``train_pose_prior.py``. Fitting needs scikit-learn (build time only); everything else
is numpy. A candidate is (components K, floor f, shrink s): EM (with scikit-learn's small
``reg_covar`` for stability), then each component covariance pulled towards the covariance of
all training frames and floored, Σ_k ← (1 − s) Σ_k + s Σ + f I. Both widen narrow components,
so that poses between the trained activities keep a moderate energy; one EM fit serves every
(f, s).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from blender_smplify.core.joints import MIRROR_PERMUTATION

logger = logging.getLogger(__name__)


def mirror(body_pose: np.ndarray) -> np.ndarray:
    """Left-right mirror images of body poses (N, 69): swap sides, negate y and z of rotations."""
    full = np.concatenate([np.zeros((len(body_pose), 3)), body_pose], axis=1).reshape(-1, 24, 3)
    out = full[:, MIRROR_PERMUTATION] * np.array([1.0, -1.0, -1.0])
    return out.reshape(-1, 72)[:, 3:]


def gaussian_log_likelihood(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; mean, cov) per row of x (N, D)."""
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, (x - mean).T)
    return (
        -0.5 * (z**2).sum(0) - np.log(np.diag(chol)).sum() - 0.5 * x.shape[1] * np.log(2 * np.pi)
    )


def mixture_arrays(weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> dict:
    """The arrays shipped in pose_prior.npz, including the sum-of-squares form.

    ``precisions_cholesky[k]`` is lower triangular L with inverse(cov_k) = L L^T, and
    ``-log(w_k N(x; mu_k, cov_k)) = 0.5 ||L^T (x - mu_k)||^2 - log_normalizers[k]``.
    """
    d = means.shape[1]
    prec_chol = np.empty_like(covariances)
    log_norm = np.empty(len(weights))
    for k, cov in enumerate(covariances):
        prec = np.linalg.inv(cov)
        prec = 0.5 * (prec + prec.T)
        prec_chol[k] = np.linalg.cholesky(prec)
        log_norm[k] = (
            np.log(weights[k]) - 0.5 * d * np.log(2 * np.pi) + np.log(np.diag(prec_chol[k])).sum()
        )
    return {
        "weights": weights,
        "means": means,
        "covariances": covariances,
        "precisions_cholesky": prec_chol,
        "log_normalizers": log_norm,
    }


def _component_terms(x: np.ndarray, arrays: dict) -> np.ndarray:
    """(N, K) log(w_k N(x; mu_k, cov_k)) from the shipped arrays."""
    terms = []
    for k in range(len(arrays["weights"])):
        r = (x - arrays["means"][k]) @ arrays["precisions_cholesky"][k]
        terms.append(arrays["log_normalizers"][k] - 0.5 * (r**2).sum(1))
    return np.stack(terms, axis=1)


def mixture_log_likelihood(x: np.ndarray, arrays: dict) -> np.ndarray:
    """log sum_k w_k N(x; mu_k, cov_k) per row."""
    terms = _component_terms(x, arrays)
    top = terms.max(1)
    return top + np.log(np.exp(terms - top[:, None]).sum(1))


def min_component_energy(x: np.ndarray, arrays: dict) -> np.ndarray:
    """min_k -log(w_k N(x; mu_k, cov_k)) per row: the pose-prior energy of SMPLify."""
    return -_component_terms(x, arrays).max(1)


@dataclass(frozen=True)
class Candidate:
    """Mixture settings: components, covariance floor added after EM (rad²), shrink weight."""

    components: int
    floor: float
    shrink: float

    def label(self) -> str:
        return f"K={self.components} floor={self.floor:g} shrink={self.shrink:g}"


def fit_em(
    x: np.ndarray, components: int, seed: int, reg: float = 1e-4, max_iter: int = 100
) -> dict[str, np.ndarray]:
    """EM fit (scikit-learn, k-means start seeded by ``seed``, ``reg`` added to the covariances
    during EM): weights (K,), means (K, D), covariances (K, D, D)."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(
        components,
        covariance_type="full",
        reg_covar=reg,
        n_init=1,
        max_iter=max_iter,
        random_state=seed,
    ).fit(x)
    logger.info("EM K=%d: %d iterations, converged %s", components, gmm.n_iter_, gmm.converged_)
    return {"weights": gmm.weights_, "means": gmm.means_, "covariances": gmm.covariances_}


def regularised(
    em: dict[str, np.ndarray], x: np.ndarray, floors: list[float], shrinks: list[float]
) -> dict[Candidate, dict]:
    """Shipped arrays for each floor f and shrink s: Σ_k ← (1 − s) Σ_k + s Σ + f I, with Σ the
    covariance of the training frames ``x`` (N, D)."""
    glob = np.cov(x.T)
    eye = np.eye(x.shape[1])
    k = len(em["weights"])
    return {
        Candidate(k, f, a): mixture_arrays(
            em["weights"], em["means"], (1 - a) * em["covariances"] + a * glob + f * eye
        )
        for f in floors
        for a in shrinks
    }


def scores(arrays: dict, x_train: np.ndarray, held: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean log-likelihood per frame on the training frames and on each held-out category,
    and ``held_out_mean``: the average over categories (each category counts once)."""
    out = {"train": float(mixture_log_likelihood(x_train, arrays).mean())}
    for name, x in held.items():
        out[name] = float(mixture_log_likelihood(x, arrays).mean())
    out["held_out_mean"] = float(np.mean([out[n] for n in held]))
    return out
