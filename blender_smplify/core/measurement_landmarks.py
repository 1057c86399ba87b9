"""Anthropometric landmarks on an SMPL-format body model, as vertex ids.

A landmark is one vertex of the rest-pose mesh, so it moves with the shape: the measurements in
``measurements.py`` cut and span the shaped body through these vertices. :func:`find_landmarks`
places every landmark from the rest template's geometry and its regressed joints only (no vertex
numbering is assumed), so it works on any SMPL-format file: the open models, SMPL's own 6,890-
vertex mesh, or a user's model. For the open models its result is stored
below as :data:`OPEN_MODEL_LANDMARKS`, found once on each open model's template;
``tests/core/test_measurements.py`` checks that the finder still returns exactly these ids.

Conventions: y up, the body faces +z, the subject's left is +x (SMPL's rest pose, a T-pose).
Left landmarks are found, right ones are their mirror images (the vertex nearest the left one
reflected in x = 0).
"""

from __future__ import annotations

import numpy as np

from .joints import J, mirror_joint_name
from .mesh_sections import MeshEdges, plane_sections

#: Landmark names and what they mark (left ones have right mirror twins).
LANDMARKS: dict[str, str] = {
    "cervicale": "7th cervical vertebra: back midline at the neck joint's height",
    "neck_front": "front of the neck a third of the way from the neck joint up to the head "
    "joint (below the Adam's apple)",
    "glabella": "front midline of the head 2 cm above the eyes (head girth level)",
    "left_bust_point": "most forward point of the left chest (nipple or bust point)",
    "left_underbust": "below the left breast, the deepest point of the front profile under it",
    "natural_waist": "front midline at the height of the narrowest horizontal torso girth "
    "between the under-bust and the hip joints",
    "omphalion": "navel: the deepest point of the front midline between the pelvis and the "
    "natural waist",
    "left_buttock": "most backward point of the left buttock (hip girth level)",
    "crotch": "lowest point of the trunk between the legs",
    "left_mid_thigh": "front of the left thigh midway between the crotch and the knee joint",
    "left_patella": "front of the left knee at the knee joint's height",
    "left_calf": "back of the left calf at its largest girth",
    "left_ankle_min": "back of the left leg at its smallest girth above the ankle",
    "left_lateral_malleolus": "outer ankle bone: most lateral point at the ankle joint",
    "left_acromion": "top of the left shoulder above the shoulder joint",
    "left_olecranon": "tip of the left elbow (the back of the elbow, palms down)",
    "left_ulnar_styloid": "little-finger side of the left wrist (the back, palms down)",
    "left_waist_side": "most lateral point of the torso at the natural waist, left",
    "left_hip_side": "most lateral point of the hips at the buttock level, left",
}

#: The open models' left and midline landmarks, per gender: :func:`find_landmarks` on each
#: model's template (``test_measurements.py`` re-finds them). :func:`open_model_landmarks` adds
#: the right twins.
# fmt: off
OPEN_MODEL_LANDMARKS: dict[str, dict[str, int]] = {
    "neutral": {
        "cervicale": 1496, "neck_front": 693, "glabella": 169,
        "left_bust_point": 8487, "left_underbust": 10730, "natural_waist": 4071, "omphalion": 4120,
        "left_buttock": 10854, "crotch": 4372, "left_mid_thigh": 11128,
        "left_patella": 11242, "left_calf": 11335, "left_ankle_min": 12963,
        "left_lateral_malleolus": 11444, "left_acromion": 8280, "left_olecranon": 10042,
        "left_ulnar_styloid": 10233, "left_waist_side": 10667, "left_hip_side": 10860,
    },
    "female": {
        "cervicale": 1491, "neck_front": 676, "glabella": 220,
        "left_bust_point": 8455, "left_underbust": 10738, "natural_waist": 4071, "omphalion": 4120,
        "left_buttock": 10854, "crotch": 4372, "left_mid_thigh": 11117,
        "left_patella": 11242, "left_calf": 11335, "left_ankle_min": 12963,
        "left_lateral_malleolus": 12970, "left_acromion": 8280, "left_olecranon": 10059,
        "left_ulnar_styloid": 10233, "left_waist_side": 10667, "left_hip_side": 10962,
    },
    "male": {
        "cervicale": 858, "neck_front": 693, "glabella": 169,
        "left_bust_point": 8554, "left_underbust": 10744, "natural_waist": 4154, "omphalion": 4106,
        "left_buttock": 10854, "crotch": 4372, "left_mid_thigh": 11128,
        "left_patella": 11242, "left_calf": 11339, "left_ankle_min": 11439,
        "left_lateral_malleolus": 11444, "left_acromion": 8280, "left_olecranon": 10042,
        "left_ulnar_styloid": 10233, "left_waist_side": 10786, "left_hip_side": 10922,
    },
}
# fmt: on


