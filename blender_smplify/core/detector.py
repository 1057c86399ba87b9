"""2D joint detector: MediaPipe BlazePose GHUM (full) run by onnxruntime, its limb joints
replaced by MoveNet SinglePose Thunder's.

Procedure for one image (``JointDetector.detect``), defaults in brackets:

1. Pass 1: BlazePose on the whole image, letterboxed to 256 × 256 (or on a square around
   ``person_box`` when given). When it finds nobody, the whole image turned by ±90° and 180°,
   then square windows of the image, are tried (people lying down, small or off-centre; of
   several people found in windows, the largest), then crops around the people MoveNet finds
   in the smallest windows (a person ~150 px tall in a 3000 x 2000 photo).
2. Passes 2..n [n = 2]: BlazePose on a square crop around the person, centred on the model's
   body-centre landmark, sized from the distance to its "top" landmark and rotated so the body
   is upright (MediaPipe's own tracking rule), when that crop is much smaller than the last one
   or turned (``repass_ratio``; a person who already fills the photo gets one pass). With
   ``flip`` [off] the last pass is averaged with a pass on the mirrored crop.
3. MoveNet Thunder (when its model file is there) on that final crop; its twelve limb joints
   (shoulders ... ankles) replace BlazePose's where MoveNet's score reaches LIMB_MIN_SCORE.
   Face, hands, heels, toes, mask and world landmarks stay BlazePose's.
   When MoveNet's limb score stays below TURN_CHECK_LIMB (0.5), BlazePose also runs on the
   whole image turned by 180° (an upside-down person gets an invented upright body with a high
   presence at first); if that finds the person at least as surely, steps 2-3 run on it and the
   result with the clearly higher limb score is kept; failing that, the same with the largest
   person found in windows of the image's short side (several people).
4. Everything is mapped back to image pixels; landmarks outside the image get confidence 0.

Measured on the 300 LSP development photos (benchmarks/detector_lsp.py), PCK@0.2 on the 12
limb joints: BlazePose alone 0.79 (2 passes) to 0.81 (3 passes + flip); the default (MoveNet on
a crop at scale 1.0 from the pass-1 landmarks) 0.891. CPU per photo, one thread: a BlazePose
pass 24 ms, MoveNet 37 ms; MoveNet runs beside a second BlazePose pass (``parallel``), or on
all cores when there is none; median 53-55 ms per LSP photo on 2 cores. Both models are Apache-2.0 (see ``onnx_models/README.md``).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .detector_crop import (
    Crop,
    box_crop,
    letterbox,
    paste_back,
    person_box_from,
    refine_from_heatmaps,
    roi_from_points,
    sample,
    window_centres,
)
from .errors import ModelFileError, NoPersonFound
from .keypoints import BLAZEPOSE33, COCO17, Keypoints2D

log = logging.getLogger(__name__)

BLAZEPOSE33_NAMES = BLAZEPOSE33.names
"""BlazePose landmark order (left/right are the person's own)."""

B = {name: i for i, name in enumerate(BLAZEPOSE33_NAMES)}

COCO17_NAMES = COCO17.names
"""MoveNet's (COCO) keypoint order."""

# fmt: off
LIMB_JOINTS = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# fmt: on
"""The twelve joints that MoveNet refines (and that the LSP benchmark scores)."""



def _shipped_model_dir() -> Path:
    """The shipped models: inside the package in an installed extension (the package is the
    extension's root there), beside the package in the repository."""
    package = Path(__file__).resolve().parents[1]
    inside = package / "onnx_models"
    return inside if inside.is_dir() else package.parent / "onnx_models"


MODEL_DIR = _shipped_model_dir()
BLAZEPOSE_FILE = "blazepose_full.onnx"
MOVENET_FILE = "movenet_thunder.onnx"
INPUT = 256
CENTRE, TOP = 33, 34  # BlazePose auxiliary alignment landmarks

PRESENCE_THRESHOLD = 0.5
"""Without MoveNet: pose-presence score below which ``detect`` raises NoPersonFound."""

PRESENCE_WITH_LIMBS, LIMB_SCORE_THRESHOLD = 0.5, 0.18
"""With MoveNet: a person needs BlazePose's presence (highest over the passes) >= 0.5 and
MoveNet's mean score on the 12 limb joints >= 0.18. Chosen with benchmarks/detector_presence.py:
on 48 images without a person (Blender's CC0 HDRI photos cut into crops, synthetic images)
BlazePose's presence alone gave 8 (one pass) to 12 (two) false detections, the pair none; on
the 300 LSP photos + the sample photo the pair misses none (MoveNet's limb score there: lowest 0.198, 1st percentile
0.27; without a person: 90th percentile 0.11, highest 0.25 on a crop whose presence was low).
The margins are thin on both sides: 48 negatives are few."""

MIN_WINDOW, MAX_WINDOWS = 64, 16
"""Search windows: smallest side in pixels, most windows per level."""

CANDIDATE_SCORE, CANDIDATE_POINTS, CANDIDATE_MIN, MAX_CANDIDATES = 0.3, 5, 48.0, 4
"""MoveNet's person candidates in the search windows: keypoints with at least this score, at
least this many of them spanning at least this many pixels (smaller ones, upsampled 3x and
more for BlazePose, gave false detections on 3 of the 48 no-person images), and at most this
many candidates tried with BlazePose."""


def _mirror_permutation(names: tuple[str, ...]) -> np.ndarray:
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


BLAZEPOSE_MIRROR = np.concatenate([_mirror_permutation(BLAZEPOSE33_NAMES), np.arange(33, 39)])
COCO17_MIRROR = _mirror_permutation(COCO17_NAMES)


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
    limb_score : MoveNet's mean score on the 12 limb joints (NaN without MoveNet).
    world_visibility : (33,) BlazePose's own visibility of each landmark in [0, 1] (not
        occluded; ``keypoints.confidence`` also holds the presence and MoveNet's scores).
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

    @cached_property
    def mask(self) -> np.ndarray:
        return paste_back(self.crop_mask, self.crop, *self.image_shape)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


class JointDetector:
    """BlazePose (+ MoveNet) joint detector; the onnxruntime sessions are created once.

    Parameters
    ----------
    model_path : BlazePose landmark ONNX file; None = the shipped ``onnx_models/blazepose_full.onnx``.
    threads : onnxruntime intra-op threads; None = onnxruntime's default (all cores).
    limb_model_path : MoveNet Thunder ONNX file; None = the shipped one if present; "" = off.
    passes : BlazePose passes (1 = whole image only).
    flip : average the last BlazePose pass with a pass on the mirrored crop.
    limb_flip : the same for MoveNet.
    limb_crop_scale : MoveNet's crop is made like BlazePose's last crop, from the same
        landmarks, with this scale instead of ``crop_scale`` (1.0 measured best on LSP, from
        0.8 to 1.6: 0.833, 0.877 (0.9), 0.894 (1.0), 0.886 (1.1), 0.885 (1.25), 0.852 (1.6)).
    crop_scale : crop side = 2 × body radius × crop_scale (MediaPipe uses 1.25).
    refine : move BlazePose landmarks to their heatmap-weighted mean (MediaPipe's refinement).
    parallel : run MoveNet in a worker thread while the last BlazePose pass runs, each model
        with half of ``threads`` (on 2 cores this beats both models using 2 threads in turn).
    repass_ratio : a further BlazePose pass runs only when its crop would be smaller than this
        fraction of the current one (the person is small in it) or turned by more than 20°;
        ``inf``: always.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        threads: int | None = None,
        *,
        limb_model_path: str | os.PathLike | None = None,
        passes: int = 2,
        flip: bool = False,
        limb_flip: bool = False,
        crop_scale: float = 1.25,
        limb_crop_scale: float = 1.0,
        refine: bool = False,
        parallel: bool = True,
        repass_ratio: float = 0.6,
    ) -> None:
        self.model_path = Path(model_path) if model_path else MODEL_DIR / BLAZEPOSE_FILE
        if limb_model_path is None:
            default = MODEL_DIR / MOVENET_FILE
            limb_model_path = default if default.exists() else ""
        self.limb_model_path = Path(limb_model_path) if limb_model_path else None
        self.passes, self.flip, self.crop_scale = max(int(passes), 1), bool(flip), crop_scale
        self.refine, self.limb_flip = bool(refine), bool(limb_flip)
        self.limb_crop_scale = float(limb_crop_scale)
        self.repass_ratio = float(repass_ratio)
        cores = int(threads) if threads else (os.cpu_count() or 1)
        self.parallel = bool(parallel) and self.limb_model_path is not None and cores >= 2
        # in parallel mode each model gets half of the cores: they run at the same time
        per_model = max(cores // 2, 1) if self.parallel else threads
        self._pose = _session(self.model_path, per_model)
        self._limbs = _session(self.limb_model_path, per_model) if self.limb_model_path else None
        # When the second BlazePose pass is skipped MoveNet runs alone: give it every core
        # (LSP dev median 62 -> 49 ms per photo on 2 cores).
        self._limbs_alone = (
            _session(self.limb_model_path, threads) if self.parallel else self._limbs
        )
        self._worker = ThreadPoolExecutor(max_workers=1) if self.parallel else None

    # ------------------------------------------------------------------ public
    def detect(self, image: np.ndarray, person_box: np.ndarray | None = None) -> Detection:
        """Detect the joints of one person.

        Parameters
        ----------
        image : (H, W, 3) uint8 RGB (as ``load_image`` returns).
        person_box : optional (4,) x0, y0, x1, y1 in image pixels choosing whom to detect.

        Returns
        -------
        Detection

        Raises
        ------
        NoPersonFound
            The scores stay below PRESENCE_WITH_LIMBS / LIMB_SCORE_THRESHOLD (with MoveNet)
            or PRESENCE_THRESHOLD (without).
        ValueError
            ``image`` is not an (H, W, 3) array, or holds floats in 0..1.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
        if image.dtype.kind == "f" and 0.0 < float(np.nanmax(image)) <= 1.0:
            # read as 0..255 such an image is black: "no person" would hide the mistake
            raise ValueError("image must hold values 0..255 (uint8), got floats in 0..1")
        h, w = image.shape[:2]
        out, crop = self.landmark_passes(image, person_box, limbs=self._limbs is not None)
        if person_box is None and _limb_score(out) < TURN_CHECK_LIMB:
            out, crop = self._turned_check(image, out, crop)
        score = float(np.max(out["presences"]))
        limbs = out.get("limbs")
        limb_score = _limb_score(out) if limbs is not None else float("nan")
        if limbs is None and score < PRESENCE_THRESHOLD:
            raise NoPersonFound(
                f"no person found in the image (pose presence {score:.2f} < {PRESENCE_THRESHOLD})"
            )
        if limbs is not None and (
            score < PRESENCE_WITH_LIMBS or limb_score < LIMB_SCORE_THRESHOLD
        ):
            # a likely body whose arms and legs are not seen is most often one the frame cuts
            # off at the waist: say so (the scores cannot tell it from some empty scenes)
            hint = (
                "; if the person is cut off by the frame, use a photo that shows the legs too"
                if score >= PRESENCE_WITH_LIMBS
                else ""
            )
            raise NoPersonFound(
                f"no person found in the image (pose presence {score:.2f}, limb score "
                f"{limb_score:.2f}; a person needs at least {PRESENCE_WITH_LIMBS} and "
                f"{LIMB_SCORE_THRESHOLD}{hint})"
            )
        xy, conf = out["xy"][:33].copy(), out["confidence"][:33].copy()
        # BlazePose was trained to place joints outside its crop when they are out of view:
        # a joint it puts outside the photo is missing, whatever MoveNet says.
        inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w) & (xy[:, 1] >= 0) & (xy[:, 1] <= h)
        conf = np.where(inside, conf, 0.0)
        if limbs is not None:
            _fuse_limbs(xy, conf, *limbs)
        return Detection(
            keypoints=Keypoints2D("blazepose33", xy, conf),
            box=person_box_from(xy, conf, h, w),
            world=out["world"][:33],
            score=score,
            crop=crop,
            crop_mask=out["mask"],
            image_shape=(h, w),
            limb_score=limb_score,
            world_visibility=out["visibility"][:33],
        )

    # ------------------------------------------------------------------ passes
    def landmark_passes(
        self,
        image: np.ndarray,
        person_box: np.ndarray | None = None,
        limbs: bool = False,
        first: tuple[dict[str, np.ndarray], Crop] | None = None,
    ) -> tuple[dict[str, np.ndarray], Crop]:
        """Run the BlazePose passes; returns the last pass's raw outputs and its crop.

        The outputs (image pixels) are "xy" (39, 2), "confidence" (39,), "presence" (float),
        "presences" (one per pass), "mask" (256, 256) in crop space, "world" (39, 3) and
        "visibility" (39,); with ``limbs``, also "limbs": MoveNet's (17, 2) keypoints and (17,)
        scores on the final crop.
        ``first``: an already run first pass (outputs, crop) to go on from (no search).
        """
        h, w = image.shape[:2]
        searched = False
        if first is not None:
            out, crop = first
            searched = True  # a turned whole image or a window: give it the second pass
        else:
            crop = letterbox(h, w, INPUT) if person_box is None else box_crop(person_box, INPUT)
            out = self._blazepose(image, crop, flip=self.passes == 1 and self.flip)
            if out["presence"] < PRESENCE_THRESHOLD and person_box is None:
                out, crop = self._search(image, out, crop)
                searched = True  # a window or candidate crop: not centred on the person
        presences, job, source, first_crop = [out["presence"]], None, out, crop
        best = (out, crop)
        for k in range(1, self.passes):
            source = out  # MoveNet's crop comes from the landmarks the last crop came from
            nxt = roi_from_points(out["xy"][CENTRE], out["xy"][TOP], self.crop_scale, INPUT)
            turn = abs((nxt.rotation - crop.rotation + np.pi) % (2 * np.pi) - np.pi)
            if nxt.side >= self.repass_ratio * crop.side and turn < REPASS_TURN and not searched:
                break  # the person already filled the crop, upright: another pass adds little
            crop = nxt
            if limbs and self._worker is not None and k == self.passes - 1:
                job = self._worker.submit(
                    self._movenet, image, self._limb_crop(source), self._limbs
                )
            out = self._blazepose(image, crop, flip=self.flip and k == self.passes - 1)
            presences.append(out["presence"])
            if out["presence"] > best[0]["presence"]:
                best = (out, crop)
        if out["presence"] < PRESENCE_WITH_LIMBS <= best[0]["presence"]:
            out, crop = best  # the last crop lost the person an earlier pass had: keep that one
        out["presences"] = np.array(presences)
        out["first_crop"] = first_crop
        if limbs:
            out["limbs"] = (
                job.result()
                if job is not None
                else self._movenet(image, self._limb_crop(source), self._limbs_alone)
            )
        return out, crop

    def _turned_check(
        self, image: np.ndarray, out: dict[str, np.ndarray], crop: Crop
    ) -> tuple[dict[str, np.ndarray], Crop]:
        """Second opinions for a result whose limbs MoveNet hardly sees.

        On an upside-down person (a photo turned without EXIF, a handstand) BlazePose's
        first pass invents an upright body with a high presence, so the search never runs and
        MoveNet, on a crop of that invented body, scores the limbs low. Here BlazePose runs on
        the whole image turned by 180° from the first crop; only when its presence is at least
        the first pass's do the further passes and MoveNet run on it. Failing that, windows of
        the image's short side (when there are 2..MAX_WINDOWS of them; several people can give
        one invented body across them) are tried, and the largest person found goes on. A
        result replaces the first only when MoveNet's limb score is higher by TURN_GAIN.
        """
        first_crop = out.get("first_crop", crop)
        turned_crop = Crop(first_crop.centre, first_crop.side, first_crop.rotation + np.pi, INPUT)
        turned = self._blazepose(image, turned_crop, flip=self.passes == 1 and self.flip)
        if turned["presence"] >= max(float(out["presences"][0]), PRESENCE_WITH_LIMBS):
            alt, alt_crop = self.landmark_passes(
                image, limbs=self._limbs is not None, first=(turned, turned_crop)
            )
            if _limb_score(alt) >= _limb_score(out) + TURN_GAIN:
                return alt, alt_crop
        # several people, or one the whole image shows too small: the largest person found
        # in windows of the image's short side
        windows = _square_windows(*image.shape[:2], float(min(image.shape[:2])))
        if not 1 < len(windows) <= MAX_WINDOWS:
            return out, crop
        largest, _ = self._largest_person(image, windows, PRESENCE_WITH_LIMBS)
        if largest is not None:
            alt, alt_crop = self.landmark_passes(
                image, limbs=self._limbs is not None, first=largest
            )
            if _limb_score(alt) >= _limb_score(out) + TURN_GAIN:
                return alt, alt_crop
        return out, crop

    def _limb_crop(self, source: dict[str, np.ndarray]) -> Crop:
        """MoveNet's crop: around BlazePose's alignment landmarks at ``limb_crop_scale``."""
        return roi_from_points(
            source["xy"][CENTRE], source["xy"][TOP], self.limb_crop_scale, INPUT
        )

    def _search(self, image: np.ndarray, best: dict, best_crop: Crop) -> tuple[dict, Crop]:
        """Look for a person turned sideways, too small or off-centre for the whole-image pass.

        First the whole image turned by ±90° and 180°; then square windows of the image's short
        side, then of half of it, each overlapping its neighbours by half; stops at the first
        level where a window reaches the threshold and keeps, of those windows, the one whose
        person is the largest (body radius from the alignment landmarks). When no window
        finds anybody, MoveNet, which still finds a person 40 px tall in its input, looks at the
        smallest windows, and BlazePose runs on a crop around each of the (at most
        MAX_CANDIDATES) best groups of keypoints it places there (a small person in a big photo).
        """
        h, w = image.shape[:2]
        whole = letterbox(h, w, INPUT)
        for angle in (np.pi / 2, -np.pi / 2, np.pi):  # a person lying or upside down
            crop = Crop(whole.centre, whole.side, angle, INPUT)
            out = self._blazepose(image, crop, flip=False)
            if out["presence"] > best["presence"]:
                best, best_crop = out, crop
        if best["presence"] >= PRESENCE_THRESHOLD:
            return best, best_crop
        side, windows = float(min(h, w)), []
        for _ in range(2):
            level = _square_windows(h, w, side)
            if side < MIN_WINDOW or len(level) > MAX_WINDOWS:
                break
            windows = level
            largest, top = self._largest_person(image, windows, PRESENCE_THRESHOLD)
            if top is not None and top[0]["presence"] > best["presence"]:
                best, best_crop = top
            if largest is not None:
                return largest
            side /= 2.0
        if self._limbs_alone is None:
            return best, best_crop
        candidates = []
        for window in windows:
            xy, score = self._movenet(image, window, self._limbs_alone)
            sure = score >= CANDIDATE_SCORE
            if np.count_nonzero(sure) >= CANDIDATE_POINTS:
                lo, hi = xy[sure].min(axis=0), xy[sure].max(axis=0)
                extent = float(np.max(hi - lo))
                if CANDIDATE_MIN <= extent < 0.8 * window.side:  # a person small in the window
                    crop = Crop(0.5 * (lo + hi), 2.0 * extent, 0.0, INPUT)
                    candidates.append((float(np.mean(score[sure])), crop))
        candidates.sort(key=lambda c: -c[0])
        for _, crop in candidates[:MAX_CANDIDATES]:
            out = self._blazepose(image, crop, flip=False)
            if out["presence"] > best["presence"]:
                best, best_crop = out, crop
            if best["presence"] >= PRESENCE_THRESHOLD:
                break
        return best, best_crop

    def _largest_person(
        self, image: np.ndarray, windows: list[Crop], threshold: float
    ) -> tuple[tuple[dict, Crop] | None, tuple[dict, Crop] | None]:
        """BlazePose on each window. Returns (out, crop) of the largest person whose presence
        reaches ``threshold`` (body radius from the alignment landmarks, then presence), or
        None; and (out, crop) of the highest presence seen."""
        found, top = [], None
        for window in windows:
            out = self._blazepose(image, window, flip=False)
            if top is None or out["presence"] > top[0]["presence"]:
                top = (out, window)
            if out["presence"] >= threshold:
                radius = float(np.hypot(*(out["xy"][TOP] - out["xy"][CENTRE])))
                found.append((radius, out["presence"], out, window))
        largest = max(found, key=lambda f: f[:2])[2:] if found else None
        return largest, top

    def _blazepose(self, image: np.ndarray, crop: Crop, flip: bool) -> dict[str, np.ndarray]:
        """One BlazePose pass on ``crop`` (averaged with its mirror image when ``flip``)."""
        patch = sample(image, crop) / np.float32(255.0)
        batch = patch[None] if not flip else np.stack([patch, patch[:, ::-1]])
        res = [self._pose.run(None, {"image": b[None]}) for b in batch]
        outs = [dict(zip(self._pose_outputs, r)) for r in res]
        if self.refine:
            for o in outs:
                o["landmarks"] = refine_from_heatmaps(
                    o["landmarks"].reshape(39, 5), o["heatmaps"].reshape(64, 64, 39)
                )
        lm = outs[0]["landmarks"].reshape(39, 5).astype(np.float64)
        mask = outs[0]["segmentation"].reshape(INPUT, INPUT)
        world = outs[0]["world"].reshape(39, 3).astype(np.float64)
        if flip:
            lm_f = outs[1]["landmarks"].reshape(39, 5).astype(np.float64)[BLAZEPOSE_MIRROR]
            lm_f[:, 0] = INPUT - lm_f[:, 0]
            lm = 0.5 * (lm + lm_f)
            mask = 0.5 * (mask + outs[1]["segmentation"].reshape(INPUT, INPUT)[:, ::-1])
            world_f = outs[1]["world"].reshape(39, 3).astype(np.float64)[BLAZEPOSE_MIRROR]
            world_f[:, 0] = -world_f[:, 0]
            world = 0.5 * (world + world_f)
        presence = float(np.mean([o["presence"].ravel()[0] for o in outs]))
        return {
            "xy": crop.to_image(lm[:, :2]),
            "confidence": _sigmoid(lm[:, 3]) * _sigmoid(lm[:, 4]),
            "presence": presence,
            "mask": _sigmoid(mask.astype(np.float64)).astype(np.float32),
            "world": world,
            "visibility": _sigmoid(lm[:, 3]),
        }

    def _movenet(self, image: np.ndarray, crop: Crop, session) -> tuple[np.ndarray, np.ndarray]:
        """MoveNet Thunder on ``crop``: (17, 2) image pixels and (17,) scores, COCO order."""
        patch = np.clip(np.rint(sample(image, crop)), 0, 255).astype(np.int32)
        kp = session.run(None, {"image": patch[None]})[0].reshape(17, 3).astype(np.float64)
        if self.limb_flip:
            kp_f = session.run(None, {"image": patch[None, :, ::-1].copy()})[0]
            kp_f = kp_f.reshape(17, 3).astype(np.float64)[COCO17_MIRROR]
            kp_f[:, 1] = 1.0 - kp_f[:, 1]
            kp = 0.5 * (kp + kp_f)
        return crop.to_image(kp[:, [1, 0]] * INPUT), kp[:, 2]

    @property
    def _pose_outputs(self) -> list[str]:
        return [o.name for o in self._pose.get_outputs()]


