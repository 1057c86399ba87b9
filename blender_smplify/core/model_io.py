"""Read SMPL-format model files safely: official ``.pkl`` releases and ``.npz`` conversions.

The official SMPL pickles (1.0 and 1.1) hold chumpy arrays and scipy sparse matrices and were
written by Python 2 (latin1 strings). A pickle can run arbitrary code when loaded, so ``.pkl``
files go through :class:`RestrictedUnpickler`: it only hands out NumPy's array reconstruction
and stand-in classes for chumpy and scipy.sparse objects, which are turned into plain arrays
after loading. Chumpy itself is never imported, and anything else is refused by name.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from .errors import ModelFileError, UnsafePickleError

#: Arrays every SMPL-format model needs.
REQUIRED_KEYS = ("v_template", "shapedirs", "J_regressor", "weights", "kintree_table", "f")

_NUMPY_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}
_BUILTINS_ALLOWED = {
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("_codecs", "encode"),
}
_SPARSE_FORMATS = ("csc", "csr", "coo")


class _PickledStandIn:
    """Holds the state of a chumpy or scipy.sparse object without running any of its code."""

    kind = ""

    def __init__(self, *args, **kwargs) -> None:
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


def _stand_in(kind: str) -> type:
    return type(f"StandIn_{kind}", (_PickledStandIn,), {"kind": kind})


def _numpy_object(module: str, name: str) -> object:
    """NumPy's own reconstruction helpers, from ``numpy._core`` (NumPy 2) or ``numpy.core``."""
    import importlib

    if module == "numpy":
        return getattr(np, name)
    submodule = module.split(".")[-1]
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise UnsafePickleError(f"NumPy in this Python has no {module}.{name}")


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that allows only what an SMPL model file needs; refuses everything else."""

    def find_class(self, module: str, name: str) -> object:
        # Python 2 names (__builtin__, copy_reg) as the standard unpickler maps them
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _NUMPY_ALLOWED:
            return _numpy_object(module, name)
        if (module, name) in _BUILTINS_ALLOWED:
            # copyreg._reconstructor only calls object.__new__ on a class this method handed
            # out; _codecs.encode turns Python 3's protocol-2 bytes back from latin1 text.
            import codecs
            import copyreg

            return {
                "_reconstructor": copyreg._reconstructor,
                "object": object,
                "set": set,
                "frozenset": frozenset,
                "encode": codecs.encode,
            }[name]
        if module.split(".")[0] == "chumpy":
            return _stand_in("chumpy")
        if module.startswith("scipy.sparse"):
            for fmt in _SPARSE_FORMATS:
                if name == f"{fmt}_matrix" or name == f"{fmt}_array":
                    return _stand_in(fmt)
        raise UnsafePickleError(
            f"refusing to load {module}.{name}: a body-model file never needs it "
            "(the pickle may try to run code)"
        )


def _to_array(value: object, key: str) -> object:
    """Turn chumpy and sparse stand-ins into plain arrays; leave other values alone."""
    if not isinstance(value, _PickledStandIn):
        return value
    state = value.state
    if not isinstance(state, dict):
        raise ModelFileError(f"cannot read {value.kind} object stored under '{key}'")
    state = {k.decode() if isinstance(k, bytes) else k: v for k, v in state.items()}
    if value.kind == "chumpy":
        if "x" not in state:
            raise ModelFileError(f"chumpy object under '{key}' has no array value")
        return np.asarray(state["x"])
    import scipy.sparse as sp

    shape = tuple(state.get("_shape", state.get("shape", ())))
    if value.kind == "coo":
        matrix = sp.coo_matrix((state["data"], (state["row"], state["col"])), shape=shape)
    else:
        make = sp.csc_matrix if value.kind == "csc" else sp.csr_matrix
        matrix = make((state["data"], state["indices"], state["indptr"]), shape=shape)
    return matrix.toarray()


def read_pickle(path: Path) -> dict[str, object]:
    """Read an SMPL ``.pkl`` with the restricted unpickler into a dict of plain values."""
    try:
        with open(path, "rb") as handle:
            data = RestrictedUnpickler(io.BufferedReader(handle), encoding="latin1").load()
    except (UnsafePickleError, ModelFileError) as error:
        raise type(error)(f"{path}: {error}") from None
    except Exception as error:  # corrupt or truncated pickles raise many kinds of errors
        raise ModelFileError(f"{path}: not a readable SMPL pickle ({error})") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: expected a dict of arrays, found {type(data).__name__}")
    return {str(k): _to_array(v, str(k)) for k, v in data.items()}


def read_npz(path: Path) -> dict[str, object]:
    """Read an ``.npz`` model without allowing pickled objects inside it."""
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a readable .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        raise ModelFileError(f"{path}: contains pickled objects, refusing ({error})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise ModelFileError(f"{path}: not a readable .npz file ({error})") from None


def read_model_file(path: str | Path) -> dict[str, object]:
    """Read an SMPL-format model file (``.pkl`` or ``.npz``) and check its required keys."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"body model file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".pkl":
        data = read_pickle(path)
    elif suffix == ".npz":
        data = read_npz(path)
    else:
        raise ModelFileError(f"{path}: unsupported model file type '{suffix}' (use .pkl or .npz)")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ModelFileError(f"{path}: not an SMPL model, missing {', '.join(missing)}")
    return data
