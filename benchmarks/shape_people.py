"""The people of the shape benchmark (``shape_accuracy.py``), as plain data (numpy, no bpy).

Person ``k`` of seed ``s`` is fixed by (s, k) alone:

- **gender** alternates in pairs (0, 1 female; 2, 3 male; ...) and the **stance** in fours
  (0-3 standing, 4-7 A-pose, ...), so both halves of :func:`half` (even and odd ids) hold
  both genders and both stances in equal numbers;
- **β ~ N(0, I)** over all of the model's shape components (the widened space of the rebuilt
  open models);
- one **look** (skin, tight clothes painted on the body, floor, wall, sky: the renderer's
  ``render_scene.sample_look``) for both photos, as in one photo session;
- per photo its own small **pose** variation of the stance and its own **camera**: from the
  front (yaw 0 ± 10°) and from the body's left side (yaw 90° ± 10°), 1.0-1.6 m high, a phone's
  24-52 mm (35 mm-equivalent) lens, portrait, the whole body in frame.

The poses are hand-built (not mocap): a named-joint template per stance with its angles drawn
from ranges, plus Gaussian noise of :data:`JOINT_NOISE_RAD` on every body joint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from render_scene import Look, Shot, sample_look
from rendered_poses import PoseBuilder

STANCES = ("standing", "a_pose")
VIEWS = ("front", "side")
#: camera azimuth about the body's facing per view (radians; π/2: from the body's left)
VIEW_YAW = {"front": 0.0, "side": np.pi / 2}
#: the camera's azimuth varies this much either way (radians)
YAW_SPREAD = np.radians(10.0)
#: noise on every body joint on top of the stance's template (radians): a person told to stand
#: still, not a mocap frame
JOINT_NOISE_RAD = 0.03


@dataclass(frozen=True)
class Person:
    """One person's body and look; the photos' poses and cameras are drawn by :func:`photo`."""

    index: int
    gender: str
    stance: str
    betas: np.ndarray  # (B,) all of the model's components
    look: Look


def person_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of one person: fixed by (seed, index) alone."""
    return np.random.default_rng([seed, 7919, index])


def half(index: int) -> str:
    """The person's half: "tuning" (even ids: whatever anyone tunes) or "report" (odd ids)."""
    return "tuning" if index % 2 == 0 else "report"


def draw_person(index: int, num_betas: int, rng: np.random.Generator) -> Person:
    """Person ``index``: gender and stance from the id, β and look from ``rng``."""
    gender = ("female", "male")[(index // 2) % 2]
    stance = STANCES[(index // 4) % 2]
    betas = rng.normal(size=num_betas)
    return Person(index, gender, stance, betas, sample_look(rng))


def stance_pose(stance: str, rng: np.random.Generator) -> np.ndarray:
    """A pose (72,) of ``stance``, facing +z. Signs as ``rendered_poses`` states them: the arms
    lower from the T-pose by ``lower`` radians, hips spread with a rotation about z."""
    b = PoseBuilder(rng)
    if stance == "standing":  # arms hanging beside the body
        b.arms_down(b.u(1.15, 1.35), elbow=b.u(0.0, 0.25), forward=b.u(-0.05, 0.15))
        b.both("hip", 0.0, 0.0, b.u(0.0, 0.08))
    elif stance == "a_pose":  # arms about 40° from the body, feet apart
        b.arms_down(b.u(0.6, 0.85), elbow=b.u(0.0, 0.2), forward=b.u(-0.05, 0.15))
        b.both("hip", 0.0, 0.0, b.u(0.06, 0.18))
    else:
        raise ValueError(f"unknown stance {stance!r}; known: {', '.join(STANCES)}")
    b.both("knee", b.u(0.0, 0.08))
    b.set("neck", b.u(-0.1, 0.1), b.u(-0.1, 0.1), b.u(-0.05, 0.05))
    b.set("head", b.u(-0.15, 0.1), b.u(-0.15, 0.15), b.u(-0.05, 0.05))
    pose = b.pose.copy()
    pose[1:] += rng.normal(scale=JOINT_NOISE_RAD, size=(23, 3))
    pose[0] = 0.0
    return pose.ravel()


def view_shot(view: str, rng: np.random.Generator) -> Shot:
    """A phone's camera for ``view`` ("front" or "side")."""
    return Shot(
        yaw=float(VIEW_YAW[view] + rng.uniform(-YAW_SPREAD, YAW_SPREAD)),
        height=float(rng.uniform(1.0, 1.6)),
        lens_mm=float(np.exp(rng.uniform(np.log(24.0), np.log(52.0)))),
        fill=float(rng.uniform(0.6, 0.85)),
        landscape=False,
        shift=(float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.5, 0.5))),
        roll=float(rng.normal(scale=np.radians(1.5))),
    )


def photo(person: Person, view: str, rng: np.random.Generator) -> tuple[np.ndarray, Shot]:
    """One photo's pose (72,) and shot; drawn per view, front first, from the person's stream."""
    return stance_pose(person.stance, rng), view_shot(view, rng)


def photo_record(
    person: Person, view: str, shot: Shot, truth: dict, measurements: dict[str, float]
) -> dict:
    """What a photo's ``.json`` keeps: the render's truth (``render_scene.truth``: pose,
    translation, camera, focal length, joints) and the person's own facts, with every
    ``BodyMeasurer`` value of the true body (metres)."""
    return {
        **truth,
        "person": person.index,
        "half": half(person.index),
        "view": view,
        "gender": person.gender,
        "stance": person.stance,
        "betas": np.asarray(person.betas).tolist(),
        "lens_mm": shot.lens_mm,
        "camera_height": shot.height,
        "yaw_deg": float(np.degrees(shot.yaw)),
        "measurements": dict(measurements),
    }
