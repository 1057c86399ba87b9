"""Acclaim ASF/AMC reader (numpy only): the skeleton and motion format of HDM05 and CMU mocap.

An ASF file describes bones: each has a rest ``direction`` (unit vector in world axes) and
``length``, an ``axis`` (Euler angles, degrees, giving the bone frame C) and its rotational
``dof``. The ``:hierarchy`` block names each bone's children; a bone starts where its parent
ends, and the children of ``root`` start at the root. An AMC file holds, per frame, one line per
bone with its dof values in degrees (the root: translation and rotation in ``:root order``).

Forward kinematics (Acclaim convention): a bone's global rotation is

    L_b = L_parent · C_b · M_b · C_bᵀ,    M_b = R_z(rz) R_y(ry) R_x(rx),

where M_b applies the dofs in the order they are listed (x first for ``rx ry rz``), and its end
lies at start + L_b · length_b · direction_b. At zero dofs every bone has L_b = I, so the ASF
directions are the rest pose: for HDM05 and CMU a T-pose with the legs spread 20 degrees, y up,
the body facing +z, its left at +x.

The result is a :class:`tools.bvh.BvhMotion` with one joint per bone, at the bone's start (a
leaf bone also gets an End Site ``<bone>_end`` at its tip), and ``joint_axes`` holding C_b, so
that ``tools.bvh.forward_kinematics`` and ``tools.retarget_bvh.retarget`` apply unchanged.
Lengths and root translation are converted to metres with the ASF ``:units length`` (HDM05 and
CMU: 0.45, i.e. one unit is 1/0.45 inch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bvh import BvhError, BvhMotion

INCH = 0.0254  # metres

_AXIS = {
    "x": np.array([1.0, 0.0, 0.0]),
    "y": np.array([0.0, 1.0, 0.0]),
    "z": np.array([0.0, 0.0, 1.0]),
}


class AsfAmcError(BvhError):
    """An ASF or AMC file could not be parsed (the message names the file and the problem)."""


@dataclass
class AsfSkeleton:
    """A parsed ASF skeleton, in metres.

    Attributes
    ----------
    names : list of str
        Bone names, ``root`` first, parents before children.
    parents : numpy.ndarray
        (B,) parent index, -1 for the root.
    directions : numpy.ndarray
        (B, 3) unit rest direction of each bone in world axes (zero for the root).
    lengths : numpy.ndarray
        (B,) bone lengths in metres (zero for the root).
    axes : numpy.ndarray
        (B, 3, 3) bone frames C_b (identity for the root).
    dofs : list of list of str
        Per bone its rotational dofs in file order (``["rx", "ry", "rz"]``); for the root its
        ``:root order`` (``["tx", "ty", "tz", "rx", "ry", "rz"]``).
    scale : float
        Metres per ASF length unit (AMC root translations use the same unit).
    """

    names: list[str]
    parents: np.ndarray
    directions: np.ndarray
    lengths: np.ndarray
    axes: np.ndarray
    dofs: list[list[str]]
    scale: float = 1.0


def _euler(angles_deg: list[float], order: str) -> np.ndarray:
    """Rotation (3, 3) applying the angles about the axes in ``order`` (first letter first)."""
    out = np.eye(3)
    for angle, axis in zip(angles_deg, order.lower(), strict=True):
        a = np.radians(angle)
        k = np.array(
            [
                [0, -_AXIS[axis][2], _AXIS[axis][1]],
                [_AXIS[axis][2], 0, -_AXIS[axis][0]],
                [-_AXIS[axis][1], _AXIS[axis][0], 0],
            ]
        )
        out = (np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k) @ out
    return out


def _sections(path: Path) -> dict[str, list[list[str]]]:
    """Lines (as tokens) of each ``:section`` of an ASF file, comments dropped."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for line in path.read_text(encoding="latin-1").splitlines():
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        if tokens[0].startswith(":"):
            current = tokens[0][1:].lower()
            sections[current] = [tokens[1:]] if len(tokens) > 1 else []
        elif current is not None:
            sections[current].append(tokens)
    return sections


def _bones(lines: list[list[str]], path: Path) -> list[dict]:
    """The ``begin ... end`` blocks of the ``:bonedata`` section as dicts."""
    bones, bone = [], None
    for tokens in lines:
        key = tokens[0].lower()
        if key == "begin":
            bone = {"dof": [], "axis": ([0.0, 0.0, 0.0], "XYZ")}
        elif key == "end":
            if bone is None or "name" not in bone:
                raise AsfAmcError(f"{path}: bone block without a name")
            bones.append(bone)
            bone = None
        elif bone is None:
            continue
        elif key == "name":
            bone["name"] = tokens[1]
        elif key == "direction":
            bone["direction"] = [float(t) for t in tokens[1:4]]
        elif key == "length":
            bone["length"] = float(tokens[1])
        elif key == "axis":
            bone["axis"] = ([float(t) for t in tokens[1:4]], tokens[4])
        elif key == "dof":
            bone["dof"] = [t.lower() for t in tokens[1:]]
    return bones


