"""MediaPipe BlazePose GHUM (full) landmark model, one pass on one crop, by onnxruntime.

A pass samples a square crop of the image (``detector_crop.sample``), runs the model and maps
its 39 landmarks back to image pixels. The model's outputs are described in
``onnx_models/README.md``: 33 body landmarks, then the auxiliary alignment points 33 (body
centre) and 34 (a point straight above it at the body radius) from which MediaPipe makes the
next crop (``PosePass.body_crop``), presence, person mask and metric "world" landmarks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .detector_crop import Crop, refine_from_heatmaps, roi_from_points, sample
from .keypoints import BLAZEPOSE33, COCO17
from .onnx_runtime import onnx_session

INPUT = 256
"""Model input side in pixels (both models)."""

CENTRE, TOP = 33, 34
"""BlazePose's auxiliary alignment landmarks: body centre and the point above it."""

BLAZEPOSE33_NAMES = BLAZEPOSE33.names
"""BlazePose landmark order (left/right are the person's own)."""

B = {name: i for i, name in enumerate(BLAZEPOSE33_NAMES)}


def mirror_permutation(names: tuple[str, ...]) -> np.ndarray:
    """(K,) index of each keypoint's left/right counterpart (itself when it has none)."""

    def swap(n: str) -> str:
        if n.startswith("left_"):
            return "right_" + n[5:]
        if n.startswith("right_"):
            return "left_" + n[6:]
        return (
            n.replace("_left", "_right") if n.endswith("_left") else n.replace("_right", "_left")
        )

    index = {n: i for i, n in enumerate(names)}
    return np.array([index[swap(n)] for n in names])


BLAZEPOSE_MIRROR = np.concatenate([mirror_permutation(BLAZEPOSE33_NAMES), np.arange(33, 39)])
COCO17_MIRROR = mirror_permutation(COCO17.names)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


@dataclass(frozen=True)
class PosePass:
    """BlazePose's outputs for one crop, landmarks in image pixels.

    Attributes
    ----------
    crop : the crop the model saw.
    xy : (39, 2) landmarks in image pixels (33 body landmarks, then auxiliary points).
    confidence : (39,) sigmoid(visibility) × sigmoid(presence) of each landmark.
    visibility : (39,) sigmoid(visibility logit): BlazePose's own "not occluded" probability.
    presence : probability that a person is in the crop.
    mask : (256, 256) float32 person probability in crop pixels.
    world : (39, 3) metric landmarks (metres, origin between the hips) in the crop's upright
        frame: x right, y down, z away from the camera.
    """

    crop: Crop
    xy: np.ndarray
    confidence: np.ndarray
    visibility: np.ndarray
    presence: float
    mask: np.ndarray
    world: np.ndarray

    @property
    def radius(self) -> float:
        """Body radius in image pixels (distance of the alignment points)."""
        return float(np.hypot(*(self.xy[TOP] - self.xy[CENTRE])))

    def body_crop(self, scale: float) -> Crop:
        """MediaPipe's next crop: centred on the body centre, side 2 × radius × ``scale``,
        turned so the body is upright in it."""
        return roi_from_points(self.xy[CENTRE], self.xy[TOP], scale, INPUT)

    @property
    def roll(self) -> float:
        """Radians the body is turned from upright in the image (the next crop's rotation)."""
        return self.body_crop(1.0).rotation


class BlazePose:
    """A BlazePose landmark session; ``run`` makes one pass.

    Parameters
    ----------
    path : the ONNX model file.
    threads : onnxruntime intra-op threads; None = onnxruntime's default (all cores).
    refine : move landmarks to their heatmap-weighted mean (MediaPipe's refinement).
    """

    def __init__(self, path: Path, threads: int | None, refine: bool = False) -> None:
        self.path, self.refine = Path(path), bool(refine)
        self.session = onnx_session(self.path, threads)
        self._outputs = [o.name for o in self.session.get_outputs()]

    def run(self, image: np.ndarray, crop: Crop, flip: bool = False) -> PosePass:
        """One pass on ``crop`` of an (H, W, 3) uint8 image; with ``flip`` averaged with a
        pass on the mirrored crop (left and right swapped back)."""
        patch = sample(image, crop) / np.float32(255.0)
        batch = [patch] if not flip else [patch, patch[:, ::-1]]
        outs = [
            dict(
                zip(
                    self._outputs, self.session.run(None, {"image": np.ascontiguousarray(b)[None]})
                )
            )
            for b in batch
        ]
        lm, world, mask = self._decode(outs[0])
        if flip:
            lm_f, world_f, mask_f = self._decode(outs[1])
            lm_f, world_f = lm_f[BLAZEPOSE_MIRROR], world_f[BLAZEPOSE_MIRROR]
            lm_f[:, 0] = INPUT - lm_f[:, 0]
            world_f[:, 0] = -world_f[:, 0]
            lm, world, mask = (
                0.5 * (lm + lm_f),
                0.5 * (world + world_f),
                0.5 * (mask + mask_f[:, ::-1]),
            )
        return PosePass(
            crop=crop,
            xy=crop.to_image(lm[:, :2]),
            confidence=sigmoid(lm[:, 3]) * sigmoid(lm[:, 4]),
            visibility=sigmoid(lm[:, 3]),
            presence=float(np.mean([o["presence"].ravel()[0] for o in outs])),
            mask=sigmoid(mask.astype(np.float64)).astype(np.float32),
            world=world,
        )

    def _decode(self, out: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(39, 5) landmarks in crop pixels, (39, 3) world landmarks, (256, 256) mask logits."""
        lm = out["landmarks"].reshape(39, 5).astype(np.float64)
        if self.refine:
            lm = refine_from_heatmaps(lm, out["heatmaps"].reshape(64, 64, 39))
        world = out["world"].reshape(39, 3).astype(np.float64)
        return lm, world, out["segmentation"].reshape(INPUT, INPUT)


def model_dir() -> Path:
    """The shipped models: inside the package in an installed extension (the package is the
    extension's root there), beside the package in the repository."""
    package = Path(__file__).resolve().parents[1]
    inside = package / "onnx_models"
    return inside if inside.is_dir() else package.parent / "onnx_models"


def cores(threads: int | None) -> int:
    """The number of cores ``threads`` means (None: all)."""
    return int(threads) if threads else (os.cpu_count() or 1)
