"""Central differences, the yardstick of the analytic Jacobians' tests."""

from __future__ import annotations

import numpy as np


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """(*f(x).shape, n) derivative of ``f`` at ``x`` (n,) by central differences of step ``h``."""
    f0 = f(x)
    out = np.zeros(f0.shape + (len(x),))
    for k in range(len(x)):
        xp, xm = x.copy(), x.copy()
        xp[k] += h
        xm[k] -= h
        out[..., k] = (f(xp) - f(xm)) / (2 * h)
    return out
