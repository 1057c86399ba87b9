"""One door: ``python -m blender_smplify fit``, ``build`` and the panel's fit (the function the
Fit and Photo to avatar buttons run) give the same answer to the same input, good or bad.

Each case is fed to all three; a good input must succeed everywhere with the same camera and
translation, a bad one must fail everywhere with the same one-line message, naming each file
once.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"
SAMPLE_SIZE = (500, 500)


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory, toy_model_data) -> Path:
    path = tmp_path_factory.mktemp("model") / "toy.npz"
    np.savez(path, **toy_model_data)
    return path


@pytest.fixture(scope="module")
def toy_keypoints(toy_model) -> dict:
    """smpl24 keypoints of the toy body 5 m in front of a 1000 px camera, on the sample's size."""
    pose = np.zeros(72)
    pose[:3] = (np.pi, 0.0, 0.0)
    _, joints = toy_model.forward(np.zeros(10), pose, np.array([0.0, 0.2, 5.0]))
    xy = 1000.0 * joints[:, :2] / joints[:, 2:] + 250.0
    return {
        "layout": "smpl24",
        "xy": xy.tolist(),
        "confidence": [1.0] * 24,
        "image_size": list(SAMPLE_SIZE),
    }


def _keypoints(base: dict, **changes) -> dict:
    data = {**base, **changes}
    return {k: v for k, v in data.items() if v is not None}


#: name: (photo, keypoints: a change to the toy keypoints, a kind of file, or None to detect,
#: focal). Not here: a folder as the photo, which ``build`` takes as a batch of photos.
CASES = {
    "keypoints": ("sample", {}, 1000.0),
    "keypoints without confidence": ("sample", {"confidence": None}, 1000.0),
    "keypoints with a byte-order mark": ("sample", "bom", 1000.0),
    "keypoints without image size": ("sample", {"image_size": None}, None),
    "detected": ("sample", None, None),
    "focal 0": ("sample", {}, 0.0),
    "focal negative": ("sample", {}, -3.0),
    "focal not finite": ("sample", {}, float("nan")),
    "not an image": ("text", None, None),
    "missing photo": ("missing", None, None),
    "unknown layout": ("sample", {"layout": "smpl99"}, None),
    "wrong layout": ("sample", {"layout": "coco17"}, None),
    "too few keypoints": ("sample", {"confidence": [1.0] * 3 + [0.0] * 21}, None),
    "confidence out of range": ("sample", {"confidence": [2.0] * 24}, None),
    "not numbers": ("sample", {"xy": [["1", "2"]] * 24}, None),
    "image size not the photo's": ("sample", {"image_size": [640, 480]}, None),
    "keypoints not JSON": ("sample", "garbage", None),
    "missing keypoints file": ("sample", "missing", None),
}
GOOD = {
    "keypoints",
    "keypoints without confidence",
    "keypoints with a byte-order mark",
    "keypoints without image size",
    "detected",
}


def _inputs(case: str, folder: Path, toy_keypoints: dict) -> tuple[Path, Path | None, float]:
    photo_kind, keypoints, focal = CASES[case]
    photo = {
        "sample": folder / "photo.jpg",
        "text": folder / "notes.png",
        "missing": folder / "absent.jpg",
    }[photo_kind]
    if photo_kind == "sample":
        shutil.copy(SAMPLE, photo)
    elif photo_kind == "text":
        photo.write_text("not a picture")
    if keypoints is None:
        return photo, None, focal
    path = folder / "kp.json"
    if keypoints == "bom":
        path.write_text(json.dumps(toy_keypoints), encoding="utf-8-sig")
    elif keypoints == "garbage":
        path.write_text("{not json")
    elif keypoints != "missing":
        path.write_text(json.dumps(_keypoints(toy_keypoints, **keypoints)))
    return photo, path, focal


def _options(keypoints: Path | None, focal: float | None, model: Path, height=None) -> list[str]:
    argv = ["--model", str(model)]
    argv += ["--keypoints", str(keypoints)] if keypoints else []
    argv += ["--height", str(height)] if height is not None else []
    return argv + (["--focal", str(focal)] if focal is not None else [])


def _cli_outcome(argv: list[str], capsys) -> tuple:
    from blender_smplify.__main__ import main

    code = main(argv)
    err = capsys.readouterr().err
    if code == 0:
        return ("ok",)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return ("error", lines[0].removeprefix("error: "))


