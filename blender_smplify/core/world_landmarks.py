"""BlazePose's metric world landmarks as 3D evidence for the fit: bone directions and facing.

BlazePose gives, besides its 2D landmarks, 33 "world" landmarks in metres with the origin
between the hips (``Detection.world``). Their frame, measured on the sample photo and LSP
photos turned by 0/90/180/270° (``tests/core/test_world_landmarks.py``): x right, y down,
z away from the camera (nose in front of the hips of a person facing the camera has z < 0),
in the *upright frame of the detector's final crop*: the axes turn with ``Crop.rotation``, so a
person lying in the photo still stands upright in ``world``. The crop is a view along the
ray through its centre, so

    v_cam = R_ray · R_z(rotation) · v_world,

with R_z the crop's in-plane turn (the linear part of ``Crop.crop_to_image``) and R_ray the
smallest rotation taking the optical axis to the ray through the crop centre (a few degrees for
a person off the image centre). The fit's camera frame is OpenCV's (``camera.py``: x right,
y down, z forward), so no axis changes sign.

The residual block compares the posed body's bone directions with the landmarks' (Eq. below);
both are unit vectors d, ŵ (3,) in the camera frame, e = d − ŵ (its norm is the chord of the
angle between them, 2 sin(α/2)), robust by Geman-McClure as the joint term
(``objective.py``):

    r_s = λ √v_s · σ / √(σ² + ‖e_s‖²) · e_s,     ‖r_s‖² = λ² v_s ρ(e_s),

v_s the product of the two landmarks' BlazePose visibilities. With p_a, p_b the posed points
of the bone's ends, u = p_b − p_a, d = u / ‖u‖:

    ∂r/∂x = λ √v σ/s (I − ê êᵀ) · (I − d dᵀ)/‖u‖ · (∂p_b/∂x − ∂p_a/∂x),   s = √(σ² + ‖e‖²),
    ê = e / s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import KeypointsError
from .objective import ResidualBlock

#: Bones (parent landmark, child landmark) of the blazepose33 layout whose directions enter
#: the term: upper and lower arms and legs, the shoulder and hip lines (right to left) and the
#: two sides of the torso (hip to shoulder).
BONES: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("right_shoulder", "left_shoulder"),
    ("right_hip", "left_hip"),
    ("left_hip", "left_shoulder"),
    ("right_hip", "right_shoulder"),
)
#: Landmark bones shorter than this (m) give no direction.
MIN_BONE = 0.03


@dataclass(frozen=True)
class WorldLandmarks:
    """BlazePose's world landmarks as the detector gives them.

    Attributes
    ----------
    points : (33, 3) metres, blazepose33 order, in the final crop's upright frame.
    visibility : (33,) BlazePose's visibility in [0, 1].
    crop_rotation : radians, the final crop's turn in the image (``Crop.rotation``).
    crop_centre : (2,) image pixels of the final crop's centre (``Crop.centre``).
    """

    points: np.ndarray
    visibility: np.ndarray
    crop_rotation: float = 0.0
    crop_centre: np.ndarray | None = None

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float64)
        visibility = np.asarray(self.visibility, dtype=np.float64)
        if points.shape != (33, 3) or visibility.shape != (33,):
            raise KeypointsError(
                "world landmarks need points (33, 3) and visibility (33,), "
                f"got {points.shape} and {visibility.shape}"
            )
        bad = ~np.all(np.isfinite(points), axis=1)
        visibility = np.where(bad | ~np.isfinite(visibility), 0.0, np.clip(visibility, 0, 1))
        object.__setattr__(self, "points", np.where(bad[:, None], 0.0, points))
        object.__setattr__(self, "visibility", visibility)

    @classmethod
    def from_detection(cls, detection) -> WorldLandmarks:
        """The world landmarks of a ``detector.Detection``."""
        visibility = detection.world_visibility
        if visibility is None:
            visibility = np.ones(33)
        return cls(
            detection.world,
            visibility,
            float(detection.crop.rotation),
            np.asarray(detection.crop.centre, dtype=np.float64),
        )

    def to_dict(self) -> dict:
        """Plain JSON-ready form (lists), read back by :meth:`from_dict`."""
        centre = None if self.crop_centre is None else np.asarray(self.crop_centre).tolist()
        return {
            "points": self.points.tolist(),
            "visibility": self.visibility.tolist(),
            "crop_rotation": float(self.crop_rotation),
            "crop_centre": centre,
        }

    @classmethod
    def from_dict(cls, data: dict) -> WorldLandmarks:
        """Landmarks from :meth:`to_dict`'s form; KeypointsError when it is not that."""
        try:
            centre = data.get("crop_centre")
            return cls(
                np.array(data["points"], dtype=np.float64),
                np.array(data["visibility"], dtype=np.float64),
                float(data.get("crop_rotation", 0.0)),
                None if centre is None else np.array(centre, dtype=np.float64),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise KeypointsError(
                f'world landmarks need "points" (33, 3) and "visibility" (33,): {error}'
            ) from None

    def in_camera(self, focal: float, principal: np.ndarray) -> np.ndarray:
        """(33, 3) the landmarks turned into the fit's camera frame (hip-centred, metres)."""
        return world_to_camera(self.points, self.crop_rotation, self.crop_centre, focal, principal)


def world_to_camera(
    points: np.ndarray,
    crop_rotation: float,
    crop_centre: np.ndarray | None = None,
    focal: float | None = None,
    principal: np.ndarray | None = None,
) -> np.ndarray:
    """Turn BlazePose world landmarks (N, 3) into the camera frame: R_ray R_z(rotation) v.

    Without ``crop_centre`` (or focal, principal) R_ray is the identity.
    """
    c, s = np.cos(crop_rotation), np.sin(crop_rotation)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    if crop_centre is not None and focal is not None and principal is not None:
        R = ray_rotation(crop_centre, focal, principal) @ R
    return np.asarray(points, dtype=np.float64) @ R.T


def ray_rotation(pixel: np.ndarray, focal: float, principal: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking the optical axis e_z to the ray through ``pixel``."""
    ray = np.array([*(np.asarray(pixel, dtype=np.float64) - principal) / focal, 1.0])
    ray /= np.linalg.norm(ray)
    axis = np.cross([0.0, 0.0, 1.0], ray)
    sin, cos = np.linalg.norm(axis), ray[2]
    if sin < 1e-12:
        return np.eye(3)
    k = axis / sin
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + sin * K + (1.0 - cos) * K @ K  # Rodrigues' formula


@dataclass(frozen=True)
class BoneTargets:
    """Bone directions the posed body should follow.

    Attributes
    ----------
    parents, children : (S,) indices into the kinematics' points of each bone's two ends.
    directions : (S, 3) unit target directions in the camera frame.
    weights : (S,) v_s, the product of the two landmarks' visibilities.
    """

    parents: np.ndarray
    children: np.ndarray
    directions: np.ndarray
    weights: np.ndarray


def bone_targets(
    camera_points: np.ndarray,
    visibility: np.ndarray,
    names: tuple[str, ...],
    point_index: np.ndarray,
    bones: tuple[tuple[str, str], ...] = BONES,
) -> BoneTargets:
    """Targets of the bones whose two ends the fit's layout has.

    Parameters
    ----------
    camera_points : (33, 3) world landmarks in the camera frame (``WorldLandmarks.in_camera``).
    visibility : (33,) their visibilities.
    names : (K,) keypoint names of the fit's layout; point_index : (K,) their kinematics points.
    bones : (parent, child) blazepose33 landmark names.
    """
    from .keypoints import BLAZEPOSE33

    bp = {n: i for i, n in enumerate(BLAZEPOSE33.names)}
    where = {n: int(point_index[i]) for i, n in enumerate(names)}
    rows = []
    for a, b in bones:
        if a not in where or b not in where:
            continue
        u = camera_points[bp[b]] - camera_points[bp[a]]
        length = float(np.linalg.norm(u))
        if length < MIN_BONE:
            continue
        rows.append((where[a], where[b], u / length, visibility[bp[a]] * visibility[bp[b]]))
    if not rows:
        z = np.zeros(0, dtype=int)
        return BoneTargets(z, z, np.zeros((0, 3)), np.zeros(0))
    par, chi, dirs, w = zip(*rows)
    return BoneTargets(np.array(par), np.array(chi), np.array(dirs), np.array(w))


def bone_direction_residuals(
    points: np.ndarray,
    jac: np.ndarray | None,
    targets: BoneTargets,
    weight: float,
    sigma: float,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Robust bone-direction residuals r (3S,) and their Jacobian (3S, n) (module docstring).

    Parameters
    ----------
    points : (P, 3) posed points; jac : (P, 3, n) their Jacobian, or None for no Jacobian.
    targets : the bones and their target directions.
    weight : λ (energy λ²); sigma : Geman-McClure scale (chord of the angle, 0..2).
    """
    u = points[targets.children] - points[targets.parents]  # (S, 3)
    length = np.linalg.norm(u, axis=1)
    d = u / length[:, None]
    e = d - targets.directions
    root = np.hypot(sigma, np.linalg.norm(e, axis=1))
    a = weight * np.sqrt(targets.weights) * sigma / root
    r = (a[:, None] * e).reshape(-1)
    if jac is None:
        return r, None
    # dr/dx = a (I − ê êᵀ) (I − d dᵀ) / ‖u‖ (J_child − J_parent); the 3×3 factors first
    e_n = e / root[:, None]
    eye = np.eye(3)[None]
    robust = eye - e_n[:, :, None] * e_n[:, None, :]
    normalise = (eye - d[:, :, None] * d[:, None, :]) / length[:, None, None]
    left = a[:, None, None] * (robust @ normalise)  # (S, 3, 3)
    J = left @ (jac[targets.children] - jac[targets.parents])
    return r, J.reshape(-1, jac.shape[2])


class WorldLandmarkBlock(ResidualBlock):
    """E_w: the robust bone directions of the world landmarks as a residual block "world".

    Parameters
    ----------
    targets : the bones and their directions in the camera frame (``bone_targets``).
    sigma : Geman-McClure scale (chord of the angle, 0..2).
    """

    name = "world"

    def __init__(self, targets: BoneTargets, sigma: float) -> None:
        self.targets, self.sigma = targets, float(sigma)

    def residuals(self, state, stage, *, jacobian, compact):
        jac = state.points_jac if jacobian else None
        return bone_direction_residuals(state.points, jac, self.targets, 1.0, self.sigma)


def torso_forward(points: np.ndarray) -> np.ndarray:
    """Unit forward direction (3,) of a torso from blazepose33-ordered points (33, 3).

    forward = left × up (the body's x × y = z in SMPL's rest frame), left from the right to
    the left shoulder and hip, up from the hips' midpoint to the shoulders'. The camera sees
    the front when forward_z < 0 (camera frame: z away from the camera).
    """
    from .keypoints import BLAZEPOSE33

    p = np.asarray(points, dtype=np.float64)
    ls, rs, lh, rh = (p[BLAZEPOSE33.index(n)] for n in BLAZEPOSE33.torso)
    left = (ls - rs) + (lh - rh)
    up = 0.5 * (ls + rs - lh - rh)
    forward = np.cross(left, up)
    norm = np.linalg.norm(forward)
    return forward / norm if norm > 0 else forward
