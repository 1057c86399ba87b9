"""Finding a person that BlazePose's whole-image pass misses: turned, small or off-centre.

BlazePose's landmark model expects a crop around one person. The whole image, letterboxed to
its input, works for a person who fills much of an upright photo; ``search`` tries, in the
order they are cheap, the whole image padded (a person the frame cuts), turned by ±90° and 180°
(a person lying or upside down),
square windows of the image (a person off-centre or one of several), and crops around the
people MoveNet finds in the smallest windows (MoveNet still finds a person 40 px tall in its
input: a person ~150 px tall in a 3000 × 2000 photo).
"""

from __future__ import annotations

import numpy as np

from .blazepose import INPUT, BlazePose, PosePass
from .detector_crop import Crop, letterbox, window_centres
from .detector_settings import DetectorSettings
from .movenet import MoveNet

TURNS = (np.pi / 2, -np.pi / 2, np.pi)
"""Rotations of the whole image tried for a person lying or upside down."""


def square_windows(h: int, w: int, side: float) -> list[Crop]:
    """Square crops of ``side`` covering an h × w image, overlapping their neighbours by half."""
    return [
        Crop(np.array([cx, cy]), side, 0.0, INPUT)
        for cx in window_centres(w, side)
        for cy in window_centres(h, side)
    ]


def largest_person(
    pose: BlazePose, image: np.ndarray, windows: list[Crop], threshold: float
) -> tuple[PosePass | None, PosePass | None]:
    """BlazePose on each window.

    Returns
    -------
    largest : the pass whose person is the largest (body radius, then presence) of those
        whose presence reaches ``threshold``, or None.
    top : the pass with the highest presence, or None without windows.
    """
    found, top = [], None
    for window in windows:
        out = pose.run(image, window)
        if top is None or out.presence > top.presence:
            top = out
        if out.presence >= threshold:
            found.append(out)
    largest = max(found, key=lambda p: (p.radius, p.presence)) if found else None
    return largest, top


def search(
    pose: BlazePose,
    movenet: MoveNet | None,
    image: np.ndarray,
    best: PosePass,
    settings: DetectorSettings,
    crop_scale: float = 1.25,
) -> PosePass:
    """The pass most likely to hold a person, starting from ``best`` (the whole-image pass).

    First the whole image padded on every side (``settings.pad_scale``: a person the frame cuts
    reaches into the padding, where BlazePose expects the rest of the body; kept when a pass on
    the body crop it gives, at ``crop_scale``, confirms the person), then turned by
    ±90° and 180° (the highest presence), while no pass reaches ``settings.presence``; then
    square windows of the image's short side, then of half of it, each overlapping its
    neighbours by half: stops at the first level where a window reaches ``settings.presence``
    and keeps the window whose person is the largest. When no window finds anybody, MoveNet
    looks at the smallest windows and BlazePose runs on a crop around each of the best groups
    of keypoints it places there.
    """
    h, w = image.shape[:2]
    whole = letterbox(h, w, INPUT)
    padded = pose.run(image, Crop(whole.centre, whole.side * settings.pad_scale, 0.0, INPUT))
    if padded.presence >= settings.presence:
        # BlazePose invents bodies in padded empty scenes too; their presence collapses in a
        # crop around the invented body (4 such of the 48 no-person images: 0.00-0.08 there,
        # 0.86-1.00 for people the frame cuts)
        confirm = pose.run(image, padded.body_crop(crop_scale))
        if confirm.presence >= settings.presence:
            return padded
    for angle in TURNS:
        out = pose.run(image, Crop(whole.centre, whole.side, angle, INPUT))
        if out.presence > best.presence:
            best = out
    if best.presence >= settings.presence:
        return best
    side, windows = float(min(h, w)), []
    for _ in range(2):
        level = square_windows(h, w, side)
        if side < settings.min_window or len(level) > settings.max_windows:
            break
        windows = level
        largest, top = largest_person(pose, image, windows, settings.presence)
        if top is not None and top.presence > best.presence:
            best = top
        if largest is not None:
            return largest
        side /= 2.0
    if movenet is None:
        return best
    for crop in _candidates(movenet, image, windows, settings):
        out = pose.run(image, crop)
        if out.presence > best.presence:
            best = out
        if best.presence >= settings.presence:
            break
    return best


def _candidates(
    movenet: MoveNet, image: np.ndarray, windows: list[Crop], settings: DetectorSettings
) -> list[Crop]:
    """Crops around the people MoveNet sees small in ``windows``, surest first."""
    found = []
    for window in windows:
        limbs = movenet.run(image, window)
        sure = limbs.score >= settings.candidate_score
        if np.count_nonzero(sure) < settings.candidate_points:
            continue
        lo, hi = limbs.xy[sure].min(axis=0), limbs.xy[sure].max(axis=0)
        extent = float(np.max(hi - lo))
        if settings.candidate_min <= extent < 0.8 * window.side:  # a person small in the window
            crop = Crop(0.5 * (lo + hi), 2.0 * extent, 0.0, INPUT)
            found.append((float(np.mean(limbs.score[sure])), crop))
    found.sort(key=lambda c: -c[0])
    return [crop for _, crop in found[: settings.max_candidates]]
