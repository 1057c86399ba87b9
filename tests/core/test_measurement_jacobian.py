"""Analytic Jacobian of the measurements in β (core/measurement_jacobian.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.measurement_jacobian import MeasurementJacobian, measurement_jacobian
from blender_smplify.core.measurements import MEASUREMENT_NAMES, BodyMeasurer

STEP = 1e-5  # β units: moves the vertices by about 1e-7 m, far below any edge's crossing


@pytest.fixture(scope="module", params=["female", "male"])
def jacobian(request) -> MeasurementJacobian:
    return MeasurementJacobian(BodyMeasurer(BodyModel.load(gender=request.param)))


def central_differences(measurer: BodyMeasurer, betas: np.ndarray, names) -> np.ndarray:
    """(M, b) central differences of ``BodyMeasurer.measure`` in β."""
    columns = []
    for k in range(len(betas)):
        step = np.zeros(len(betas))
        step[k] = STEP
        up, down = measurer.measure(betas + step).values, measurer.measure(betas - step).values
        columns.append([(up[n] - down[n]) / (2 * STEP) for n in names])
    return np.array(columns).T


@pytest.mark.parametrize("seed", [0, 1])
def test_values_and_jacobian_match_the_measurer(jacobian, seed):
    betas = np.random.default_rng(seed).standard_normal(jacobian.model.num_betas)
    values, J = jacobian(betas)
    measured = jacobian.measurer.measure(betas).values
    np.testing.assert_allclose(values, [measured[n] for n in MEASUREMENT_NAMES], atol=1e-12)
    fd = central_differences(jacobian.measurer, betas, MEASUREMENT_NAMES)
    # per measurement: ‖J_row − fd_row‖ / ‖fd_row‖ (the rows are 0.003–0.1 m per unit β)
    relative = np.linalg.norm(J - fd, axis=1) / np.linalg.norm(fd, axis=1)
    worst = MEASUREMENT_NAMES[int(np.argmax(relative))]
    assert relative.max() < 1e-6, f"{worst}: relative error {relative.max():.2e}"


def test_a_subset_of_names_and_fewer_betas(jacobian):
    names = ["hip_girth", "stature", "left_calf_girth", "back_length", "chest_girth"]
    betas = np.random.default_rng(2).standard_normal(10)
    values, J = jacobian(betas, names)
    assert values.shape == (5,) and J.shape == (5, 10)
    measured = jacobian.measurer.measure(betas).values
    np.testing.assert_allclose(values, [measured[n] for n in names], atol=1e-12)
    fd = central_differences(jacobian.measurer, betas, names)
    np.testing.assert_allclose(J, fd, rtol=0, atol=1e-7 * np.abs(fd).max())


def test_the_moving_plane_is_part_of_the_derivative(jacobian, monkeypatch):
    """Holding the cut planes still (the plane's point and normal not differentiated) gives a
    visibly different Jacobian for the girths whose plane rides on a landmark or a bone: the
    test above would catch leaving that term out."""
    betas = np.random.default_rng(3).standard_normal(jacobian.model.num_betas)
    names = ["neck_girth", "left_thigh_girth", "left_upper_arm_girth", "hip_girth"]
    _, full = jacobian(betas, names)
    original = jacobian._plane_derivatives

    def still(cut, dirs):
        dp, dn = original(cut, dirs)
        return np.zeros_like(dp), np.zeros_like(dn)

    monkeypatch.setattr(jacobian, "_plane_derivatives", still)
    _, fixed = jacobian(betas, names)
    relative = np.linalg.norm(full - fixed, axis=1) / np.linalg.norm(full, axis=1)
    assert relative.min() > 1e-3


def test_time_is_a_small_multiple_of_measuring(jacobian):
    """One call (values and Jacobian of all 36) costs at most 4× a plain ``measure`` (medians of
    the same run; about 2× measured)."""
    betas = np.random.default_rng(4).standard_normal(jacobian.model.num_betas)
    plain, with_jacobian = [], []
    for _ in range(9):
        start = time.process_time()
        jacobian.measurer.measure(betas)
        plain.append(time.process_time() - start)
        start = time.process_time()
        jacobian(betas)
        with_jacobian.append(time.process_time() - start)
    assert np.median(with_jacobian) < 4 * np.median(plain) + 2e-3


def test_bad_input_is_named(jacobian):
    with pytest.raises(SmplifyError, match="unknown measurement.*chest_size"):
        jacobian(None, ["chest_girth", "chest_size"])
    with pytest.raises(SmplifyError, match="17 betas given"):
        jacobian(np.zeros(17))
    with pytest.raises(SmplifyError, match="finite"):
        jacobian(np.full(10, np.nan))


def test_convenience_function_takes_a_model():
    model = BodyModel.load(gender="neutral")
    values, J = measurement_jacobian(model, np.zeros(4), ["stature", "waist_girth"])
    assert J.shape == (2, 4) and np.all(np.isfinite(J)) and values[0] > 1.5
