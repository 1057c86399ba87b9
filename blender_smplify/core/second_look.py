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
``docs/detector.md``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .detector_crop import Crop
from .movenet import COCO17_NAMES, LIMB_COCO, LimbPass, MoveNet

TORSO_COCO = (COCO17_NAMES.index("right_shoulder"), COCO17_NAMES.index("left_hip"))
"""COCO indices of the torso measure (LSP's convention: right shoulder to left hip)."""


def larger_crop(crop: Crop, scale: float) -> Crop:
    """``crop`` with its side multiplied by ``scale``, same centre and rotation."""
    return Crop(crop.centre, crop.side * scale, crop.rotation, crop.size)


def agreeing_mean(first: LimbPass, other: LimbPass, agree: float) -> LimbPass:
    """``first`` with each limb joint replaced by the mean of it and ``other``'s where they agree.

    Parameters
    ----------
    first : the pass whose crop, scores and disagreeing joints are kept.
    other : a pass on the same person (another crop).
    agree : the two joints agree when they lie within ``agree`` × the first pass's torso
        (right shoulder to left hip, at least 1 px) of each other.

    Returns
    -------
    LimbPass
        xy (17, 2): the 12 limb joints (``LIMB_COCO``) averaged where they agree, the face
        keypoints and the disagreeing joints ``first``'s; score (17,) ``first``'s.
    """
    a, b = first.xy[LIMB_COCO], other.xy[LIMB_COCO]
    torso = max(float(np.linalg.norm(first.xy[TORSO_COCO[0]] - first.xy[TORSO_COCO[1]])), 1.0)
    close = np.linalg.norm(a - b, axis=1) <= agree * torso
    xy = first.xy.copy()
    xy[LIMB_COCO[close]] = 0.5 * (a[close] + b[close])
    return replace(first, xy=xy)


def second_look(
    movenet: MoveNet, image: np.ndarray, first: LimbPass, scale: float, agree: float
) -> LimbPass:
    """Run ``movenet`` on ``first``'s crop enlarged by ``scale`` and average the agreeing limb
    joints in (``agreeing_mean``). ``image``: (H, W, 3) uint8."""
    other = movenet.run(image, larger_crop(first.crop, scale))
    return agreeing_mean(first, other, agree)
