"""What the joint detector gives out: a pass result, the detection, and the fusion of the two
models' limb joints."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .blazepose import B, PosePass, sigmoid
from .detector_crop import Crop, paste_back
from .detector_settings import DetectorSettings
from .keypoints import Keypoints2D
from .movenet import COCO17_NAMES, LIMB_COCO, LIMB_JOINTS, LimbPass

LIMB_B = np.array([B[n] for n in LIMB_JOINTS])
"""(12,) BlazePose indices of the limb joints, in LIMB_JOINTS order."""
TORSO = (LIMB_JOINTS.index("right_shoulder"), LIMB_JOINTS.index("left_hip"))
#: BlazePose's hand and foot points (``EXTREMITY_B``), each carried by the limb joint it hangs
#: from (``EXTREMITY_JOINT``, its index in LIMB_JOINTS).
_HANGING = {"wrist": ("pinky", "index", "thumb"), "ankle": ("heel", "foot_index")}
_CARRIED = [
    (f"{side}_{point}", f"{side}_{joint}")
    for side in ("left", "right")
    for joint, points in _HANGING.items()
    for point in points
]
EXTREMITY_B = np.array([B[point] for point, _ in _CARRIED])
EXTREMITY_JOINT = np.array([LIMB_JOINTS.index(joint) for _, joint in _CARRIED])
#: The face points both models give, as MoveNet's and as BlazePose's indices.
_SHARED_FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
SHARED_FACE_COCO = np.array([COCO17_NAMES.index(n) for n in _SHARED_FACE])
SHARED_FACE_B = np.array([B[n] for n in _SHARED_FACE])
FACE_B = np.arange(B["mouth_right"] + 1)
"""BlazePose's 11 face points (nose to mouth)."""


@dataclass(frozen=True)
class Detection:
    """One detected person.

    Attributes
    ----------
    keypoints : layout "blazepose33": xy (33, 2) image pixels, confidence (33,).
    box : (4,) x0, y0, x1, y1 of the person in image pixels.
    world : (33, 3) metric landmarks (metres, origin between the hips) in the final crop's
        upright frame: x right, y down, z away from the camera, turned by ``crop.rotation``
        against the image (measured; ``world_landmarks.world_to_camera`` takes them into the
        fit's camera frame).
    score : pose-presence probability in [0, 1] (the highest of the passes).
    crop : the final crop the landmarks came from.
    crop_mask : (256, 256) float32 person probability in the crop's pixels.
    image_shape : (H, W) of the image.
    limb_score : MoveNet's mean score on the limb joints in the frame (NaN without MoveNet).
    world_visibility : (33,) BlazePose's own visibility of each landmark in [0, 1] (not
        occluded; ``keypoints.confidence`` also holds the presence and MoveNet's scores).
    out_of_frame : (33,) bool, landmarks BlazePose places outside the image (their confidence
        is 0): a fit can warn that those limbs were not seen.
    retried : the first result looked wrong or found nobody, and a search or second opinion ran.
    mask : (H, W) float32 person probability in image pixels (computed on first access:
        mapping it back costs time proportional to the image, which keypoints do not need).
    """

    keypoints: Keypoints2D
    box: np.ndarray
    world: np.ndarray
    score: float
    crop: Crop
    crop_mask: np.ndarray
    image_shape: tuple[int, int]
    limb_score: float = float("nan")
    world_visibility: np.ndarray | None = None
    out_of_frame: np.ndarray = field(default_factory=lambda: np.zeros(33, bool))
    retried: bool = False

    @cached_property
    def mask(self) -> np.ndarray:
        return paste_back(self.crop_mask, self.crop, *self.image_shape)


@dataclass(frozen=True)
class PassResult:
    """What ``JointDetector.landmark_passes`` found.

    Attributes
    ----------
    pose : the BlazePose pass the landmarks come from (the last, or an earlier one when the
        last lost the person).
    first : the first pass (whole image, or what the search found).
    presences : BlazePose's presence in each pass, first to last.
    limbs : MoveNet's pass, or None without MoveNet.
    out_of_frame : (39,) bool, landmarks of ``pose`` outside the image.
    retried : a search or second opinion ran.
    in_frame_joints : ``DetectorSettings.in_frame_joints``.
    """

    pose: PosePass
    first: PosePass
    presences: tuple[float, ...]
    limbs: LimbPass | None
    out_of_frame: np.ndarray
    retried: bool = False
    in_frame_joints: int = 12

    @property
    def score(self) -> float:
        """The highest presence of the passes."""
        return max(self.presences)

    @property
    def limb_score(self) -> float:
        """MoveNet's mean score on the limb joints in the frame (``DetectorSettings.
        in_frame_joints``); +inf without MoveNet."""
        if self.limbs is None:
            return float("inf")
        return self.limbs.limb_score(~self.out_of_frame[LIMB_B], self.in_frame_joints)


