"""The artist's edits as residual blocks of the objective: pinned bones, limb depth, facing.

Three terms join the SMPLify blocks (``objective.py``) when a fit is refitted by hand
(``refit.py``); each is a sum of squares ‖λ r‖² with its λ in the stage's ``StageConfig``:

- ``pins`` — a bone the artist posed keeps its rotation: r = θ_k − θ̂_k (3 per pinned joint,
  axis-angle, radians), a strong quadratic pull to the pinned value.
- ``depth_order`` — a limb segment from joint p to its child c points toward or away from the
  camera: with d = z_c − z_p (camera depth, metres) and s = +1 for "toward", −1 for "away",
  r = max(0, m + s d), a hinge that is zero once the child end is at least m nearer (farther).
- ``facing`` — the body faces the camera or turns its back: the torso normal
  f = (P_lhip − P_rhip) × (P_neck − P_pelvis) points along the body's front (SMPL: +z), so
  facing the camera means f_z < 0. r = max(0, m + s f_z / A) with s = +1 for "toward".

Hinges leave out their inactive rows when ``compact`` (zero residual, zero gradient).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .joints import SMPL_JOINT_NAMES, J
from .objective import ResidualBlock

#: Limb segments the depth choice applies to: the bone (its parent joint) -> its child joint.
LIMB_SEGMENTS: dict[str, str] = {
    f"{side}_{parent}": f"{side}_{child}"
    for side in ("left", "right")
    for parent, child in (
        ("shoulder", "elbow"),
        ("elbow", "wrist"),
        ("hip", "knee"),
        ("knee", "ankle"),
    )
}
#: The two answers of a depth or facing choice, and their hinge signs s.
DIRECTIONS = {"toward": 1.0, "away": -1.0}
#: Hinge margin of the depth order (metres): the held end is at least this much nearer/farther.
DEPTH_MARGIN = 0.03
#: Unit of the torso normal's depth component (m²) and the facing hinge's margin in it.
FACING_AREA = 0.05
FACING_MARGIN = 0.2


def check_direction(value: str, what: str) -> float:
    """The hinge sign of "toward" / "away", or a ValueError naming ``what``."""
    try:
        return DIRECTIONS[value]
    except (KeyError, TypeError):
        raise ValueError(f"{what} must be 'toward' or 'away', got {value!r}") from None


def check_segment(name: str) -> str:
    """A limb segment's bone name, or a ValueError listing the segments."""
    if name not in LIMB_SEGMENTS:
        raise ValueError(
            f"{name!r} is not a limb segment; choose one of "
            f"{', '.join(LIMB_SEGMENTS)} (upper arm, forearm, thigh, shin)"
        )
    return name


class PinBlock(ResidualBlock):
    """Pinned bones: r = θ_k − θ̂_k for each pinned joint k.

    Parameters
    ----------
    pins : {joint name: (3,) axis-angle to hold}.
    """

    name = "pins"

    def __init__(self, pins: Mapping[str, np.ndarray]) -> None:
        unknown = [k for k in pins if k not in J]
        if unknown:
            raise ValueError(
                f"cannot pin {', '.join(map(repr, unknown))}: not SMPL joints "
                f"({', '.join(SMPL_JOINT_NAMES)})"
            )
        self.joints = np.array([J[k] for k in pins], dtype=int)
        self.targets = np.array(
            [np.asarray(v, dtype=np.float64).reshape(3) for v in pins.values()]
        ).reshape(-1, 3)
        self.columns = (3 * self.joints[:, None] + np.arange(3)).ravel()

    def residuals(self, state, stage, *, jacobian, compact):
        r = state.x[self.columns] - self.targets.ravel()
        if not jacobian:
            return r, None
        Jm = np.zeros((len(r), len(state.x)))
        Jm[np.arange(len(r)), self.columns] = 1.0
        return r, Jm


