"""Which way each limb points into depth, read from the photo itself.

One view leaves the sign of a limb segment's depth change open to the keypoints, but not
always to the pixels: the nearer end of a forearm pointing at the camera is drawn larger,
overlaps what lies behind it and is shaded differently. A small CNN
(``onnx_models/depth_sign.onnx``, trained by ``tools/train_depth_sign.py`` on renders with
exact 3D truth) looks at a crop around each of the 8 limb segments parent → child of
``edit_terms.LIMB_SEGMENTS`` and gives the probability that the child end lies farther along
the line of sight than the parent, Δ = (b − a) · r̂ > 0 with r̂ the ray to the segment's
midpoint (``benchmarks/depth_metrics.py``'s measure; the lifter's sign head answers the same
question from the keypoints alone, ``LiftedPoints.segment_away_probability``).

The crop (:func:`segment_crops`): a square of side max(``ALONG`` × the segment's 2D length,
``ACROSS`` × the body's 2D scale) around the segment's midpoint, turned so that parent → child
points down, resampled to ``SIZE`` × ``SIZE`` (bilinear); channels: RGB in [−½, ½], then a
Gaussian mark at the parent end and one at the child end, then the RGB of a context crop
``WIDE`` times as large around the same centre, turned the same way. The body's scale is the
longest of the 2D torso (shoulders' to hips' midpoint) and the 8 limb segments, so a segment
pointing at the camera is drawn short beside it. Beside the crop the network reads the
segment's kind (one-hot: upper arm, forearm, thigh, shin), its 2D length per body scale, and
what the other sources say of its sign (:func:`evidence`): the lifter's sign head and
BlazePose's world landmarks and visibilities; a linear path on these scalars alone is fitted
first, so that the photo's path learns corrections to it.

Measured (``docs/depth_sign.md``): from scratch on ~800 renders the photo adds little to what
the segment's kind says, and as a vote in the depth search the network changed no count of
limbs backwards on the benchmark's tuning half; ``pipeline.IMAGE_DEPTH_SIGNS`` is off.

Mirror symmetry: a photo mirrored left-right with its keypoints swapped gives each segment's
mirror image the horizontally flipped crop, and a mirror keeps every Δ; the answer averages
the crop and its flipped copy, so it is the same on a photo and its mirror image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .detector import MODEL_DIR
from .errors import KeypointsError
from .keypoints import Keypoints2D, get_layout
from .lifter import SEGMENT_ENDS, SEGMENT_NAMES  # the segments of the lifter's sign head
from .onnx_runtime import onnx_session

DEPTH_SIGN_FILE = "depth_sign.onnx"
LAYOUT = get_layout("blazepose33")
#: Each segment's kind: 0 upper arm, 1 forearm, 2 thigh, 3 shin.
KINDS = np.arange(8) % 4
TORSO_ENDS = (
    tuple(LAYOUT.index(n) for n in ("left_shoulder", "right_shoulder")),
    tuple(LAYOUT.index(n) for n in ("left_hip", "right_hip")),
)
#: Crop side in pixels, and its size in the photo: at least ALONG × the segment's 2D length
#: and ACROSS × the body's 2D scale.
SIZE = 64
ALONG = 1.5
ACROSS = 1.2
#: The context crop: the same centre and turn, WIDE times the side.
WIDE = 2.5
#: Channels: the crop's RGB, the parent's and the child's marks, the context crop's RGB.
CHANNELS = 8
#: σ of the end marks, a share of the crop's side.
MARK_SIGMA = 0.05
#: Keypoints below this confidence count as missing: no answer for their segments.
MIN_CONFIDENCE = 0.1
#: Scalar inputs per segment: kind one-hot (4), 2D length per body scale (1), then the other
#: sources' signs (:func:`evidence`): the lifter's log-odds / 4, BlazePose's depth change per
#: length, BlazePose's visibility of the parent end minus the child end's.
NUM_SCALARS = 8
#: The lifter's log-odds are clipped to ± this before scaling.
MAX_LOGIT = 6.0


def body_scale(xy: np.ndarray, used: np.ndarray) -> float:
    """The body's 2D scale in pixels: the longest of the torso (shoulders' midpoint to hips'
    midpoint) and the limb segments whose two ends are ``used``; xy (33, 2), used (33,)."""
    lengths = [np.linalg.norm(xy[b] - xy[a]) for a, b in SEGMENT_ENDS if used[a] and used[b]]
    shoulders, hips = TORSO_ENDS
    if used[list(shoulders + hips)].all():
        lengths.append(np.linalg.norm(xy[list(shoulders)].mean(0) - xy[list(hips)].mean(0)))
    return float(max(lengths, default=0.0))


def segment_frames(xy: np.ndarray, used: np.ndarray):
    """Each segment's crop frame in the photo: centres (8, 2), unit axes (8, 2, 2) (row 0 the
    crop's x axis, row 1 its y axis = parent → child), sides (8,) in pixels, 2D lengths per
    body scale (8,) and which segments can be answered (8,) (both ends used, a body scale)."""
    a, b = xy[SEGMENT_ENDS[:, 0]], xy[SEGMENT_ENDS[:, 1]]
    ok = used[SEGMENT_ENDS].all(axis=1)
    scale = body_scale(xy, used)
    ok &= scale > 0
    d = b - a
    length = np.linalg.norm(d, axis=1)
    down = np.where(length[:, None] > 1e-6, d / np.maximum(length, 1e-6)[:, None], [0.0, 1.0])
    axes = np.stack([np.stack([down[:, 1], -down[:, 0]], 1), down], axis=1)
    sides = np.maximum(ALONG * length, ACROSS * scale)
    return (a + b) / 2, axes, sides, length / max(scale, 1e-9), ok


def segment_crops(image: np.ndarray, keypoints: Keypoints2D):
    """The network's inputs for the 8 segments of one photo.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB; keypoints : blazepose33, in the photo's pixels.

    Returns
    -------
    crops : (8, CHANNELS, SIZE, SIZE) float32; scalars : (8, 5) float32 (the geometric ones,
    kind and 2D length, of ``NUM_SCALARS``);
    ok : (8,) bool, False where an end is missing (its crop is not meaningful).
    """
    image = _checked_image(image)
    if keypoints.layout != "blazepose33":
        raise KeypointsError(f"depth signs need blazepose33 keypoints, got {keypoints.layout!r}")
    xy = np.asarray(keypoints.xy, dtype=np.float64)
    used = (np.asarray(keypoints.confidence) >= MIN_CONFIDENCE) & np.isfinite(xy).all(1)
    xy = np.nan_to_num(xy)
    centres, axes, sides, short, ok = segment_frames(xy, used)
    sides = np.where(ok, sides, 1.0)
    photo = Image.fromarray(image)
    crops = np.zeros((8, CHANNELS, SIZE, SIZE), dtype=np.float32)
    grid = np.arange(SIZE) + 0.5  # crop pixel centres
    for k in range(8):
        crops[k, :3] = _resampled(photo, centres[k], axes[k], sides[k])
        crops[k, 5:] = _resampled(photo, centres[k], axes[k], WIDE * sides[k])
        for channel, end in enumerate(SEGMENT_ENDS[k]):
            u, v = axes[k] @ (xy[end] - centres[k]) * (SIZE / sides[k]) + SIZE / 2
            gx = np.exp(-0.5 * ((grid - u) / (MARK_SIGMA * SIZE)) ** 2)
            gy = np.exp(-0.5 * ((grid - v) / (MARK_SIGMA * SIZE)) ** 2)
            crops[k, 3 + channel] = np.outer(gy, gx)
    crops[~ok] = 0.0
    scalars = np.zeros((8, 5), dtype=np.float32)
    scalars[np.arange(8), KINDS] = 1.0
    scalars[:, 4] = short
    return crops, scalars, ok


def evidence(lifter_away: np.ndarray, points: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """(8, 3) float32 the other sources' scalar inputs per segment: the lifter's log-odds
    (``LiftedPoints.segment_away_probability`` (8,), clipped to ± ``MAX_LOGIT``) / 4,
    BlazePose's depth change per length along the optical axis (its world landmarks in the
    camera frame, points (33, 3); 0 where an end is not finite) and its visibility (33,) of
    the parent end minus the child end's (``depth_search.detector_votes``' two votes)."""
    from .depth_search import detector_votes

    p = np.clip(np.nan_to_num(np.asarray(lifter_away, dtype=np.float64), nan=0.5), 1e-9, 1 - 1e-9)
    logit = np.clip(np.log(p / (1 - p)), -MAX_LOGIT, MAX_LOGIT) / 4.0
    votes = detector_votes(
        np.asarray(points, dtype=np.float64), np.nan_to_num(np.asarray(visibility, np.float64))
    )
    dz = [votes["blazepose"].get(segment, 0.0) for segment in SEGMENT_NAMES]
    vis = [votes["visibility"][segment] for segment in SEGMENT_NAMES]
    return np.stack([logit, dz, vis], axis=1).astype(np.float32)


def _resampled(photo: Image.Image, centre, axes, side: float) -> np.ndarray:
    """(3, SIZE, SIZE) RGB in [−½, ½] of the square of ``side`` photo pixels around ``centre``
    (2,) whose x and y axes are the rows of ``axes`` (2, 2), bilinear."""
    step = axes.T * (side / SIZE)  # photo pixels per crop pixel, columns x, y
    origin = centre - step @ np.full(2, SIZE / 2)
    data = (step[0, 0], step[0, 1], origin[0], step[1, 0], step[1, 1], origin[1])
    rgb = photo.transform((SIZE, SIZE), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0 - 0.5


def _checked_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)


class DepthSign:
    """The depth-sign network (ONNX) on one photo's 8 limb segments.

    Parameters
    ----------
    model_path : the ONNX file (default ``onnx_models/depth_sign.onnx``).
    threads : onnxruntime's intra-op threads (None: its default).
    """

    def __init__(self, model_path: str | Path | None = None, threads: int | None = 1):
        self.model_path = Path(model_path) if model_path else MODEL_DIR / DEPTH_SIGN_FILE
        self.session = onnx_session(self.model_path, threads, what="depth-sign")

    def away_probability(
        self,
        image: np.ndarray,
        keypoints: Keypoints2D,
        lifter_away: np.ndarray,
        points: np.ndarray,
        visibility: np.ndarray,
    ) -> np.ndarray:
        """(8,) for each segment of :data:`SEGMENT_NAMES` the probability that its child end
        lies farther along the line of sight than its parent, the crop's and its mirror
        image's averaged; NaN where an end is missing. One batched run of 16 crops.

        Parameters
        ----------
        image : (H, W, 3) uint8 RGB; keypoints : the detector's blazepose33 keypoints;
        lifter_away : (8,) the lifter's ``segment_away_probability`` of those keypoints;
        points, visibility : BlazePose's world landmarks in the camera frame (33, 3)
            (``WorldLandmarks.in_camera``) and their visibilities (33,).
        """
        crops, geometry, ok = segment_crops(image, keypoints)
        scalars = np.concatenate([geometry, evidence(lifter_away, points, visibility)], axis=1)
        both = np.concatenate([crops, crops[:, :, :, ::-1]])
        (logit,) = self.session.run(
            ["away_logit"],
            {"crops": np.ascontiguousarray(both), "scalars": np.tile(scalars, (2, 1))},
        )
        p = 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=np.float64).reshape(2, 8)))
        return np.where(ok, p.mean(axis=0), np.nan)

    def votes(self, *args) -> dict[str, float]:
        """{segment: 2p − 1} of :meth:`away_probability` (same arguments) for the segments it
        can answer: the depth search's vote (``depth_search.VOTE_MARGINS["image"]``), positive
        where the child end is the farther."""
        p = self.away_probability(*args)
        return {s: float(2 * q - 1) for s, q in zip(SEGMENT_NAMES, p) if np.isfinite(q)}
