"""``python -m blender_smplify.measure_cli FIT.json ... --out M.json|M.csv``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.fit_result import FitResult
from blender_smplify.core.measurements import MEASUREMENT_NAMES, BodyMeasurer
from blender_smplify.measure_cli import main

ROOT = Path(__file__).resolve().parents[2]


def write_fit(path: Path, betas, gender: str) -> Path:
    """A fit JSON as ``fit`` writes it (FitResult.to_dict)."""
    result = FitResult(
        betas=np.asarray(betas, dtype=float),
        pose=np.zeros(72),
        transl=np.array([0, 0, 3.0]),
        focal_length=1000.0,
        principal_point=np.array([320.0, 240.0]),
        image_size=(640, 480),
        joints_3d=np.zeros((24, 3)),
        gender=gender,
    )
    path.write_text(json.dumps(result.to_dict()))
    return path


@pytest.fixture
def fits(tmp_path):
    betas = np.linspace(-1.0, 1.0, 10)
    return [
        write_fit(tmp_path / "a.json", betas, "female"),
        write_fit(tmp_path / "b.json", -betas, "male"),
    ]


def test_json_holds_each_fits_measurements_in_cm(fits, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main([str(f) for f in fits] + ["--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["unit"] == "cm" and len(data["bodies"]) == 2
    for body, gender, sign in zip(data["bodies"], ("female", "male"), (1, -1), strict=True):
        assert body["gender"] == gender
        expected = BodyMeasurer(BodyModel.load(gender=gender)).measure(
            sign * np.linspace(-1.0, 1.0, 10)
        )
        for name in MEASUREMENT_NAMES:
            assert body["measurements"][name] == pytest.approx(
                100 * expected.values[name], abs=0.006
            )
    assert data["descriptions"]["chest_girth"].startswith("ISO 8559-1 chest girth")
    assert "stature" in capsys.readouterr().out


def test_csv_has_one_row_per_fit_and_gender_can_be_overridden(fits, tmp_path):
    out = tmp_path / "m.csv"
    assert main([str(fits[0]), "--gender", "male", "--out", str(out)]) == 0
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["fit", "gender", "stature_cm"] and len(rows) == 2
    assert len(rows[0]) == 2 + len(MEASUREMENT_NAMES)
    male = BodyMeasurer(BodyModel.load(gender="male")).measure(np.linspace(-1, 1, 10))
    assert rows[1][1] == "male"
    assert float(rows[1][2]) == pytest.approx(100 * male.values["stature"], abs=0.006)


@pytest.mark.parametrize(
    "make, out, message",
    [
        (lambda d: d / "missing.json", "m.json", "fit file not found"),
        (lambda d: d / "photo.jpg", "m.json", "is a photo: fit it first"),
        (lambda d: (d / "x.json").write_text("{nope") and d / "x.json", "m.json", "cannot read"),
        (lambda d: (d / "x.json").write_text("{}") and d / "x.json", "m.json", "no 'betas'"),
        (lambda d: write_fit(d / "x.json", np.zeros(40), "male"), "m.json", "40 betas given"),
        (lambda d: write_fit(d / "x.json", np.zeros(3), "male"), "m.txt", "must end in .json"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(tmp_path, capsys, make, out, message):
    fit = make(tmp_path)
    assert main([str(fit), "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / out).exists()


def test_runs_as_a_module(fits, tmp_path):
    out = tmp_path / "m.csv"
    done = subprocess.run(
        [sys.executable, "-m", "blender_smplify.measure_cli", str(fits[1]), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and out.read_text().startswith("fit,gender,stature_cm")


# ------------------------------------------------------------------- --set: shape from targets
def posed_fit(path: Path, gender: str = "female") -> Path:
    pose = np.zeros(72)
    pose[:3] = (np.pi, 0.0, 0.0)
    pose[3 * 16 + 2] = -0.6  # left shoulder lowered: a pose that must survive the refit
    result = FitResult(
        betas=np.linspace(-1.0, 1.0, 10),
        pose=pose,
        transl=np.array([0.1, 0.2, 3.0]),
        focal_length=1000.0,
        principal_point=np.array([320.0, 240.0]),
        image_size=(640, 480),
        joints_3d=np.zeros((24, 3)),
        gender=gender,
    )
    path.write_text(json.dumps(result.to_dict()))
    return path


def test_set_writes_the_refit_with_the_same_pose_and_prints_residuals(tmp_path, capsys):
    fit = posed_fit(tmp_path / "fit.json")
    out = tmp_path / "new.json"
    args = [str(fit), "--set", "chest=102", "waist=88", "hip=104", "thigh=58", "--out", str(out)]
    assert main(args) == 0
    before, after = json.loads(fit.read_text()), json.loads(out.read_text())
    for key in ("global_orient", "body_pose", "transl", "camera", "gender"):
        assert after[key] == before[key], key
    assert len(after["betas"]) == 10 and after["betas"] != before["betas"]
    model = BodyModel.load(gender="female")
    values = BodyMeasurer(model).measure(np.array(after["betas"])).values
    targets = {"chest_girth": 1.02, "waist_girth": 0.88, "hip_girth": 1.04}
    targets |= {"left_thigh_girth": 0.58, "right_thigh_girth": 0.58}
    for name, target in targets.items():
        assert values[name] == pytest.approx(target, abs=0.005), name
    pose = np.concatenate([after["global_orient"], after["body_pose"]])
    joints, _ = model.posed_points(np.array(after["betas"]), pose, after["transl"], jacobian=False)
    np.testing.assert_allclose(after["joints_3d"], joints[:24], atol=1e-9)
    printed = capsys.readouterr().out
    assert "right_thigh_girth" in printed and "residual" in printed and "wrote" in printed
    assert after["measurement_targets_cm"]["chest_girth"] == 102.0


def test_set_with_csv_writes_the_new_bodys_measurements(tmp_path):
    fit = posed_fit(tmp_path / "fit.json", "male")
    out = tmp_path / "m.csv"
    assert main([str(fit), "--set", "stature=180", "--keep-shape", "--out", str(out)]) == 0
    with open(out, newline="") as fh:
        header, row = list(csv.reader(fh))
    assert float(row[header.index("stature_cm")]) == pytest.approx(180.0, abs=0.5)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "chest102"], "--set expects NAME=CM"),
        (["--set", "chest=big"], "'big' is not a number of centimetres"),
        (["--set", "girth=90"], "unknown measurement 'girth'"),
        (["--set", "waist=-80"], "a measurement must be a positive length"),
        (["--keep-shape"], "--keep-shape goes with --set"),
    ],
)
def test_bad_set_exits_2(tmp_path, capsys, extra, message):
    fit = posed_fit(tmp_path / "fit.json")
    assert main([str(fit), *extra, "--out", str(tmp_path / "new.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "new.json").exists()


def test_set_takes_one_fit(fits, tmp_path, capsys):
    args = [str(f) for f in fits] + ["--set", "chest=100", "--out", str(tmp_path / "n.json")]
    assert main(args) == 2
    assert "exactly one FIT.json" in capsys.readouterr().err
