"""Learn the detector's limb-joint confidence on the LSP tuning half; check it on the other.

    python benchmarks/studies/detector_calibration.py CANDIDATES.npz

``CANDIDATES.npz`` is what ``detector_candidates.py`` writes. A limb joint is "correct" when
MoveNet's joint lies within PCK@0.2 of the truth. Logistic regression of correctness on
features of each joint is fitted on the tuning half (im1001–im1150); the validation half
reports its log loss, Brier score and AUC (how well the confidence ranks right above wrong
joints) against the old confidence sqrt(BlazePose confidence × MoveNet score). The weights of
the feature set "m, d" are ``DetectorSettings.confidence_weights``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector_lsp import halves  # noqa: E402


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def logistic_fit(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """(F,) weights of P(y) = sigmoid(x @ w) for (N, F) features, by Newton's method."""
    w = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x @ w))
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(w))
        w -= np.linalg.solve(hess, x.T @ (p - y))
    return w


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Probability that a random correct joint has a higher confidence than a wrong one."""
    rank = np.empty(len(p))
    rank[np.argsort(p)] = np.arange(len(p))
    n1 = y.sum()
    return float((rank[y == 1].sum() - n1 * (n1 - 1) / 2) / (n1 * (len(y) - n1)))


def scores(p: np.ndarray, y: np.ndarray) -> str:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    loss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return f"log loss {loss:.3f}, Brier {np.mean((p - y) ** 2):.4f}, AUC {auc(p, y):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", type=Path)
    args = parser.parse_args(argv)
    d = np.load(args.candidates, allow_pickle=True)
    truth, parts = d["truth"], halves(d["image"])
    torso = np.linalg.norm(truth[:, 8] - truth[:, 3], axis=1)
    m_xy, m, b_xy, b = d["move/xy"], d["move/score"], d["blaze/xy"], d["blaze/score"]
    y = (np.linalg.norm(m_xy - truth[:, :12], axis=2) <= 0.2 * torso[:, None]).astype(float)
    found_torso = np.maximum(np.linalg.norm(m_xy[:, 8] - m_xy[:, 3], axis=1), 1.0)
    apart = np.minimum(np.linalg.norm(m_xy - b_xy, axis=2) / found_torso[:, None], 2.0)
    one = np.ones_like(m)
    features = {
        "old confidence": [logit(np.sqrt(m * b))],
        "m": [logit(m)],
        "m, b": [logit(m), logit(b)],
        "m, d": [logit(m), apart],
        "m, b, d": [logit(m), logit(b), apart],
    }
    tune, val = parts["tune"], parts["validate"]
    print(
        "validation half, old confidence as it is: "
        + scores(np.sqrt(m * b)[val].ravel(), y[val].ravel())
    )
    for name, cols in features.items():
        x = np.stack([*cols, one], axis=-1)
        w = logistic_fit(x[tune].reshape(-1, x.shape[-1]), y[tune].ravel())
        p = 1 / (1 + np.exp(-x[val].reshape(-1, x.shape[-1]) @ w))
        print(f"{name:<15s} weights {np.round(w, 2)}; validation: {scores(p, y[val].ravel())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
