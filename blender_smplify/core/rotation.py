"""Axis-angle rotations (Rodrigues) and their derivatives, with explicit small-angle branches.

A rotation vector θ has angle a = |θ| and axis θ / a; K = [θ]× is its cross-product matrix.

    R(θ)   = I + sin(a)/a · K + (1 − cos a)/a² · K²              (Rodrigues)
    J_l(θ) = I + (1 − cos a)/a² · K + (a − sin a)/a³ · K²        (left Jacobian of SO(3))

The left Jacobian gives the derivative of R used everywhere in the fit:
R(θ + δ) ≈ exp([J_l(θ) δ]×) R(θ), i.e. ∂R/∂θ_m = [J_l(θ) e_m]× R(θ).
"""

from __future__ import annotations

import numpy as np

#: Below this angle (radians) the coefficients use their Taylor series.
SMALL_ANGLE = 1e-4


def skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices [v]× of vectors v (..., 3) -> (..., 3, 3)."""
    v = np.asarray(v, dtype=np.float64)
    out = np.zeros(v.shape[:-1] + (3, 3))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a × b of broadcastable vectors (..., 3), as ``np.cross`` (same values) without its
    per-call overhead, which dominates on the fit's small arrays."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _coefficients(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sin(a)/a, (1 − cos a)/a², (a − sin a)/a³ with Taylor series near zero."""
    small = angle < SMALL_ANGLE
    a = np.where(small, 1.0, angle)
    a2 = angle * angle
    sinc = np.where(small, 1.0 - a2 / 6.0, np.sin(a) / a)
    cosc = np.where(small, 0.5 - a2 / 24.0, (1.0 - np.cos(a)) / (a * a))
    sinc3 = np.where(small, 1.0 / 6.0 - a2 / 120.0, (a - np.sin(a)) / (a * a * a))
    return sinc, cosc, sinc3


def rodrigues(rotvec: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from rotation vectors (..., 3)."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    angle = np.linalg.norm(rotvec, axis=-1)
    sinc, cosc, _ = _coefficients(angle)
    K = skew(rotvec)
    K2 = K @ K
    return np.eye(3) + sinc[..., None, None] * K + cosc[..., None, None] * K2


def rodrigues_with_left_jacobian(rotvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation matrices R and left Jacobians J_l, both (..., 3, 3), from rotvecs (..., 3)."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    angle = np.linalg.norm(rotvec, axis=-1)
    sinc, cosc, sinc3 = _coefficients(angle)
    K = skew(rotvec)
    K2 = K @ K
    eye = np.eye(3)
    R = eye + sinc[..., None, None] * K + cosc[..., None, None] * K2
    J_left = eye + cosc[..., None, None] * K + sinc3[..., None, None] * K2
    return R, J_left


def rotation_derivatives(rotvec: np.ndarray) -> np.ndarray:
    """∂R/∂θ_m for rotvecs (..., 3) -> (..., 3, 3, 3), last-but-two axis m."""
    R, J_left = rodrigues_with_left_jacobian(rotvec)
    columns = np.swapaxes(J_left, -1, -2)  # (..., m, 3): J_l e_m
    return skew(columns) @ R[..., None, :, :]


def matrix_to_rotvec(matrix: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3) from rotation matrices (..., 3, 3), robust near π."""
    from scipy.spatial.transform import Rotation

    matrix = np.asarray(matrix, dtype=np.float64)
    flat = matrix.reshape(-1, 3, 3)
    return Rotation.from_matrix(flat).as_rotvec().reshape(matrix.shape[:-2] + (3,))
