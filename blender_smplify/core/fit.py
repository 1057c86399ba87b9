"""SMPLify: fit an SMPL-format body to 2D keypoints (Bogo et al. 2016, Sec. 3.3), fast.

Procedure:

0. Camera: pinhole at the origin, principal point at the image centre, focal length given or
   from the default field of view (``camera.DEFAULT_FOV_DEG``). Depth of the body from similar
   triangles on the torso (shoulder-to-hip lengths of the rest body vs the image).
1. Camera stage: global orientation and translation on the torso keypoints only, from the
   upright orientation facing the camera and from the one turned 180° about the vertical;
   the lower energy wins (the flip test).
2. Four stages over all parameters (pose, shape, translation) with the prior weights annealed
   from strong to weak (``SmplifyWeights``).

Each stage runs Powell's dogleg (``dogleg.py``) on normal equations assembled from analytic
Jacobians (``objective.py``), in float64. ``FitOptions.jacobian = "2-point"`` swaps in forward
finite differences of the same residuals: the baseline of ``benchmarks/fit_synthetic.py``.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .camera import focal_from_fov, principal_point
from .dogleg import STOPPED, DoglegResult, dogleg
from .errors import KeypointsError
from .fit_kinematics import PointKinematics, kinematics_from_model
from .fit_result import STATUS_CANCELLED, STATUS_CONVERGED, STATUS_MAX_ITERATIONS, FitResult
from .keypoints import Keypoints2D, get_layout
from .objective import REFERENCE_HEIGHT_PX, Objective, SmplifyWeights
from .priors import PosePrior, SphereBody

__all__ = ["fit", "FitOptions", "FitResult", "SmplifyWeights", "STAGE_NAMES"]

log = logging.getLogger(__name__)

#: Names of the stages, in the order ``callback`` and ``FitResult.stage_seconds`` use.
STAGE_NAMES = ("camera", "pose 1", "pose 2", "pose 3", "pose 4")
#: Fewer confident keypoints than this cannot place a body.
MIN_KEYPOINTS = 4
#: Upright, facing the camera (OpenCV frame) and its 180° turn about the vertical.
FACING = np.array([np.pi, 0.0, 0.0])
FACING_AWAY = np.array([0.0, 0.0, np.pi])
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
    max_iterations : per stage, camera stage first.
    ftol : relative decrease of the energy below which a stage stops.
    jacobian : "analytic" or "2-point" (forward differences; slow, for comparison only).
    try_flip : run the camera stage from both facings.
    pose_prior : a PosePrior, or None to load the shipped one.
    interpenetration : use the sphere term.
    """

    num_betas: int = 10
    max_iterations: tuple[int, ...] = (15, 8, 8, 10, 25)
    ftol: float = 1e-4
    jacobian: str = "analytic"
    try_flip: bool = True
    pose_prior: PosePrior | None = None
    interpenetration: bool = True
    extra: dict = field(default_factory=dict)


class _Setup:
    """What a fit needs from a model and a layout, built once per (model, layout, betas)."""

    def __init__(self, model, layout_name: str, num_betas: int, interpenetration: bool) -> None:
        from .joints import J

        layout = get_layout(layout_name)
        available = set(getattr(model, "landmark_names", ()) or ())
        landmarks: list[str] = []
        offsets, offset_keys = [], []
        where = []
        for target in layout.targets:
            if target.landmark is None:
                where.append(("joint", J[target.joint]))
            elif target.landmark in available:
                if target.landmark not in landmarks:
                    landmarks.append(target.landmark)
                where.append(("landmark", landmarks.index(target.landmark)))
            else:
                key = (target.joint, target.offset)
                if key not in offset_keys:
                    offset_keys.append(key)
                    offsets.append((J[target.joint], np.array(target.offset)))
                where.append(("offset", offset_keys.index(key)))
        base = {"joint": 0, "landmark": 24, "offset": 24 + len(landmarks)}
        self.point_index = np.array([base[kind] + i for kind, i in where])
        self.kin: PointKinematics = kinematics_from_model(model, num_betas, landmarks, offsets)
        self.landmarks_used = tuple(landmarks)
        self.layout = layout
        self.spheres = SphereBody(model, num_betas) if interpenetration else None
        rest, _ = self.kin.evaluate(np.zeros(72), np.zeros(num_betas), np.zeros(3), False)
        self.rest_points = rest
        self.height = float(np.ptp(rest[:24, 1]) + 0.25)  # joints span + head top and soles


