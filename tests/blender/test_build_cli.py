"""``python -m blender_smplify build``: photos to .blend files, batch errors, exit status."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.blender.build_cli import output_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"


@pytest.fixture(scope="module")
def toy_model_file(tmp_path_factory, toy_model_data) -> Path:
    path = tmp_path_factory.mktemp("model") / "toy.npz"
    np.savez(path, **toy_model_data)
    return path


def run_build(argv: list[str]) -> int:
    from blender_smplify.__main__ import main

    return main(["build", *argv])


def test_output_names():
    photo = Path("a/photo.jpg")
    assert output_path("out.blend", photo, ".blend", many=False) == Path("out.blend")
    assert output_path("out.blend", photo, ".blend", many=True) == Path("out_photo.blend")
    assert output_path("outdir", photo, ".blend", many=True) == Path("outdir/photo.blend")
    assert output_path(None, photo, ".png", many=True) is None


def test_batch_reports_bad_photos_and_finishes_the_rest(
    bpy_module, tmp_path, toy_model_file, capsys
):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLE, photos / "good.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    code = run_build(
        [
            str(photos),
            str(tmp_path / "missing.png"),
            "--blend",
            str(out),
            "--model",
            str(toy_model_file),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, captured.err
    assert any("broken.jpg" in line for line in errors)
    assert any("missing.png" in line for line in errors)
    assert (out / "good.blend").is_file() and not (out / "broken.blend").exists()
    assert "good.jpg" in captured.out


def test_batch_photos_of_the_same_name_get_outputs_of_their_own(
    bpy_module, tmp_path, toy_model_file, capsys
):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLE, photos / "p.jpg")
    shutil.copy(SAMPLE, photos / "p.png")
    (photos / "notes.txt").write_text("not a photo: skipped")
    out = tmp_path / "out"
    code = run_build(
        [str(photos), "--blend", str(out), "--render", str(out), "--model", str(toy_model_file)]
    )
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".blend1")) == [
        "p.blend",
        "p.png",
        "p_2.blend",
        "p_2.png",
    ]


def test_single_photo_with_keypoints_writes_blend_and_render(
    bpy_module, tmp_path, toy_model, toy_model_file
):
    pose = np.zeros(72)
    pose[:3] = (np.pi, 0.0, 0.0)
    _, joints = toy_model.forward(np.zeros(10), pose, np.array([0.0, 0.2, 5.0]))
    xy = 1000.0 * joints[:, :2] / joints[:, 2:] + 250.0
    keypoints = tmp_path / "kp.json"
    keypoints.write_text(
        json.dumps({"layout": "smpl24", "xy": xy.tolist(), "confidence": [1.0] * 24})
    )
    blend, render = tmp_path / "one.blend", tmp_path / "one.png"
    code = run_build(
        [
            str(SAMPLE),
            "--blend",
            str(blend),
            "--render",
            str(render),
            "--model",
            str(toy_model_file),
            "--keypoints",
            str(keypoints),
            "--focal",
            "1000",
        ]
    )
    assert code == 0 and blend.is_file() and render.is_file()
    bpy = bpy_module
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    armatures = [o for o in bpy.data.objects if o.get("smplify_role") == "armature"]
    assert len(armatures) == 1 and armatures[0]["focal_length"] == 1000.0
    image = bpy.data.images.load(str(render))
    assert tuple(image.size) == (500, 500)


def test_usage_errors_exit_2(bpy_module, tmp_path, capsys):
    code = run_build(
        [
            str(SAMPLE),
            str(SAMPLE),
            "--blend",
            str(tmp_path / "x.blend"),
            "--keypoints",
            str(tmp_path / "kp.json"),
        ]
    )
    assert code == 2 and "error:" in capsys.readouterr().err


def test_same_person_build_refuses_an_export(bpy_module, tmp_path, capsys):
    """An export is of one avatar: ``--same-person`` builds several, so the two are refused
    together before any photo is fitted."""
    code = run_build(
        [str(SAMPLE), str(SAMPLE), "--same-person", "--blend", str(tmp_path / "x.blend")]
        + ["--export", str(tmp_path / "x.glb")]
    )
    assert code == 2 and "--same-person" in capsys.readouterr().err
    assert not (tmp_path / "x.blend").exists() and not (tmp_path / "x.glb").exists()


def test_blender_command_line_command(bpy_module, tmp_path, toy_model_file, capsys):
    """``blender -b -c smplify ...`` is registered with the add-on and runs the same job."""
    from blender_smplify.blender import cli_command

    assert cli_command._handle is not None  # registered by register()
    assert cli_command.smplify_command(["--help"]) == 0
    assert "--blend" in capsys.readouterr().out
    assert cli_command.smplify_command([]) == 2
    code = cli_command.smplify_command(
        [str(tmp_path / "nothing.jpg"), "--blend", str(tmp_path / "x.blend")]
    )
    assert code == 1 and "error: " in capsys.readouterr().err
