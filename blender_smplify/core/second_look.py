"""MoveNet's second look: a pass on a larger crop, averaged in where the two passes agree.

A single MoveNet pass puts some joints a little off the truth; a pass on a crop of another
size errs differently. Where the two passes place a limb joint close together (within
``agree`` × the detected torso, right shoulder to left hip), the mean of the two is a better
estimate than either (test-time augmentation); where they disagree, one of them has mistaken
the joint (another limb, the other side, a background part) and the mean would be wrong in
both cases: there the first pass's joint is kept, as before.

Only the positions change: the scores stay the first pass's, so the limb score, the
"is there a person" decision, the second-opinion triggers and the calibrated confidence
(``detector_result.fuse_limbs``) are all as without the second look.

Chosen on the LSP tuning half (``benchmarks/studies/detector_second_look.py``; figures in
``docs/detector.md``). ``agreeing_views`` takes any number of views: the detector's mirrored
view (``DetectorSettings.flip_limb``, off by default; ``benchmarks/studies/detector_flip.py``)
joins the second look's there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .detector_crop import Crop
from .movenet import COCO17_NAMES, LIMB_COCO, LimbPass

TORSO_COCO = (COCO17_NAMES.index("right_shoulder"), COCO17_NAMES.index("left_hip"))
"""COCO indices of the torso measure (LSP's convention: right shoulder to left hip)."""


def larger_crop(crop: Crop, scale: float) -> Crop:
    """``crop`` with its side multiplied by ``scale``, same centre and rotation."""
    return Crop(crop.centre, crop.side * scale, crop.rotation, crop.size)


def agreeing_mean(first: LimbPass, other: LimbPass, agree: float) -> LimbPass:
    """``first`` with each limb joint replaced by the mean of it and ``other``'s where they agree
    (``agreeing_views`` with one view)."""
    return agreeing_views(first, [(other, agree)])


def agreeing_views(
    first: LimbPass, views: Sequence[tuple[LimbPass, float]], weighted: bool = False
) -> LimbPass:
    """``first`` with each limb joint replaced by the mean of it and the views' that agree.

    Parameters
    ----------
    first : the pass whose crop, scores and disagreeing joints are kept.
    views : (pass, agree) pairs, each pass on the same person (another crop, the mirrored
        crop); its joint agrees when it lies within ``agree`` × the first pass's torso (right
        shoulder to left hip, at least 1 px) of ``first``'s.
    weighted : weigh each joint by its pass's score instead of equally.

    Returns
    -------
    LimbPass
        xy (17, 2): the 12 limb joints (``LIMB_COCO``) averaged over ``first`` and the
        agreeing views, the face keypoints and the joints no view agrees on ``first``'s;
        score (17,) ``first``'s.
    """
    a = first.xy[LIMB_COCO]
    torso = max(float(np.linalg.norm(first.xy[TORSO_COCO[0]] - first.xy[TORSO_COCO[1]])), 1.0)
    weight = first.score[LIMB_COCO] + 1e-6 if weighted else np.ones(len(LIMB_COCO))
    total, count = weight[:, None] * a, weight.copy()
    for view, agree in views:
        b = view.xy[LIMB_COCO]
        w = view.score[LIMB_COCO] + 1e-6 if weighted else np.ones(len(LIMB_COCO))
        w = np.where(np.linalg.norm(a - b, axis=1) <= agree * torso, w, 0.0)
        total, count = total + w[:, None] * b, count + w
    xy = first.xy.copy()
    xy[LIMB_COCO] = total / count[:, None]
    return replace(first, xy=xy)
