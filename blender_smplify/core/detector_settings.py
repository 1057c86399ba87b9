"""The joint detector's thresholds, in one place (``JointDetector(settings=...)``).

Every value was chosen on the LSP tuning half (im1001–im1150, ``benchmarks/detector_lsp.py``)
and the images without a person (``benchmarks/detector_presence.py``); the figures are in
``docs/detector.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectorSettings:
    """Thresholds of ``JointDetector``.

    Attributes
    ----------
    presence : without MoveNet, the pose presence (highest over the passes) below which
        ``detect`` raises NoPersonFound.
    presence_with_limbs, limb_score : with MoveNet, a person needs BlazePose's presence
        >= ``presence_with_limbs`` and MoveNet's mean score on the limb joints in the frame
        >= ``limb_score``. On 48 images without a person BlazePose's presence alone gave 8 (one
        pass) to 12 (two) false detections, the pair none; on the 300 LSP photos and the sample
        photo the pair misses none (after the second opinions: limb score at most 0.28 without
        a person, at least 0.36 with one). 48 negatives are few.
    limb_min_score : MoveNet keypoint score from which it replaces BlazePose's joint (LSP
        tuning half: 0.8989 at 0, 0.8956 at 0.2, 0.8644 at 0.5: MoveNet's joint is the better
        one even when it is unsure).
    mirror_check_limb : MoveNet limb score below which MoveNet also runs on the mirrored crop
        and the pass with the higher limb score is kept (LSP tuning half, on 20 % of the
        photos: 0.8989 -> 0.9028).
    second_look_limb, second_look_scale, second_look_agree : MoveNet's second look
        (``second_look.py``): when MoveNet's limb score is below ``second_look_limb``, MoveNet
        runs again on its final crop enlarged by ``second_look_scale`` (0: never), and each limb
        joint becomes the mean of the two passes' where they lie within ``second_look_agree`` ×
        the torso of each other. LSP tuning half: 0.9039 -> 0.9117 on every photo, 0.9089
        below 0.7 (40 % of the photos); a second MoveNet pass on every photo would cost the
        common path more than the 60 ms budget allows (``docs/detector.md``).
    flip_limb, flip_agree, flip_weighted : MoveNet's mirrored view (test-time flip): when
        MoveNet's limb score is below ``flip_limb`` (0: never; above 1: every photo), MoveNet
        also runs on its final crop mirrored (``Crop.mirror``; the pass the mirror check above
        already made when there was one), and each limb joint becomes the mean of the passes'
        (with the second look's view, when it runs) that lie within ``flip_agree`` × the torso
        of the final pass's; ``flip_weighted``: then each joint weighed by its pass's score.
        Off: LSP 0.9089 / 0.9022 -> 0.9117 / 0.9039 (tuning / validation, every photo, r 0.4,
        weighted), limb joints on the renders 6-8 % closer, but the fit does not measurably
        gain and the extra pass on every photo costs 54-77 % of the common path's time
        (``docs/detector.md``, "Mirrored second view"). On: ``flip_limb=1.01``.
    confidence_weights : logistic regression weights of a limb joint's confidence (see
        ``detector.fuse_limbs``), learned on the LSP tuning half.
    repass_ratio : a further BlazePose pass runs only when its crop would be smaller than this
        fraction of the current one or turned by more than ``repass_turn``; ``inf``: always.
    repass_turn : radians of crop rotation change from which a further pass always runs.
    second_opinion_limb : MoveNet limb score below which ``detect`` looks for a better result
        (the body turned by 90°, 180°, 270°; the largest of several people).
    second_opinion_roll : the same when the body's roll from BlazePose's alignment points is
        further than this from upright (radians).
    second_opinion_tilt : the same when MoveNet's torso (mid-hip to mid-shoulder) is turned
        further than this from its crop's "up" (BlazePose invented an upright body for a person
        lying: on 25 LSP tuning photos turned by 90° the tilt was 47°-101°, upright 0°-31°).
    turns : degrees by which the first crop is turned for second opinions.
    second_opinion_gain : limb score that a second opinion must gain to replace the first.
    pad_scale : when the whole-image pass finds nobody, the search first tries the whole image
        in a crop this much larger, padded on every side (LSP tuning half cut so that the
        lowest joint lies 10 px below the frame: a first pass finds the person in 0.907 of the
        photos plain, 0.953 at 1.25, 0.973 at 1.5).
    min_window, max_windows : search windows: smallest side in pixels, most windows per level.
    candidate_score, candidate_points, candidate_min, max_candidates : MoveNet's person
        candidates in the smallest search windows: keypoints with at least this score, at least
        this many of them spanning at least this many pixels (smaller ones gave false
        detections on 3 of the 48 no-person images), at most this many tried with BlazePose.
    in_frame_joints : the limb score is taken on the limb joints BlazePose places in the frame
        when at least this many of the 12 are (a person the frame cuts at the shins or
        ankles), else on all 12 (a person cut at the waist is refused: a fit needs the legs).
    """

    presence: float = 0.5
    presence_with_limbs: float = 0.5
    limb_score: float = 0.18
    limb_min_score: float = 0.0
    mirror_check_limb: float = 0.6
    second_look_limb: float = 0.7
    second_look_scale: float = 1.15
    second_look_agree: float = 0.3
    flip_limb: float = 0.0
    flip_agree: float = 0.4
    flip_weighted: bool = True
    confidence_weights: tuple[float, float, float] = (1.07, -1.18, 1.97)
    repass_ratio: float = 0.6
    repass_turn: float = float(np.radians(20.0))
    second_opinion_limb: float = 0.5
    second_opinion_roll: float = float(np.radians(60.0))
    second_opinion_tilt: float = float(np.radians(45.0))
    second_opinion_gain: float = 0.1
    turns: tuple[float, ...] = (180.0, 90.0, -90.0)
    pad_scale: float = 1.5
    min_window: int = 64
    max_windows: int = 16
    candidate_score: float = 0.3
    candidate_points: int = 5
    candidate_min: float = 48.0
    max_candidates: int = 4
    in_frame_joints: int = 9


DEFAULT_SETTINGS = DetectorSettings()
