"""Shape from measurements (core/shape_from_measurements.py)."""

from __future__ import annotations

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.measurement_jacobian import MeasurementJacobian
from blender_smplify.core.shape_from_measurements import resolve_name, shape_from_measurements

KEY = ("stature", "chest_girth", "waist_girth", "hip_girth")
BIGGER = KEY + (
    "neck_girth",
    "left_thigh_girth",
    "left_calf_girth",
    "left_upper_arm_girth",
    "shoulder_width",
    "left_arm_length",
    "crotch_height",
    "back_length",
)


@pytest.fixture(scope="module", params=["female", "male"])
def jacobian(request) -> MeasurementJacobian:
    return MeasurementJacobian(BodyModel.load(gender=request.param))


@pytest.mark.parametrize("names", [KEY, BIGGER], ids=["4", "12"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_bodies_drawn_from_the_model_get_their_own_measurements_back(jacobian, seed, names):
    """The issue's done-when: asked for its own measurements, a body β ~ N(0, I) is matched
    within 5 mm on each (from the mean body; 1.7 mm worst here). Over 12 bodies per sex one
    female body is missed with 12 or 36 targets: its waist cut catches the breasts, a jump in
    the measurement no local solver crosses (docs/measurements.md)."""
    truth = np.random.default_rng(seed).standard_normal(jacobian.model.num_betas)
    own = jacobian.measurer.measure(truth).values
    result = shape_from_measurements(jacobian, {n: own[n] for n in names})
    assert set(result.residuals) == set(names)
    for name in names:
        assert abs(result.values[name] - own[name]) < 0.005, name
        assert result.residuals[name] == pytest.approx(result.values[name] - own[name])
    assert not np.allclose(result.betas, 0.0)


def test_the_prior_decides_what_the_targets_leave_free(jacobian):
    """Only the hip asked for: the others follow the population prior from the mean body, or
    stay where the start had them with keep_start."""
    start = np.random.default_rng(5).standard_normal(jacobian.model.num_betas)
    before = jacobian.measurer.measure(start).values
    target = {"hip": before["hip_girth"] + 0.05}
    kept = shape_from_measurements(jacobian, target, start, keep_start=True)
    free = shape_from_measurements(jacobian, target, start)
    assert abs(kept.residuals["hip_girth"]) < 0.002 and abs(free.residuals["hip_girth"]) < 0.002
    # keep_start moves β less, and the stature (not asked for) less
    assert np.linalg.norm(kept.betas - start) < np.linalg.norm(free.betas - start)
    moved = abs(kept.values["stature"] - before["stature"])
    assert moved < abs(free.values["stature"] - before["stature"])


def test_short_names_and_both_sides():
    assert resolve_name("chest") == ["chest_girth"]
    assert resolve_name("Back") == ["back_length"]
    assert resolve_name("thigh") == ["left_thigh_girth", "right_thigh_girth"]
    assert resolve_name("right_calf") == ["right_calf_girth"]
    assert resolve_name("stature") == ["stature"]


@pytest.mark.parametrize(
    "targets, message",
    [
        ({"chest_size": 1.0}, "unknown measurement 'chest_size'; known: ankle, ankle_height"),
        ({"waist": -0.8}, "waist = -0.8: a measurement must be a positive length"),
        ({"waist": float("nan")}, "must be a positive length"),
        ({"hip": "wide"}, "hip: 'wide' is not a number"),
        ({"chest": 3.5}, r"chest_girth = 3.5 m is outside what this body model makes \(0\."),
        ({"chest": 102}, "did you mean 1.02 m"),
        ({}, "no target measurements given"),
    ],
)
def test_bad_targets_are_named(jacobian, targets, message):
    with pytest.raises(SmplifyError, match=message):
        shape_from_measurements(jacobian, targets)


def test_bad_start_is_named(jacobian):
    with pytest.raises(SmplifyError, match="num_betas must be 1"):
        shape_from_measurements(jacobian, {"hip": 1.0}, num_betas=40)
    with pytest.raises(SmplifyError, match="starting betas must be finite"):
        shape_from_measurements(jacobian, {"hip": 1.0}, np.full(10, np.inf))


def test_fewer_betas_solve_with_that_many(jacobian):
    own = jacobian.measurer.measure(np.r_[np.ones(10) * 0.5]).values
    result = shape_from_measurements(jacobian, {n: own[n] for n in KEY}, np.zeros(10))
    assert result.betas.shape == (10,)
    assert result.max_abs_residual < 0.005
