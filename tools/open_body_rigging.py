"""Map MakeHuman's 163-bone default rig onto SMPL's 24 joints, and pick surface landmarks.

Joint placement (MakeHuman bone heads, which sit on MakeHuman's joint cubes):

* pelvis: ``spine05`` head (joint-pelvis); hips: ``upperleg01`` heads (femoral heads);
  knees: ``lowerleg01``; ankles: ``foot``; feet: mean of the five ``toe*-1`` heads (ball of the
  foot, where SMPL's foot joint sits).
* spine1 / spine2 / spine3 / neck / head: ``spine04`` / ``spine02`` / ``spine01`` / ``neck01`` /
  ``head`` heads, which spaces the spine like SMPL's (lumbar, lower and upper thorax, neck base,
  skull base).
* collars: mean of the ``clavicle`` head (sternoclavicular end) and ``shoulder01`` head
  (scapula), like SMPL's collar joint between the two; shoulders: ``upperarm01`` heads
  (glenohumeral); elbows: ``lowerarm01``; wrists: ``wrist``; hands: ``finger3-1`` head (middle
  knuckle).

Skinning: every MakeHuman bone goes to the SMPL joint whose segment it lies on (walking up the
rig's parents for bones not listed), e.g. the face bones to ``head``, the finger bones to the
hand joint.
"""

from __future__ import annotations

import numpy as np

from blender_smplify.core.joints import SMPL_JOINT_NAMES as SMPL_JOINTS
from blender_smplify.core.joints import mirror_joint_name as mirror_name

_CENTRE = {
    "pelvis": ["spine05"],
    "spine1": ["spine04"],
    "spine2": ["spine02"],
    "spine3": ["spine01"],
    "neck": ["neck01"],
    "head": ["head"],
}
_SIDED = {
    "hip": ["upperleg01"],
    "knee": ["lowerleg01"],
    "ankle": ["foot"],
    "foot": [f"toe{k}-1" for k in range(1, 6)],
    "collar": ["clavicle", "shoulder01"],
    "shoulder": ["upperarm01"],
    "elbow": ["lowerarm01"],
    "wrist": ["wrist"],
    "hand": ["finger3-1"],
}

#: MakeHuman bone -> SMPL joint; bones not listed inherit their parent's joint.
_BONE_TO_JOINT = {
    "root": "pelvis",
    "spine05": "pelvis",
    "spine04": "spine1",
    "spine03": "spine1",
    "spine02": "spine2",
    "spine01": "spine3",
    "breast": "spine3",
    "neck01": "neck",
    "neck02": "neck",
    "neck03": "neck",
    "head": "head",
    "pelvis": "pelvis",
    "upperleg01": "hip",
    "lowerleg01": "knee",
    "foot": "ankle",
    "toe1-1": "foot",
    "toe2-1": "foot",
    "toe3-1": "foot",
    "toe4-1": "foot",
    "toe5-1": "foot",
    "clavicle": "collar",
    "upperarm01": "shoulder",
    "lowerarm01": "elbow",
    "wrist": "wrist",
    "finger1-1": "hand",
    "finger2-1": "hand",
    "finger3-1": "hand",
    "finger4-1": "hand",
    "finger5-1": "hand",
}

_SIDE = {".L": "left_", ".R": "right_"}


def joint_targets(points: dict[str, np.ndarray]) -> np.ndarray:
    """(24, 3) SMPL joint positions from posed rig points (bone name + ":head" -> (3,))."""
    out = np.zeros((len(SMPL_JOINTS), 3))
    for j, name in enumerate(SMPL_JOINTS):
        if name in _CENTRE:
            bones = _CENTRE[name]
        else:
            side, part = name.split("_", 1)
            bones = [b + (".L" if side == "left" else ".R") for b in _SIDED[part]]
        out[j] = np.mean([points[b + ":head"] for b in bones], axis=0)
    return out


def bone_joint(bone: str, rig: dict[str, dict]) -> str:
    """The SMPL joint that a MakeHuman bone's weights go to."""
    while True:
        stem, side = (bone[:-2], bone[-2:]) if bone[-2:] in _SIDE else (bone, "")
        if stem in _BONE_TO_JOINT:
            part = _BONE_TO_JOINT[stem]
            return _SIDE[side] + part if side and part not in _CENTRE else part
        bone = rig[bone]["parent"]


def merge_weights(
    bone_weights: dict[str, tuple[np.ndarray, np.ndarray]],
    rig: dict[str, dict],
    mirror: np.ndarray,
    max_influences: int = 4,
) -> np.ndarray:
    """(V, 24) skinning weights: MakeHuman bones summed per SMPL joint, averaged with their
    mirror image (``mirror (V,)``: each vertex's left/right twin), the largest
    ``max_influences`` kept per vertex, rows renormalised to 1."""
    count = len(mirror)
    weights = np.zeros((count, len(SMPL_JOINTS)))
    for bone, (idx, w) in bone_weights.items():
        keep = idx < count
        np.add.at(weights[:, SMPL_JOINTS.index(bone_joint(bone, rig))], idx[keep], w[keep])
    swap = [SMPL_JOINTS.index(mirror_name(n)) for n in SMPL_JOINTS]
    weights = 0.5 * (weights + weights[mirror][:, swap])
    order = np.argsort(-weights, axis=1)
    keep = np.zeros(weights.shape, dtype=bool)
    keep[np.arange(count)[:, None], order[:, :max_influences]] = True
    # A tie between a left and a right joint on the midline would keep one of them only:
    # keep what the vertex and its twin both keep, so the weights stay mirror images.
    keep &= keep[mirror][:, swap]
    weights = np.where(keep, weights, 0.0)
    return weights / weights.sum(axis=1, keepdims=True)