def run_fit(photo, keypoints, focal, model, capsys, folder: Path, height=None) -> tuple:
    out = folder / "fit.json"
    outcome = _cli_outcome(
        ["fit", str(photo), "--out", str(out), *_options(keypoints, focal, model, height)],
        capsys,
    )
    if outcome[0] == "ok":
        data = json.loads(out.read_text())
        return outcome + (
            data["camera"]["focal_length"],
            tuple(data["camera"]["image_size"]),
            np.round(data["transl"], 6).tolist(),
        )
    return outcome


def run_build(photo, keypoints, focal, model, capsys, folder: Path, height=None) -> tuple:
    import bpy

    blend = folder / "avatar.blend"
    outcome = _cli_outcome(
        ["build", str(photo), "--blend", str(blend), *_options(keypoints, focal, model, height)],
        capsys,
    )
    if outcome[0] == "ok":
        assert blend.is_file()
        armature = next(o for o in bpy.data.objects if o.get("smplify_role") == "armature")
        data = json.loads(armature["smplify_fit"])
        return outcome + (
            data["camera"]["focal_length"],
            tuple(data["camera"]["image_size"]),
            np.round(data["transl"], 6).tolist(),
        )
    return outcome


def run_panel(photo, keypoints, focal, model, capsys, folder: Path, height=None) -> tuple:
    from blender_smplify.blender.inputs import Inputs, fit_job, known_height
    from blender_smplify.core.errors import SmplifyError

    metres = None if height is None else known_height(height)  # the panel's field, in cm
    run = Inputs(photo, "neutral", str(model), focal, height=metres)
    try:
        result = fit_job(run, keypoints)(lambda f, m: True)
    except SmplifyError as error:
        return ("error", str(error))
    data = result.fit.to_dict()
    return (
        "ok",
        data["camera"]["focal_length"],
        tuple(data["camera"]["image_size"]),
        np.round(data["transl"], 6).tolist(),
    )


@pytest.mark.parametrize("case", CASES)
def test_the_three_doors_agree(case, bpy_module, tmp_path, toy_file, toy_keypoints, capsys):
    outcomes = {}
    for door, run in (("fit", run_fit), ("build", run_build), ("panel", run_panel)):
        folder = tmp_path / door
        folder.mkdir()
        photo, keypoints, focal = _inputs(case, folder, toy_keypoints)
        outcome = run(photo, keypoints, focal, toy_file, capsys, folder)
        # each door had its own folder: compare the messages with the folder's name taken out
        outcomes[door] = tuple(
            v.replace(str(folder), "<dir>") if isinstance(v, str) else v for v in outcome
        )
    assert outcomes["fit"] == outcomes["build"] == outcomes["panel"], outcomes
    assert (outcomes["fit"][0] == "ok") == (case in GOOD), outcomes["fit"]
    if outcomes["fit"][0] == "error":  # one line that names each file once
        message = outcomes["fit"][1]
        for name in ("photo.jpg", "notes.png", "absent.jpg", "kp.json"):
            assert message.count(name) <= 1, message


@pytest.mark.parametrize("height", [-170.0, 50.0, 300.0, float("nan"), 182.0])
def test_the_three_doors_agree_on_a_known_height(
    height, bpy_module, tmp_path, toy_file, toy_keypoints, capsys
):
    """``--height CM`` of fit and build and the panel's "Height (cm)": the same stature, or the
    same error for an implausible one."""
    outcomes = {}
    for door, run in (("fit", run_fit), ("build", run_build), ("panel", run_panel)):
        folder = tmp_path / door
        folder.mkdir()
        photo, keypoints, focal = _inputs("keypoints", folder, toy_keypoints)
        outcomes[door] = run(photo, keypoints, focal, toy_file, capsys, folder, height)
    assert outcomes["fit"] == outcomes["build"] == outcomes["panel"], outcomes
    if height == 182.0:  # the height reached the fit: the body stands elsewhere without it
        folder = tmp_path / "unknown"
        folder.mkdir()
        photo, keypoints, focal = _inputs("keypoints", folder, toy_keypoints)
        unknown = run_fit(photo, keypoints, focal, toy_file, capsys, folder)
        assert outcomes["fit"][0] == unknown[0] == "ok" and outcomes["fit"] != unknown
    else:
        shown = "nan" if height != height else f"{height / 100:g} m ({height:g} cm)"
        assert outcomes["fit"] == (
            "error",
            f"height must be between 100 cm and 250 cm (an adult's stature), got {shown}",
        )


