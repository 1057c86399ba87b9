"""What an avatar export may be (formats, skeleton names, rest poses, presets) and the checks
garment tools ask of the mesh, without Blender.

CLO3D and Marvelous Designer read FBX, OBJ and glTF/GLB: y up, welded vertices, outward normals,
plain linear blend skinning, at most about 70,000 triangles; their IK auto-mapping recognises
Mixamo's bone names among a few others. Browzwear VStitcher reads FBX or OBJ (one OBJ per pose).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SmplifyError
from .joints import SMPL_JOINT_NAMES
from .rest_pose import check_rest_pose

FORMATS: tuple[str, ...] = (".fbx", ".glb", ".obj")
SKELETONS: tuple[str, ...] = ("smpl", "mixamo")
#: the rest pose garment tools fit clothes in, unless told otherwise
DEFAULT_REST = "a"
MAX_TRIANGLES = 70_000

#: SMPL joint -> Mixamo bone (the one table of it). SMPL's spine1-3 are Mixamo's Spine..Spine2,
#: its collars the Shoulder bones, its shoulders the Arm bones, its hand joints (at the knuckles)
#: the middle finger's first bone, its foot joints (at the toes) the ToeBase bones.
MIXAMO_NAMES: dict[str, str] = {
    "pelvis": "mixamorig:Hips",
    "left_hip": "mixamorig:LeftUpLeg",
    "right_hip": "mixamorig:RightUpLeg",
    "spine1": "mixamorig:Spine",
    "left_knee": "mixamorig:LeftLeg",
    "right_knee": "mixamorig:RightLeg",
    "spine2": "mixamorig:Spine1",
    "left_ankle": "mixamorig:LeftFoot",
    "right_ankle": "mixamorig:RightFoot",
    "spine3": "mixamorig:Spine2",
    "left_foot": "mixamorig:LeftToeBase",
    "right_foot": "mixamorig:RightToeBase",
    "neck": "mixamorig:Neck",
    "left_collar": "mixamorig:LeftShoulder",
    "right_collar": "mixamorig:RightShoulder",
    "head": "mixamorig:Head",
    "left_shoulder": "mixamorig:LeftArm",
    "right_shoulder": "mixamorig:RightArm",
    "left_elbow": "mixamorig:LeftForeArm",
    "right_elbow": "mixamorig:RightForeArm",
    "left_wrist": "mixamorig:LeftHand",
    "right_wrist": "mixamorig:RightHand",
    "left_hand": "mixamorig:LeftHandMiddle1",
    "right_hand": "mixamorig:RightHandMiddle1",
}


@dataclass(frozen=True)
class ExportPreset:
    """One button of the export panel: a target tool's format, bone names and rest pose."""

    label: str
    suffix: str
    skeleton: str
    rest_pose: str
    description: str


PRESETS: dict[str, ExportPreset] = {
    "CLO3D": ExportPreset(
        "CLO3D / Marvelous (FBX)",
        ".fbx",
        "mixamo",
        "a",
        "FBX, y up, Mixamo bone names for their IK auto-mapping, A-pose bind pose, the fitted "
        "pose as a keyframe",
    ),
    "BROWZWEAR": ExportPreset(
        "Browzwear (OBJ)", ".obj", "smpl", "a", "One OBJ per pose: the A-pose rest and the fit"
    ),
    "GLTF": ExportPreset(
        "glTF (GLB)", ".glb", "smpl", "a", "Binary glTF with skin, A-pose bind pose, fitted pose"
    ),
}


def bone_names(skeleton: str) -> list[str]:
    """The 24 bone names of a skeleton naming, in SMPL joint order."""
    check_skeleton(skeleton)
    if skeleton == "mixamo":
        return [MIXAMO_NAMES[name] for name in SMPL_JOINT_NAMES]
    return list(SMPL_JOINT_NAMES)


def check_skeleton(skeleton: str) -> str:
    if skeleton not in SKELETONS:
        raise SmplifyError(f"unknown skeleton '{skeleton}': choose one of {', '.join(SKELETONS)}")
    return skeleton


def check_export(path: str | Path, skeleton: str, rest_pose: str) -> Path:
    """The export path, once its format, skeleton and rest pose are known (SmplifyError if not)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise SmplifyError(
            f"cannot export to '{path.name}': unknown format '{path.suffix or '(none)'}'; "
            f"use one of {', '.join(FORMATS)}"
        )
    check_skeleton(skeleton)
    check_rest_pose(rest_pose)
    return path


def output_files(path: str | Path) -> list[Path]:
    """The files an export to ``path`` writes: OBJ writes one per pose (``<stem>_rest.obj``,
    ``<stem>_fitted.obj``), the other formats the file itself."""
    path = Path(path)
    if path.suffix.lower() == ".obj":
        return [path.with_name(f"{path.stem}_{pose}{path.suffix}") for pose in ("rest", "fitted")]
    return [path]


def triangle_count(polygon_sizes: np.ndarray) -> int:
    """Triangles (Σ n − 2) of polygons with ``polygon_sizes`` (F,) corners."""
    return int(np.sum(np.asarray(polygon_sizes) - 2))


def duplicate_vertices(points: np.ndarray, tolerance: float = 1e-6) -> int:
    """How many vertices (V, 3) lie within ``tolerance`` of another (0 for a welded mesh)."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(points).query_pairs(tolerance, output_type="ndarray")
    return len(np.unique(pairs))


def open_edges(triangles: np.ndarray) -> int:
    """Edges of triangles (T, 3) not shared by exactly two triangles (0: closed 2-manifold)."""
    edges = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int(np.sum(counts != 2))


def signed_volume(points: np.ndarray, triangles: np.ndarray) -> float:
    """Volume (m³) enclosed by triangles (T, 3) over points (V, 3): positive when the
    triangles wind counter-clockwise seen from outside, i.e. their normals point out
    (divergence theorem: V = Σ p0 · (p1 × p2) / 6)."""
    p0, p1, p2 = (points[triangles[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->", p0, np.cross(p1, p2)) / 6.0)