class DepthHingeBlock(ResidualBlock):
    """Held depth signs of segments along unit rays: r = max(0, m + s r̂·(p_child − p_parent))
    per segment, s = +1 to hold the child end nearer the camera along r̂.

    Parameters
    ----------
    parents, children : (S,) joint indices of each segment's ends.
    rays : (S, 3) unit rays r̂, camera frame. signs : (S,) s = ±1. margin : m, metres.
    """

    name = "depth_order"

    def __init__(self, parents, children, rays, signs, margin: float) -> None:
        self.parents = np.asarray(parents, dtype=int)
        self.children = np.asarray(children, dtype=int)
        self.rays = np.asarray(rays, dtype=np.float64)
        self.signs = np.asarray(signs, dtype=np.float64)
        self.margin = float(margin)

    def residuals(self, state, stage, *, jacobian, compact):
        pts = state.points
        d = np.einsum("ij,ij->i", pts[self.children] - pts[self.parents], self.rays)
        h = self.margin + self.signs * d
        active = h > 0
        keep = np.flatnonzero(active) if compact else np.arange(len(h))
        r = np.where(active, h, 0.0)[keep]
        if not jacobian:
            return r, None
        pj = state.points_jac
        dd = np.einsum(
            "ij,ijn->in", self.rays[keep], pj[self.children[keep]] - pj[self.parents[keep]]
        )  # (m, n)
        return r, (self.signs[keep] * active[keep])[:, None] * dd


class DepthOrderBlock(DepthHingeBlock):
    """Limb depth choices: r = max(0, m + s (z_child − z_parent)) per chosen segment (the
    hinge along the optical axis).

    Parameters
    ----------
    choices : {segment bone name: "toward" | "away"}.
    margin : m, metres.
    """

    def __init__(self, choices: Mapping[str, str], margin: float = DEPTH_MARGIN) -> None:
        parents = [J[check_segment(k)] for k in choices]
        children = [J[LIMB_SEGMENTS[k]] for k in choices]
        signs = [check_direction(v, f"the depth of {k}") for k, v in choices.items()]
        optical_axis = np.tile([0.0, 0.0, 1.0], (len(parents), 1))
        super().__init__(parents, children, optical_axis, signs, margin)


class FacingBlock(ResidualBlock):
    """Facing choice: r = max(0, m + s f_z / A), f the torso normal (see the module text).

    Parameters
    ----------
    facing : "toward" or "away" (the camera).
    """

    name = "facing"
    POINTS = (J["left_hip"], J["right_hip"], J["neck"], J["pelvis"])

    def __init__(self, facing: str, margin: float = FACING_MARGIN) -> None:
        self.sign = check_direction(facing, "facing")
        self.margin = float(margin)

    def residuals(self, state, stage, *, jacobian, compact):
        lh, rh, neck, pelvis = self.POINTS
        pts = state.points
        a, b = pts[lh] - pts[rh], pts[neck] - pts[pelvis]
        f_z = a[0] * b[1] - a[1] * b[0]
        h = self.margin + self.sign * f_z / FACING_AREA
        active = h > 0
        if compact and not active:
            return np.zeros(0), (np.zeros((0, len(state.x))) if jacobian else None)
        r = np.array([h if active else 0.0])
        if not jacobian:
            return r, None
        pj = state.points_jac
        da, db = pj[lh] - pj[rh], pj[neck] - pj[pelvis]  # (3, n)
        df = b[1] * da[0] + a[0] * db[1] - b[0] * da[1] - a[1] * db[0]
        return r, (self.sign * active / FACING_AREA * df)[None, :]


def edit_blocks(
    pins: Mapping[str, np.ndarray] | None = None,
    depth_choices: Mapping[str, str] | None = None,
    facing: str | None = None,
) -> list[ResidualBlock]:
    """The blocks of the given edits (none for an empty or None edit)."""
    blocks: list[ResidualBlock] = []
    if pins:
        blocks.append(PinBlock(pins))
    if depth_choices:
        blocks.append(DepthOrderBlock(depth_choices))
    if facing is not None:
        blocks.append(FacingBlock(facing))
    return blocks


def segment_depth(joints: np.ndarray, segment: str) -> str:
    """ "toward" when the segment's child end is nearer the camera than its joint, else "away".

    joints : (24, 3) camera frame.
    """
    d = joints[J[LIMB_SEGMENTS[check_segment(segment)]], 2] - joints[J[segment], 2]
    return "toward" if d < 0 else "away"


def body_facing(joints: np.ndarray) -> str:
    """ "toward" when the torso normal of joints (24, 3), camera frame, points at the camera."""
    lh, rh, neck, pelvis = FacingBlock.POINTS
    a, b = joints[lh] - joints[rh], joints[neck] - joints[pelvis]
    return "toward" if a[0] * b[1] - a[1] * b[0] < 0 else "away"
