"""Navel depth on a dimpled sphere of known depth, and the fill: its depth, its reach and its
linearity (the same fill on every shape key gives the fill of every blended shape)."""

from __future__ import annotations

import numpy as np
import pytest
from test_mesh_checks import uv_sphere

from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.navel import navel_region

FRONT = np.array([0.0, 0.0, 1.0])


def dimpled_sphere(depth: float, radius: float = 0.3, width: float = 0.007) -> np.ndarray:
    """A sphere (V, 3) facing +z at its north pole (vertex 0) with a Gaussian dimple there."""
    vertices, _ = uv_sphere(rings=160, segments=240)
    vertices = vertices * radius
    lateral = np.hypot(vertices[:, 0], vertices[:, 1])
    front = vertices[:, 2] > 0
    vertices[front, 2] -= depth * np.exp(-0.5 * (lateral[front] / width) ** 2)
    return vertices


def test_depth_of_a_known_dimple():
    for depth in (0.004, 0.012):
        vertices = dimpled_sphere(depth)
        region = navel_region(vertices, 0, FRONT)
        assert region.depth(vertices) == pytest.approx(depth, abs=3e-4)
    smooth = dimpled_sphere(0.0)
    assert navel_region(smooth, 0, FRONT).depth(smooth) < 2e-4


def test_fill_brings_the_depth_down_by_its_strength_and_moves_nothing_else():
    vertices = dimpled_sphere(0.01)
    region = navel_region(vertices, 0, FRONT)
    strength = region.strength_for(vertices, 0.003)
    filled = region.fill(vertices, strength)
    assert region.depth(filled) == pytest.approx(0.003, abs=1e-6)
    assert region.depth(region.fill(vertices, 1.0)) < 1e-9
    moved = np.flatnonzero(np.linalg.norm(filled - vertices, axis=1) > 0)
    assert set(moved.tolist()) <= set(region.inner.tolist())
    assert np.linalg.norm(vertices[moved, :2], axis=1).max() < 0.022
    assert region.strength_for(vertices, 0.02) == 0.0


def test_fill_is_linear_so_shape_keys_stay_consistent():
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.measurement_landmarks import open_model_landmarks

    model = BodyModel.load()
    template = model.v_template
    region = navel_region(template, open_model_landmarks(template, "neutral")["omphalion"], FRONT)
    betas = np.random.default_rng(0).normal(0.0, 1.5, model.num_betas)
    keys = [region.fill(template + model.shapedirs[:, :, i], 0.8) for i in range(len(betas))]
    basis = region.fill(template, 0.8)
    blended = basis + sum(b * (k - basis) for b, k in zip(betas, keys))
    direct = region.fill(model.shaped_vertices(betas), 0.8)
    np.testing.assert_allclose(blended, direct, atol=1e-9)
    assert region.depth(direct) == pytest.approx(0.2 * region.depth(model.shaped_vertices(betas)))


def test_errors_are_readable():
    vertices = dimpled_sphere(0.01)
    region = navel_region(vertices, 0, FRONT)
    with pytest.raises(SmplifyError, match="strength"):
        region.fill(vertices, 1.5)
    coarse, _ = uv_sphere(rings=6, segments=8)
    with pytest.raises(SmplifyError, match="too few vertices"):
        navel_region(coarse * 0.3, 0, FRONT)
