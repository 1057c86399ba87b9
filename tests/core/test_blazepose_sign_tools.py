"""The BlazePose-feature depth-sign tools (tools/blazepose_features.py,
tools/train_blazepose_sign.py): where the spatial features are read, and the head's fit."""

from __future__ import annotations

import numpy as np

from blender_smplify.core.detector_crop import Crop


def test_spatial_features_are_read_where_the_point_lies_in_the_turned_crop():
    from tools.blazepose_features import sample_spatial

    # a map whose channel 0 holds each cell's column, channel 1 its row
    rows, cols = np.mgrid[0:64, 0:64].astype(np.float32)
    spatial = np.stack([cols, rows])
    crop = Crop(np.array([300.0, 200.0]), 180.0, 0.4, 256)
    uv = np.array([[10.0, 250.0], [128.0, 128.0], [200.0, 37.0]])
    got = sample_spatial(spatial, crop, crop.to_image(uv))
    np.testing.assert_allclose(got, uv / 4.0 - 0.5, atol=1e-4)


def test_logistic_head_recovers_a_direction_and_keeps_the_scalars_lightly_penalised():
    from tools.train_blazepose_sign import fit_logistic, predict

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 2] + 0.5)))).astype(float)
    theta = fit_logistic(x, y, np.ones(4000), np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(theta, [2.0, 0.0, -1.0, 0.5], atol=0.2)
    # a heavy penalty on a column shrinks only that column's weight
    heavy = fit_logistic(x, y, np.ones(4000), np.array([1.0, 1.0, 1e6]))
    assert abs(heavy[2]) < 0.01 and abs(heavy[0] - theta[0]) < 0.3
    assert ((predict(theta, x) > 0.5) == (y > 0.5)).mean() > 0.75
