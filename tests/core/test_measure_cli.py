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
