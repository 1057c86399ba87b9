"""Keypoints2D: 2D keypoints in image pixels with confidences, tagged with their layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import KeypointsError


@dataclass(frozen=True)
class Keypoints2D:
    """Detected or user-given 2D keypoints.

    Attributes
    ----------
    layout : name of a registered layout ("smpl24", "blazepose33", ...).
    xy : (K, 2) pixel coordinates in the original image (x right, y down).
    confidence : (K,) in [0, 1]; 0 means missing.
    """

    layout: str
    xy: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64)
        confidence = np.asarray(self.confidence, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise KeypointsError(f"keypoints xy must have shape (K, 2), got {xy.shape}")
        if confidence.shape != (xy.shape[0],):
            raise KeypointsError(
                f"confidence must have shape ({xy.shape[0]},), got {confidence.shape}"
            )
        confidence = np.where(np.isfinite(confidence), np.clip(confidence, 0.0, 1.0), 0.0)
        missing = ~np.all(np.isfinite(xy), axis=1)
        confidence = np.where(missing, 0.0, confidence)
        xy = np.where(missing[:, None], 0.0, xy)
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "confidence", confidence)
