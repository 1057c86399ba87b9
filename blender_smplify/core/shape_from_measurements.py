"""Shape coefficients β from body measurements: a body that has the measurements asked for.

Given targets t_i for any subset of the measurements of :mod:`.measurements` (metres), solve

    min_β  Σ_i ((m_i(β) − t_i) / τ)²  +  λ ‖β − β̄‖²

where m_i(β) is measurement i of the rest-pose body with shape β, τ a length scale (1 mm: a
miss of τ costs as much as one standard deviation of one shape coefficient) and ‖β − β̄‖² the
shape prior: the open models draw bodies as β ~ N(0, I), so β̄ = 0 by default; β̄ = the starting
shape keeps what the targets leave free (the rest of a fitted body) where it was. The
measurements the targets leave free then follow the prior: asking only for the hip girth gives
the most likely body with that hip, the others change with it.

Powell's dogleg (:mod:`.dogleg`) re-linearises m(β) at every step with the analytic Jacobian of
:mod:`.measurement_jacobian`, so the cuts' combinatorics (which edges a girth crosses) are
updated as the body changes. Bodies drawn from the models are recovered from their own
stature, chest, waist and hip within a fraction of a millimetre
(``tests/core/test_shape_from_measurements.py``; figures in ``docs/measurements.md``).

Targets name measurements by their full names (``left_thigh_girth``) or short ones: the name
without ``_girth`` or ``_length`` (``chest``, ``waist``, ``hip``, ``back``), and a two-sided
measurement without its side (``thigh``) sets both sides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .dogleg import Status, dogleg
from .errors import SmplifyError
from .measurement_jacobian import MeasurementJacobian
from .measurements import MEASUREMENT_NAMES

#: Targets this many of the model's standard deviations from its mean are refused as typos.
PLAUSIBLE_SD = 8.0
#: τ (metres): residuals are measured in this unit against the prior's unit β.
TOLERANCE = 0.001


@dataclass(frozen=True)
class MeasurementFit:
    """What :func:`shape_from_measurements` returns.

    Attributes
    ----------
    betas : (b,) the solved shape.
    targets : name -> metres asked for (full names).
    values : name -> metres, every measurement of the solved body.
    residuals : name -> value − target (metres), for each target.
    iterations : solver iterations; status : why the solver stopped; seconds : wall time.
    """

    betas: np.ndarray
    targets: dict[str, float]
    values: dict[str, float]
    residuals: dict[str, float]
    iterations: int
    status: Status
    seconds: float

    @property
    def max_abs_residual(self) -> float:
        """The largest |value − target| (metres)."""
        return max(abs(r) for r in self.residuals.values())


def resolve_name(name: str) -> list[str]:
    """Full measurement names meant by ``name`` (a full name, or a short one: see the module
    docstring); a readable SmplifyError for an unknown one."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    for candidate in (key, f"{key}_girth", f"{key}_length"):
        if candidate in MEASUREMENT_NAMES:
            return [candidate]
        sides = [f"{side}_{candidate}" for side in ("left", "right")]
        if all(s in MEASUREMENT_NAMES for s in sides):
            return sides
    short = sorted({_short(n) for n in MEASUREMENT_NAMES})
    raise SmplifyError(f"unknown measurement '{name}'; known: {', '.join(short)}")


def _short(name: str) -> str:
    for prefix in ("left_", "right_"):
        name = name.removeprefix(prefix)
    for suffix in ("_girth", "_length"):
        name = name.removesuffix(suffix)
    return name


def plausible_ranges(jacobian: MeasurementJacobian) -> dict[str, tuple[float, float]]:
    """name -> (low, high) metres: the model's mean body ± :data:`PLAUSIBLE_SD` standard
    deviations, a measurement's SD under β ~ N(0, I) being ‖∂m/∂β‖ at β = 0."""
    values, J = jacobian(np.zeros(jacobian.model.num_betas))
    sd = np.linalg.norm(J, axis=1)
    low, high = values - PLAUSIBLE_SD * sd, values + PLAUSIBLE_SD * sd
    return {
        n: (max(float(lo), 0.0), float(hi))
        for n, lo, hi in zip(MEASUREMENT_NAMES, low, high, strict=True)
    }


