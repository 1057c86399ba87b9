"""Measurements the user knows (stature, girths) as soft constraints of the fit on β.

One photo of joints cannot observe absolute size: a body twice as large and twice as far projects
the same. A known stature fixes it. Stature here is the definition of ``measurements.py``: on
the shaped rest mesh v(β) = v̄ + S β, the highest vertex's height above the lowest (the sole),

    s(β) = y_top(β) − y_sole(β),    ∂s/∂β = S_top,y − S_sole,y,

which is linear in β for a fixed pair of extreme vertices, so the Jacobian is exact wherever the
extremes do not change hands (a kink where two vertices tie, like any max). Only the vertices
near the template's top and bottom (``STATURE_BAND``) can be the extremes of a plausible body,
so only those are shaped.

Girths (chest, waist, hip, or any of ``measurements.GIRTHS``) are plane cuts of the mesh; their
values and Jacobian come from ``measurement_jacobian.MeasurementJacobian`` (the cut's edges,
interpolation weights and hull corners held at the current β), a linearisation taken anew when
β has moved by ``RELINEARISE`` (a cut costs about 40 ms on the loaded test machine: a fit with
known girths takes 0.6-0.8 s instead of 0.15 s, and lands within 2 mm of them).

The residuals are in metres, r = s(β) − s_known (and g(β) − g_known per girth), weighted by the
stage's λ (``SmplifyWeights.height``, ``.girths``); the blocks act on the β columns only.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping

import numpy as np

from .errors import SmplifyError
from .measurements import GIRTHS
from .objective import ResidualBlock

#: Statures (metres) the fit accepts: adults, as the shape spaces are adult ones.
HEIGHT_RANGE_M = (1.0, 2.5)
#: Girths the fit accepts, metres: the trunk's, and any other of ``measurements.GIRTHS``.
GIRTH_RANGES_M = {
    "chest_girth": (0.5, 2.0),
    "waist_girth": (0.4, 2.0),
    "hip_girth": (0.5, 2.0),
}
OTHER_GIRTH_RANGE_M = (0.05, 2.5)
GIRTH_NAMES = tuple(GIRTH_RANGES_M) + tuple(g.name for g in GIRTHS if g.name not in GIRTH_RANGES_M)
#: The girths' linearisation is taken anew when a β moves this far from where it was taken.
RELINEARISE = 0.3
#: Vertices within this distance (m) of the template's top or bottom may be the extremes.
STATURE_BAND = 0.06


class MeasurementError(SmplifyError):
    """A known measurement given to the fit is not a plausible adult value."""


def _cm(metres: float) -> str:
    return f"{100.0 * metres:.4g} cm"


def check_height(height: float | None) -> float | None:
    """The known stature in metres, None when unknown; a MeasurementError when implausible."""
    if height is None:
        return None
    try:
        value = float(height)
    except (TypeError, ValueError):
        raise MeasurementError(f"height must be a number of metres, got {height!r}") from None
    low, high = HEIGHT_RANGE_M
    if not np.isfinite(value) or not low <= value <= high:
        shown = f"{value:g} m ({_cm(value)})" if np.isfinite(value) else repr(value)
        raise MeasurementError(
            f"height must be between {_cm(low)} and {_cm(high)} (an adult's stature), got {shown}"
        )
    return value


def check_girths(girths: Mapping[str, float] | None) -> dict[str, float]:
    """Known girths {name: metres}, checked; a MeasurementError names the first bad one."""
    out: dict[str, float] = {}
    for name, value in (girths or {}).items():
        if name not in GIRTH_NAMES:
            known = ", ".join(GIRTH_NAMES)
            raise MeasurementError(f"unknown girth '{name}': the fit takes {known}")
        if value is None:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise MeasurementError(f"{name} must be a number of metres, got {value!r}") from None
        low, high = GIRTH_RANGES_M.get(name, OTHER_GIRTH_RANGE_M)
        if not np.isfinite(value) or not low <= value <= high:
            shown = f"{value:g} m ({_cm(value)})" if np.isfinite(value) else repr(value)
            raise MeasurementError(
                f"{name.replace('_', ' ')} must be between {_cm(low)} and {_cm(high)}, got {shown}"
            )
        out[name] = value
    return out


class Stature:
    """Stature of the shaped rest mesh and its gradient in β, from the candidate extremes.

    Parameters
    ----------
    model : v_template (V, 3), shapedirs (V, 3, B') in metres, y up.
    num_betas : B, the β the fit uses.
    """

    def __init__(self, model, num_betas: int) -> None:
        y = np.asarray(model.v_template, dtype=np.float64)[:, 1]
        dirs = np.asarray(model.shapedirs, dtype=np.float64)[:, 1, :num_betas]
        top = np.flatnonzero(y > y.max() - STATURE_BAND)
        sole = np.flatnonzero(y < y.min() + STATURE_BAND)
        self._top_y, self._top_dirs = y[top], dirs[top]
        self._sole_y, self._sole_dirs = y[sole], dirs[sole]

    def __call__(self, betas: np.ndarray) -> tuple[float, np.ndarray]:
        """s(β) in metres and ∂s/∂β (B,)."""
        top = self._top_y + self._top_dirs @ betas
        sole = self._sole_y + self._sole_dirs @ betas
        i, k = int(np.argmax(top)), int(np.argmin(sole))
        return float(top[i] - sole[k]), self._top_dirs[i] - self._sole_dirs[k]


class KnownHeightBlock(ResidualBlock):
    """r = s(β) − s_known (metres): the body's stature is the one the user gave."""

    name = "height"

    def __init__(self, stature: Stature, height: float) -> None:
        self.stature, self.height = stature, float(height)

    def residuals(self, state, stage, *, jacobian, compact):
        value, grad = self.stature(state.betas)
        r = np.array([value - self.height])
        if not jacobian:
            return r, None
        J = np.zeros((1, len(state.x)))
        J[0, state.beta_cols] = grad
        return r, J


#: girths(betas (B,)) -> (values (M,) metres, Jacobian (M, B)), in a fixed order of names
GirthFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class KnownGirthsBlock(ResidualBlock):
    """r_m = g_m(β) − g_m,known (metres) for each known girth, with the Jacobian of the
    girths' linearisation (``measurement_jacobian.py``)."""

    name = "girths"

    def __init__(self, girths: GirthFunction, targets: np.ndarray) -> None:
        self.girths, self.targets = girths, np.asarray(targets, dtype=np.float64)

    def residuals(self, state, stage, *, jacobian, compact):
        values, grad = self.girths(state.betas)
        r = np.nan_to_num(np.asarray(values, dtype=np.float64) - self.targets)
        if not jacobian:
            return r, None
        J = np.zeros((len(r), len(state.x)))
        J[:, state.beta_cols] = grad
        return r, J


def known_blocks(
    model, num_betas: int, height: float | None, girths: Mapping[str, float] | None
) -> list[ResidualBlock]:
    """The blocks of the known measurements (checked; none when nothing is known)."""
    height, girths = check_height(height), check_girths(girths)
    blocks: list[ResidualBlock] = []
    if height is not None:
        blocks.append(KnownHeightBlock(Stature(model, num_betas), height))
    if girths:
        names = tuple(girths)
        targets = np.array([girths[n] for n in names])
        blocks.append(KnownGirthsBlock(girth_function(model, num_betas, names), targets))
    return blocks


_JACOBIANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def girth_function(model, num_betas: int, names: tuple[str, ...]) -> GirthFunction:
    """girths(β) of ``names`` with their Jacobian, from their linearisation
    (``measurement_jacobian.MeasurementJacobian``: the cuts' edges, interpolation and hull
    corners held at β₀) g(β) ≈ g(β₀) + G (β − β₀), taken anew whenever β has moved by more
    than ``RELINEARISE`` from β₀ (a cut costs milliseconds; a fit evaluates hundreds of
    times). A girth whose cut finds no loop gives a zero residual and row (no evidence), not a
    NaN that stops the fit."""
    from .measurement_jacobian import MeasurementJacobian

    try:
        measure = _JACOBIANS.get(model)
        if measure is None:
            measure = _JACOBIANS[model] = MeasurementJacobian(model)
    except TypeError:  # a model that cannot be weakly referenced: no cache
        measure = MeasurementJacobian(model)
    around: list = []  # [β₀ (B,), g(β₀) (M,), G (M, B)] once linearised

    def girths(betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        betas = np.asarray(betas[:num_betas], dtype=np.float64)
        if not around or np.abs(betas - around[0]).max() > RELINEARISE:
            values, rows = measure(betas, names)
            around[:] = [betas.copy(), values, np.nan_to_num(rows)]
        b0, values, rows = around
        return values + rows @ (betas - b0), rows

    return girths