def open_model_landmarks(v_template: np.ndarray, gender: str) -> dict[str, int]:
    """The stored landmarks of the open model of ``gender`` (v_template (V, 3) is its template,
    used to mirror the left ones), right twins included."""
    return _with_mirrors(np.asarray(v_template, dtype=np.float64), OPEN_MODEL_LANDMARKS[gender])


def landmark_names() -> tuple[str, ...]:
    """All landmark names, right twins included."""
    names = list(LANDMARKS)
    return tuple(names + [mirror_joint_name(n) for n in names if n.startswith("left_")])


def find_landmarks(v_template: np.ndarray, faces: np.ndarray, joints: np.ndarray) -> dict:
    """Place every landmark on a rest-pose template.

    Parameters
    ----------
    v_template : (V, 3) rest vertices (T-pose, y up, facing +z, metres).
    faces : (F, 3) triangles.
    joints : (24, 3) the template's rest joints (``J_regressor @ v_template``).

    Returns
    -------
    dict name -> vertex id, for every name in :func:`landmark_names`.
    """
    v, jt = np.asarray(v_template, dtype=np.float64), np.asarray(joints, dtype=np.float64)
    x, y, z = v.T
    floor = y.min()
    tol = 1e-3 * (y.max() - floor)
    mid = np.abs(x) < tol
    axis = [J[n] for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "head")]
    axis_z = np.interp(y, jt[axis, 1], jt[axis, 2])  # the body's axis behind each vertex
    spine_z = jt[J["spine1"], 2]
    front, back = mid & (z > axis_z), mid & (z < axis_z)
    lm: dict[str, int] = {}

    def nearest_in(mask: np.ndarray, height: float) -> int:
        ids = np.flatnonzero(mask)
        return int(ids[np.argmin(np.abs(y[ids] - height))])

    def extreme(mask: np.ndarray, values: np.ndarray) -> int:
        ids = np.flatnonzero(mask)
        return int(ids[np.argmax(values[ids])])

    def band(height: float, half: float = 0.01) -> np.ndarray:
        return np.abs(y - height) < half

    neck, head = jt[J["neck"]], jt[J["head"]]
    lm["cervicale"] = nearest_in(back, neck[1])
    lm["neck_front"] = extreme(front & band(neck[1] + (head[1] - neck[1]) / 3, 0.015), -z)
    face_front = front & (y > head[1])
    eye_level = y[extreme(face_front & (y < head[1] + 0.1), z)]  # the nose tip, near eye level
    lm["glabella"] = nearest_in(face_front, eye_level + 0.045)

    sh, elbow, wrist = jt[J["left_shoulder"]], jt[J["left_elbow"]], jt[J["left_wrist"]]
    chest = (x > 0.02) & (x < 0.8 * sh[0]) & (y > jt[J["spine2"], 1]) & (y < sh[1])
    lm["left_bust_point"] = bust = extreme(chest, z)
    hip, knee, ankle = jt[J["left_hip"]], jt[J["left_knee"]], jt[J["left_ankle"]]
    lm["left_underbust"] = _fold_below(v, bust, axis_z, low=jt[J["spine1"], 1])
    trunk_y = np.linspace(hip[1], y[lm["left_underbust"]], 60)
    girths = _girths(v, faces, trunk_y, np.array([0.0, 1.0, 0.0]), np.r_[0.0, 0.0, spine_z])
    waist_y = trunk_y[np.nanargmin(girths)]
    lm["natural_waist"] = nearest_in(front, waist_y)
    lm["omphalion"] = _navel(v, front, jt[J["pelvis"], 1], waist_y)

    lm["crotch"] = extreme(mid, -y)
    crotch_y = y[lm["crotch"]]
    lm["left_buttock"] = extreme((x > 0) & (y > crotch_y) & (y < waist_y) & (z < axis_z), -z)
    leg = (x > 0.02) & (np.abs(x - knee[0]) < 0.15)
    lm["left_mid_thigh"] = extreme(leg & band(0.5 * (crotch_y + knee[1])), z)
    lm["left_patella"] = extreme(leg & band(knee[1]), z)
    shank_y = np.linspace(knee[1] - 0.05, ankle[1] + 0.03, 60)
    shank = _girths(v, faces, shank_y, np.array([0.0, 1.0, 0.0]), np.r_[knee[0], 0.0, knee[2]])
    calf_y = shank_y[np.nanargmax(shank)]
    lm["left_calf"] = extreme(leg & band(calf_y, 0.006), -z)
    low = shank_y < calf_y
    lm["left_ankle_min"] = extreme(leg & band(shank_y[low][np.nanargmin(shank[low])], 0.006), -z)
    lm["left_lateral_malleolus"] = extreme(leg & band(ankle[1], 0.015) & (z < ankle[2] + 0.03), x)

    above_joint = (np.abs(x - sh[0]) < 0.02) & (np.abs(z - sh[2]) < 0.05)
    lm["left_acromion"] = extreme(above_joint, y)
    lm["left_olecranon"] = extreme(
        (np.abs(x - elbow[0]) < 0.012) & (np.abs(y - elbow[1]) < 0.06), -z
    )
    lm["left_ulnar_styloid"] = extreme(
        (np.abs(x - wrist[0]) < 0.01) & (np.abs(y - wrist[1]) < 0.05), -z
    )
    torso = (x > 0) & (x < 0.9 * sh[0])
    lm["left_waist_side"] = extreme(torso & band(waist_y), x)
    lm["left_hip_side"] = extreme(torso & band(y[lm["left_buttock"]]), x)
    return _with_mirrors(v, lm)


