"""``python -m blender_smplify fit``: keypoints in, JSON out, readable errors with status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from smplify_toy import toy_body_arrays

from blender_smplify.__main__ import main
from blender_smplify.core.fit_setup import get_setup

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"


@pytest.fixture(scope="module")
def toy_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "toy.npz"
    np.savez(path, **toy_body_arrays())
    return path


@pytest.fixture(scope="module")
def keypoints_json(tmp_path_factory, toy_npz):
    from blender_smplify.core.body_model import BodyModel

    body = BodyModel.load(toy_npz)
    setup = get_setup(body, "smpl24", 10, True)
    pose = np.zeros(72)
    pose[0] = np.pi
    pose[3 * 16 + 2], pose[3 * 17 + 2] = -1.2, 1.2  # arms down
    pts, _ = setup.kin.evaluate(pose, np.zeros(10), np.array([0.0, 0.1, 3.0]), jacobian=False)
    xy = 800.0 * pts[:24, :2] / pts[:24, 2:] + np.array([300.0, 400.0])
    path = tmp_path_factory.mktemp("kp") / "kp.json"
    path.write_text(
        json.dumps(
            {
                "layout": "smpl24",
                "xy": xy.tolist(),
                "confidence": [1.0] * 24,
                "image_size": [600, 800],
            }
        )
    )
    return path


def test_fit_from_keypoints_writes_smplx_json(tmp_path, toy_npz, keypoints_json, capsys):
    out = tmp_path / "fit.json"
    rc = main(
        [
            "fit",
            "no_photo.jpg",
            "--keypoints",
            str(keypoints_json),
            "--out",
            str(out),
            "--model",
            str(toy_npz),
            "--focal",
            "800",
        ]
    )
    assert rc == 0
    data = json.loads(out.read_text())
    assert len(data["global_orient"]) == 3 and len(data["body_pose"]) == 69
    assert len(data["betas"]) == 10 and len(data["transl"]) == 3
    assert data["camera"]["focal_length"] == 800.0 and data["camera"]["focal_source"] == "given"
    assert data["camera"]["image_size"] == [600, 800]
    assert data["keypoints"]["layout"] == "smpl24" and len(data["keypoints"]["xy"]) == 24
    assert np.array(data["joints_3d"]).shape == (24, 3)
    assert abs(data["transl"][2] - 3.0) < 0.5
    printed = capsys.readouterr().out
    assert "fit " in printed and "ms" in printed and str(out) in printed


def test_keypoints_file_with_a_byte_order_mark(tmp_path, toy_npz, keypoints_json):
    kp = tmp_path / "kp.json"
    kp.write_text(keypoints_json.read_text(), encoding="utf-8-sig")  # as Windows Notepad saves
    rc = main(
        [
            "fit",
            "no_photo.jpg",
            "--keypoints",
            str(kp),
            "--out",
            str(tmp_path / "o.json"),
            "--model",
            str(toy_npz),
            "--focal",
            "800",
        ]
    )
    assert rc == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "keypoints file not found"),
        ("{not json", "not a keypoints JSON file"),
        ('{"layout": "smpl99", "xy": []}', "unknown keypoint layout"),
        ('{"layout": "smpl24", "xy": [[1, 2]], "image_size": [10, 10]}', "24 keypoints"),
        ('{"layout": "smpl24", "xy": ' + str([[1, 2]] * 24) + "}", "none.jpg: no such file"),
    ],
)
def test_bad_keypoints_exit_2_with_one_line(tmp_path, toy_npz, capsys, content, message):
    kp = tmp_path / "kp.json"
    if content is not None:
        kp.write_text(content)
    rc = main(
        [
            "fit",
            str(tmp_path / "none.jpg"),
            "--keypoints",
            str(kp),
            "--out",
            str(tmp_path / "o.json"),
            "--model",
            str(toy_npz),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_keypoints_without_size_and_a_folder_as_image(tmp_path, toy_npz, capsys):
    kp = tmp_path / "kp.json"
    kp.write_text('{"layout": "smpl24", "xy": ' + str([[1, 2]] * 24) + "}")
    rc = main(
        [
            "fit",
            str(tmp_path),
            "--keypoints",
            str(kp),
            "--out",
            str(tmp_path / "o.json"),
            "--model",
            str(toy_npz),
        ]
    )
    assert rc == 2 and capsys.readouterr().err == f"error: {tmp_path}: not a file\n"


def test_bad_model_and_focal_exit_2(tmp_path, keypoints_json, toy_npz, capsys):
    rc = main(
        [
            "fit",
            "x.jpg",
            "--keypoints",
            str(keypoints_json),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tmp_path / "missing.npz"),
        ]
    )
    assert rc == 2 and capsys.readouterr().err.startswith("error: ")
    rc = main(
        [
            "fit",
            "x.jpg",
            "--keypoints",
            str(keypoints_json),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(toy_npz),
            "--focal",
            "-3",
        ]
    )
    assert rc == 2 and "focal" in capsys.readouterr().err


def test_unwritable_output_exits_2(tmp_path, keypoints_json, toy_npz, capsys):
    rc = main(
        [
            "fit",
            "x.jpg",
            "--keypoints",
            str(keypoints_json),
            "--model",
            str(toy_npz),
            "--out",
            str(tmp_path / "no" / "such" / "dir" / "fit.json"),
        ]
    )
    assert rc == 2 and capsys.readouterr().err.startswith("error: ")
    folder = tmp_path / "a_folder"
    folder.mkdir()
    rc = main(
        [
            "fit",
            "x.jpg",
            "--keypoints",
            str(keypoints_json),
            "--model",
            str(toy_npz),
            "--out",
            str(folder),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"error: cannot write {folder}:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_folder"]  # no stray .tmp


def test_output_never_overwrites_the_inputs(tmp_path, keypoints_json, toy_npz, capsys):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(SAMPLE.read_bytes())
    kp = tmp_path / "kp.json"
    kp.write_text(keypoints_json.read_text())
    for out, what in ((photo, "IMAGE"), (kp, "--keypoints")):
        rc = main(
            ["fit", str(photo), "--keypoints", str(kp), "--model", str(toy_npz), "--out", str(out)]
        )
        assert rc == 2 and what in capsys.readouterr().err
    assert photo.read_bytes() == SAMPLE.read_bytes()
    assert kp.read_text() == keypoints_json.read_text()


def test_photo_end_to_end_in_a_subprocess(tmp_path):
    """Detection on the sample photo, the open body model, the fit: the command users run."""
    out = tmp_path / "fit.json"
    proc = subprocess.run(
        [sys.executable, "-m", "blender_smplify", "fit", str(SAMPLE), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["keypoints"]["layout"] == "blazepose33"
    assert "field of view" in data["camera"]["focal_source"]
    assert np.all(np.isfinite(data["body_pose"])) and 1.0 < data["transl"][2] < 10.0
