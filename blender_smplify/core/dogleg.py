"""Powell's dogleg trust-region method for small dense least-squares problems.

Minimises F(x) = ‖r(x)‖² given, at each point, the normal equations g = Jᵀr and H = JᵀJ
(the objective assembles them block by block, so the solver never sees J). Each iteration:

1. scale the variables by D = √diag(H) (running maximum, as MINPACK), so one trust radius
   serves radians, shape coefficients and metres;
2. Gauss-Newton step h_gn = −H⁻¹g (Cholesky, with a tiny ridge when H is singular) and
   Cauchy step h_sd = −(gᵀg / gᵀHg) g in the scaled space;
3. dogleg step: h_gn when inside the radius Δ, else the point where the path
   0 → h_sd → h_gn crosses ‖h‖ = Δ;
4. accept when F decreases; grow Δ when the gain ratio ρ = (F − F_new)/(−2gᵀh − hᵀHh) > 0.75,
   shrink it when ρ < 0.25 or F is not finite.

References: M. J. D. Powell, "A hybrid method for nonlinear equations" (1970); K. Madsen,
H. B. Nielsen, O. Tingleff, "Methods for non-linear least squares problems" (2004), Sec. 3.3.
Limits: dense linear algebra on the free variables only; meant for ≤ a few hundred variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: status codes of :class:`DoglegResult`
CONVERGED, MAX_ITERATIONS, STOPPED = 0, 1, 2


@dataclass
class DoglegResult:
    """x (n,) best point, cost F(x), iterations, evaluations, status (CONVERGED, ...)."""

    x: np.ndarray
    cost: float
    iterations: int
    evaluations: int
    status: int


def _gn_step(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    ridge = 1e-12 * max(float(np.max(np.diag(H))), 1.0)
    eye = np.eye(len(g))
    for _ in range(6):
        try:
            h = np.linalg.solve(H + ridge * eye, -g)
        except np.linalg.LinAlgError:
            h = None
        if h is not None and np.all(np.isfinite(h)):
            return h
        ridge *= 100.0
    return -g / max(float(np.max(np.diag(H))), 1.0)


def dogleg_step(H: np.ndarray, g: np.ndarray, radius: float) -> np.ndarray:
    """Dogleg step (n,) for the model F + 2gᵀh + hᵀHh inside ‖h‖ ≤ radius."""
    h_gn = _gn_step(H, g)
    if np.linalg.norm(h_gn) <= radius:
        return h_gn
    gHg = float(g @ H @ g)
    gg = float(g @ g)
    if gHg <= 0.0:
        return -radius * g / max(np.sqrt(gg), 1e-300)
    h_sd = -(gg / gHg) * g
    n_sd = np.linalg.norm(h_sd)
    if n_sd >= radius:
        return radius * h_sd / n_sd
    # find b in [0, 1] with ‖h_sd + b (h_gn − h_sd)‖ = radius
    d = h_gn - h_sd
    a2, a1, a0 = float(d @ d), 2.0 * float(h_sd @ d), n_sd * n_sd - radius * radius
    b = (-a1 + np.sqrt(max(a1 * a1 - 4.0 * a2 * a0, 0.0))) / (2.0 * a2)
    return h_sd + b * d


def dogleg(
    normal_equations: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]],
    x0: np.ndarray,
    max_iterations: int = 50,
    ftol: float = 1e-5,
    xtol: float = 1e-8,
    radius: float = 1.0,
    callback: Callable[[int, float], bool] | None = None,
) -> DoglegResult:
    """Minimise ‖r(x)‖² from x0.

    Parameters
    ----------
    normal_equations : x (n,) -> (F, g (n,), H (n, n)).
    max_iterations : solver iterations (one normal-equation evaluation each).
    ftol : stop when an accepted step lowers F by less than ftol · F.
    xtol : stop when the scaled step is shorter than xtol · (‖D x‖ + xtol).
    radius : initial trust radius in the scaled variables.
    callback : (iteration, F) -> False to stop now with the best point so far.
    """
    x = np.array(x0, dtype=np.float64)
    F, g, H = normal_equations(x)
    evaluations = 1
    if not np.isfinite(F):
        return DoglegResult(x, F, 0, evaluations, STOPPED)
    D = np.sqrt(np.maximum(np.diag(H), 1e-12))
    status = MAX_ITERATIONS
    it = 0
    while it < max_iterations:
        it += 1
        D = np.maximum(D, np.sqrt(np.diag(H)))
        Hs = H / D[:, None] / D[None, :]
        gs = g / D
        hs = dogleg_step(Hs, gs, radius)
        predicted = -(2.0 * float(gs @ hs) + float(hs @ Hs @ hs))
        x_new = x + hs / D
        F_new, g_new, H_new = normal_equations(x_new)
        evaluations += 1
        small_step = np.linalg.norm(hs) <= xtol * (np.linalg.norm(D * x) + xtol)
        if not np.isfinite(F_new):
            radius *= 0.25
            continue
        rho = (F - F_new) / predicted if predicted > 0 else -1.0
        if rho > 0.75:
            radius = max(radius, 3.0 * np.linalg.norm(hs))
        elif rho < 0.25:
            radius = 0.5 * np.linalg.norm(hs)
        accepted = F_new < F
        if accepted:
            decrease = F - F_new
            x, F, g, H = x_new, F_new, g_new, H_new
        if callback is not None and callback(it, F) is False:
            status = STOPPED
            break
        if accepted and decrease <= ftol * F:
            status = CONVERGED
            break
        if small_step or radius < 1e-10:
            status = CONVERGED
            break
    return DoglegResult(x, F, it, evaluations, status)
