"""A learned 2D→3D lifter: blazepose33 keypoints in, their 3D positions in the camera frame out.

The network (``onnx_models/lifter_blazepose33.onnx``, trained by ``tools/train_lifter.py`` on
the mocap training data seen by random cameras) follows Martinez et al. (2017), "A simple yet
effective baseline for 3d human pose estimation": an MLP from normalised 2D points to 3D.

Normalisation (the same at training and at run time, :func:`network_input`): each keypoint's
ray u_k = K⁻¹ (x_k, y_k, 1)ᵀ is turned into the frame of a virtual camera looking along the
ray through the hips' midpoint c (R_c the smallest rotation taking e_z to that ray), so that a
person anywhere in the photo, under any focal length, looks as if centred:

    q_k = π(R_cᵀ u_k),      π(v) = (v_x / v_z, v_y / v_z),

then centred on q of the hips' midpoint and divided by the RMS distance s of the used points
from it. Dropped points are zeroed and flagged in a 0/1 mask; input = [q / s (33·2), mask
(33)]. The output is the 33 points (metres, hip-centred) in the virtual camera's frame, turned
back into the camera frame (OpenCV: x right, y down, z forward) by R_c — the interface of
BlazePose's world landmarks in the camera frame (``world_landmarks.world_to_camera``) — and,
from a network trained with it (a second output ``log_error``), the log of each point's
expected error s_k in metres (trained by the likelihood p(e) ∝ exp(−3‖e‖/s) / s³, whose best
s is E‖e‖; Kendall & Gal 2017).

Depth signs: a network trained with ``tools/train_lifter.py --sign-weight`` has a third output
``away_logit``, for each limb segment parent → child of ``edit_terms.LIMB_SEGMENTS``
(:data:`SEGMENT_NAMES`, :data:`SEGMENT_ENDS`) the log-odds that the child end lies farther
along the line of sight than the parent, Δ = (b − a) · r̂ > 0 with r̂ the ray to the segment's
midpoint (``tools/lifter_signs.py``); ``LiftedPoints.segment_away_probability`` holds σ(ℓ).

Confidence: ``lifted_world(..., error_scale=τ)`` weighs the lifted points by the keypoints'
confidences times a trust t_k = 1 / (1 + (s_k / τ)²), so the bone-direction term (which
multiplies the two ends' weights) counts less where the network expects to be wrong. Off by
default: on the rendered benchmark no τ beat the shipped network without it
(``docs/fit_lifter.md``, "Trusting the lifter where it is sure"), and the shipped network has no
``log_error`` output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .detector import MODEL_DIR
from .edit_terms import LIMB_SEGMENTS
from .errors import KeypointsError
from .keypoints import get_layout
from .onnx_runtime import onnx_session

LIFTER_FILE = "lifter_blazepose33.onnx"
LAYOUT = get_layout("blazepose33")
NUM_POINTS = len(LAYOUT.names)
#: Network input: normalised 2D (33 × 2) then the 0/1 mask (33); output: 3D (33 × 3).
INPUT_SIZE = NUM_POINTS * 3
OUTPUT_SIZE = NUM_POINTS * 3
HIPS = (LAYOUT.index("left_hip"), LAYOUT.index("right_hip"))
TORSO = tuple(LAYOUT.index(n) for n in LAYOUT.torso)
#: Index of each point's left-right mirror image.
MIRROR = np.array([LAYOUT.index(n.replace("left_", "#").replace("right_", "left_")
                                .replace("#", "right_")) for n in LAYOUT.names])  # fmt: skip
#: The depth-sign head's limb segments, named by their parent joint (``edit_terms.LIMB_SEGMENTS``
#: order), and their (parent, child) keypoint indices (8, 2).
SEGMENT_NAMES = tuple(LIMB_SEGMENTS)
SEGMENT_ENDS = np.array([(LAYOUT.index(a), LAYOUT.index(b)) for a, b in LIMB_SEGMENTS.items()])
#: Index of each segment's left-right mirror image.
_PARENTS = SEGMENT_ENDS[:, 0].tolist()
SEGMENT_MIRROR = np.array([_PARENTS.index(MIRROR[a]) for a in _PARENTS])
#: Keypoints with a confidence below this count as dropped.
MIN_CONFIDENCE = 0.1
#: τ (metres) of the trust 1 / (1 + (s / τ)²) in a lifted point of expected error s, when the
#: trust is asked for; the best of 0.05 / 0.1 / 0.2 on the tuning half of the rendered
#: benchmark for the fit from exact 2D (``benchmarks/studies/lifter_confidence.py``).
ERROR_SCALE = 0.1


def ray_rotations(pixels: np.ndarray, focal: np.ndarray, principal: np.ndarray) -> np.ndarray:
    """(N, 3, 3) the smallest rotations taking e_z to the rays through pixels (N, 2)."""
    ray = np.concatenate([(pixels - principal) / focal[:, None], np.ones((len(pixels), 1))], 1)
    ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    # Rodrigues' formula for axis e_z × ray, cos = ray_z: R = I + [a]x + [a]x² / (1 + cos)
    ax = np.stack([-ray[:, 1], ray[:, 0], np.zeros(len(ray))], axis=1)
    K = np.zeros((len(ray), 3, 3))
    K[:, 0, 2], K[:, 1, 2] = ax[:, 1], -ax[:, 0]
    K[:, 2, 0], K[:, 2, 1] = -ax[:, 1], ax[:, 0]
    return np.eye(3) + K + K @ K / (1.0 + ray[:, 2])[:, None, None]


def _centre_pixels(xy: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(N, 2) hips' midpoint; the mean of the used torso points, or of all used points, when a
    hip is missing."""
    centre = np.zeros((len(xy), 2))
    for group, need in ((range(NUM_POINTS), 1), (TORSO, 1), (HIPS, 2)):  # last wins
        w = used[:, list(group)].astype(np.float64)
        have = w.sum(1) >= need
        mean = (xy[:, list(group)] * w[:, :, None]).sum(1) / np.maximum(w.sum(1), 1)[:, None]
        centre[have] = mean[have]
    return centre


