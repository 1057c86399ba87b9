"""SMPLify: fit an SMPL-format body to 2D keypoints (Bogo et al. 2016, Sec. 3.3), fast.

Procedure:

0. Camera: pinhole at the origin, principal point at the image centre, focal length given or
   from the default field of view (``camera.DEFAULT_FOV_DEG``). Depth of the body from similar
   triangles on the torso (shoulder-to-hip lengths of the rest body vs the image).
1. Camera stage: global orientation and translation on the torso keypoints only, the body in
   the prior's mean pose, from the upright orientation facing the camera and from the one turned
   180° about the vertical (the flip test).
2. Four stages over all parameters (pose, shape, translation) with the prior weights annealed
   from strong to weak (``SmplifyWeights``). They start from the better camera solution and from
   its yaw mirrored about the optical axis (four torso points cannot tell +ψ from −ψ); when the
   two facings' camera energies are within ``FLIP_AMBIGUITY``, from both facings, whose loser
   stops after the first stage. The lowest final energy wins.
3. A result that still explains the keypoints badly (joint energy per keypoint above
   ``RETRY_JOINT_ENERGY``) is re-run from the other facing and from the mean poses of the
   heaviest prior components; the lowest energy is kept.

Each stage runs Powell's dogleg (``dogleg.py``) on normal equations assembled from analytic
Jacobians (``objective.py``), in float64. ``FitOptions.jacobian = "2-point"`` swaps in forward
finite differences of the same residuals: the baseline of ``benchmarks/fit_synthetic.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .camera import focal_from_fov, principal_point
from .dogleg import STOPPED, DoglegResult, dogleg
from .errors import KeypointsError
from .fit_result import STATUS_CANCELLED, STATUS_CONVERGED, STATUS_MAX_ITERATIONS, FitResult
from .fit_setup import (
    FACING,
    FACING_AWAY,
    finite_difference_normal_equations,
    get_setup,
    initial_depth,
    initial_translation,
    mirror_yaw,
    visibility_warnings,
)  # fmt: skip
from .keypoints import Keypoints2D
from .objective import REFERENCE_HEIGHT_PX, Objective, SmplifyWeights
from .priors import PosePrior

__all__ = [
    "FACING",
    "FACING_AWAY",
    "STAGE_NAMES",
    "FitOptions",
    "FitResult",
    "SmplifyWeights",
    "fit",
]  # fmt: skip

log = logging.getLogger(__name__)

#: Names of the stages, in the order ``callback`` and ``FitResult.stage_seconds`` use.
STAGE_NAMES = ("camera", "pose 1", "pose 2", "pose 3", "pose 4")
#: Fewer confident keypoints than this cannot place a body.
MIN_KEYPOINTS = 4
#: Keypoints spanning fewer pixels than this cannot place a body either.
MIN_SPAN_PX = 4.0
#: Widest diagonal field of view (degrees) a focal length may give: a pinhole camera models
#: no wider lens (even a 12 mm-equivalent ultra-wide has about 120°).
MAX_FOV_DEG = 170.0
#: Camera-stage energies closer than this factor leave the facing to the first full stage.
FLIP_AMBIGUITY = 4.0
#: A fit whose joint energy per visible keypoint (normalised px²) exceeds this is re-run from
#: the other facing, and the lower energy kept.
RETRY_JOINT_ENERGY = 200.0
#: Also start the first stage from the camera solution with its yaw mirrored.
MIRROR_YAW = True
#: Annealed stage (0-3) after which only the best of several starts goes on.
DECIDE_STAGE = 3
#: Retries also start from the mean poses of this many heaviest prior components.
RETRY_POSES = 3


@dataclass(frozen=True)
class FitOptions:
    """Solver settings of :func:`fit`.

    Attributes
    ----------
    num_betas : shape coefficients to fit (at most the model's).
    max_iterations : per stage, camera stage first. The early annealed stages only steer: on
        the training motions 3 iterations each beat 8-10 (median PA-MPJPE 31 -> 27 mm, 90th
        percentile 99 -> 75 mm, and faster); the last stage converges.
    ftol : relative decrease of the energy below which a stage stops.
    jacobian : "analytic" or "2-point" (forward differences; slow, for comparison only).
    try_flip : run the camera stage from both facings.
    pose_prior : a PosePrior, or None to load the shipped one.
    interpenetration : use the sphere term.
    """

    num_betas: int = 10
    max_iterations: tuple[int, ...] = (6, 3, 3, 3, 40)
    ftol: float = 1e-4
    jacobian: str = "analytic"
    try_flip: bool = True
    pose_prior: PosePrior | None = None
    interpenetration: bool = True

    def __post_init__(self) -> None:
        if len(self.max_iterations) != len(STAGE_NAMES):
            raise ValueError(f"max_iterations needs one count per stage of {STAGE_NAMES}, "
                             f"got {self.max_iterations}")  # fmt: skip
        if self.num_betas < 0:
            raise ValueError(f"num_betas must be 0 or more, got {self.num_betas}")


def fit(
    model,
    keypoints: Keypoints2D,
    image_size: tuple[int, int],
    focal_length: float | None = None,
    *,
    weights: SmplifyWeights | None = None,
    callback: Callable[[int, int, float], bool | None] | None = None,
    options: FitOptions | None = None,
) -> FitResult:
    """Fit the body model to 2D keypoints.

    Parameters
    ----------
    model : BodyModel (or any object with its arrays: v_template, shapedirs, J_regressor,
        lbs_weights, parents, optional landmark_names and keypoint_regressor).
    keypoints : Keypoints2D in a registered layout; confidence 0 marks a missing keypoint.
    image_size : (width, height) in pixels.
    focal_length : pixels; None for the default field of view.
    weights : objective weights (default SmplifyWeights()).
    callback : callback(stage, iteration, energy) after every solver iteration, stage indexing
        STAGE_NAMES (a stage may run from several starts, each counting iterations from 1);
        returning False stops the fit, which then returns the best result so far with status
        STATUS_CANCELLED.
    options : solver settings (default FitOptions()).

    Returns
    -------
    FitResult with the pose (72,), betas, translation (3,), camera and energies per term.
    """
    weights = weights or SmplifyWeights()
    options = options or FitOptions()
    try:
        w_img, h_img = (int(image_size[0]), int(image_size[1]))
    except (TypeError, ValueError, IndexError, OverflowError):  # also NaN, inf
        raise KeypointsError(f"image size must be (width, height), got {image_size!r}") from None
    if w_img <= 0 or h_img <= 0:
        raise KeypointsError(f"image size must be positive, got {image_size}")
    focal = float(focal_length) if focal_length is not None else focal_from_fov((w_img, h_img))
    if not np.isfinite(focal) or focal <= 0:
        raise KeypointsError(f"focal length must be a positive number of pixels, got {focal}")
    if focal < focal_from_fov((w_img, h_img), MAX_FOV_DEG):  # else the fit runs into overflows
        raise KeypointsError(
            f"focal length {focal:.3g} px is too short for a {w_img} x {h_img} image: its "
            f"diagonal field of view would exceed {MAX_FOV_DEG:g}° (is it in pixels?)"
        )
    centre = principal_point((w_img, h_img))
    num_betas = int(min(options.num_betas, np.asarray(model.shapedirs).shape[2]))
    setup = get_setup(model, keypoints.layout, num_betas, options.interpenetration)
    lay = setup.layout
    conf = keypoints.confidence * lay.weights
    use = conf > 0
    if use.sum() < MIN_KEYPOINTS:
        raise KeypointsError(
            f"too few keypoints to fit a body: {int(use.sum())} visible, need {MIN_KEYPOINTS}"
        )
    span = float(np.ptp(keypoints.xy[use], axis=0).max())
    if span < MIN_SPAN_PX:
        raise KeypointsError(f"the keypoints span only {span:.1f} px: too small to fit a body")
    prior = options.pose_prior if options.pose_prior is not None else PosePrior.load()

    # 0. camera: depth by similar triangles, normalisation of the pixels
    depth = initial_depth(setup, keypoints.xy, use, focal)
    person_px = focal * setup.height / depth
    scale = REFERENCE_HEIGHT_PX / person_px
    obj = Objective(setup.kin, setup.point_index, keypoints.xy, conf, focal, centre, scale,
                    prior, setup.spheres, weights.sigma)  # fmt: skip
    n = obj.n
    stage_seconds: list[float] = []
    iterations = 0
    cancelled = False

    def normal_equations(free):
        if options.jacobian == "analytic":
            return lambda y: obj.normal_equations(_embed(y, free), free)
        if options.jacobian == "2-point":
            return lambda y: finite_difference_normal_equations(obj, _embed(y, free), free)
        raise ValueError(f"unknown jacobian mode {options.jacobian!r}")

    base = np.zeros(n)

    def _embed(y, free):
        x = base.copy()
        x[free] = y
        return x

    def run_stage(stage, x0, free, max_it):
        nonlocal base, iterations, cancelled
        if cancelled:  # a second track after a cancel: nothing more to do
            return x0, DoglegResult(x0[free], np.inf, 0, 0, STOPPED)
        base = x0.copy()
        cb = None
        if callback is not None:

            def cb(it, F):
                return callback(stage, it, F)

        res = dogleg(normal_equations(free), x0[free], max_iterations=max_it,
                     ftol=options.ftol, callback=cb)  # fmt: skip
        iterations += res.iterations
        x = _embed(res.x, free)
        if res.status == STOPPED and callback is not None:
            cancelled = True
        return x, res

    # 1. camera stage on the torso, both facings
    t0 = time.perf_counter()
    torso = np.zeros(len(use))
    torso[[lay.index(nm) for nm in lay.torso]] = 1.0
    obj.data_mask = torso if (use * torso).sum() >= 3 else np.ones(len(use))
    obj.weights["camera_depth"] = weights.camera_depth
    obj.depth_target = depth
    free_cam = np.r_[0:3, n - 3 : n]
    candidates = []
    facings = (FACING, FACING_AWAY) if options.try_flip else (FACING,)
    for facing in facings:
        x0 = np.zeros(n)
        x0[:3] = facing
        x0[3:72] = prior.mean_pose
        x0[n - 3 :] = initial_translation(setup, keypoints.xy, use * obj.data_mask > 0,
                                           focal, centre, depth, facing)  # fmt: skip
        x, res = run_stage(0, x0, free_cam, options.max_iterations[0])
        candidates.append((res.cost, x))
        if cancelled:
            break
    candidates.sort(key=lambda c: c[0])
    stage_seconds.append(time.perf_counter() - t0)

    # 2. annealed stages over everything, from several starts
    obj.data_mask = np.ones(len(use))
    obj.weights["camera_depth"] = 0.0
    free_all = np.arange(n)

    def anneal(starts, groups):
        """Four stages from several starts: after the first stage only the starts of the best
        facing (``groups``) go on, after stage DECIDE_STAGE only the best one."""
        secs, res, best = [], None, 0
        tracks, ids = list(starts), list(range(len(starts)))
        for k in range(4):
            if cancelled:
                break
            t1 = time.perf_counter()
            obj.weights.update(weights.stage(k))
            runs = [run_stage(k + 1, xt, free_all, options.max_iterations[k + 1]) for xt in tracks]
            costs = [r[1].cost for r in runs]
            keep = list(range(len(runs)))
            if k == 0:
                group = groups[ids[int(np.argmin(costs))]]
                keep = [j for j in keep if groups[ids[j]] == group]
            if k >= DECIDE_STAGE:
                keep = [min(keep, key=lambda j: costs[j])]
            runs, ids = [runs[j] for j in keep], [ids[j] for j in keep]
            tracks = [r[0] for r in runs]
            best = int(np.argmin([r[1].cost for r in runs]))
            res = runs[best][1]
            secs.append(time.perf_counter() - t1)
        return tracks[best], res, secs, ids[best]

    ambiguous = len(candidates) > 1 and candidates[1][0] <= FLIP_AMBIGUITY * candidates[0][0]
    starts, start_facing = [], []
    for i, (_, xc) in enumerate(candidates if ambiguous else candidates[:1]):
        starts.append(xc), start_facing.append(i)
        if MIRROR_YAW:  # four torso points cannot tell a yaw of +ψ from −ψ: try both
            starts.append(mirror_yaw(xc)), start_facing.append(i)
    x, res, secs, chosen = anneal(starts, start_facing)
    chosen_facing = start_facing[chosen]
    # 3. a fit that explains the keypoints badly is stuck: try the other facing, then the
    # heaviest prior components' mean poses, until one explains the keypoints; keep the best
    visible = max(int(use.sum()), 1)

    def bad(xt):
        return obj.energies(xt).get("joints", 0.0) / visible > RETRY_JOINT_ENERGY

    if res is not None and not cancelled and bad(x):
        retries = []
        if len(candidates) > 1:
            retries.append(candidates[1 - chosen_facing][1])
        order = np.argsort(-prior.weights) if prior.weights is not None else range(0)
        for k in list(order)[:RETRY_POSES]:
            xs = starts[chosen].copy()
            xs[3:72] = prior.means[k]
            retries.append(xs)
        for start in retries:
            x2, res2, secs2, _ = anneal([start], [0])
            secs = [a + b for a, b in zip(secs, secs2)] + secs2[len(secs) :]
            if res2 is not None and res2.cost < res.cost:
                x, res = x2, res2
            if cancelled or not bad(x):
                break
    stage_seconds.extend(secs)
    status = STATUS_CONVERGED
    if res is not None and res.status != 0:
        status = STATUS_MAX_ITERATIONS
    if cancelled:
        status = STATUS_CANCELLED

    pose, betas, transl = obj.split(x)
    joints, _ = setup.kin.evaluate(pose, betas, transl, jacobian=False)
    obj.weights.update(weights.stage(3))
    notes = visibility_warnings(lay, use)
    if not cancelled and bad(x):
        notes += ("the body explains the keypoints poorly; check them (or the focal length)",)
    return FitResult(
        betas=betas.copy(),
        pose=pose.copy(),
        transl=transl.copy(),
        focal_length=focal,
        principal_point=centre,
        image_size=(w_img, h_img),
        joints_3d=joints[:24].copy(),
        energy=obj.energies(x),
        iterations=iterations,
        stage_seconds=tuple(stage_seconds),
        status=status,
        gender=str(getattr(model, "gender", "neutral")),
        warnings=notes,
    )
