"""Measurements the user knows (stature, girths) as soft constraints of the fit on β.

One photo of joints cannot observe absolute size: a body twice as large and twice as far projects
the same. A known stature fixes it. Stature here is the definition of ``measurements.py``: on
the shaped rest mesh v(β) = v̄ + S β, the highest vertex's height above the lowest (the sole),

    s(β) = y_top(β) − y_sole(β),    ∂s/∂β = S_top,y − S_sole,y,

which is linear in β for a fixed pair of extreme vertices, so the Jacobian is exact wherever the
extremes do not change hands (a kink where two vertices tie, like any max). Only the vertices
near the template's top and bottom (``STATURE_BAND``) can be the extremes of a plausible body,
so only those are shaped.

The residuals are in metres, r = s(β) − s_known (and m(β) − m_known per girth), weighted by the
stage's λ (``SmplifyWeights.height``, ``.girths``); the blocks act on the β columns only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .errors import SmplifyError
from .objective import ResidualBlock

#: Statures (metres) the fit accepts: adults, as the shape spaces are adult ones.
HEIGHT_RANGE_M = (1.0, 2.5)
#: Girths the fit accepts, metres.
GIRTH_RANGES_M = {
    "chest_girth": (0.5, 2.0),
    "waist_girth": (0.4, 2.0),
    "hip_girth": (0.5, 2.0),
}
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
        if name not in GIRTH_RANGES_M:
            known = ", ".join(GIRTH_RANGES_M)
            raise MeasurementError(f"unknown girth '{name}': the fit takes {known}")
        if value is None:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise MeasurementError(f"{name} must be a number of metres, got {value!r}") from None
        low, high = GIRTH_RANGES_M[name]
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
        r = np.asarray(values, dtype=np.float64) - self.targets
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
        from .measurement_jacobian import girth_function

        names = tuple(girths)
        targets = np.array([girths[n] for n in names])
        blocks.append(KnownGirthsBlock(girth_function(model, num_betas, names), targets))
    return blocks