def network_input(
    xy: np.ndarray, confidence: np.ndarray, focal: np.ndarray, principal: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The network's input for N sets of keypoints.

    Parameters
    ----------
    xy : (N, 33, 2) pixels; confidence : (N, 33); focal : (N,) pixels; principal : (N, 2).

    Returns
    -------
    inputs : (N, 99) float32; rotation : (N, 3, 3) R_c of each (see the module's notes).
    """
    used = (confidence >= MIN_CONFIDENCE) & np.all(np.isfinite(xy), axis=2)
    xy = np.where(used[:, :, None], xy, 0.0)
    R = ray_rotations(_centre_pixels(xy, used), focal, principal)
    rays = np.concatenate([(xy - principal[:, None]) / focal[:, None, None],
                           np.ones(xy.shape[:2] + (1,))], axis=2)  # fmt: skip
    v = rays @ R  # R_cᵀ u for each point (row vectors)
    q = v[:, :, :2] / v[:, :, 2:]
    q = np.where(used[:, :, None], q, 0.0)
    # the centre is on the optical axis of the virtual camera: q = 0 there
    s = np.sqrt((q**2).sum(2).sum(1) / np.maximum(used.sum(1), 1))
    q = q / np.maximum(s, 1e-9)[:, None, None]
    inputs = np.concatenate([q.reshape(len(q), -1), used.astype(np.float64)], axis=1)
    return inputs.astype(np.float32), R


def to_camera(output: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(N, 33, 3) camera-frame points from the network's output (N, 99) and R_c (N, 3, 3)."""
    return output.reshape(len(output), NUM_POINTS, 3).astype(np.float64) @ rotation.transpose(
        0, 2, 1
    )


def mirror_points(points: np.ndarray) -> np.ndarray:
    """Left-right mirror image (..., 33, D) of points in a frame whose first axis is x."""
    out = points[..., MIRROR, :].copy()
    out[..., 0] *= -1
    return out


@dataclass(frozen=True)
class LiftedPoints:
    """The lifter's 3D points for one photo.

    Attributes
    ----------
    points : (33, 3) metres, hip-centred, camera frame (x right, y down, z forward).
    visibility : (33,) the 2D keypoints' confidences (0 where the keypoint was dropped).
    expected_error : (33,) metres, the network's expected error of each point, or None for a
        network without that output.
    segment_away_probability : (8,) for each limb segment of :data:`SEGMENT_NAMES` the
        probability that its child end lies farther along the line of sight than its parent
        (the network's depth-sign head), or None for a network without that output.
    """

    points: np.ndarray
    visibility: np.ndarray
    expected_error: np.ndarray | None = None
    segment_away_probability: np.ndarray | None = None

    def away_probabilities(self) -> dict[str, float] | None:
        """{segment (its parent joint, ``edit_terms.LIMB_SEGMENTS``): probability that its
        child end is farther}, or None without the depth-sign head."""
        if self.segment_away_probability is None:
            return None
        return dict(zip(SEGMENT_NAMES, self.segment_away_probability.tolist()))

    def trust(self, scale: float = ERROR_SCALE) -> np.ndarray:
        """(33,) 1 / (1 + (s / scale)²) per point; ones without expected errors."""
        if self.expected_error is None:
            return np.ones(NUM_POINTS)
        return 1.0 / (1.0 + (self.expected_error / scale) ** 2)


class Lifter:
    """The shipped 2D→3D lifter; the onnxruntime session is created on first use.

    Parameters
    ----------
    model_path : ONNX file; None = the shipped ``onnx_models/lifter_blazepose33.onnx``.
    threads : onnxruntime intra-op threads; None = onnxruntime's default.
    mirror_average : also lift the left-right mirrored keypoints and average the mirrored-back
        result with the direct one (test-time augmentation; the network was trained on both).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        threads: int | None = 1,
        mirror_average: bool = False,
    ) -> None:
        self.model_path = Path(model_path) if model_path else MODEL_DIR / LIFTER_FILE
        self.threads = threads
        self.mirror_average = mirror_average
        self._session = None

    def outputs(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """The raw network: (N, 99) float32 inputs → {"points": (N, 99), and where the network
        has them "log_error": (N, 33) log expected errors, "away_logit": (N, 8) depth-sign
        log-odds}."""
        if self._session is None:
            self._session = onnx_session(self.model_path, self.threads, "lifter")
        name = self._session.get_inputs()[0].name
        out = self._session.run(None, {name: np.asarray(inputs, dtype=np.float32)})
        names = [o.name for o in self._session.get_outputs()]
        return {"points": out[0], **dict(zip(names[1:], out[1:]))}

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, 99) points and (N, 33) log expected errors (None for a network without them) of
        (N, 99) float32 inputs (:meth:`outputs`)."""
        out = self.outputs(inputs)
        return out["points"], out.get("log_error")

    def lift(
        self,
        xy: np.ndarray,
        confidence: np.ndarray,
        focal: float,
        principal: np.ndarray,
    ) -> LiftedPoints:
        """Lift one photo's blazepose33 keypoints.

        Parameters
        ----------
        xy : (33, 2) pixels; confidence : (33,) in [0, 1]; focal : pixels; principal : (2,).
        """
        xy = np.asarray(xy, dtype=np.float64)
        confidence = np.asarray(confidence, dtype=np.float64)
        if xy.shape != (NUM_POINTS, 2) or confidence.shape != (NUM_POINTS,):
            raise KeypointsError(f"the lifter needs blazepose33 keypoints (33, 2) and confidence "
                                 f"(33,), got {xy.shape} and {confidence.shape}")  # fmt: skip
        confidence = np.where(np.isfinite(confidence), confidence, 0.0)
        if np.count_nonzero(confidence >= MIN_CONFIDENCE) < 4:
            raise KeypointsError("the lifter needs at least 4 confident keypoints")
        principal = np.asarray(principal, dtype=np.float64).reshape(1, 2)
        inputs, R = network_input(xy[None], confidence[None], np.array([float(focal)]), principal)
        if self.mirror_average:
            q = mirror_points(inputs[:, : 2 * NUM_POINTS].reshape(1, NUM_POINTS, 2))
            mirrored = np.concatenate(
                [q.reshape(1, -1), inputs[:, 2 * NUM_POINTS :][:, MIRROR]], 1
            )
            net = self.outputs(np.concatenate([inputs, mirrored]))
            out = net["points"].reshape(2, NUM_POINTS, 3)
            output = 0.5 * (out[0] + mirror_points(out[1])).reshape(1, -1)
        else:
            net = self.outputs(inputs)
            output = net["points"]
        error = _per_photo(net.get("log_error"), np.exp, MIRROR)
        away = _per_photo(net.get("away_logit"), _sigmoid, SEGMENT_MIRROR)
        points = to_camera(output, R)[0]
        used = inputs[0, 2 * NUM_POINTS :]
        return LiftedPoints(points, np.clip(confidence, 0.0, 1.0) * used, error, away)


def _sigmoid(logit: np.ndarray) -> np.ndarray:
    """Probabilities σ(ℓ) = 1 / (1 + e^−ℓ) of log-odds."""
    return 1.0 / (1.0 + np.exp(-logit))


def _per_photo(rows: np.ndarray | None, value, mirror: np.ndarray) -> np.ndarray | None:
    """(K,) a per-point or per-segment output for the photo: value(row) of the network's one row
    (1, K), or the mean of the photo's and the mirrored photo's (2, K), the mirrored one's each
    taken from its mirror image (``mirror``, (K,) indices); None without that output."""
    if rows is None:
        return None
    v = value(rows.astype(np.float64))
    return v[0] if len(v) == 1 else 0.5 * (v[0] + v[1][mirror])


_DEFAULT: Lifter | None = None


def default_lifter() -> Lifter:
    """The shipped lifter, mirror-averaged, shared by every caller (one onnxruntime session):
    what :func:`lifted_world` uses when given none; ``default_lifter().lift(...)`` also gives
    the depth-sign head's ``segment_away_probability``."""
    global _DEFAULT
    _DEFAULT = _DEFAULT or Lifter(mirror_average=True)
    return _DEFAULT


def lifted_world(
    keypoints,
    focal: float,
    principal: np.ndarray,
    lifter: Lifter | None = None,
    error_scale: float | None = None,
):
    """The lifter's 3D points as the fit's world-landmark evidence, each point's weight its
    keypoint's confidence (times the trust in the lifted point, ``LiftedPoints.trust``, when
    ``error_scale`` is given).

    Parameters
    ----------
    keypoints : Keypoints2D of the blazepose33 layout.
    focal : pixels; principal : (2,) pixels.
    lifter : a Lifter; None = the shipped one, mirror-averaged (its session created once).
    error_scale : τ of the trust in metres (``ERROR_SCALE``); None = trust every point
        (confidences only, the default).

    Returns
    -------
    world_landmarks.WorldLandmarks in the camera frame (no crop turn), for
    ``fit(..., world=...)``.
    """
    return world_of(lift_keypoints(keypoints, focal, principal, lifter), error_scale)


def lift_keypoints(
    keypoints, focal: float, principal: np.ndarray, lifter: Lifter | None = None
) -> LiftedPoints:
    """The lifter's points of blazepose33 ``keypoints`` (focal in pixels, principal (2,)
    pixels); ``lifter``: None = the shipped one, mirror-averaged."""
    if keypoints.layout != LAYOUT.name:
        raise KeypointsError(f"the lifter takes blazepose33 keypoints, not {keypoints.layout}")
    lifter = lifter or default_lifter()
    return lifter.lift(keypoints.xy, keypoints.confidence, focal, principal)


def world_of(lifted: LiftedPoints, error_scale: float | None = None):
    """Lifted points as the fit's world-landmark evidence (:func:`lifted_world`)."""
    from .world_landmarks import WorldLandmarks

    trust = 1.0 if error_scale is None else lifted.trust(error_scale)
    return WorldLandmarks(lifted.points, lifted.visibility * trust)
