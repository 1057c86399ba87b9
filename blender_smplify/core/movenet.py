"""MoveNet SinglePose Thunder, one pass on one crop, by onnxruntime.

MoveNet gives 17 COCO keypoints (face, shoulders ... ankles) and a score for each. On LSP its
twelve limb joints are more accurate than BlazePose's (see ``detector.py``); its mean score on
them (``LimbPass.limb_score``) is also the detector's best "is there a person" evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .blazepose import COCO17_MIRROR, INPUT, onnx_session
from .detector_crop import Crop, sample
from .keypoints import COCO17, LIMB_JOINTS

COCO17_NAMES = COCO17.names
"""MoveNet's (COCO) keypoint order."""

LIMB_COCO = np.array([COCO17_NAMES.index(n) for n in LIMB_JOINTS])
"""(12,) COCO indices of LIMB_JOINTS."""


@dataclass(frozen=True)
class LimbPass:
    """MoveNet's keypoints on one crop.

    Attributes
    ----------
    crop : the crop the model saw.
    xy : (17, 2) keypoints in image pixels, COCO order.
    score : (17,) keypoint scores in [0, 1].
    """

    crop: Crop
    xy: np.ndarray
    score: np.ndarray

    @property
    def torso_tilt(self) -> float:
        """Radians between the torso (mid-hip to mid-shoulder) and the crop's "up": near 0 for
        a person upright in the crop, near π/2 for one lying across it."""
        names = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
        ls, rs, lh, rh = (self.xy[COCO17_NAMES.index(n)] for n in names)
        torso = 0.5 * (ls + rs) - 0.5 * (lh + rh)
        r = self.crop.rotation
        up = np.array([np.sin(r), -np.cos(r)])  # the crop's (0, -1) in the image
        cos = float(np.dot(torso, up)) / max(float(np.linalg.norm(torso)), 1e-9)
        return float(np.arccos(np.clip(cos, -1.0, 1.0)))

    def limb_score(self, inside: np.ndarray | None = None, at_least: int = 1) -> float:
        """Mean score on the 12 limb joints; with ``inside`` ((12,) bool, LIMB_JOINTS order),
        on those of them only (the ones in the frame) when they are ``at_least`` many."""
        scores = self.score[LIMB_COCO]
        if inside is not None and np.count_nonzero(inside) >= max(at_least, 1):
            scores = scores[inside]
        return float(np.mean(scores))


class MoveNet:
    """A MoveNet Thunder session; ``run`` makes one pass.

    Parameters
    ----------
    path : the ONNX model file.
    threads : onnxruntime intra-op threads; None = onnxruntime's default (all cores).
    flip : average each pass with a pass on the mirrored crop (left and right swapped back).
    """

    def __init__(self, path: Path, threads: int | None, flip: bool = False) -> None:
        self.path, self.flip = Path(path), bool(flip)
        self.session = onnx_session(self.path, threads)

    def run(self, image: np.ndarray, crop: Crop) -> LimbPass:
        """One pass on ``crop`` of an (H, W, 3) uint8 image (on a mirrored crop, left and right
        swapped back: each keypoint is the person's own); with the session's ``flip`` averaged
        with the pass on the crop mirrored."""
        xy, score = self._keypoints(image, crop)
        if self.flip:
            xy_f, score_f = self._keypoints(image, crop.mirror())
            xy, score = 0.5 * (xy + xy_f), 0.5 * (score + score_f)
        return LimbPass(crop=crop, xy=xy, score=score)

    def _keypoints(self, image: np.ndarray, crop: Crop) -> tuple[np.ndarray, np.ndarray]:
        """(17, 2) keypoints in image pixels and (17,) scores, COCO order, left and right the
        person's own."""
        patch = np.clip(np.rint(sample(image, crop)), 0, 255).astype(np.int32)
        out = self.session.run(None, {"image": patch[None]})[0].reshape(17, 3).astype(np.float64)
        xy = crop.to_image(out[:, [1, 0]] * INPUT)  # the model gives y, x (0..1 of the crop)
        if crop.mirrored:  # the model's "left wrist" is the person's right one
            return xy[COCO17_MIRROR], out[COCO17_MIRROR, 2]
        return xy, out[:, 2]
