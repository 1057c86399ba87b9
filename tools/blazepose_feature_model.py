"""Build-time tool: a copy of the shipped BlazePose ONNX that also returns two of its inner
feature tensors, for ``tools/blazepose_features.py`` (the shipped file is not changed).

    /tmp/torchvenv/bin/python tools/blazepose_feature_model.py --out X.onnx

Added outputs (names as in the converted graph, checked by shape inference):

- ``features_global`` (1, 288, 2, 2): ``Relu6__179:0``, the global features that the world
  landmark head (``convworld_3d``, a 2 × 2 convolution to 117 = 39 × 3) and the landmark head
  (``convld_3d``) read: the world landmarks are linear in them.
- ``features_spatial`` (1, 48, 64, 64): ``model_1/model/add_11/add``, the heatmap branch's
  features over the 256 × 256 crop (cell (i, j) centred on crop pixel (4 j + 2, 4 i + 2)), read
  by the heatmap head (``Identity_3``, a convolution to 39).

Needs the ``onnx`` package (a build-time venv, not the add-on's runtime).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import onnx
from onnx import helper, shape_inference

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "onnx_models" / "blazepose_full.onnx"
FEATURES = {
    "features_global": ("Relu6__179:0", [1, 288, 2, 2]),
    "features_spatial": ("model_1/model/add_11/add", [1, 48, 64, 64]),
}


def with_features(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with :data:`FEATURES` as extra outputs (Identity nodes on the inner tensors);
    ValueError when a tensor is missing or its inferred shape differs."""
    inferred = shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in inferred.graph.value_info
    }
    for out, (tensor, shape) in FEATURES.items():
        if shapes.get(tensor) != shape:
            raise ValueError(f"{tensor}: expected shape {shape}, found {shapes.get(tensor)}")
        model.graph.node.append(helper.make_node("Identity", [tensor], [out], name=out))
        model.graph.output.append(
            helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, shape)
        )
    onnx.checker.check_model(model)
    return model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, default=SOURCE)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    onnx.save(with_features(onnx.load(args.source)), args.out)
    print(f"{args.source.name} + {', '.join(FEATURES)} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
