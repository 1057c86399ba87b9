"""SMPL (y-up, metres, facing +z) to Blender (z-up, metres, facing -y): the only axis swap."""

from __future__ import annotations

import numpy as np

#: Rotation taking SMPL coordinates to Blender's: x -> x, y -> z, z -> -y.
SMPL_TO_BLENDER: np.ndarray = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def points_to_blender(points: np.ndarray) -> np.ndarray:
    """Convert points (..., 3) from SMPL to Blender axes."""
    return np.asarray(points, dtype=np.float64) @ SMPL_TO_BLENDER.T


def rotation_to_blender(rotation: np.ndarray) -> np.ndarray:
    """Conjugate rotation matrices (..., 3, 3) from SMPL to Blender axes."""
    return SMPL_TO_BLENDER @ np.asarray(rotation, dtype=np.float64) @ SMPL_TO_BLENDER.T


#: Rotation taking the fit's camera frame (OpenCV: x right, y down, z forward) to Blender's
#: world, with the camera at the origin looking along +y and z up. It is a -90 degree turn about
#: x; composed with SMPLify's upright half turn about x it gives SMPL_TO_BLENDER.
CAMERA_TO_BLENDER: np.ndarray = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
