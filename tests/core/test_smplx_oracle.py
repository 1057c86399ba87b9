"""Our forward pass against the smplx package (an independent implementation) on shared arrays."""

import numpy as np
import pytest
from smplx_oracle import smplx_forward, write_smplx_pickle

from blender_smplify.core.body_model import BodyModel


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_forward_agrees_with_smplx(tmp_path, toy_model_data, seed):
    rng = np.random.default_rng(seed)
    pkl = write_smplx_pickle(toy_model_data, tmp_path / "toy.pkl")
    model = BodyModel.load(pkl)
    betas, pose, transl = rng.normal(size=10), rng.normal(0, 0.6, 72), rng.normal(size=3)
    vertices, joints = model.forward(betas, pose, transl)
    oracle_vertices, oracle_joints = smplx_forward(pkl, betas, pose, transl)
    np.testing.assert_allclose(vertices, oracle_vertices, atol=1e-5)
    np.testing.assert_allclose(joints, oracle_joints, atol=1e-5)
    # smplx biases small angles by adding 1e-8 to the rotation vector, so agreement stops near 1e-7
