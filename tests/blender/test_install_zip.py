"""Build the Linux extension zip with Blender's tool, install it into bpy, use it, remove it.

The wheels come from PyPI on first use (pip download into ./wheels/, or SMPLIFY_WHEELS_DIR);
later runs reuse them. The install runs in a subprocess so that its Blender user folders are
a temporary folder and the registered extension cannot clash with this session's classes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # build_addon.py
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    import build_addon

    wheels = Path(os.environ.get("SMPLIFY_WHEELS_DIR", ROOT / "wheels"))
    zips = build_addon.build(["linux-x64"], wheels, tmp_path_factory.mktemp("dist"))
    assert [z.name for z in zips] == ["blender_smplify-0.1.0-linux_x64.zip"]
    return zips[0]


def test_zip_holds_the_package_wheels_and_models(linux_zip):
    import zipfile

    names = zipfile.ZipFile(linux_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "blender/registration.py" in names and "core/body_model.py" in names
    wheels = [n for n in names if n.startswith("wheels/")]
    assert any("scipy" in n and "manylinux" in n for n in wheels)
    assert any("onnxruntime" in n and "manylinux" in n for n in wheels)
    assert not any("win_amd64" in n or "macosx" in n for n in wheels)
    assert any(n.startswith("onnx_models/") and n.endswith(".onnx") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_install_enable_use_disable_remove(linux_zip, tmp_path, toy_model_data, toy_model):
    model_path = tmp_path / "toy_smpl.npz"
    np.savez(model_path, **toy_model_data)
    # 2D joints of a posed toy body seen by a 1000 px camera, in the smpl24 layout
    pose = np.zeros(72)
    pose[:3] = (np.pi, 0.0, 0.0)
    _, joints = toy_model.forward(np.zeros(10), pose, np.array([0.0, 0.2, 5.0]))
    xy = 1000.0 * joints[:, :2] / joints[:, 2:] + np.array([250.0, 250.0])
    keypoints = tmp_path / "keypoints.json"
    keypoints.write_text(
        json.dumps(
            {
                "layout": "smpl24",
                "xy": xy.tolist(),
                "confidence": [1.0] * 24,
                "image_size": [500, 500],
            }
        )
    )
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender_user"))
    env["PYTHONPATH"] = ""  # the installed extension, not this checkout, must be used
    script = Path(__file__).with_name("install_check.py")
    import bpy

    if bpy.app.binary_path:  # inside a Blender binary: a fresh Blender runs the script
        command = [
            bpy.app.binary_path,
            "-b",
            "--factory-startup",
            "--python-exit-code",
            "1",
            "--python",
            str(script),
            "--",
        ]
    else:  # the bpy module: a fresh Python process
        command = [sys.executable, str(script)]
    arguments = [str(linux_zip), str(model_path), str(keypoints), str(SAMPLE), str(tmp_path)]
    run = subprocess.run(
        [*command, *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    found = json.loads(lines[-1][len("RESULT ") :])
    assert found["install"] == ["FINISHED"] and found["enabled"] and found["imported"]
    assert {"scipy", "onnxruntime"} <= set(found["wheels_installed"])
    assert found["registered"]
    assert all(v == ["FINISHED"] for v in found["steps"].values()), found["steps"]
    assert {"global_orient", "body_pose", "betas", "transl"} <= set(found["exported_keys"])
    assert found["bones"] == 24
    assert found["steps_open"] == {"photo_to_avatar": ["FINISHED"]}, found["status_open"]
    undo = found["undo"]
    # camera, rig and body, plus the fitted keypoints as markers on the camera
    roles = undo["built_roles"]
    assert [r for r in roles if r != "keypoint"] == ["armature", "body", "camera"], roles
    assert roles.count("keypoint") >= 12 and set(undo["before"]) <= set(undo["built"])
    assert undo["after_undo"] == undo["before"]
    assert found["disable"] == ["FINISHED"] and not found["registered_after_disable"]
    assert found["uninstall"] == ["FINISHED"] and not found["enabled_after_remove"]
    assert found["left_in_repo"] == [] and found["wheels_left"] == []


def test_manifest_matches_the_package_and_blenders_platform_rules():
    import importlib.util
    import tomllib

    import blender_smplify
    import build_addon

    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    assert manifest["version"] == blender_smplify.__version__
    assert manifest["blender_version_min"] == "4.2.0" and "network" not in manifest["permissions"]
    tool = build_addon.extension_tool()[-1]
    spec = importlib.util.spec_from_file_location("blender_ext", tool)
    blender_ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(blender_ext)
    for platform in manifest["platforms"]:
        ours = build_addon.wheels_for(manifest["wheels"], [platform])
        blenders = blender_ext.paths_filter_wheels_by_platform(manifest["wheels"], platform)
        assert ours == blenders
        for package in ("scipy", "onnxruntime"):
            assert sum(Path(w).name.startswith(package + "-") for w in ours) == 1, platform
