"""Powell's dogleg trust-region method for small dense least-squares problems.

Minimises F(x) = ‖r(x)‖² given, at each point, the normal equations g = Jᵀr and H = JᵀJ
(the objective assembles them block by block, so the solver never sees J). Each iteration:

1. scale the variables by D = √diag(H) (running maximum, as MINPACK), so one trust radius
   serves radians, shape coefficients and metres;
2. Gauss-Newton step h_gn = −H⁻¹g by a dense LU solve (``np.linalg.solve``) of the scaled
   system; when the solve fails or gives non-finite values, again with a ridge
   1e-12 · max diag(H) · I that grows a hundredfold per try (six tries), and at last a scaled
   gradient step; and the Cauchy step h_sd = −(gᵀg / gᵀHg) g;
3. dogleg step: h_gn when inside the radius Δ, else the point where the path
   0 → h_sd → h_gn crosses ‖h‖ = Δ (along −g when gᵀHg ≤ 0: no positive curvature);
4. accept when F decreases; grow Δ when the gain ratio ρ = (F − F_new)/(−2gᵀh − hᵀHh) > 0.75,
   shrink it to ½‖h‖ when ρ < 0.25, and to ¼‖h‖ when F(x + h) is not finite (as SciPy's
   ``dogbox``), so the next step is shorter than the failed one and never lands on it again.

It stops with a :class:`Status`: the energy stopped decreasing (``ftol``), the step or the
trust region became negligible (``xtol``), the iteration limit, the callback's cancel, or a
starting point whose energy is not finite.

References: M. J. D. Powell, "A hybrid method for nonlinear equations" (1970); K. Madsen,
H. B. Nielsen, O. Tingleff, "Methods for non-linear least squares problems" (2004), Sec. 3.3.
Limits: dense linear algebra on the free variables only; meant for ≤ a few hundred variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

#: Trust radius below which the solver stops (scaled variables).
MIN_RADIUS = 1e-10
#: Fraction of a failed (non-finite) step's length the trust radius shrinks to.
NONFINITE_SHRINK = 0.25


class Status(IntEnum):
    """Why a solver run, or a whole fit, stopped. The values 0-2 are those of the fit's JSON."""

    CONVERGED = 0
    MAX_ITERATIONS = 1
    CANCELLED = 2
    NONFINITE_START = 3
    SMALL_STEP = 4

    @property
    def message(self) -> str:
        """A readable sentence for the user."""
        return _MESSAGES[self]

    @property
    def converged(self) -> bool:
        """True for the two ways of converging (ftol and xtol)."""
        return self in (Status.CONVERGED, Status.SMALL_STEP)


_MESSAGES = {
    Status.CONVERGED: "converged: the energy stopped decreasing (ftol)",
    Status.MAX_ITERATIONS: "stopped at the iteration limit",
    Status.CANCELLED: "cancelled",
    Status.NONFINITE_START: "the energy at the starting point is not finite",
    Status.SMALL_STEP: "converged: the step became negligible (xtol)",
}


@dataclass(frozen=True)
class DoglegResult:
    """What :func:`dogleg` returns.

    Attributes
    ----------
    x : (n,) best point found (the start when nothing better was).
    cost : F(x).
    iterations : solver iterations (one normal-equation evaluation each).
    evaluations : normal-equation evaluations, the start's included.
    status : why it stopped.
    radius : the trust radius at the end (scaled variables), to go on from.
    """

    x: np.ndarray
    cost: float
    iterations: int
    evaluations: int
    status: Status
    radius: float = 1.0

    @property
    def message(self) -> str:
        return self.status.message


