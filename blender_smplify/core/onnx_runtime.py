"""onnxruntime sessions for the shipped models (detectors, lifter), imported lazily."""

from __future__ import annotations

from pathlib import Path

from .errors import ModelFileError


def onnx_session(path: Path, threads: int | None, what: str = "detector"):
    """Create an onnxruntime CPU session, or raise ModelFileError naming the file.

    ``what`` names the model in the error ("detector", "lifter").
    """
    if not Path(path).is_file():
        raise ModelFileError(f"{path}: {what} model file not found")
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  (onnxruntime's errors derive from Exception only)
        raise ModelFileError(f"{path}: not a readable ONNX {what} model ({exc})") from None
