"""Training the lifter on an accelerator (``tools/lifter_stream.py``) and writing its weights as
the shipped file (``tools/export_lifter.py``), on the CPU with tiny networks."""

from argparse import Namespace

import numpy as np
import pytest
import torch

import tools.lifter_stream as stream
from tools.export_lifter import HALF_MIN_SIZE, store_weights_as_half
from tools.train_lifter import body_points, build_network, export, onnx_difference, samples

POSES = np.random.default_rng(0).normal(0.0, 0.3, (30, 72))


def _args(**changes) -> Namespace:
    args = dict(seed=3, chunk=16, workers=0, profile=None, empirical_noise=None, batch=8,
                lr=1e-3, decay=0.9, decay_to=None, minutes=10.0, max_epochs=3,
                nll_weight=0.1, sign_weight=0.1)  # fmt: skip
    return Namespace(**(args | changes))


def test_bodies_posed_in_parallel_are_the_seeded_chunks_whatever_the_workers(monkeypatch):
    monkeypatch.setattr(stream, "POSE_CHUNK", 12)
    one = stream.posed_in_parallel(POSES, seed=5, workers=1)
    two = stream.posed_in_parallel(POSES, seed=5, workers=2)
    np.testing.assert_array_equal(one, two)
    expected = [body_points(POSES[i : i + 12], np.random.default_rng([5, 1, k]))
                for k, i in enumerate(range(0, 30, 12))]  # fmt: skip
    np.testing.assert_array_equal(one, np.concatenate(expected))


def test_view_stream_yields_the_recipe_s_samples_of_seeded_random_bodies():
    points = body_points(POSES, np.random.default_rng(0))
    args = _args()
    chunks = iter(stream.view_stream(points, args))
    x, y, signs = next(chunks)
    rng = np.random.default_rng([args.seed, 2, 0])
    idx = rng.choice(len(points), args.chunk, replace=False)
    ex, ey, _, _, esigns = samples(points[idx], rng)
    np.testing.assert_array_equal(x.numpy(), ex)
    np.testing.assert_array_equal(y.numpy(), ey)
    np.testing.assert_array_equal(signs.numpy(), esigns)
    assert x.shape == (16, 99) and y.shape == (16, 99) and signs.shape == (16, 8)
    x2, _, _ = next(chunks)  # the next chunk: other bodies, other views
    assert not np.allclose(x2.numpy(), ex)


def test_streamed_training_learns_and_stops_after_its_epochs():
    points = body_points(np.tile(POSES, (4, 1)), np.random.default_rng(0))
    torch.manual_seed(0)
    net = build_network(32, 1, 0.0, signs=True)
    history = stream.train_streamed(net, points, _args(chunk=40, max_epochs=6), "cpu")
    assert [h["epoch"] for h in history] == list(range(1, 7))
    assert history[-1]["train_mm"] < 0.7 * history[0]["train_mm"]
    assert next(net.parameters()).device.type == "cpu"


def test_weights_stored_as_half_give_the_same_network_in_half_the_file(tmp_path):
    torch.manual_seed(0)
    net = build_network(64, 1, 0.0, signs=True).eval()
    path = tmp_path / "lifter.onnx"
    export(net, path, signs=True, errors=False)
    size = path.stat().st_size
    assert store_weights_as_half(path) == 4  # the four 64-wide matrices (> HALF_MIN_SIZE)
    assert path.stat().st_size < 0.6 * size
    assert onnx_difference(path, net, torch.randn(256, 99)) < 1e-2

    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(path)).graph.initializer:
        array = numpy_helper.to_array(init)
        assert array.dtype == np.float16 or array.size <= HALF_MIN_SIZE


def test_a_file_with_half_weights_can_start_another_training(tmp_path):
    from tools.lifter_signs import load_onnx_weights

    torch.manual_seed(0)
    net = build_network(64, 1, 0.0, signs=True).eval()
    with torch.no_grad():  # a trained network's batch norms (fresh equal ones export as one)
        for layer in net.modules():
            if isinstance(layer, torch.nn.BatchNorm1d):
                for values in (layer.weight, layer.bias, layer.running_mean):
                    values.normal_()
                layer.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "lifter.onnx"
    export(net, path, signs=True, errors=False)
    store_weights_as_half(path)
    torch.manual_seed(1)
    again = build_network(64, 1, 0.0, signs=True).eval()
    load_onnx_weights(again, path)
    x = torch.randn(32, 99)
    with torch.no_grad():
        np.testing.assert_allclose(again(x).numpy(), net(x).numpy(), atol=1e-2)


def test_onnx_difference_reads_the_files_outputs_and_sees_a_changed_network(tmp_path):
    torch.manual_seed(0)
    net = build_network(16, 1, 0.0, signs=True).eval()
    path = tmp_path / "lifter.onnx"
    export(net, path, signs=True, errors=False)
    x = torch.randn(256, 99)
    assert onnx_difference(path, net, x) < 1e-4
    with torch.no_grad():
        net[-1].bias[-1] += 1.0  # a depth-sign logit
    assert onnx_difference(path, net, x) == pytest.approx(1.0, abs=1e-4)
