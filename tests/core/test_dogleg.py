"""The dogleg solver against SciPy's least_squares, and its edge cases: NaN regions, no
curvature, singular systems, and every way it stops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import least_squares

from blender_smplify.core.dogleg import DoglegResult, Status, dogleg, dogleg_step


def normal_equations_of(fun, jac, log=None):
    """(F, g, H) of the residuals ``fun`` with Jacobian ``jac``; logs every point evaluated."""

    def normal_equations(x):
        if log is not None:
            log.append(np.array(x))
        r, J = fun(x), jac(x)
        return float(r @ r), J.T @ r, J.T @ J

    return normal_equations


def rosenbrock(x):
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def rosenbrock_jac(x):
    return np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])


def linear_problem(seed=0, rows=20, cols=5):
    rng = np.random.default_rng(seed)
    A, b = rng.normal(size=(rows, cols)), rng.normal(size=rows)
    return A, b, (lambda x: A @ x - b), (lambda x: A)


@pytest.mark.parametrize("x0", [(-1.2, 1.0), (2.0, -1.0), (0.0, 3.0)])
def test_rosenbrock_reaches_the_minimum_scipy_finds(x0):
    x0 = np.array(x0)
    ref = least_squares(rosenbrock, x0, jac=rosenbrock_jac, method="dogbox", xtol=1e-12)
    res = dogleg(
        normal_equations_of(rosenbrock, rosenbrock_jac),
        x0,
        max_iterations=200,
        ftol=1e-12,
        xtol=1e-12,
    )
    assert res.status.converged, res.message
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)
    assert res.cost == pytest.approx(2 * ref.cost, abs=1e-12)  # SciPy's cost is ½‖r‖²


def test_linear_least_squares_matches_scipy_and_lstsq():
    A, b, fun, jac = linear_problem()
    ref = least_squares(fun, np.zeros(5), jac=jac, method="dogbox")
    res = dogleg(normal_equations_of(fun, jac), np.zeros(5), ftol=1e-10)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-8)
    np.testing.assert_allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-10)
    assert res.cost == pytest.approx(2 * ref.cost, rel=1e-10)
    assert res.status.converged


def square_root_of_four(log):
    """r(x) = x² − 4 (minimum at x = 2), not finite beyond x = 3: from x = 0.5 with a wide
    trust region the Gauss-Newton step lands on x = 4.25."""

    def fun(x):
        return np.array([x[0] ** 2 - 4.0 if x[0] < 3.0 else np.nan])

    return normal_equations_of(fun, lambda x: np.array([[2.0 * x[0]]]), log)


def test_a_non_finite_step_shrinks_to_a_quarter_of_its_length_and_is_not_retried():
    log = []
    res = dogleg(square_root_of_four(log), np.array([0.5]), radius=100.0, ftol=1e-12)
    points = [float(p[0]) for p in log]
    assert points[1] == pytest.approx(4.25)  # the full Gauss-Newton step, into the NaN region
    # next: a step of a quarter of the failed one (scale D = |2x| = 1 at the start)
    assert points[2] == pytest.approx(0.5 + 0.25 * 3.75)
    assert sum(p >= 3.0 for p in points) == 1, points
    assert len(set(points)) == len(points), "a point was evaluated twice"
    assert res.status.converged and res.x[0] == pytest.approx(2.0, abs=1e-6)


def test_non_positive_curvature_goes_to_the_boundary_along_the_gradient():
    # gᵀHg = 0: no curvature at all, or g in the null space of a singular H
    for g, H in (([3.0, -4.0], np.zeros((2, 2))), ([5.0, 0.0], np.diag([0.0, 1.0]))):
        g = np.array(g)
        h = dogleg_step(H, g, radius=0.5)
        np.testing.assert_allclose(h, -0.5 * g / 5.0, atol=1e-12)


def test_singular_system_still_converges_to_a_minimiser():
    # two identical columns: H is exactly singular, every x with x0 + x1 = c is optimal
    A, b, _, _ = linear_problem(seed=1, cols=3)
    A = np.c_[A, A[:, :1]]
    fun, jac = (lambda x: A @ x - b), (lambda x: A)
    assert np.linalg.matrix_rank(A.T @ A) == 3
    res = dogleg(normal_equations_of(fun, jac), np.zeros(4), ftol=1e-12)
    best = np.linalg.lstsq(A, b, rcond=None)[0]
    assert np.all(np.isfinite(res.x))
    assert res.cost == pytest.approx(float(np.sum((A @ best - b) ** 2)), rel=1e-9)
    assert res.status.converged


def test_each_status():
    _, _, fun, jac = linear_problem()
    ne = normal_equations_of(fun, jac)
    # converged by ftol: Rosenbrock with a constant residual left at the optimum
    offset = normal_equations_of(
        lambda x: np.r_[rosenbrock(x), 0.5], lambda x: np.r_[rosenbrock_jac(x), [[0.0, 0.0]]]
    )
    res = dogleg(offset, np.array([-1.2, 1.0]), max_iterations=100)
    assert res.status is Status.CONVERGED and "ftol" in res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-3)
    # by a negligible step: a zero-residual problem
    zero = normal_equations_of(lambda x: x - 1.0, lambda x: np.eye(len(x)))
    res = dogleg(zero, np.zeros(3))
    assert res.status is Status.SMALL_STEP and res.cost == 0.0
    assert "xtol" in res.message
    # the iteration limit
    res = dogleg(
        normal_equations_of(rosenbrock, rosenbrock_jac), np.array([-1.2, 1.0]), max_iterations=2
    )
    assert res.status is Status.MAX_ITERATIONS and res.iterations == 2
    # cancelled by the callback: the best point so far, after exactly that iteration
    seen = []

    def stop_at_two(it, F):
        seen.append(F)
        return it < 2

    res = dogleg(
        normal_equations_of(rosenbrock, rosenbrock_jac),
        np.array([-1.2, 1.0]),
        callback=stop_at_two,
    )
    assert res.status is Status.CANCELLED and res.iterations == 2 and res.cost == seen[-1]
    assert res.message == "cancelled"
    # a start whose energy is not finite is said so, not "cancelled"
    res = dogleg(ne, np.full(5, np.nan), callback=lambda it, F: False)
    assert res.status is Status.NONFINITE_START and res.iterations == 0
    assert "not finite" in res.message
    assert {s.value for s in Status} == {0, 1, 2, 3, 4}


def test_result_is_frozen():
    res = dogleg(normal_equations_of(lambda x: x - 1.0, lambda x: np.eye(1)), np.zeros(1))
    assert isinstance(res, DoglegResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.cost = 0.0