def read_asf(path: str | Path) -> AsfSkeleton:
    """Parse an Acclaim ASF skeleton.

    Raises
    ------
    AsfAmcError
        When the file is unreadable or malformed, or uses a dof other than rx, ry, rz (the
        message names the file).
    """
    path = Path(path)
    try:
        sections = _sections(path)
        units = {t[0].lower(): t[1] for t in sections.get("units", []) if len(t) >= 2}
        scale = INCH / float(units.get("length", 1.0))
        if units.get("angle", "deg").lower() not in ("deg", "degree", "degrees"):
            raise AsfAmcError(f"{path}: only angles in degrees are supported")
        root = {t[0].lower(): t[1:] for t in sections["root"] if t}
        root_dofs = [t.lower() for t in root.get("order", [])]
        bones = {b["name"]: b for b in _bones(sections["bonedata"], path)}
        children: dict[str, list[str]] = {}
        for tokens in sections["hierarchy"]:
            if tokens[0].lower() not in ("begin", "end"):
                children.setdefault(tokens[0], []).extend(tokens[1:])
    except (KeyError, IndexError, ValueError, OSError) as exc:
        if isinstance(exc, AsfAmcError):
            raise
        raise AsfAmcError(f"{path}: malformed ASF ({type(exc).__name__}: {exc})") from exc
    names, parents = ["root"], [-1]
    queue = ["root"]
    while queue:
        parent = queue.pop(0)
        for child in children.get(parent, []):
            if child not in bones:
                raise AsfAmcError(f"{path}: hierarchy names unknown bone {child!r}")
            names.append(child)
            parents.append(names.index(parent))
            queue.append(child)
    for name in names[1:]:
        bad = [d for d in bones[name]["dof"] if d not in ("rx", "ry", "rz")]
        if bad or "direction" not in bones[name] or "length" not in bones[name]:
            raise AsfAmcError(f"{path}: bone {name!r} lacks direction/length or has dofs {bad}")
    directions = np.zeros((len(names), 3))
    lengths = np.zeros(len(names))
    axes = np.broadcast_to(np.eye(3), (len(names), 3, 3)).copy()
    for i, name in enumerate(names[1:], start=1):
        d = np.asarray(bones[name]["direction"])
        directions[i] = d / np.linalg.norm(d)
        lengths[i] = bones[name]["length"] * scale
        axes[i] = _euler(*bones[name]["axis"])
    dofs = [root_dofs] + [bones[n]["dof"] for n in names[1:]]
    return AsfSkeleton(names, np.array(parents), directions, lengths, axes, dofs, scale)


def read_amc(path: str | Path, skeleton: AsfSkeleton, fps: float = 120.0) -> BvhMotion:
    """Parse an AMC motion for ``skeleton`` into a :class:`tools.bvh.BvhMotion` (metres).

    Angles are kept as written: hinge values past 180 degrees (HDM05 knees) give the same
    rotation as their wrapped value.

    Raises
    ------
    AsfAmcError
        When a frame names an unknown bone or carries the wrong number of values.
    """
    path = Path(path)
    index = {n: i for i, n in enumerate(skeleton.names)}
    widths = [len(d) for d in skeleton.dofs]
    starts = np.concatenate([[0], np.cumsum(widths)])
    frames: list[np.ndarray] = []
    row = None
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise AsfAmcError(f"{path}: cannot read ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens or tokens[0].startswith(("#", ":")):
            continue
        if len(tokens) == 1 and tokens[0].isdigit():
            row = np.zeros(starts[-1])
            frames.append(row)
            continue
        name = tokens[0]
        if row is None or name not in index or len(tokens) - 1 != widths[index[name]]:
            raise AsfAmcError(f"{path}, line {number}: unexpected {line.strip()[:60]!r}")
        row[starts[index[name]] : starts[index[name] + 1]] = [float(t) for t in tokens[1:]]
    if not frames:
        raise AsfAmcError(f"{path}: no frames")
    return _as_motion(skeleton, np.stack(frames), 1.0 / fps)


def _as_motion(skeleton: AsfSkeleton, values: np.ndarray, frame_time: float) -> BvhMotion:
    """BvhMotion with one joint per bone start plus End Sites; channels in BVH order."""
    names, parents, offsets, channels, axes, columns = [], [], [], [], [], []
    start = np.concatenate([[0], np.cumsum([len(d) for d in skeleton.dofs])])
    ends: dict[int, int] = {}
    for b, name in enumerate(skeleton.names):
        p = skeleton.parents[b]
        names.append(name)
        parents.append(-1 if p < 0 else ends[p])
        # a bone starts where its parent ends; the root's children start at the root
        offsets.append(skeleton.lengths[p] * skeleton.directions[p] if p >= 0 else np.zeros(3))
        rot = [d for d in skeleton.dofs[b] if d[0] == "r"]
        pos = [d for d in skeleton.dofs[b] if d[0] == "t"]
        channels.append(
            [f"{d[1].upper()}position" for d in pos]
            + [f"{d[1].upper()}rotation" for d in reversed(rot)]
        )
        columns += [start[b] + skeleton.dofs[b].index(d) for d in pos + rot[::-1]]
        axes.append(skeleton.axes[b])
        ends[b] = len(names) - 1
        if b not in skeleton.parents and b > 0:
            names.append(f"{name}_end")
            parents.append(ends[b])
            offsets.append(skeleton.lengths[b] * skeleton.directions[b])
            channels.append([])
            axes.append(np.eye(3))
    motion = values[:, columns].copy()
    n_pos = sum(1 for d in skeleton.dofs[0] if d[0] == "t")
    motion[:, :n_pos] *= skeleton.scale
    # ASF M applies dofs in listed order (x first): Rz Ry Rx, which BVH lists as Z Y X.
    return BvhMotion(
        names, np.array(parents), np.array(offsets), channels, motion, frame_time, np.array(axes)
    )


def read_asf_amc(asf: str | Path, amc: str | Path, fps: float = 120.0) -> BvhMotion:
    """Skeleton and motion in one call: ``read_amc(amc, read_asf(asf), fps)``."""
    return read_amc(amc, read_asf(asf), fps)
