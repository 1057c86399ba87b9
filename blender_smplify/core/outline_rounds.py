"""The silhouette stage's solver: the dogleg in rounds, the outline's correspondences held
within each round.

The silhouette term matches each mask boundary pixel to an outline point of the posed body
(``silhouette.SilhouetteBlock``). Re-chosen at every evaluation, that choice makes the energy
jump: one outline point turning a little toward the camera leaves the outline, and the pixels
it served are matched to points 15-20 cm away, each at its robust cap. The dogleg's trial
steps then see energies their linear model cannot predict, however short the step, and the
trust region collapses (docs/fit_silhouette.md, "The stalled stage"). So, as in ICP (Besl and McKay
1992), the correspondences are chosen at the start of a round and held during it, where the
term is a smooth function of the parameters; the next round chooses them again at the round's
result, with the trust radius carried on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .dogleg import DoglegResult, Status, dogleg


def round_lengths(iterations: int, rounds: int) -> list[int]:
    """``iterations`` split into at most ``rounds`` rounds, the longer ones first."""
    rounds = max(1, min(rounds, iterations))
    base, extra = divmod(iterations, rounds)
    return [base + (k < extra) for k in range(rounds) if base + (k < extra) > 0]


def dogleg_in_rounds(
    normal_equations: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]],
    x0: np.ndarray,
    hold: Callable[[np.ndarray], None],
    release: Callable[[], None],
    *,
    iterations: int,
    rounds: int,
    radius: float = 1.0,
    ftol: float = 1e-5,
    callback: Callable[[int, float], bool | None] | None = None,
    solve=np.linalg.solve,
) -> DoglegResult:
    """Minimise ‖r(x)‖² from x0 (n,) by ``dogleg.dogleg`` in ``rounds`` runs of
    ``iterations`` in all, each after ``hold(x)`` fixes the correspondences at its start;
    ``release()`` at the end. Iterations and evaluations are summed (the callback's iteration
    counts on across rounds); the status is the last round's, or the first CANCELLED /
    NONFINITE_START one, where the rounds stop."""
    x, done, evaluations = np.asarray(x0, dtype=np.float64), 0, 0
    res = DoglegResult(x, np.inf, 0, 0, Status.MAX_ITERATIONS, radius)
    try:
        for length in round_lengths(iterations, rounds):
            hold(x)
            res = dogleg(
                normal_equations,
                x,
                max_iterations=length,
                ftol=ftol,
                radius=res.radius,
                callback=_counting_on(callback, done),
                solve=solve,
            )
            x, done, evaluations = res.x, done + res.iterations, evaluations + res.evaluations
            if res.status in (Status.CANCELLED, Status.NONFINITE_START):
                break
    finally:
        release()
    return DoglegResult(x, res.cost, done, evaluations, res.status, res.radius)


def _counting_on(callback, done: int):
    """The callback with the iterations of earlier rounds added (None stays None)."""
    if callback is None:
        return None
    return lambda iteration, energy: callback(done + iteration, energy)
