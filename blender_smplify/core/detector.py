"""2D joint detector: MediaPipe BlazePose GHUM (full), its limb joints replaced by MoveNet
SinglePose Thunder's, both run by onnxruntime.

Procedure for one image (``JointDetector.detect``), defaults in brackets:

1. First pass: BlazePose (``blazepose.py``) on the whole image, letterboxed to 256 × 256 (or on
   a square around ``person_box`` when given). When it finds nobody, ``person_search.search``
   tries the image padded beyond its border (a person the frame cuts), turned, windows of it
   and MoveNet's person candidates.
2. Passes 2..n [n = 2]: BlazePose on a square crop around the person, centred on the model's
   body-centre landmark, sized from its "top" landmark and turned so the body is upright
   (MediaPipe's own tracking rule), when that crop is much smaller than the last one or turned
   (``DetectorSettings.repass_ratio``, ``repass_turn``). With ``flip`` [off] the last pass is
   averaged with a pass on the mirrored crop.
3. MoveNet Thunder (``movenet.py``) on the crop from the landmarks the last crop came from.
4. Second opinions, when the result looks wrong: MoveNet's limb score below
   ``second_opinion_limb``, the body rolled far from upright (``second_opinion_roll``), or
   MoveNet's torso lying across the crop BlazePose made upright (``second_opinion_tilt``). The
   first crop turned by 180°, 90° and 270° (a person lying, upside down, a photo turned without
   EXIF: BlazePose invents an upright body with a high presence there), failing those the
   largest of several people in windows of the image's short side; a result replaces the
   first only when its limb score is higher by ``second_opinion_gain``.
5. When MoveNet's limb score stays below ``mirror_check_limb`` (but shows a person), MoveNet
   also runs on the mirrored crop, and of the two the pass with the higher limb score is kept
   (a pass that decides nobody is there is not asked again: two chances would let more empty
   scenes through).
6. MoveNet's second look (``second_look.py``), when its limb score stays below
   ``second_look_limb``: MoveNet again on its final crop enlarged by ``second_look_scale``;
   and its mirrored view, when the limb score is below ``flip_limb`` [0: off]: MoveNet on
   its final crop mirrored (``Crop.mirror``, left and right swapped back; the pass of step 5
   when there was one). Each limb joint is the mean of the final pass's and the views' that
   agree with it (within ``second_look_agree`` / ``flip_agree`` × the torso), the final
   pass's elsewhere. Scores stay the final pass's.
7. MoveNet's twelve limb joints replace BlazePose's (``fuse_limbs``, with a calibrated
   confidence); face, hands, heels, toes, mask and world landmarks stay BlazePose's, the hands
   and feet moved with the wrist or ankle they hang from, the face onto MoveNet's nose, eyes
   and ears (``move_face``).
   Landmarks BlazePose places outside the image are out of frame (``Detection.out_of_frame``):
   confidence 0, left out of the limb score, so a person the frame cuts is decided on the
   visible part.

Measured figures (LSP tuning and validation halves, times) are in ``docs/detector.md``. Both
models are Apache-2.0 (see ``onnx_models/README.md``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from .blazepose import (
    BLAZEPOSE33_NAMES,
    BLAZEPOSE_MIRROR,
    INPUT,
    B,
    BlazePose,
    PosePass,
    cores,
    model_dir,
)
from .detector_crop import Crop, box_crop, letterbox, person_box_from
from .detector_result import LIMB_B, Detection, PassResult, fuse_limbs, outside_image
from .detector_settings import DEFAULT_SETTINGS, DetectorSettings
from .errors import NoPersonFound
from .keypoints import Keypoints2D
from .movenet import COCO17_NAMES, LIMB_JOINTS, MoveNet
from .person_search import largest_person, search, square_windows
from .second_look import agreeing_views, larger_crop

__all__ = [
    "B",
    "LIMB_B",
    "BLAZEPOSE33_NAMES",
    "BLAZEPOSE_MIRROR",
    "COCO17_NAMES",
    "LIMB_JOINTS",
    "MODEL_DIR",
    "Detection",
    "DetectorSettings",
    "JointDetector",
    "PassResult",
    "fuse_limbs",
]

MODEL_DIR = model_dir()
BLAZEPOSE_FILE = "blazepose_full.onnx"
MOVENET_FILE = "movenet_thunder.onnx"


class JointDetector:
    """BlazePose (+ MoveNet) joint detector; the onnxruntime sessions are created once.

    Parameters
    ----------
    model_path : BlazePose landmark ONNX file; None = the shipped
        ``onnx_models/blazepose_full.onnx``.
    threads : onnxruntime intra-op threads; None = onnxruntime's default (all cores).
    limb_model_path : MoveNet Thunder ONNX file; None = the shipped one if present; "" = off.
    passes : BlazePose passes (1 = whole image only).
    flip : average the last BlazePose pass with a pass on the mirrored crop.
    limb_flip : the same for MoveNet.
    crop_scale : crop side = 2 × body radius × crop_scale (MediaPipe uses 1.25).
    limb_crop_scale : MoveNet's crop is made like BlazePose's last crop, from the same
        landmarks, with this scale (1.0 measured best on LSP, from 0.8 to 1.6).
    refine : move BlazePose landmarks to their heatmap-weighted mean (MediaPipe's refinement).
    parallel : run MoveNet in a worker thread while the last BlazePose pass runs, each model
        with half of ``threads`` (on 2 cores this beats both models using 2 threads in turn).
    repass_ratio : overrides ``settings.repass_ratio`` when given.
    settings : thresholds (``DetectorSettings``).
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
        repass_ratio: float | None = None,
        settings: DetectorSettings = DEFAULT_SETTINGS,
    ) -> None:
        if repass_ratio is not None:
            settings = replace(settings, repass_ratio=float(repass_ratio))
        self.settings = settings
        self.model_path = Path(model_path) if model_path else MODEL_DIR / BLAZEPOSE_FILE
        if limb_model_path is None:
            default = MODEL_DIR / MOVENET_FILE
            limb_model_path = default if default.exists() else ""
        self.limb_model_path = Path(limb_model_path) if limb_model_path else None
        self.passes, self.flip, self.crop_scale = max(int(passes), 1), bool(flip), crop_scale
        self.limb_crop_scale = float(limb_crop_scale)
        n = cores(threads)
        self.parallel = bool(parallel) and self.limb_model_path is not None and n >= 2
        # in parallel mode each model gets half of the cores: they run at the same time
        per_model = max(n // 2, 1) if self.parallel else threads
        self.blazepose = BlazePose(self.model_path, per_model, refine)
        self.movenet: MoveNet | None = None
        self._movenet_alone: MoveNet | None = None
        if self.limb_model_path is not None:
            self.movenet = MoveNet(self.limb_model_path, per_model, limb_flip)
            # When the second BlazePose pass is skipped MoveNet runs alone: give it every core
            # (LSP dev median 62 -> 49 ms per photo on 2 cores).
            self._movenet_alone = (
                MoveNet(self.limb_model_path, threads, limb_flip)
                if self.parallel
                else self.movenet
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
            The scores stay below the settings' presence / limb-score thresholds.
        ValueError
            ``image`` is not an (H, W, 3) array, or holds floats in 0..1.
        """
        image = _checked(image)
        h, w = image.shape[:2]
        result = self.results(image, person_box)
        self._check_found(result)
        pose = result.pose
        out = result.out_of_frame[:33]
        xy, conf = pose.xy[:33].copy(), np.where(out, 0.0, pose.confidence[:33])
        if result.limbs is not None:
            fuse_limbs(xy, conf, result.limbs, self.settings)
        return Detection(
            keypoints=Keypoints2D("blazepose33", xy, conf),
            box=person_box_from(xy, conf, h, w),
            world=pose.world[:33],
            score=result.score,
            crop=pose.crop,
            crop_mask=pose.mask,
            image_shape=(h, w),
            limb_score=result.limb_score if result.limbs is not None else float("nan"),
            world_visibility=pose.visibility[:33],
            out_of_frame=out.copy(),
            retried=result.retried,
        )

    def results(self, image: np.ndarray, person_box: np.ndarray | None = None) -> PassResult:
        """The passes ``detect`` runs, with their scores, before it decides whether a person
        is there: ``landmark_passes``, second opinions when the result looks wrong, MoveNet on
        the mirrored crop, its second look and its mirrored view when its limb score is low."""
        image = _checked(image)
        result = self.landmark_passes(image, person_box)
        if person_box is None and self._looks_wrong(result):
            result = self._second_opinions(image, result)
        s = self.settings
        if result.limbs is None or result.limb_score < s.limb_score:
            return result  # nobody there (``detect`` says so): no second chances
        mirrored = None
        if result.limb_score < s.mirror_check_limb:
            # MoveNet on the mirrored crop sees some doubtful people better (LSP tuning half)
            mirrored = self._movenet_alone.run(image, result.limbs.crop.mirror())
            alt = replace(result, limbs=mirrored)
            if alt.limb_score > result.limb_score:
                result, mirrored = alt, result.limbs  # the other one is the mirrored view now
            result = replace(result, retried=True)
        views, flipped = [], result.limb_score < s.flip_limb
        if flipped:
            if mirrored is None:
                mirrored = self._movenet_alone.run(image, result.limbs.crop.mirror())
            views.append((mirrored, s.flip_agree))
        if s.second_look_scale > 0.0 and result.limb_score < s.second_look_limb:
            crop = larger_crop(result.limbs.crop, s.second_look_scale)
            views.append((self._movenet_alone.run(image, crop), s.second_look_agree))
        if views:
            limbs = agreeing_views(result.limbs, views, flipped and s.flip_weighted)
            result = replace(result, limbs=limbs)
        return result

    def landmark_passes(
        self,
        image: np.ndarray,
        person_box: np.ndarray | None = None,
        first: PosePass | None = None,
    ) -> PassResult:
        """Run the BlazePose passes, then MoveNet on the final crop (when it is loaded).

        ``first``: an already run first pass to go on from (no search; the second pass runs).
        """
        h, w = image.shape[:2]
        searched = first is not None
        if first is None:
            crop = letterbox(h, w, INPUT) if person_box is None else box_crop(person_box, INPUT)
            first = self.blazepose.run(image, crop, flip=self.passes == 1 and self.flip)
            if first.presence < self.settings.presence and person_box is None:
                first = search(
                    self.blazepose,
                    self._movenet_alone,
                    image,
                    first,
                    self.settings,
                    self.crop_scale,
                )
                searched = True  # a window or candidate crop: not centred on the person
        out = best = source = first
        presences, job = [first.presence], None
        for k in range(1, self.passes):
            source = out  # MoveNet's crop comes from the landmarks the last crop came from
            nxt = out.body_crop(self.crop_scale)
            turn = abs((nxt.rotation - out.crop.rotation + np.pi) % (2 * np.pi) - np.pi)
            small = nxt.side < self.settings.repass_ratio * out.crop.side
            if not (small or turn >= self.settings.repass_turn or searched):
                break  # the person already filled the crop, upright: another pass adds little
            if self.movenet is not None and self._worker is not None and k == self.passes - 1:
                limb_crop = source.body_crop(self.limb_crop_scale)
                job = self._worker.submit(self.movenet.run, image, limb_crop)
            out = self.blazepose.run(image, nxt, flip=self.flip and k == self.passes - 1)
            presences.append(out.presence)
            best = out if out.presence > best.presence else best
        if out.presence < self.settings.presence_with_limbs <= best.presence:
            out = best  # the last crop lost the person an earlier pass had: keep that one
        limbs = None
        if job is not None:
            limbs = job.result()
        elif self._movenet_alone is not None:
            limbs = self._movenet_alone.run(image, source.body_crop(self.limb_crop_scale))
        return PassResult(
            out,
            first,
            tuple(presences),
            limbs,
            outside_image(out.xy, h, w),
            retried=searched,
            in_frame_joints=self.settings.in_frame_joints,
        )

    # ------------------------------------------------------------------ private
    def _looks_wrong(self, result: PassResult) -> bool:
        """MoveNet hardly sees the limbs, the body is far from upright, or MoveNet's torso lies
        across the crop that BlazePose's alignment points made upright."""
        if result.limbs is None:
            return False
        return (
            result.limb_score < self.settings.second_opinion_limb
            or abs(result.pose.roll) > self.settings.second_opinion_roll
            or result.limbs.torso_tilt > self.settings.second_opinion_tilt
        )

    def _second_opinions(self, image: np.ndarray, result: PassResult) -> PassResult:
        """The best of ``result`` and the results from the first crop turned by
        ``settings.turns``; failing those, from the largest person in windows of the image's
        short side (several people can give one invented body across them).

        A turned first pass goes on when its presence reaches ``presence_with_limbs`` and, unless
        MoveNet's torso lies across the first result's crop, the first pass's presence; an
        alternative replaces ``result`` only when its limb score is higher by
        ``second_opinion_gain``.
        """
        s, base = self.settings, result.first.crop
        gain = s.second_opinion_gain
        # a torso lying across its upright crop says BlazePose invented the body: then a turned
        # pass need not reach that invention's presence
        tilted = result.limbs.torso_tilt > s.second_opinion_tilt
        need = max(s.presence_with_limbs, 0.0 if tilted else result.first.presence)
        alternatives = []
        for degrees in s.turns:
            crop = Crop(base.centre, base.side, base.rotation + np.radians(degrees), INPUT)
            turned = self.blazepose.run(image, crop)
            if turned.presence >= need:
                alternatives.append(self.landmark_passes(image, first=turned))
        best = max(alternatives, key=lambda r: r.limb_score, default=None)
        if best is None or best.limb_score < result.limb_score + gain:
            best = None
            windows = square_windows(*image.shape[:2], float(min(image.shape[:2])))
            if 1 < len(windows) <= s.max_windows:
                largest, _ = largest_person(self.blazepose, image, windows, s.presence_with_limbs)
                if largest is not None:
                    alt = self.landmark_passes(image, first=largest)
                    if alt.limb_score >= result.limb_score + gain:
                        best = alt
        best = result if best is None else best
        return replace(best, retried=True)

    def _check_found(self, result: PassResult) -> None:
        """Raise NoPersonFound unless the scores show a person."""
        s, score = self.settings, result.score
        if result.limbs is None:
            if score < s.presence:
                raise NoPersonFound(
                    f"no person found in the image (pose presence {score:.2f} < {s.presence})"
                )
            return
        limb_score = result.limb_score
        if score < s.presence_with_limbs or limb_score < s.limb_score:
            # a likely body whose arms and legs are not seen is most often one the frame cuts
            # off at the waist: say so (the scores cannot tell it from some empty scenes)
            hint = (
                "; if the person is cut off by the frame, use a photo that shows the legs too"
                if score >= s.presence_with_limbs
                else ""
            )
            raise NoPersonFound(
                f"no person found in the image (pose presence {score:.2f}, limb score "
                f"{limb_score:.2f}; a person needs at least {s.presence_with_limbs} and "
                f"{s.limb_score}{hint})"
            )


def _checked(image: np.ndarray) -> np.ndarray:
    """The image as an array, or ValueError for a shape or value range detect cannot use."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if image.dtype.kind == "f" and 0.0 < float(np.nanmax(image)) <= 1.0:
        # read as 0..255 such an image is black: "no person" would hide the mistake
        raise ValueError("image must hold values 0..255 (uint8), got floats in 0..1")
    return image
