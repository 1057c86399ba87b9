"""Known measurements in the fit (core/known_measurements.py): stature, girths, bad values."""

from __future__ import annotations

import numpy as np
import pytest
from toy_camera import FOCAL, SIZE, project

from blender_smplify.core.fit import fit
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.keypoints import Keypoints2D
from blender_smplify.core.known_measurements import (
    MeasurementError,
    Stature,
    check_girths,
    check_height,
)
from blender_smplify.core.priors import PosePrior
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues


def synthetic_keypoints(model, betas, rng, yaw=0.3, noise=3.0) -> Keypoints2D:
    """smpl24 keypoints of the body ``betas`` in the prior's mean pose, 4 m away, 3 px noise."""
    pose = np.zeros(72)
    pose[3:] = PosePrior.load().mean_pose
    pose[:3] = matrix_to_rotvec(rodrigues(np.array([np.pi, 0, 0])) @ rodrigues(np.r_[0, yaw, 0]))
    pts, _ = get_setup(model, "smpl24", 10).kin.evaluate(pose, betas, np.r_[0, 0.1, 4.0], False)
    xy = project(pts[:24]) + rng.normal(scale=noise, size=(24, 2))
    return Keypoints2D("smpl24", xy, np.ones(24))


def test_stature_is_the_measurers_stature(male, measurer):
    """The fit's stature and its gradient agree with measurements.py on random bodies."""
    stature = Stature(male, 10)
    rng = np.random.default_rng(0)
    for betas in rng.normal(scale=1.5, size=(5, 10)):
        value, grad = stature(betas)
        assert value == pytest.approx(measurer.measure(betas).values["stature"], abs=1e-12)
        step = 1e-4 * rng.normal(size=10)
        ahead = measurer.measure(betas + step).values["stature"]
        assert ahead - value == pytest.approx(grad @ step, abs=1e-10)


def test_a_known_height_fixes_the_fitted_stature(male, measurer):
    """Given the height, the fitted body's stature is within 5 mm of it; without, it is not
    (size and depth trade freely in one photo, so the prior's mean height wins)."""
    rng = np.random.default_rng(1)
    errors_known, errors_unknown, terms = [], [], []
    for betas in rng.normal(size=(3, 10)):
        betas[0] = 2.0 * np.sign(betas[0])  # far enough from the mean height to tell
        keypoints = synthetic_keypoints(male, betas, rng)
        true = measurer.measure(betas).values["stature"]
        for height, errors in ((true, errors_known), (None, errors_unknown)):
            result = fit(male, keypoints, SIZE, FOCAL, height=height)
            errors.append(abs(measurer.measure(result.betas).values["stature"] - true))
            terms.append(("height" in result.energy) == (height is not None))
    assert max(errors_known) < 0.005, errors_known
    assert min(errors_unknown) > 0.02, errors_unknown
    assert all(terms)


@pytest.mark.parametrize(
    "height, message",
    [
        (-1.7, "height must be between 100 cm and 250 cm (an adult's stature), got -1.7 m"),
        (0.5, "height must be between 100 cm and 250 cm (an adult's stature), got 0.5 m (50 cm)"),
        (3.0, "got 3 m (300 cm)"),
        (float("nan"), "got nan"),
        ("tall", "height must be a number of metres, got 'tall'"),
    ],
)
def test_implausible_heights_are_refused(height, message):
    with pytest.raises(MeasurementError) as caught:
        check_height(height)
    assert message in str(caught.value)


def test_heights_and_girths_that_are_fine():
    assert check_height(None) is None
    assert check_height(1.72) == 1.72
    assert check_girths({"waist_girth": 0.81, "hip_girth": None}) == {"waist_girth": 0.81}


@pytest.mark.parametrize(
    "girths, message",
    [
        (
            {"neck": 0.4},
            "unknown girth 'neck': the fit takes chest_girth, waist_girth, hip_girth, ",
        ),
        ({"chest_girth": 9.0}, "chest girth must be between 50 cm and 200 cm, got 9 m (900 cm)"),
        ({"hip_girth": float("inf")}, "hip girth must be between 50 cm and 200 cm, got inf"),
    ],
)
def test_implausible_girths_are_refused(girths, message):
    with pytest.raises(MeasurementError) as caught:
        check_girths(girths)
    assert message in str(caught.value)


def test_fit_refuses_a_bad_height_before_fitting(male, measurer):
    keypoints = synthetic_keypoints(male, np.zeros(10), np.random.default_rng(2))
    with pytest.raises(MeasurementError, match="got 0.5 m"):
        fit(male, keypoints, SIZE, FOCAL, height=0.5)


def test_known_girths_are_met(male, measurer):
    """Given chest, waist and hip girth (and the height), the fitted body has them within
    5 mm; without them it misses by more (one photo of joints hardly sees girths)."""
    rng = np.random.default_rng(3)
    names = ("chest_girth", "waist_girth", "hip_girth")
    given, unknown = [], []
    for betas in rng.normal(size=(2, 10)):
        keypoints = synthetic_keypoints(male, betas, rng)
        truth = measurer.measure(betas).values
        for girths, errors in (({n: truth[n] for n in names}, given), (None, unknown)):
            result = fit(male, keypoints, SIZE, FOCAL, height=truth["stature"], girths=girths)
            values = measurer.measure(result.betas).values
            errors.append(max(abs(values[n] - truth[n]) for n in names))
    assert max(given) < 0.005, given
    assert min(unknown) > 0.02, unknown


def test_girth_block_jacobian_matches_finite_differences(male, measurer):
    """The girths block through the fit's objective: values are the measurer's at the point
    of linearisation, and its β columns are the central differences of its residuals."""
    from blender_smplify.core.fit import FitOptions
    from blender_smplify.core.fit_setup import prepare
    from blender_smplify.core.objective import SmplifyWeights, StageConfig

    rng = np.random.default_rng(4)
    keypoints = synthetic_keypoints(male, np.zeros(10), rng)
    targets = {"waist_girth": 0.8, "left_thigh_girth": 0.55}
    problem = prepare(male, keypoints, SIZE, FOCAL, SmplifyWeights(), FitOptions(), girths=targets)
    stage = StageConfig({"girths": 3.0})
    x = np.concatenate([rng.normal(scale=0.2, size=72), rng.normal(size=10), [0, 0.1, 4.0]])

    def residuals(x):
        return problem.objective.weighted_blocks(x, stage, jacobian=False, compact=False)[0][1]

    ((name, r, jac),) = problem.objective.weighted_blocks(x, stage)
    values = measurer.measure(x[72:82]).values
    expected = [3.0 * (values[n] - t) for n, t in targets.items()]
    assert name == "girths"
    np.testing.assert_allclose(r, expected, atol=1e-9)
    fd = np.zeros_like(jac)
    for k in range(len(x)):
        step = np.zeros(len(x))
        step[k] = 1e-6
        fd[:, k] = (residuals(x + step) - residuals(x - step)) / 2e-6
    np.testing.assert_allclose(jac, fd, atol=1e-6)
    assert np.abs(jac[:, 72:82]).max() > 0.01 and not jac[:, :72].any()