#: Surface landmark names, in the order of the keypoint regressor's rows.
LANDMARKS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder_surface",
    "right_shoulder_surface",
    "left_hip_surface",
    "right_hip_surface",
    "left_heel",
    "right_heel",
    "left_big_toe",
    "right_big_toe",
    "left_small_toe",
    "right_small_toe",
    "left_thumb",
    "right_thumb",
    "left_index",
    "right_index",
    "left_pinky",
    "right_pinky",
    "left_index_knuckle",
    "right_index_knuckle",
    "left_pinky_knuckle",
    "right_pinky_knuckle",
    "left_eye_inner",
    "right_eye_inner",
    "left_eye_outer",
    "right_eye_outer",
    "left_thumb_knuckle",
    "right_thumb_knuckle",
)


def _nearest(body: np.ndarray, point: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(np.linalg.norm(body - point, axis=1))[:k]


def _extreme(body: np.ndarray, mask: np.ndarray, direction: np.ndarray, k: int) -> np.ndarray:
    """The k vertices of ``mask`` furthest along ``direction``."""
    idx = np.flatnonzero(mask)
    return idx[np.argsort(-(body[idx] @ direction))[:k]]


def left_landmarks(body: np.ndarray, points: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Vertex ids of the centre and left-side landmarks on a T-posed body (metres).

    Parameters
    ----------
    body : (V, 3) template surface; points : T-posed rig points (metres), with the centre and
    radius of the left eyeball helper ("left_eye_centre", "left_eye_radius").
    """
    x, y, z = body[:, 0], body[:, 1], body[:, 2]
    eye_centre = points["left_eye_centre"]
    head_y = points["head:head"][1]
    out: dict[str, np.ndarray] = {}
    out["nose"] = _extreme(body, (np.abs(x) < 0.01) & (y > head_y), np.array([0, 0, 1.0]), 1)
    eye_front = eye_centre + np.array([0.0, 0.0, 0.012])
    out["left_eye"] = _nearest(body, eye_front, 6)
    # The eyelid margin touches the eyeball: its outermost vertices are the eye's corners.
    margin = (np.linalg.norm(body - eye_centre, axis=1) < points["left_eye_radius"][0] + 0.003) & (
        z > eye_centre[2]
    )
    out["left_eye_inner"] = _extreme(body, margin, np.array([-1.0, 0, 0]), 1)
    out["left_eye_outer"] = _extreme(body, margin, np.array([1.0, 0, 0]), 1)
    ear = (y > head_y) & (y < head_y + 0.08) & (z < eye_centre[2] - 0.05) & (x > 0)
    out["left_ear"] = _extreme(body, ear, np.array([1.0, 0, 0]), 6)
    corner = 0.5 * (points["oris03.L:tail"] + points["oris07.L:tail"])
    out["mouth_left"] = _nearest(body, corner, 2)
    shoulder = points["upperarm01.L:head"]
    near = np.linalg.norm(body[:, [0, 2]] - shoulder[[0, 2]], axis=1) < 0.03
    out["left_shoulder_surface"] = _extreme(body, near, np.array([0, 1.0, 0]), 4)
    hip = points["upperleg01.L:head"]
    near = (np.abs(y - hip[1]) < 0.03) & (np.abs(z - hip[2]) < 0.04) & (x > 0)
    out["left_hip_surface"] = _extreme(body, near, np.array([1.0, 0, 0]), 4)
    ankle = points["foot.L:head"]
    foot = (y < ankle[1]) & (x > 0)
    out["left_heel"] = _extreme(body, foot & (y < ankle[1] - 0.03), np.array([0, -0.3, -1.0]), 4)
    for name, toe in (("left_big_toe", "toe1-2.L"), ("left_small_toe", "toe5-3.L")):
        tip = points[toe + ":tail"]
        out[name] = _extreme(
            body, foot & (np.linalg.norm(body - tip, axis=1) < 0.03), np.array([0, 0, 1.0]), 3
        )
    for name, finger in (
        ("left_thumb", "finger1-3.L"),
        ("left_index", "finger2-3.L"),
        ("left_pinky", "finger5-3.L"),
    ):
        head, tail = points[finger + ":head"], points[finger + ":tail"]
        direction = (tail - head) / np.linalg.norm(tail - head)
        near = np.linalg.norm(body - tail, axis=1) < 0.025
        out[name] = _extreme(body, near, direction, 3)
    for name, finger in (
        ("left_index_knuckle", "finger2-1.L"),
        ("left_pinky_knuckle", "finger5-1.L"),
    ):
        out[name] = _nearest(body, points[finger + ":head"] + np.array([0, 0.012, 0]), 3)
    out["left_thumb_knuckle"] = _nearest(body, points["finger1-2.L:head"], 3)  # thumb MCP
    return out


def landmark_vertices(
    body: np.ndarray, points: dict[str, np.ndarray], mirror: np.ndarray
) -> dict[str, np.ndarray]:
    """Vertex ids of every landmark in :data:`LANDMARKS`; right = mirrored left."""
    left = left_landmarks(body, points)
    out = {}
    for name in LANDMARKS:
        if name in left:
            out[name] = left[name]
        else:
            twin = (
                name.replace("right_", "left_")
                if "right_" in name
                else name.replace("_right", "_left")
            )
            out[name] = mirror[left[twin]]
    return out