def fuse_limbs(
    xy: np.ndarray, conf: np.ndarray, limbs: LimbPass, settings: DetectorSettings
) -> None:
    """Replace BlazePose's limb joints by MoveNet's where MoveNet is confident, and give each
    limb joint its calibrated confidence (in place).

    The confidence of a limb joint is the probability that it lies within PCK@0.2 of the truth,
    by logistic regression on the LSP tuning half (``benchmarks/studies/detector_calibration.py``)
    of MoveNet's score m and the distance d between the two models' joints over the detected
    torso (right shoulder to left hip), d capped at 2:

        p = sigmoid(w0 · logit(m) + w1 · d + w2),   (w0, w1, w2) = ``settings.confidence_weights``.

    Joints BlazePose marks missing (confidence 0, out of frame) stay missing.

    BlazePose's hand and foot points (``EXTREMITY_B``) move with their wrist or ankle when
    MoveNet's replaces it: where the two models disagree, BlazePose's whole hand or foot is off
    with its joint (on the rendered benchmark the heels' median error falls from 3.8 % to 2.4 %
    of the body's size, the toes' mean from 8.9 % to 6.6 %; ``docs/detector.md``). Its face
    moves onto MoveNet's the same way (:func:`move_face`).

    Parameters
    ----------
    xy : (33, 2) BlazePose's landmarks in image pixels.
    conf : (33,) their confidence.
    limbs : MoveNet's pass.
    settings : ``limb_min_score`` (MoveNet score from which its joint replaces BlazePose's) and
        ``confidence_weights``.
    """
    m_xy, m = limbs.xy[LIMB_COCO], limbs.score[LIMB_COCO]
    torso = max(float(np.linalg.norm(m_xy[TORSO[0]] - m_xy[TORSO[1]])), 1.0)
    apart = np.minimum(np.linalg.norm(xy[LIMB_B] - m_xy, axis=1) / torso, 2.0)
    w0, w1, w2 = settings.confidence_weights
    p = np.clip(m, 1e-4, 1.0 - 1e-4)
    calibrated = sigmoid(w0 * np.log(p / (1.0 - p)) + w1 * apart + w2)
    seen = conf[LIMB_B] > 0.0
    taken = seen & (m >= settings.limb_min_score)
    shift = np.where(taken[:, None], m_xy - xy[LIMB_B], 0.0)
    xy[LIMB_B[taken]] = m_xy[taken]
    conf[LIMB_B[seen]] = calibrated[seen]
    xy[EXTREMITY_B] += shift[EXTREMITY_JOINT]
    move_face(xy, limbs)


def move_face(xy: np.ndarray, limbs: LimbPass) -> None:
    """Move BlazePose's 11 face points (in place) by the mean offset from its nose, eyes and
    ears to MoveNet's, each weighted by MoveNet's score; unmoved when MoveNet scores them all 0.

    MoveNet places these five better on the rendered benchmark (median / p90 error 1.55 / 3.7 %
    of the body's size against BlazePose's 2.0 / 8.7 %), where BlazePose puts a face looking
    down onto the chest; its eye corners and mouth, which MoveNet lacks, move with them.
    """
    weight = np.clip(limbs.score[SHARED_FACE_COCO], 0.0, 1.0)
    if weight.sum() <= 0.0:
        return
    offsets = limbs.xy[SHARED_FACE_COCO] - xy[SHARED_FACE_B]
    xy[FACE_B] += weight @ offsets / weight.sum()


def outside_image(xy: np.ndarray, h: int, w: int) -> np.ndarray:
    """(N,) bool: points outside the h × w image."""
    return ~((xy[:, 0] >= 0) & (xy[:, 0] <= w) & (xy[:, 1] >= 0) & (xy[:, 1] <= h))
