"""Minimal BVH reader and forward kinematics (numpy only), for building the pose prior.

A BVH file has a HIERARCHY (joints with an OFFSET from their parent and a list of CHANNELS)
and a MOTION block (one row of channel values per frame). Each joint's local transform is a
translation by its OFFSET (plus any position channels) followed by the product of its rotation
channels in the order they are listed (``Zrotation Yrotation Xrotation`` gives Rz @ Ry @ Rx),
angles in degrees. End Sites are kept as channel-less joints so bone tips are known.

The same structure holds Acclaim ASF/AMC motion (``tools/asf_amc.py``): there each joint's
rotation channels turn about the axes of its own bone frame A, i.e. the local rotation is
A (channel product) Aᵀ, stored in the optional ``joint_axes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class BvhError(ValueError):
    """A BVH file could not be parsed (the message names the file and the problem)."""


@dataclass
class BvhMotion:
    """A parsed BVH file.

    Attributes
    ----------
    names : list of str
        Joint names, parents before children; End Sites are named ``<parent>_end``.
    parents : numpy.ndarray
        (J,) parent index, -1 for the root.
    offsets : numpy.ndarray
        (J, 3) offset of each joint from its parent, in the parent's rest frame.
    channels : list of list of str
        Channel names per joint (empty for End Sites).
    motion : numpy.ndarray
        (F, C) channel values per frame.
    frame_time : float
        Seconds per frame.
    joint_axes : numpy.ndarray, optional
        (J, 3, 3) frame each joint's rotation channels turn about (ASF bone axes); None for
        BVH, where channels turn about the parent's axes.
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: list[list[str]]
    motion: np.ndarray
    frame_time: float
    joint_axes: np.ndarray | None = None

    def index(self, name: str) -> int:
        """Index of the joint called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"BVH has no joint named {name!r}") from None


def read_bvh(path: str | Path) -> BvhMotion:
    """Parse a BVH file.

    Raises
    ------
    BvhError
        When the file is malformed (the message names the file).
    """
    path = Path(path)
    try:
        tokens = path.read_text(errors="replace").split()
    except OSError as exc:
        raise BvhError(f"{path}: cannot read ({exc})") from exc
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []
    i = 0
    try:
        if tokens[0] != "HIERARCHY":
            raise BvhError(f"{path}: does not start with HIERARCHY")
        i = 1
        pending: int | None = None
        while tokens[i] != "MOTION":
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                names.append(tokens[i + 1])
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append([])
                pending = len(names) - 1
                i += 2
            elif tok == "End":
                names.append(names[stack[-1]] + "_end")
                parents.append(stack[-1])
                offsets.append([0.0, 0.0, 0.0])
                channels.append([])
                pending = len(names) - 1
                i += 2
            elif tok == "{":
                if pending is None:
                    raise BvhError(f"{path}: unexpected '{{'")
                stack.append(pending)
                pending = None
                i += 1
            elif tok == "}":
                stack.pop()
                i += 1
            elif tok == "OFFSET":
                offsets[stack[-1]] = [float(t) for t in tokens[i + 1 : i + 4]]
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                channels[stack[-1]] = tokens[i + 2 : i + 2 + n]
                i += 2 + n
            else:
                raise BvhError(f"{path}: unexpected token {tok!r}")
        n_frames = int(tokens[i + 2])
        frame_time = float(tokens[i + 5])
        values = np.asarray(tokens[i + 6 :], dtype=np.float64)
    except (IndexError, ValueError) as exc:
        if isinstance(exc, BvhError):
            raise
        raise BvhError(f"{path}: malformed BVH ({exc})") from exc
    n_ch = sum(len(c) for c in channels)
    if n_ch == 0 or values.size < n_frames * n_ch:
        raise BvhError(f"{path}: expected {n_frames} frames of {n_ch} channels")
    motion = values[: n_frames * n_ch].reshape(n_frames, n_ch)
    return BvhMotion(names, np.array(parents), np.array(offsets), channels, motion, frame_time)


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotation matrices (F, 3, 3) about one coordinate axis."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros(a.shape + (3, 3))
    i, j = {"X": (1, 2), "Y": (2, 0), "Z": (0, 1)}[axis]
    k = 3 - i - j
    out[:, k, k] = 1.0
    out[:, i, i] = c
    out[:, j, j] = c
    out[:, i, j] = -s
    out[:, j, i] = s
    return out


def forward_kinematics(
    bvh: BvhMotion, frames: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations and positions of every joint.

    Parameters
    ----------
    bvh : BvhMotion
    frames : numpy.ndarray, optional
        (F, C) channel values; default all of ``bvh.motion``. Pass zeros for the rest pose.

    Returns
    -------
    rotations : numpy.ndarray
        (F, J, 3, 3) global rotation of each joint's frame.
    positions : numpy.ndarray
        (F, J, 3) global joint positions, in the file's units.
    """
    motion = bvh.motion if frames is None else np.atleast_2d(frames)
    n_f, n_j = motion.shape[0], len(bvh.names)
    rot = np.zeros((n_f, n_j, 3, 3))
    pos = np.zeros((n_f, n_j, 3))
    col = 0
    for j in range(n_j):
        local_r = np.broadcast_to(np.eye(3), (n_f, 3, 3)).copy()
        local_t = np.broadcast_to(bvh.offsets[j], (n_f, 3)).copy()
        for name in bvh.channels[j]:
            values = motion[:, col]
            col += 1
            axis, kind = name[0].upper(), name[1:].lower()
            if kind == "position":
                local_t[:, "XYZ".index(axis)] += values
            elif kind == "rotation":
                local_r = local_r @ _axis_rotations(axis, values)
            else:
                raise BvhError(f"unknown BVH channel {name!r}")
        if bvh.joint_axes is not None:
            local_r = bvh.joint_axes[j] @ local_r @ bvh.joint_axes[j].T
        p = bvh.parents[j]
        if p < 0:
            rot[:, j] = local_r
            pos[:, j] = local_t
        else:
            rot[:, j] = rot[:, p] @ local_r
            pos[:, j] = pos[:, p] + np.einsum("fab,fb->fa", rot[:, p], local_t)
    return rot, pos
