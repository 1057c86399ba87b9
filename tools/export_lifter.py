"""Write a lifter trained elsewhere (``train_lifter.py --state-out``) as the shipped ONNX file.

Usage (build time; torch and onnx in the private venv of ``tools/requirements-lifter.txt``)::

    PYTHONPATH=. /tmp/venvs/lift/bin/python -m tools.export_lifter STATE.pt --width 1024 \\
        [--out onnx_models/lifter_blazepose33.onnx] [--half-weights] [--runs RUN.json ...]

The training run on a lent GPU machine brings back the torch weights; this tool rebuilds the
network (``train_lifter.build_network``), exports its points and depth-sign head
(``train_lifter.export``, checked against onnxruntime; not the expected errors, which the fit
does not read, as the file before it), optionally stores its
weight matrices as float16 (:func:`store_weights_as_half`: half the file, the same speed:
onnxruntime casts them back to float32 once, when the session is made), and writes beside it
the held-out report of ``train_lifter.held_out_report`` (same poses and views as every earlier
file's report) with the training runs' own records (``--runs``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

#: Weight arrays with more elements than this are stored as float16 by ``--half-weights``
#: (the matrices; biases and batch-norm vectors stay float32).
HALF_MIN_SIZE = 1024


def store_weights_as_half(path: Path, out: Path | None = None) -> int:
    """Rewrite an ONNX file (``out``, default in place) with each float32 initializer larger
    than ``HALF_MIN_SIZE`` stored as float16 and cast back to float32 by a ``Cast`` node in
    front of the graph; returns the number of arrays so stored."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    kept, casts = [], []
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype != np.float32 or array.size <= HALF_MIN_SIZE:
            kept.append(init)
            continue
        half_name = init.name + "_float16"
        kept.append(numpy_helper.from_array(array.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=TensorProto.FLOAT))
    nodes = list(graph.node)
    del graph.initializer[:], graph.node[:]
    graph.initializer.extend(kept)
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(out or path))
    return len(casts)


def main(argv: list[str] | None = None) -> int:
    from tools.train_lifter import (
        DEFAULT_OUT,
        INPUT_SIZE,
        body_points,
        build_network,
        cached_poses,
        export,
        held_out_report,
        onnx_difference,
        onnx_runner,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("state", type=Path, help="torch weights (train_lifter.py --state-out)")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--half-weights", action="store_true", help="store_weights_as_half")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lift"), help="poses cache")
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="training records")
    parser.add_argument("--seed", type=int, default=0, help="the held-out views' seed")
    args = parser.parse_args(argv)
    import torch

    net = build_network(args.width, args.blocks, 0.0, signs=True)
    net.load_state_dict(torch.load(args.state, map_location="cpu"))
    float32_difference = export(net, args.out, signs=True, errors=False)
    report = {"state": args.state.name, "width": args.width, "blocks": args.blocks,
              "params": int(sum(p.numel() for p in net.parameters())),
              "onnx_max_abs_diff": float32_difference}  # fmt: skip
    if args.half_weights:
        report["half_weight_arrays"] = store_weights_as_half(args.out)
        inputs = torch.randn(256, INPUT_SIZE, generator=torch.Generator().manual_seed(0))
        report["onnx_max_abs_diff_half"] = onnx_difference(args.out, net, inputs)
    _, held = cached_poses(args.cache)
    held = {name: body_points(pose, np.random.default_rng(999), tilted=0.0)
            for name, pose in held.items()}  # fmt: skip
    views = argparse.Namespace(empirical_noise=None, profile=None, seed=args.seed)
    report["held_out"] = held_out_report(onnx_runner(args.out), held, views)
    report["runs"] = [json.loads(p.read_text()) for p in args.runs]
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("held_out", "runs")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
