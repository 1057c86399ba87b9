"""Fixtures the core tests share: the synthetic toy body and the shipped male model with its
measurer, each made once per test module (a module may still define its own)."""

from __future__ import annotations

import pytest
from smplify_toy import make_toy_body

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.measurements import BodyMeasurer


@pytest.fixture(scope="module")
def body():
    """The synthetic SMPL-format body of ``smplify_toy``."""
    return make_toy_body()


@pytest.fixture(scope="module")
def male():
    """The shipped open male model."""
    return BodyModel.load(gender="male")


@pytest.fixture(scope="module")
def measurer(male):
    """The male model's tape measure."""
    return BodyMeasurer(male)