#: solve(A (n, n), b (n,)) -> x (n,) with A x = b; raises np.linalg.LinAlgError when singular
Solver = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _gn_step(H: np.ndarray, g: np.ndarray, solve: Solver = np.linalg.solve) -> np.ndarray:
    """Gauss-Newton step −H⁻¹g (n,) by LU (or ``solve``), with a growing ridge when H is
    singular."""
    ridge = 1e-12 * max(float(np.max(np.diag(H))), 1.0)
    diagonal = np.diag_indices(len(g))
    for _ in range(6):
        ridged = H.copy()
        ridged[diagonal] += ridge  # H + ridge I without forming I
        try:
            h = solve(ridged, -g)
        except np.linalg.LinAlgError:
            h = None
        if h is not None and np.all(np.isfinite(h)):
            return h
        ridge *= 100.0
    return -g / max(float(np.max(np.diag(H))), 1.0)


def dogleg_step(
    H: np.ndarray, g: np.ndarray, radius: float, solve: Solver = np.linalg.solve
) -> np.ndarray:
    """Dogleg step (n,) for the model F + 2gᵀh + hᵀHh inside ‖h‖ ≤ radius."""
    h_gn = _gn_step(H, g, solve)
    if np.linalg.norm(h_gn) <= radius:
        return h_gn
    gHg = float(g @ H @ g)
    gg = float(g @ g)
    if gHg <= 0.0:  # no positive curvature along −g: go to the boundary
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
    *,
    max_iterations: int = 50,
    ftol: float = 1e-5,
    xtol: float = 1e-8,
    radius: float = 1.0,
    callback: Callable[[int, float], bool | None] | None = None,
    solve: Solver = np.linalg.solve,
) -> DoglegResult:
    """Minimise ‖r(x)‖² from x0.

    Parameters
    ----------
    normal_equations : x (n,) -> (F, g (n,), H (n, n)).
    x0 : (n,) starting point.
    max_iterations : solver iterations (one normal-equation evaluation each).
    ftol : stop when an accepted step lowers F by less than ftol · F.
    xtol : stop when the scaled step is shorter than xtol · (‖D x‖ + xtol).
    radius : initial trust radius in the scaled variables.
    callback : (iteration, F) -> False to stop now with the best point so far.
    solve : the linear solver of the Gauss-Newton step, for a structured H (default: dense LU).

    Returns
    -------
    DoglegResult; its status is NONFINITE_START (and x the start) when F(x0) is not finite.
    """
    x = np.array(x0, dtype=np.float64)
    F, g, H = normal_equations(x)
    evaluations = 1
    if not np.isfinite(F):
        return DoglegResult(x, F, 0, evaluations, Status.NONFINITE_START, radius)
    D = np.sqrt(np.maximum(np.diag(H), 1e-12))
    status = Status.MAX_ITERATIONS
    it = 0
    while it < max_iterations:
        it += 1
        D = np.maximum(D, np.sqrt(np.diag(H)))
        Hs = H / D[:, None] / D[None, :]
        gs = g / D
        hs = dogleg_step(Hs, gs, radius, solve)
        step = float(np.linalg.norm(hs))
        predicted = -(2.0 * float(gs @ hs) + float(hs @ Hs @ hs))
        x_new = x + hs / D
        F_new, g_new, H_new = normal_equations(x_new)
        evaluations += 1
        if not np.isfinite(F_new):
            radius = NONFINITE_SHRINK * step
            if radius < MIN_RADIUS:
                status = Status.SMALL_STEP
                break
            continue
        small_step = step <= xtol * (np.linalg.norm(D * x) + xtol)
        rho = (F - F_new) / predicted if predicted > 0 else -1.0
        if rho > 0.75:
            radius = max(radius, 3.0 * step)
        elif rho < 0.25:
            radius = 0.5 * step
        accepted = F_new < F
        if accepted:
            decrease = F - F_new
            x, F, g, H = x_new, F_new, g_new, H_new
        if callback is not None and callback(it, F) is False:
            status = Status.CANCELLED
            break
        if accepted and decrease <= ftol * F:
            status = Status.CONVERGED
            break
        if small_step or radius < MIN_RADIUS:
            status = Status.SMALL_STEP
            break
    return DoglegResult(x, F, it, evaluations, status, radius)
