"""Export choices and the mesh checks garment tools need (core.export_presets), without bpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core import export_presets
from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.joints import SMPL_JOINT_NAMES

#: a unit cube's 8 corners and 12 triangles, wound counter-clockwise seen from outside
CUBE = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
CUBE_TRIANGLES = np.array(
    [
        [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
        [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
    ]
)  # fmt: skip


def test_mixamo_names_cover_every_joint_once_with_the_mixamo_prefix():
    names = export_presets.bone_names("mixamo")
    assert len(names) == len(set(names)) == len(SMPL_JOINT_NAMES)
    assert all(name.startswith("mixamorig:") for name in names)
    assert names[0] == "mixamorig:Hips"
    assert export_presets.MIXAMO_NAMES["left_shoulder"] == "mixamorig:LeftArm"
    assert export_presets.bone_names("smpl") == list(SMPL_JOINT_NAMES)


def test_presets_name_known_choices():
    for preset in export_presets.PRESETS.values():
        export_presets.check_export(f"x{preset.suffix}", preset.skeleton, preset.rest_pose)
    assert export_presets.PRESETS["CLO3D"].skeleton == "mixamo"
    assert export_presets.PRESETS["CLO3D"].rest_pose == "a"


@pytest.mark.parametrize(
    ("path", "skeleton", "rest", "message"),
    [
        ("out.dae", "smpl", "a", r"unknown format '\.dae'; use one of \.fbx, \.glb, \.obj"),
        ("out", "smpl", "a", r"unknown format '\(none\)'"),
        ("out.fbx", "daz", "a", r"unknown skeleton 'daz': choose one of smpl, mixamo"),
        ("out.fbx", "smpl", "y", r"unknown rest pose 'y'"),
    ],
)
def test_bad_export_choices_get_specific_errors(path, skeleton, rest, message):
    with pytest.raises(SmplifyError, match=message):
        export_presets.check_export(path, skeleton, rest)


def test_obj_writes_one_file_per_pose():
    assert export_presets.output_files("d/av.OBJ") == [
        Path("d/av_rest.OBJ"),
        Path("d/av_fitted.OBJ"),
    ]
    assert export_presets.output_files("d/av.glb") == [Path("d/av.glb")]


def test_signed_volume_is_positive_for_outward_normals_only():
    assert export_presets.signed_volume(CUBE, CUBE_TRIANGLES) == pytest.approx(1.0)
    shifted = CUBE + 5.0  # the origin's place does not matter
    assert export_presets.signed_volume(shifted, CUBE_TRIANGLES) == pytest.approx(1.0)
    inward = CUBE_TRIANGLES[:, ::-1]
    assert export_presets.signed_volume(CUBE, inward) == pytest.approx(-1.0)


def test_welded_and_closed_checks():
    assert export_presets.duplicate_vertices(CUBE) == 0
    split = np.vstack([CUBE, CUBE[:1] + 1e-8])  # a seam: one corner twice
    assert export_presets.duplicate_vertices(split) == 2
    assert export_presets.open_edges(CUBE_TRIANGLES) == 0
    assert export_presets.open_edges(CUBE_TRIANGLES[1:]) == 3
    assert export_presets.triangle_count(np.array([4, 4, 3, 5])) == 2 + 2 + 1 + 3