def _girths(
    v: np.ndarray, faces: np.ndarray, heights: np.ndarray, normal: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """Contour lengths (H,) of the loops around ``centre`` in planes ⟂ normal at ``heights``."""
    H = len(heights)
    points = np.zeros((H, 3)) + centre
    points[:, 1] = heights
    F = len(faces)
    sections = plane_sections(
        v,
        faces,
        MeshEdges.of(faces),
        np.tile(np.arange(F), H),
        np.repeat(np.arange(H), F),
        points,
        np.tile(normal, (H, 1)),
        points,
    )
    return sections.contour_length


def _fold_below(v: np.ndarray, bust: int, axis_z: np.ndarray, low: float) -> int:
    """The inframammary fold: on the front of the chest straight below the bust point, the
    vertex deepest below the chord from the bust point down to the height ``low``."""
    x, y, z = v.T
    column = (
        (np.abs(x - x[bust]) < 0.015) & (z > 0.5 * (z[bust] + axis_z)) & (y < y[bust]) & (y > low)
    )
    ids = np.flatnonzero(column)
    near = np.abs(y[ids, None] - y[None, ids]) < 0.012
    ids = ids[z[ids] >= np.max(np.where(near, z[None, ids], -np.inf), axis=1)]  # front surface
    bottom = ids[np.argmin(y[ids])]
    t = (y[ids] - y[bust]) / (y[bottom] - y[bust])
    chord_z = z[bust] + t * (z[bottom] - z[bust])
    return int(ids[np.argmax(chord_z - z[ids])])


def _navel(v: np.ndarray, front: np.ndarray, low: float, high: float) -> int:
    """The front-midline vertex deepest below the profile line drawn over its neighbours 3 cm
    above and below (the navel is a dimple in that profile)."""
    ids = np.flatnonzero(front)
    ids = ids[np.argsort(v[ids, 1])]
    y, z = v[ids, 1], v[ids, 2]
    depth = np.interp(y - 0.03, y, z) / 2 + np.interp(y + 0.03, y, z) / 2 - z
    depth[(y < low) | (y > high)] = -np.inf
    return int(ids[np.argmax(depth)])


def _with_mirrors(v: np.ndarray, lm: dict[str, int]) -> dict[str, int]:
    """Add each left landmark's right twin: the vertex nearest its mirror image."""
    out = dict(lm)
    for name, vid in lm.items():
        if name.startswith("left_"):
            target = v[vid] * np.array([-1.0, 1.0, 1.0])
            out[mirror_joint_name(name)] = int(np.argmin(np.sum((v - target) ** 2, axis=1)))
    return out
