"""Model files: official-style pickles (chumpy, sparse, latin1), npz, and hostile pickles."""

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse as sp

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.errors import ModelFileError, UnsafePickleError


def _fake_chumpy_module():
    """A throwaway module named chumpy.ch whose Ch pickles like chumpy's array objects."""
    package, module = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = np.asarray(x)
            self._dirty_vars = set()

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = Ch
    package.ch = module
    return package, module


@pytest.fixture
def official_style_pickle(tmp_path, toy_model_data, monkeypatch):
    """A pickle laid out like SMPL 1.0: chumpy arrays, sparse J_regressor, protocol 2."""
    package, module = _fake_chumpy_module()
    monkeypatch.setitem(sys.modules, "chumpy", package)
    monkeypatch.setitem(sys.modules, "chumpy.ch", module)
    data = dict(toy_model_data)
    data["shapedirs"] = module.Ch(data["shapedirs"])
    data["posedirs"] = module.Ch(data["posedirs"])
    data["J_regressor"] = sp.csc_matrix(data["J_regressor"])
    data["bs_style"] = "lbs"
    path = tmp_path / "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=2)
    return path


def test_official_style_pickle_loads_without_chumpy(
    official_style_pickle, toy_model_data, monkeypatch
):
    monkeypatch.delitem(sys.modules, "chumpy")
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    model = BodyModel.load(official_style_pickle, gender="female")
    assert "chumpy" not in sys.modules
    assert model.gender == "female"
    np.testing.assert_array_equal(model.shapedirs, toy_model_data["shapedirs"])
    np.testing.assert_array_equal(model.J_regressor, toy_model_data["J_regressor"])
    np.testing.assert_array_equal(model.posedirs, toy_model_data["posedirs"])


def test_npz_round_trip(tmp_path, toy_model_data):
    path = tmp_path / "model.npz"
    np.savez(path, **toy_model_data, gender="male", source="a conversion")  # metadata keys
    model = BodyModel.load(path, gender="female")
    assert model.gender == "female" and model.source == str(path)
    np.testing.assert_array_equal(model.v_template, toy_model_data["v_template"])
    assert model.landmark_names == ("nose", "left_heel", "right_heel")


class _CreatesAFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


class _RunsAShellCommand:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("payload", [_CreatesAFile, _RunsAShellCommand])
def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path, toy_model_data, payload):
    victim = tmp_path / "pwned.txt"
    data = dict(toy_model_data, v_template=payload(victim))
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"refusing to load [\w.]+\.(open|system)"):
        BodyModel.load(path)
    assert not victim.exists()


def test_missing_truncated_and_wrong_files(tmp_path, toy_model_data):
    with pytest.raises(ModelFileError, match="not found"):
        BodyModel.load(tmp_path / "nope.pkl")
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes(pickle.dumps(toy_model_data, protocol=2)[:5000])
    with pytest.raises(ModelFileError, match="not a readable SMPL pickle"):
        BodyModel.load(truncated)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable .npz"):
        BodyModel.load(junk)
    partial = tmp_path / "partial.npz"
    np.savez(partial, v_template=toy_model_data["v_template"])
    with pytest.raises(ModelFileError, match="missing shapedirs"):
        BodyModel.load(partial)
    text = tmp_path / "model.obj"
    text.write_text("v 0 0 0")
    with pytest.raises(ModelFileError, match="unsupported model file type '.obj'"):
        BodyModel.load(text)
