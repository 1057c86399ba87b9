"""Refit a fit after the artist's edits: moved keypoints, pinned bones, limb depth, facing.

A refit starts from the previous result's parameters (a warm start: it is already near the
answer) and runs only the last annealed stage of ``fit.fit`` (its weights,
``SmplifyWeights.pose_stage(3)``) for a few dogleg iterations, with the edit terms of
``edit_terms.py`` added to the objective:

1. :func:`refit` — the keypoints as they are now (moved, switched off with confidence 0), the
   pinned bones, the chosen depth of limb segments and the facing, all held while the rest of
   the body follows the photo. The shape stays as fitted unless ``RefitOptions.shape``.
2. :func:`flip_depth` — mirror one limb segment through the plane perpendicular to the camera
   ray at its joint (the ambiguity of a single view: both ends project where they did), then
   refit holding the segment's new depth order.
3. :func:`flip_facing` — turn the body 180° about the camera's vertical axis through the pelvis,
   then refit holding the new facing.

Everything here is plain data in, a new ``FitResult`` out; the Blender layer
(``blender/edit_ops.py``) calls it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from .dogleg import Status, dogleg
from .edit_terms import LIMB_SEGMENTS, body_facing, check_segment, edit_blocks, segment_depth
from .errors import SmplifyError
from .fit_result import FitResult
from .fit_setup import FitProblem, prepare
from .joints import SMPL_JOINT_NAMES, SMPL_PARENTS, J, mirror_joint_name
from .keypoints import Keypoints2D
from .objective import Objective, SmplifyWeights, StageConfig
from .priors import shipped_pose_prior
from .rotation import matrix_to_rotvec, rodrigues

__all__ = ["LIMB_SEGMENTS", "RefitOptions", "drag_keypoint", "flip_depth", "flip_facing", "refit"]

#: Iterations of a flip's refit (the mirrored start is farther from the answer than a drag's).
FLIP_ITERATIONS = 40
#: The flips' factor on the pose prior. The prior settles what one view leaves open; once the
#: artist settled it the body should stay on the keypoints: on a synthetic fit with the open
#: model, a flipped forearm's ends reprojected 3.4 and 2.2 px off their keypoints with the
#: fit's weight, 1.5 and 1.0 px with half of it (its 90 % of drags then needed all 12
#: iterations, 34 ms median, hence not for drags). With the prior retrained on CMU + HDM05, half
#: left a flipped forearm 3.7 px off in the Blender test; 0.35 brings it under 3 px again.
FLIP_PRIOR_SCALE = 0.35
#: Keypoints that move with a dragged one (hand, foot and face landmarks of BlazePose): dragging
#: a wrist alone would leave the hand's landmarks holding the hand where it was.
FOLLOWERS: dict[str, tuple[str, ...]] = {
    **{f"{s}_wrist": (f"{s}_pinky", f"{s}_index", f"{s}_thumb") for s in ("left", "right")},
    **{f"{s}_ankle": (f"{s}_heel", f"{s}_foot_index") for s in ("left", "right")},
    "nose": tuple(
        f"{s}_{part}"
        for s in ("left", "right")
        for part in ("eye_inner", "eye", "eye_outer", "ear")
    )
    + ("mouth_left", "mouth_right"),
}
#: A flip also holds the other limb segments tilted at least this much (sine of 15°) toward or
#: away from the camera (see :func:`flip_depth`).
HOLD_OTHERS = True
HOLD_TILT = float(np.sin(np.radians(15.0)))
#: A half turn about the camera's vertical axis (OpenCV frame: y down).
HALF_TURN_Y = np.diag([-1.0, 1.0, -1.0])


@dataclass(frozen=True)
class RefitOptions:
    """Settings of :func:`refit`.

    Attributes
    ----------
    max_iterations : dogleg iterations (the warm start is near the answer).
    ftol : relative energy decrease below which it stops.
    shape : also refit the shape (betas); by default an edit changes the pose only.
    prior_scale : factor on the last stage's pose and angle prior weights (1: the fit's, so
        a refit to unchanged keypoints leaves the body where it is). The flips use
        ``FLIP_PRIOR_SCALE``.
    pin_weight : λ of the pins, per radian (strong: on a synthetic fit a pin 17° from the
        keypoints' answer moved 0.12° with 1e4, 1.3° with 3e3).
    depth_weight : λ of the depth-order hinge, per metre.
    facing_weight : λ of the facing hinge (per unit of ``edit_terms.FACING_AREA``).
    """

    max_iterations: int = 12
    ftol: float = 1e-4
    shape: bool = False
    prior_scale: float = 1.0
    pin_weight: float = 1e4
    depth_weight: float = 2000.0
    facing_weight: float = 300.0


#: Options of :func:`flip_depth` and :func:`flip_facing`.
FLIP_OPTIONS = RefitOptions(max_iterations=FLIP_ITERATIONS, prior_scale=FLIP_PRIOR_SCALE)


def refit(
    previous: FitResult,
    keypoints: Keypoints2D,
    *,
    model,
    pins: Mapping[str, np.ndarray] | None = None,
    depth_choices: Mapping[str, str] | None = None,
    facing: str | None = None,
    callback: Callable[[int, int, float], bool | None] | None = None,
    weights: SmplifyWeights | None = None,
    options: RefitOptions | None = None,
) -> FitResult:
    """Refit ``previous`` to ``keypoints`` holding the artist's edits.

    Parameters
    ----------
    previous : the fit to start from (its camera is kept: focal length, image size).
    keypoints : Keypoints2D in a registered layout; confidence 0 switches a keypoint off.
    model : the BodyModel ``previous`` was fitted with.
    pins : {SMPL joint name: (3,) axis-angle} rotations to hold (e.g. ``previous.pose``'s).
    depth_choices : {limb segment bone (``LIMB_SEGMENTS``): "toward" | "away"} the camera.
    facing : "toward" or "away" (the camera), or None to leave it free.
    callback : callback(0, iteration, energy) after every iteration; False cancels (the best
        point so far is returned, status CANCELLED).
    weights : the fit's objective weights (default SmplifyWeights()); the last stage's are used.
    options : RefitOptions.

    Returns
    -------
    FitResult; ``stage_seconds`` holds the refit's one stage.
    """
    start = time.perf_counter()
    options = options or RefitOptions()
    weights = weights or SmplifyWeights()
    problem = _problem(previous, keypoints, model, weights)
    objective = Objective(
        kinematics=problem.objective.kinematics,
        blocks=problem.objective.blocks + tuple(edit_blocks(pins, depth_choices, facing)),
    )
    last = weights.pose_stage(3).weights
    priors = {k: options.prior_scale * last[k] for k in ("pose_prior", "angle_prior")}
    config = StageConfig(
        {
            **last,
            **priors,
            "pins": options.pin_weight,
            "depth_order": options.depth_weight,
            "facing": options.facing_weight,
        }
    )
    x0 = _parameters(previous, objective.num_betas)
    n = objective.n
    free = np.arange(n) if options.shape else np.r_[0:72, n - 3 : n]

    def embed(y):
        x = x0.copy()
        x[free] = y
        return x

    report = None if callback is None else (lambda it, energy: callback(0, it, energy))

    def normal_equations(y):
        return objective.normal_equations(embed(y), free, config)

    res = dogleg(
        normal_equations,
        x0[free],
        max_iterations=options.max_iterations,
        ftol=options.ftol,
        callback=report,
    )
    if res.status is Status.NONFINITE_START:
        raise SmplifyError(f"the refit's energy is not finite at the previous fit ({res.message})")
    x = embed(res.x)
    status = Status.CONVERGED if res.status.converged else res.status
    pose, betas, transl = objective.split(x)
    joints, _ = problem.setup.kin.evaluate(pose, betas, transl, jacobian=False)
    return replace(
        previous,
        betas=betas.copy(),
        pose=pose.copy(),
        transl=transl.copy(),
        joints_3d=joints[:24].copy(),
        energy=objective.energies(x, config),
        iterations=res.iterations,
        stage_seconds=(time.perf_counter() - start,),
        status=status,
    )


def flip_depth(
    previous: FitResult,
    keypoints: Keypoints2D,
    segment: str,
    *,
    model,
    depth_choices: Mapping[str, str] | None = None,
    hold_others: bool = HOLD_OTHERS,
    **edits,
) -> tuple[FitResult, dict[str, str]]:
    """Mirror a limb segment's depth, then refit holding it.

    Parameters
    ----------
    segment : the segment's bone, a key of ``LIMB_SEGMENTS`` ("left_elbow": the left forearm).
    depth_choices : the choices held so far; the segment's is replaced.
    hold_others : during this refit also hold the depth order of every other limb segment
        that clearly points toward or away from the camera (tilt ≥ ``HOLD_TILT``), so that
        one click changes one segment (they are not added to the returned choices).
    edits : pins, facing, callback, weights, options of :func:`refit` (default options:
        ``FLIP_OPTIONS``).

    Returns
    -------
    The refitted FitResult and the depth choices it held (the segment's included).
    """
    check_segment(segment)
    edits.setdefault("options", FLIP_OPTIONS)
    mirrored = mirror_segment(previous, segment, model=model)
    choices = {**(depth_choices or {}), segment: segment_depth(mirrored.joints_3d, segment)}
    held = dict(choices)
    if hold_others:  # as they were before the click
        joints = _joints(previous, model)
        for other, child in LIMB_SEGMENTS.items():
            v = joints[J[child]] - joints[J[other]]
            if other not in held and abs(v[2]) >= HOLD_TILT * np.linalg.norm(v):
                held[other] = segment_depth(joints, other)
    return refit(mirrored, keypoints, model=model, depth_choices=held, **edits), choices


def flip_facing(
    previous: FitResult, keypoints: Keypoints2D, *, model, swap_sides: bool = True, **edits
) -> tuple[FitResult, str, Keypoints2D]:
    """Turn the body 180° about the camera's vertical axis, then refit holding that facing.

    A body seen from the back projects like the front one with its left and right exchanged,
    and a detector that got the facing wrong labelled the sides for the other facing: with
    ``swap_sides`` the keypoints' left and right labels are exchanged too, so the turned body
    still explains them. A pin or depth choice in ``edits`` keeps its side.

    Returns
    -------
    The refitted FitResult, the facing it held ("toward" or "away") and the keypoints it used.
    """
    edits.pop("facing", None)
    edits.setdefault("options", FLIP_OPTIONS)
    if swap_sides:
        keypoints = swap_keypoint_sides(keypoints)
    turned = turn_around(previous, model=model)
    facing = body_facing(turned.joints_3d)
    return refit(turned, keypoints, model=model, facing=facing, **edits), facing, keypoints


def drag_keypoint(keypoints: Keypoints2D, name: str, xy) -> Keypoints2D:
    """The keypoints with ``name`` moved to ``xy`` (2,) pixels and its ``FOLLOWERS`` in the
    layout moved by the same offset; the moved keypoint's confidence becomes 1 (placed by
    hand: trusted, also where the detector was unsure, ``SmplifyWeights.min_confidence``)."""
    names = keypoints.layout_spec.names
    if name not in names:
        raise ValueError(f"no keypoint {name!r} in layout {keypoints.layout!r}")
    k = names.index(name)
    moved = keypoints.xy.copy()
    offset = np.asarray(xy, dtype=np.float64) - moved[k]
    rows = [k] + [names.index(f) for f in FOLLOWERS.get(name, ()) if f in names]
    moved[rows] += offset
    confidence = keypoints.confidence.copy()
    confidence[k] = 1.0
    return Keypoints2D(keypoints.layout, moved, confidence)


def swap_keypoint_sides(keypoints: Keypoints2D) -> Keypoints2D:
    """The keypoints with their left and right labels exchanged (xy and confidence)."""
    names = keypoints.layout_spec.names
    order = [names.index(mirror_joint_name(name)) for name in names]
    return Keypoints2D(keypoints.layout, keypoints.xy[order], keypoints.confidence[order])


def mirror_segment(previous: FitResult, segment: str, *, model) -> FitResult:
    """``previous`` with one limb segment mirrored through the plane perpendicular to the
    camera ray at its joint p: the child end c goes to c' = c − 2 ((c − p)·u) u, u = p / ‖p‖;
    the joints below follow rigidly.

    A shoulder or hip (ball joints) turns by the smallest rotation Q taking c − p to c' − p:
    R_k' = G_pᵀ Q G_p R_k, with G_p the world rotation of the joint's parent. An elbow or knee
    bends one way only, so the segment above it twists about its own axis a until the bending
    plane contains c' − p (T: the normal a × (c − p) onto a × (c' − p)), then the joint bends
    within that plane (B): the elbow or knee stays where it was and bends the way it did.
    """
    pose = mirror_pose(previous.pose, _joints(previous, model), segment)
    return _with_pose(previous, pose, model)


def mirror_pose(
    pose: np.ndarray,
    joints: np.ndarray,
    segment: str,
    *,
    with_child: bool = False,
    on_rays: bool = False,
) -> np.ndarray:
    """The pose (72,) with one limb segment mirrored as :func:`mirror_segment` describes.

    joints : (24, 3) the posed joints of ``pose``, camera frame.
    with_child : mirror the segment below it too (an upper arm or thigh with the forearm or
        shin) by one rotation at the joint: reflecting two bones keeps their lengths and the
        angle between them, so the rotation R = G' Fᵀ taking the frame F of (v, w) (the two
        bones, Gram-Schmidt, third axis their cross product) to the frame G' of the mirrored
        pair does it, and the elbow or knee keeps its bend.
    on_rays : instead of the plane, put each moved end on its own camera ray at the other
        distance from the joint above that keeps the bone's length (:func:`other_depth`), so
        that it projects exactly where it did (the plane is exact only in weak perspective).
    """
    k, child = J[check_segment(segment)], J[LIMB_SEGMENTS[segment]]
    p, v = joints[k], joints[child] - joints[k]
    u = p / np.linalg.norm(p)
    target = other_depth(p, joints[child]) - p if on_rays else v - 2.0 * (v @ u) * u
    rotations = rodrigues(np.asarray(pose, dtype=np.float64).reshape(24, 3))
    world = _world_rotations(rotations)
    parent = SMPL_PARENTS[k]
    a = p - joints[parent]
    normal, new_normal = np.cross(a, v), np.cross(a, target)
    hinge = segment.endswith(("elbow", "knee"))
    w = joints[J[LIMB_SEGMENTS.get(SMPL_JOINT_NAMES[child], segment)]] - joints[child]
    bent = np.linalg.norm(np.cross(v, w)) > 1e-3 * np.linalg.norm(v) * np.linalg.norm(w)
    if with_child and not hinge and bent:
        below = w - 2.0 * (w @ u) * u
        if on_rays:
            below = other_depth(p + target, joints[child] + w, joints[child]) - p - target
        Q = _frame(target, below) @ _frame(v, w).T
        rotations[k] = world[parent].T @ Q @ world[parent] @ rotations[k]
    elif not hinge or min(np.linalg.norm(normal), np.linalg.norm(new_normal)) < 1e-6:
        Q = _rotation_between(v, target)
        rotations[k] = world[parent].T @ Q @ world[parent] @ rotations[k]
    else:  # twist the segment above about a, then bend in the plane of a and the target
        T = _rotation_between(normal, new_normal)
        B = _rotation_between(T @ v, target)
        grand = world[SMPL_PARENTS[parent]]
        rotations[parent] = grand.T @ T @ grand @ rotations[parent]
        rotations[k] = world[parent].T @ T.T @ B @ T @ world[k]
    return matrix_to_rotvec(rotations).ravel()


def other_depth(p: np.ndarray, c: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """The point (3,) on the camera ray through c (3,), at the bone's length ‖c − b‖ from p
    (3,), on the other side of p in depth than c was of b (``before``, default p).

    With r = c / ‖c‖ and m = r·p, ‖t r − p‖ = L has the roots t = m ± √(m² − ‖p‖² + L²); the
    one on the other side is m − s √(…), s the sign of r·(c − b) (for b = p: t = 2m − ‖c‖).
    A ray that passes farther than L from p gives its point nearest p.
    """
    before = p if before is None else before
    r = c / np.linalg.norm(c)
    m, length = float(r @ p), float(np.linalg.norm(c - before))
    root = np.sqrt(max(m * m - float(p @ p) + length * length, 0.0))
    t = m - np.sign(r @ (c - before)) * root
    return max(t, 1e-3) * r


def turn_around(previous: FitResult, *, model) -> FitResult:
    """``previous`` turned by a half turn about the camera's vertical axis through the pelvis
    (SMPL rotates the body about its root joint, so the translation stays)."""
    pose = np.array(previous.pose, dtype=np.float64)
    pose[:3] = matrix_to_rotvec(HALF_TURN_Y @ rodrigues(pose[:3]))
    return _with_pose(previous, pose, model)


# ------------------------------------------------------------------------------------- helpers
def _problem(previous: FitResult, keypoints: Keypoints2D, model, weights) -> FitProblem:
    from .fit import FitOptions

    options = FitOptions(num_betas=len(previous.betas), pose_prior=shipped_pose_prior())
    return prepare(model, keypoints, previous.image_size, previous.focal_length, weights, options)


def _parameters(fit: FitResult, num_betas: int) -> np.ndarray:
    """x (n,) = [pose (72), betas (num_betas), transl (3)] of a fit."""
    betas = np.zeros(num_betas)
    given = np.asarray(fit.betas, dtype=np.float64)[:num_betas]
    betas[: len(given)] = given
    return np.concatenate(
        [np.asarray(fit.pose, dtype=np.float64), betas, np.asarray(fit.transl, dtype=np.float64)]
    )


def _joints(fit: FitResult, model) -> np.ndarray:
    """The posed joints (24, 3) of a fit's parameters, camera frame."""
    from .fit_setup import get_setup

    setup = get_setup(model, "smpl24", len(fit.betas), False)
    pose, betas, transl = (
        np.asarray(a, dtype=np.float64) for a in (fit.pose, fit.betas, fit.transl)
    )
    pts, _ = setup.kin.evaluate(pose, betas, transl, jacobian=False)
    return pts[:24]


def _with_pose(fit: FitResult, pose: np.ndarray, model) -> FitResult:
    moved = replace(fit, pose=pose)
    return replace(moved, joints_3d=_joints(moved, model))


def _world_rotations(rotations: np.ndarray) -> np.ndarray:
    """G_k = G_parent(k) R_k (24, 3, 3) of the parent-relative rotations (24, 3, 3)."""
    world = np.empty_like(rotations)
    for k, parent in enumerate(SMPL_PARENTS):
        world[k] = rotations[k] if parent < 0 else world[parent] @ rotations[k]
    return world


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) right-handed orthonormal columns: a's direction, b's part normal to a, a × b."""
    e1 = a / np.linalg.norm(a)
    e2 = b - (b @ e1) * e1
    e2 = e2 / max(np.linalg.norm(e2), 1e-12)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=1)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction a (3,) to direction b (3,)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis = np.cross(a, b)
    sin, cos = np.linalg.norm(axis), float(a @ b)
    if sin < 1e-9:
        if cos > 0:
            return np.eye(3)
        axis = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        return rodrigues(np.pi * axis / np.linalg.norm(axis))
    return rodrigues(axis / sin * np.arctan2(sin, cos))
