"""The camera the synthetic fit tests photograph their bodies with: a 750 × 1000 px photo, a
focal length of 1000 px and the principal point at the photo's centre, in the fit's camera frame
(OpenCV: x right, y down, z forward)."""

from __future__ import annotations

import numpy as np

SIZE = (750, 1000)
FOCAL = 1000.0
CENTRE = np.array([375.0, 500.0])


def project(points: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points → (..., 2) pixels."""
    return FOCAL * points[..., :2] / points[..., 2:] + CENTRE
