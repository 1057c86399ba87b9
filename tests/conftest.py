"""Shared fixtures: a synthetic SMPL-format model and a seeded random generator."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from toy_model import toy_model_arrays  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def toy_model_data() -> dict:
    return toy_model_arrays(np.random.default_rng(0))


@pytest.fixture(scope="session")
def toy_model(toy_model_data):
    from blender_smplify.core.body_model import BodyModel

    return BodyModel.from_arrays(**toy_model_data, source="toy model")