_SETUP_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _setup(model, layout: str, num_betas: int, interpenetration: bool) -> _Setup:
    key = (layout, num_betas, interpenetration)
    try:
        per_model = _SETUP_CACHE.setdefault(model, {})
    except TypeError:  # model cannot be weakly referenced: no cache
        per_model = {}
    if key not in per_model:
        per_model[key] = _Setup(model, layout, num_betas, interpenetration)
    return per_model[key]


def _rot_x_pi(points: np.ndarray) -> np.ndarray:
    return points * np.array([1.0, -1.0, -1.0])


def _initial_depth(setup: _Setup, xy: np.ndarray, use: np.ndarray, focal: float) -> float:
    """Depth (m) by similar triangles: rest torso lengths over their image lengths."""
    lay = setup.layout
    rest = setup.rest_points[setup.point_index]
    ratios = []
    ls, rs, lh, rh = (lay.index(n) for n in lay.torso)
    for a, b in ((ls, lh), (rs, rh), (ls, rh), (rs, lh)):
        if use[a] and use[b]:
            d2 = np.linalg.norm(xy[a] - xy[b])
            if d2 > 1.0:
                ratios.append(np.linalg.norm(rest[a] - rest[b]) / d2)
    if not ratios:  # no torso: all pairs, the larger image distances first
        idx = np.flatnonzero(use)
        for i in idx:
            for j in idx[idx > i]:
                d3, d2 = np.linalg.norm(rest[i] - rest[j]), np.linalg.norm(xy[i] - xy[j])
                if d3 > 0.15 and d2 > 1.0:
                    ratios.append(d3 / d2)
    ratio = float(np.median(ratios)) if ratios else 1.7 / 500.0
    return float(np.clip(focal * ratio, 0.3, 200.0))


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
    callback : callback(stage, iteration, energy), stage indexing STAGE_NAMES; returning False
        stops the fit, which then returns the best result so far with status STATUS_CANCELLED.
    options : solver settings (default FitOptions()).

    Returns
    -------
    FitResult with the pose (72,), betas, translation (3,), camera and energies per term.
    """
    weights = weights or SmplifyWeights()
    options = options or FitOptions()
    w_img, h_img = (int(image_size[0]), int(image_size[1]))
    if w_img <= 0 or h_img <= 0:
        raise KeypointsError(f"image size must be positive, got {image_size}")
    focal = float(focal_length) if focal_length is not None else focal_from_fov((w_img, h_img))
    if not np.isfinite(focal) or focal <= 0:
        raise KeypointsError(f"focal length must be a positive number of pixels, got {focal}")
    centre = principal_point((w_img, h_img))
    num_betas = int(min(options.num_betas, np.asarray(model.shapedirs).shape[2]))
    setup = _setup(model, keypoints.layout, num_betas, options.interpenetration)
    lay = setup.layout
    conf = keypoints.confidence * lay.weights
    use = conf > 0
    if use.sum() < MIN_KEYPOINTS:
        raise KeypointsError(
            f"too few keypoints to fit a body: {int(use.sum())} visible, need {MIN_KEYPOINTS}"
        )
    prior = options.pose_prior if options.pose_prior is not None else PosePrior.load()

    # 0. camera: depth by similar triangles, normalisation of the pixels
    depth = _initial_depth(setup, keypoints.xy, use, focal)
    person_px = focal * setup.height / depth
    scale = REFERENCE_HEIGHT_PX / person_px
    obj = Objective(setup.kin, setup.point_index, keypoints.xy, conf, focal, centre, scale,
                    prior, setup.spheres, weights.sigma)  # fmt: skip
    nb = num_betas
    n = obj.n
    stage_seconds: list[float] = []
    iterations = 0
    cancelled = False

    def normal_equations(free):
        if options.jacobian == "analytic":
            return lambda y: obj.normal_equations(_embed(y, free), free)
        if options.jacobian == "2-point":
            return lambda y: _finite_difference_normal_equations(obj, _embed(y, free), free)
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
            def cb(it, F):  # noqa: E306
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
        x0[n - 3 :] = _initial_translation(setup, keypoints.xy, use * obj.data_mask > 0,
                                           focal, centre, depth, facing)  # fmt: skip
        x, res = run_stage(0, x0, free_cam, options.max_iterations[0])
        candidates.append((res.cost, x))
        if cancelled:
            break
    candidates.sort(key=lambda c: c[0])
    stage_seconds.append(time.perf_counter() - t0)

    # 2. annealed stages over everything; when the torso alone cannot tell the facing (the two
    # energies within a factor FLIP_AMBIGUITY), both facings go through the first stage
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
            starts.append(_mirror_yaw(xc)), start_facing.append(i)
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
            secs = [a + b for a, b in zip(secs, secs2)] + secs2[len(secs):]
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
    return FitResult(
        betas=betas.copy(), pose=pose.copy(), transl=transl.copy(), focal_length=focal,
        principal_point=centre, image_size=(w_img, h_img), joints_3d=joints[:24].copy(),
        energy=obj.energies(x), iterations=iterations, stage_seconds=tuple(stage_seconds),
        status=status, gender=str(getattr(model, "gender", "neutral")),
        warnings=_warnings(lay, use),
    )


def _mirror_yaw(x: np.ndarray) -> np.ndarray:
    """Parameters with the body's heading mirrored about the optical axis (yaw ψ -> −ψ).

    The body's forward direction f = R e_z makes the angle φ = atan2(f_x, f_z) in the camera's
    horizontal plane; a turn by −2φ about the camera's vertical axis maps it to −φ, which
    projects the torso almost identically.
    """
    from .rotation import matrix_to_rotvec, rodrigues

    R = rodrigues(x[:3])
    phi = np.arctan2(R[0, 2], R[2, 2])
    out = x.copy()
    out[:3] = matrix_to_rotvec(rodrigues(np.array([0.0, -2.0 * phi, 0.0])) @ R)
    return out


def _initial_translation(setup, xy, use, focal, centre, depth, facing) -> np.ndarray:
    """Translation putting the rest body at ``depth`` over the used keypoints' centroid."""
    rest = setup.rest_points[setup.point_index][use]
    if np.allclose(facing, FACING):
        rest = _rot_x_pi(rest)
    else:
        rest = rest * np.array([-1.0, -1.0, 1.0])
    target = (xy[use].mean(axis=0) - centre) * depth / focal
    return np.array([target[0] - rest[:, 0].mean(), target[1] - rest[:, 1].mean(), depth])


def _finite_difference_normal_equations(obj: Objective, x: np.ndarray, free: np.ndarray):
    """Normal equations from forward differences of the fixed-size residuals (baseline)."""
    r = obj.residuals(x)
    J = np.empty((len(r), len(free)))
    for c, k in enumerate(free):
        h = 1.49e-8 * max(1.0, abs(x[k]))
        xp = x.copy()
        xp[k] += h
        J[:, c] = (obj.residuals(xp) - r) / h
    return float(r @ r), J.T @ r, J.T @ J


def _warnings(layout, use: np.ndarray) -> tuple[str, ...]:
    out = []
    groups = {"legs": ("knee", "ankle"), "arms": ("elbow", "wrist")}
    for what, parts in groups.items():
        idx = [layout.index(f"{s}_{p}") for s in ("left", "right") for p in parts
               if f"{s}_{p}" in layout.names]  # fmt: skip
        if idx and not use[idx].any():
            out.append(f"{what} not visible: their pose comes from the prior only")
    return tuple(out)