REPASS_TURN = np.radians(20.0)
"""Rotation change of the crop from which a further BlazePose pass always runs."""

LIMB_MIN_SCORE = 0.2
"""MoveNet keypoint score from which it replaces BlazePose's joint."""

_LIMB_COCO = np.array([COCO17_NAMES.index(n) for n in LIMB_JOINTS])

TURN_CHECK_LIMB, TURN_GAIN = 0.5, 0.1
"""MoveNet limb score below which ``detect`` also tries the image turned by 180°, and the gain
in limb score that the turned result needs to be kept (see ``JointDetector._turned_check``)."""


def _square_windows(h: int, w: int, side: float) -> list[Crop]:
    """Square crops of ``side`` covering an h × w image, each overlapping its neighbours by half."""
    return [
        Crop(np.array([cx, cy]), side, 0.0, INPUT)
        for cx in window_centres(w, side)
        for cy in window_centres(h, side)
    ]


def _limb_score(out: dict) -> float:
    """MoveNet's mean score on the 12 limb joints of ``landmark_passes``'s outputs; without
    MoveNet +inf (nothing to check)."""
    limbs = out.get("limbs")
    return float(np.mean(limbs[1][_LIMB_COCO])) if limbs is not None else float("inf")


def _fuse_limbs(xy: np.ndarray, conf: np.ndarray, m_xy: np.ndarray, m_conf: np.ndarray) -> None:
    """Replace BlazePose's limb joints by MoveNet's where MoveNet is confident (in place).

    Joints BlazePose marks missing (confidence 0) stay missing; the confidence of a replaced
    joint is the geometric mean of both models' scores.
    """
    for name in LIMB_JOINTS:
        b, c = B[name], COCO17_NAMES.index(name)
        if m_conf[c] >= LIMB_MIN_SCORE and conf[b] > 0.0:
            xy[b] = m_xy[c]
            conf[b] = float(np.sqrt(conf[b] * m_conf[c]))


def _session(path: Path, threads: int | None):
    """Create an onnxruntime CPU session, or raise ModelFileError naming the file."""
    if not path.is_file():
        raise ModelFileError(f"{path}: detector model file not found")
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  (onnxruntime's errors derive from Exception only)
        raise ModelFileError(f"{path}: not a readable ONNX detector model ({exc})") from None