def check_targets(targets: dict, ranges: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Targets by full name, in metres; readable errors for unknown names and for values that
    are not numbers, not positive, or outside ``ranges`` (see :func:`plausible_ranges`)."""
    if not targets:
        raise SmplifyError("no target measurements given")
    checked: dict[str, float] = {}
    for name, value in targets.items():
        try:
            metres = float(value)
        except (TypeError, ValueError):
            raise SmplifyError(f"{name}: '{value}' is not a number (metres)") from None
        if not np.isfinite(metres) or metres <= 0.0:
            raise SmplifyError(f"{name} = {value}: a measurement must be a positive length")
        for full in resolve_name(name):
            low, high = ranges[full]
            if not low <= metres <= high:
                hint = ""
                if low <= metres / 100.0 <= high:
                    hint = f"; values are in metres: did you mean {metres / 100.0:g} m?"
                raise SmplifyError(
                    f"{full} = {metres:g} m is outside what this body model makes "
                    f"({low:.3f}–{high:.3f} m, its mean ± {PLAUSIBLE_SD:g} SD){hint}"
                )
            checked[full] = metres
    return checked


def shape_from_measurements(
    model,
    targets: dict[str, float],
    betas0: np.ndarray | None = None,
    *,
    num_betas: int | None = None,
    keep_start: bool = False,
    prior_weight: float = 1.0,
    tolerance: float = TOLERANCE,
    max_iterations: int = 30,
) -> MeasurementFit:
    """Solve β so the rest-pose body has the ``targets``' measurements.

    Parameters
    ----------
    model : a BodyModel, or a :class:`MeasurementJacobian` of one (reused: it holds the
        model's measurer, about 0.1 s to make).
    targets : measurement name (full or short) -> metres; any subset.
    betas0 : (b,) starting shape (default zeros).
    num_betas : how many shape coefficients to solve (default len(betas0), else all).
    keep_start : centre the prior on betas0 instead of the model's mean (keep what the targets
        leave free where it was).
    prior_weight : λ; tolerance : τ, metres (see the module docstring).
    max_iterations : dogleg iterations (one Jacobian evaluation each, ~25 ms).

    Returns
    -------
    MeasurementFit
    """
    start = time.perf_counter()
    jacobian = model if isinstance(model, MeasurementJacobian) else MeasurementJacobian(model)
    checked = check_targets(targets, plausible_ranges(jacobian))
    betas0 = _start(jacobian.model, betas0, num_betas)
    names = list(checked)
    t = np.array([checked[n] for n in names])
    mean = betas0.copy() if keep_start else np.zeros_like(betas0)
    root_weight = np.sqrt(prior_weight)

    def normal_equations(betas: np.ndarray):
        # r = [(m(β) − t) / τ ; √λ (β − β̄)],  g = Jᵣᵀ r,  H = Jᵣᵀ Jᵣ
        values, J = jacobian(betas, names)
        r_m, J_m = (values - t) / tolerance, J / tolerance
        r_p = root_weight * (betas - mean)
        F = float(r_m @ r_m + r_p @ r_p)
        g = J_m.T @ r_m + root_weight * r_p
        H = J_m.T @ J_m + prior_weight * np.eye(len(betas))
        return F, g, H

    solved = dogleg(normal_equations, betas0, max_iterations=max_iterations, ftol=1e-7)
    if solved.status == Status.NONFINITE_START:
        raise SmplifyError("the starting shape cannot be measured (a girth's cut found no loop)")
    measured = jacobian.measurer.measure(solved.x).values
    return MeasurementFit(
        betas=solved.x,
        targets=checked,
        values=measured,
        residuals={n: measured[n] - checked[n] for n in names},
        iterations=solved.iterations,
        status=solved.status,
        seconds=time.perf_counter() - start,
    )


def _start(model, betas0, num_betas) -> np.ndarray:
    """The starting β (b,): betas0 cut or zero-padded to num_betas."""
    given = np.zeros(0) if betas0 is None else np.asarray(betas0, dtype=np.float64).ravel()
    b = num_betas if num_betas is not None else (len(given) or model.num_betas)
    if not 1 <= b <= model.num_betas:
        raise SmplifyError(f"num_betas must be 1 … {model.num_betas}, got {b}")
    if not np.all(np.isfinite(given)):
        raise SmplifyError("the starting betas must be finite")
    start = np.zeros(b)
    start[: min(b, len(given))] = given[:b]
    return start