def test_focal_zero_is_refused_not_ignored(bpy_module, tmp_path, toy_file, toy_keypoints, capsys):
    """``build --focal 0`` used to fall back silently to EXIF or the default."""
    photo, keypoints, _ = _inputs("keypoints", tmp_path, toy_keypoints)
    outcome = run_build(photo, keypoints, 0.0, toy_file, capsys, tmp_path)
    assert outcome == ("error", "focal length must be a positive number of pixels, got 0")


def test_a_photo_error_names_the_photo_once(bpy_module, tmp_path, toy_file, capsys):
    """It used to read ``error: p.png: p.png: not an image...``."""
    photo, _, _ = _inputs("not an image", tmp_path, {})
    outcome = run_build(photo, None, None, toy_file, capsys, tmp_path)
    assert outcome == ("error", f"{photo}: not an image, or a format that cannot be read")


def _arguments(parser) -> dict:
    return {
        action.dest: (
            action.option_strings,
            action.type,
            action.choices,
            action.default,
            action.help,
        )
        for action in parser._actions
        if action.dest
        in (
            "gender",
            "model",
            "focal",
            "keypoints",
            "height",
            "chest",
            "waist",
            "hip",
            "silhouette",
        )
    }


def test_one_set_of_arguments_and_genders(bpy_module):
    """fit, build, info and ``blender -c smplify`` declare the shared options the same way, and
    the panel and preferences offer the core's genders."""
    import argparse

    from blender_smplify.__main__ import make_parser
    from blender_smplify.blender import build_cli, preferences, properties
    from blender_smplify.core.body_model import GENDERS

    commands = make_parser()._subparsers._group_actions[0].choices
    blender_command = argparse.ArgumentParser()
    build_cli.add_arguments(blender_command)  # what cli_command.smplify_command parses
    fit, build, info = (_arguments(commands[name]) for name in ("fit", "build", "info"))
    assert fit == build == _arguments(blender_command) and len(fit) == 9
    assert info == {k: fit[k] for k in ("gender", "model")}
    assert fit["gender"][2] == GENDERS
    assert tuple(item[0] for item in properties.GENDER_ITEMS) == GENDERS
    annotations = preferences.SMPLIFY_AP_preferences.__annotations__
    assert all(f"smpl_{gender}_path" in annotations for gender in GENDERS)


@pytest.mark.parametrize("switch", [True, False, None])
def test_the_outline_switch_reaches_the_fit_through_every_door(
    switch, bpy_module, tmp_path, capsys, monkeypatch
):
    """``--silhouette`` / ``--no-silhouette`` of fit and build and the panel's "Fit the outline
    (tight clothing)" decide whether the detected person's mask reaches ``fit()``; without the
    option (None), the pipeline's default (``SILHOUETTE_FROM_MASK``) decides."""
    from blender_smplify.blender.inputs import fit_job, resolve
    from blender_smplify.core import fit as fit_module
    from blender_smplify.core import pipeline
    from blender_smplify.core.silhouette import Silhouette

    real, seen = fit_module.fit, []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("silhouette"))
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    option = {True: ["--silhouette"], False: ["--no-silhouette"], None: []}[switch]
    out = tmp_path / "fit.json"
    assert _cli_outcome(["fit", str(SAMPLE), "--out", str(out), *option], capsys)[0] == "ok"
    blend = tmp_path / "a.blend"
    assert _cli_outcome(["build", str(SAMPLE), "--blend", str(blend), *option], capsys)[0] == "ok"
    settings = bpy_module.context.scene.smplify  # the panel: its checkbox, then its Fit
    settings.image_source, settings.image_path = "FILE", str(SAMPLE)
    settings.property_unset("fit_outline")
    if switch is not None:
        settings.fit_outline = switch
    fit_job(resolve(bpy_module.context))(lambda f, m: True)
    expected = pipeline.SILHOUETTE_FROM_MASK if switch is None else switch
    assert len(seen) == 3
    assert [isinstance(s, Silhouette) for s in seen] == [expected] * 3, seen
