"""Girth contours for drawing (core/measurement_contours.py)."""

from __future__ import annotations

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.joints import J
from blender_smplify.core.measurement_contours import girth_contours
from blender_smplify.core.measurements import GIRTHS, BodyMeasurer


@pytest.fixture(scope="module", params=["female", "male"])
def measurer(request) -> BodyMeasurer:
    return BodyMeasurer(BodyModel.load(gender=request.param))


@pytest.mark.parametrize("seed", [0, 1])
def test_each_contour_is_the_girths_tape_in_order(measurer, seed):
    betas = np.random.default_rng(seed).standard_normal(measurer.model.num_betas)
    values = measurer.measure(betas).values
    contours = girth_contours(measurer, betas)
    assert set(contours) == {g.name for g in GIRTHS}
    for name, contour in contours.items():
        closed = np.vstack([contour.points, contour.points[:1]])
        steps = np.linalg.norm(np.diff(closed, axis=0), axis=1)
        # the polyline's own length is the girth: its points are in tape order, none repeated
        assert steps.sum() == pytest.approx(values[name], rel=1e-9), name
        assert contour.length == pytest.approx(values[name], rel=1e-9)
        assert steps.max() < 0.25 * values[name] and steps.min() > 0.0, name
        assert contour.bone in J


def test_contours_ride_on_the_bone_of_their_part(measurer):
    contours = girth_contours(measurer)
    assert contours["head_girth"].bone == "head"
    assert contours["hip_girth"].bone == "pelvis"
    assert contours["left_calf_girth"].bone == "left_knee"
    assert contours["right_wrist_girth"].bone == "right_wrist"
    assert contours["left_upper_arm_girth"].bone == "left_shoulder"
