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
   stops after the first stage. The lowest final energy wins. Given BlazePose's world
   landmarks (``world_landmarks.py``), their bone directions join the objective of these stages,
   and a torso of theirs that clearly faces the camera or away (``WORLD_FACING``) decides the
   facing instead of the camera energies.
3. A result that still explains the keypoints badly (joint energy per keypoint above
   ``RETRY_JOINT_ENERGY``) is re-run from the other facing and from the mean poses of the
   heaviest prior components; the lowest energy is kept. It is flagged to the user only above
   ``WARN_JOINT_ENERGY``. Then, given 3D evidence, the limbs it puts on the other side in
   depth than the fit does are tried there and kept where the objective drops
   (``depth_search.py``).
4. Given the person's mask (``silhouette.py``), a last stage from the settled result adds its
   outline to the last annealed stage's objective, so that the outline shapes the girths.

``fit`` calls one function per step: ``fit_setup.prepare`` (0), ``_camera_stage`` (1),
``_starts`` and ``_annealed_stages`` (2), ``_retry_if_stuck`` and ``_depth_search`` (3),
``_silhouette_stage`` (4), ``_result``; the result also names the limb joints the detector
was unsure of when there are several (``fit_setup.unsure_warnings``). Each stage runs
Powell's dogleg (``dogleg.py``) on normal equations assembled from analytic Jacobians
(``objective.py``), in float64, under that stage's frozen ``StageConfig``
(``SmplifyWeights.camera_stage`` / ``pose_stage``: a weight per residual block, and the
keypoints the joint term uses); the objective itself never changes during a fit.
``FitOptions.jacobian = "2-point"`` swaps in forward finite differences of the same residuals:
the baseline of ``benchmarks/fit_synthetic.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .depth_search import search_depth
from .dogleg import DoglegResult, Status, dogleg
from .errors import KeypointsError, SmplifyError
from .fit_result import FitDiagnostics, FitResult
from .fit_setup import (
    FACING,
    FACING_AWAY,
    FitProblem,
    finite_difference_normal_equations,
    initial_translation,
    mirror_yaw,
    prepare,
    unsure_warnings,
    visibility_warnings,
)
from .keypoints import Keypoints2D
from .objective import SmplifyWeights, StageConfig
from .occlusion import OcclusionVeto
from .outline_rounds import dogleg_in_rounds
from .priors import PosePrior
from .rotation import rodrigues
from .silhouette import Silhouette, SilhouetteSettings
from .world_landmarks import WorldLandmarks

__all__ = [
    "FACING",
    "FACING_AWAY",
    "STAGE_NAMES",
    "FitDiagnostics",
    "FitOptions",
    "FitResult",
    "SmplifyWeights",
    "fit",
]

log = logging.getLogger(__name__)

#: Names of the stages, in the order ``callback`` and ``FitResult.stage_seconds`` use.
STAGE_NAMES = ("camera", "pose 1", "pose 2", "pose 3", "pose 4")
#: The starting global orientations of the camera stage and their names in FitDiagnostics.
FACINGS = (FACING, FACING_AWAY)
FACING_NAMES = ("toward", "away")
#: Camera-stage energies closer than this factor leave the facing to the first full stage.
FLIP_AMBIGUITY = 4.0
#: A fit whose joint energy per visible keypoint (normalised px²) exceeds this is re-run from
#: the other facing, and the lower energy kept.
RETRY_JOINT_ENERGY = 200.0
#: A result whose joint energy per visible keypoint exceeds this carries the warning "the body
#: explains the keypoints poorly". Real detections sit at 100-300 where the fit is right, so the
#: retry threshold above warned on 42 % of the LSP photos (63 of the held-out 150, 36 of them
#: fits whose limbs match LSP's annotations). Chosen on the first 150 LSP photos
#: (``benchmarks/studies/warning_rule.py``, highest F1 against "limb PCK@0.2 below 75 %"); on the
#: other 150 it warns on 22, 17 of them such failures (27 in all).
WARN_JOINT_ENERGY = 500.0
#: Also start the first stage from the camera solution with its yaw mirrored.
MIRROR_YAW = True
#: Annealed stage (0-3) after which only the best of several starts goes on.
DECIDE_STAGE = 3
#: Retries also start from the mean poses of this many heaviest prior components.
RETRY_POSES = 3
#: World landmarks whose torso faces the camera or away by at least this much (|z| of the unit
#: forward direction) decide the facing instead of the camera stage's energies.
WORLD_FACING = 0.3


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
    silhouette : how the person mask's term weighs its two directions (``silhouette.py``).
    silhouette_iterations, silhouette_radius : iterations and initial trust radius (scaled
        variables) of the stage that adds the person mask's term, last. It moves β far from
        where the keypoints left it: from radius 20 (not the default 1) 6 iterations reach the
        girths that 10 reach from 1 (docs/fit_silhouette.md, "Silhouette"); 8, where 4-5 lost and
        6-10 were level on the shape benchmark's tuning half ("The stalled stage").
    silhouette_rounds : that stage's iterations run in this many rounds, the mask's
        correspondences chosen at the start of each and held during it
        (``outline_rounds.py``; docs/fit_silhouette.md, "The stalled stage").
    same_person_iterations, same_person_radius : iterations (None: ``silhouette_iterations``)
        and initial trust radius of ``fit_same_person``'s joint refinement when a photo has
        an outline.
    depth_search : after the annealed stages, try the other depth sign of the limbs that
        point into depth where the 3D evidence (``world``) says so, and keep it where the
        objective drops too (``depth_search.py``; nothing without ``world``). On the rendered
        benchmark's report half it took the limbs backwards from 11.3 to 10.7 % (detector)
        and from 8.1 to 7.2 % (exact 2D) for 1-3 ms (docs/fit_depth.md, "Depth hypotheses").
    occlusion : the depth search refuses a flip whose body hides the flipped limb's keypoints
        where BlazePose's visibility (``detected.visibility``) says they are seen, or the
        reverse (``occlusion.OcclusionVeto``). Off: on the rendered benchmark's report half
        it took the limbs backwards from 11.0 to 11.2 % (detector) and 6.8 to 7.1 % (exact
        2D) (docs/fit_depth.md, "Occlusion as depth evidence").
    """

    num_betas: int = 10
    max_iterations: tuple[int, ...] = (6, 3, 3, 3, 40)
    ftol: float = 1e-4
    jacobian: str = "analytic"
    try_flip: bool = True
    pose_prior: PosePrior | None = None
    interpenetration: bool = True
    silhouette: SilhouetteSettings = SilhouetteSettings()
    silhouette_iterations: int = 8
    silhouette_radius: float = 20.0
    silhouette_rounds: int = 1
    same_person_iterations: int | None = None
    same_person_radius: float = 1.0
    depth_search: bool = True
    occlusion: bool = False

    def __post_init__(self) -> None:
        if len(self.max_iterations) != len(STAGE_NAMES):
            raise ValueError(
                f"max_iterations needs one count per stage of {STAGE_NAMES}, "
                f"got {self.max_iterations}"
            )
        if self.num_betas < 0:
            raise ValueError(f"num_betas must be 0 or more, got {self.num_betas}")
        if self.silhouette_rounds < 1:
            raise ValueError(f"silhouette_rounds must be 1 or more, got {self.silhouette_rounds}")
        if self.jacobian not in ("analytic", "2-point"):
            raise ValueError(f"jacobian must be 'analytic' or '2-point', got {self.jacobian!r}")


def fit(
    model,
    keypoints: Keypoints2D,
    image_size: tuple[int, int],
    focal_length: float | None = None,
    *,
    weights: SmplifyWeights | None = None,
    callback: Callable[[int, int, float], bool | None] | None = None,
    options: FitOptions | None = None,
    world: WorldLandmarks | None = None,
    silhouette: Silhouette | None = None,
    height: float | None = None,
    girths: dict[str, float] | None = None,
    detected: WorldLandmarks | None = None,
    image_votes: dict[str, float] | None = None,
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
        Status.CANCELLED.
    options : solver settings (default FitOptions()).
    world : BlazePose's world landmarks (``WorldLandmarks.from_detection``): their bone
        directions join the annealed stages (weight ``weights.world``) and their torso decides
        the facing when it clearly faces the camera or away; None: keypoints only.
    silhouette : the person mask (``person_mask.refined_silhouette``): its outline joins a stage
        after the annealed ones (step 4; weight ``weights.silhouette``), so that it shapes the
        girths; a mask that cannot describe a person is ignored with a warning. None: no mask.
    height : the person's known stature in metres (``measurements.py``'s definition: top of
        the head above the soles in the rest pose), a soft constraint on β in every stage where
        β is free (``known_measurements.KnownHeightBlock``, weight ``weights.height``); None:
        unknown.
    girths : known girths in metres, {"chest_girth" | "waist_girth" | "hip_girth": value},
        soft constraints on β likewise (weight ``weights.girths``); None: none known.
    detected : BlazePose's own world landmarks when ``world`` holds the lifter's points: not
        in the objective, their signs and visibilities vote in the depth search only
        (``depth_search.detector_votes``); None: the lifter's points vote alone.
    image_votes : the photo's own depth-sign votes ({segment: 2p − 1},
        ``depth_sign.DepthSign.votes``): they vote in the depth search too; None: none.

    Returns
    -------
    FitResult with the pose (72,), betas, translation (3,), camera, energies per term and
    diagnostics (FitDiagnostics).
    """
    weights = weights or SmplifyWeights()
    options = options or FitOptions()
    # 0. camera and inputs; the objective
    problem = prepare(
        model,
        keypoints,
        image_size,
        focal_length,
        weights,
        options,
        world,
        silhouette,
        height=height,
        girths=girths,
    )
    occlusion = _occlusion_veto(model, problem, keypoints, detected, options)
    solver = _Solver(problem, options, callback)
    # 1. camera stage on the torso, both facings
    camera = _camera_stage(problem, solver)
    # 2. annealed stages from several starts
    best = _annealed_stages(problem, solver, _starts(camera))
    # 3. a fit that explains the keypoints badly is re-run from other starts
    best = _retry_if_stuck(problem, solver, camera, best)
    best = _depth_search(problem, solver, best, detected, occlusion, image_votes)  # other side
    # 4. the person's outline refines shape and pose
    best = _silhouette_stage(problem, solver, best)
    diagnostics = _diagnostics(camera, best)
    return _result(problem, solver, best, camera.seconds, diagnostics, keypoints.confidence)


class _Solver:
    """Runs the dogleg for the stages of one fit: relays the callback, counts iterations and
    remembers a cancel (after which every further run returns its start)."""

    def __init__(self, problem: FitProblem, options: FitOptions, callback) -> None:
        self.problem, self.options, self.callback = problem, options, callback
        self.iterations = 0
        self.cancelled = False

    def run(
        self,
        stage: int,
        config: StageConfig,
        x0: np.ndarray,
        free: np.ndarray,
        radius: float = 1.0,
        rounds: int = 0,
    ) -> tuple[np.ndarray, DoglegResult]:
        """Minimise stage ``stage`` over the parameters ``free`` from x0 (n,): (x (n,), result);
        ``radius``: the initial trust radius (scaled variables); ``rounds`` > 0: in that many
        rounds, the outline's correspondences held within each (``outline_rounds.py``)."""
        if self.cancelled:  # a second track after a cancel: nothing more to do
            return x0, DoglegResult(x0[free], np.inf, 0, 0, Status.CANCELLED)
        obj = self.problem.objective

        def embed(y):
            x = x0.copy()
            x[free] = y
            return x

        analytic = self.options.jacobian == "analytic"

        def normal_equations(y):
            if analytic:
                return obj.normal_equations(embed(y), free, config)
            return finite_difference_normal_equations(obj, embed(y), free, config)

        callback = self.callback
        report = None if callback is None else (lambda it, energy: callback(stage, it, energy))
        iterations = self.options.max_iterations[stage]
        if rounds > 0:
            res = dogleg_in_rounds(
                normal_equations,
                x0[free],
                lambda y: self.problem.hold_outline(embed(y)),
                self.problem.release_outline,
                iterations=iterations,
                rounds=rounds,
                ftol=self.options.ftol,
                radius=radius,
                callback=report,
            )
        else:
            res = dogleg(
                normal_equations,
                x0[free],
                max_iterations=iterations,
                ftol=self.options.ftol,
                radius=radius,
                callback=report,
            )
        self.iterations += res.iterations
        self.cancelled = self.cancelled or res.status is Status.CANCELLED
        return embed(res.x), res


@dataclass(frozen=True)
class _Start:
    """A starting point x (n,) of the annealed stages and where it came from."""

    x: np.ndarray
    facing: int  # index into FACINGS
    mirrored: bool = False
    label: str = ""


@dataclass(frozen=True)
class _Camera:
    """Step 1's outcome: one start per facing, the chosen facing first (lowest camera energy,
    unless the world landmarks decided)."""

    candidates: tuple[tuple[float, _Start], ...]
    energies: tuple[float, ...]  # per facing tried, in FACINGS order
    seconds: float
    by_landmarks: bool = False  # the world landmarks' torso put its facing first

    @property
    def ambiguous(self) -> bool:
        c = self.candidates
        return not self.by_landmarks and len(c) > 1 and c[1][0] <= FLIP_AMBIGUITY * c[0][0]


def _explains_badly(problem: FitProblem, x: np.ndarray) -> bool:
    """Joint energy per visible keypoint at x above RETRY_JOINT_ENERGY."""
    return problem.joint_energy_per_keypoint(x) > RETRY_JOINT_ENERGY


def _cost(value: float) -> float:
    """A cost to compare: +inf for a non-finite one."""
    return float(value) if np.isfinite(value) else np.inf


def _camera_stage(problem: FitProblem, solver: _Solver) -> _Camera:
    """Step 1: global orientation and translation on the torso keypoints, from each facing."""
    t0 = time.perf_counter()
    lay, n = problem.setup.layout, problem.objective.n
    torso = np.zeros(len(problem.use))
    torso[[lay.index(name) for name in lay.torso]] = 1.0
    mask = torso if (problem.use * torso).sum() >= 3 else np.ones(len(problem.use))
    config = problem.weights.camera_stage(mask)
    free = np.r_[0:3, n - 3 : n]
    candidates = []
    for facing in range(2 if solver.options.try_flip else 1):
        x0 = np.zeros(n)
        x0[:3] = FACINGS[facing]
        x0[3:72] = problem.prior.mean_pose
        x0[n - 3 :] = initial_translation(
            problem.setup,
            problem.xy,
            problem.use * mask > 0,
            problem.focal,
            problem.centre,
            problem.depth,
            FACINGS[facing],
        )
        x, res = solver.run(0, config, x0, free)
        candidates.append((_cost(res.cost), _Start(x, facing, label=FACING_NAMES[facing])))
        if solver.cancelled:
            break
    energies = tuple(c for c, _ in candidates)
    candidates.sort(key=lambda c: c[0])
    by_landmarks = _landmarks_decide_facing(problem.world_forward, candidates)
    return _Camera(tuple(candidates), energies, time.perf_counter() - t0, by_landmarks)


def _landmarks_decide_facing(forward: np.ndarray | None, candidates: list) -> bool:
    """Put first the camera solution that faces as the world landmarks' torso does (forward
    (3,), camera frame), when that faces the camera or away by WORLD_FACING or more and a
    solution agrees with it (the root's forward axis R e_z on the same side); True if so."""
    if forward is None or len(candidates) < 2 or abs(forward[2]) < WORLD_FACING:
        return False
    agrees = [rodrigues(start.x[:3])[2, 2] * forward[2] > 0 for _, start in candidates]
    if not any(agrees):
        return False
    order = sorted(range(len(candidates)), key=lambda i: not agrees[i])  # stable: energy next
    candidates[:] = [candidates[i] for i in order]
    return True


def _starts(camera: _Camera) -> list[_Start]:
    """Starts of step 2: the better facing (both when ambiguous), each also with its yaw
    mirrored (four torso points cannot tell a yaw of +ψ from −ψ)."""
    starts = []
    for _, start in camera.candidates if camera.ambiguous else camera.candidates[:1]:
        starts.append(start)
        if MIRROR_YAW:
            label = f"{start.label}, yaw mirrored"
            starts.append(_Start(mirror_yaw(start.x), start.facing, True, label))
    return starts


@dataclass(frozen=True)
class _Annealed:
    """Step 2's outcome: the best track's parameters (n,), its last solver result (None when
    cancelled before), the seconds of each annealed stage and the start it came from."""

    x: np.ndarray
    result: DoglegResult | None
    seconds: tuple[float, ...]
    start: _Start
    retried: bool = False  # step 3 ran (seconds then cover every run)
    from_retry: bool = False  # this outcome came from one of step 3's starts


def _annealed_stages(problem: FitProblem, solver: _Solver, starts: list[_Start]) -> _Annealed:
    """Step 2: the four annealed stages over all parameters from several starts. After the
    first stage only the starts of the best one's facing go on, after DECIDE_STAGE only the
    best one."""
    free = np.arange(problem.objective.n)
    seconds, res, best = [], None, 0
    tracks, ids = [s.x for s in starts], list(range(len(starts)))
    for k in range(4):
        if solver.cancelled:
            break
        t1 = time.perf_counter()
        config = problem.weights.pose_stage(k)
        runs = [solver.run(k + 1, config, xt, free) for xt in tracks]
        costs = [_cost(r[1].cost) for r in runs]
        keep = list(range(len(runs)))
        if k == 0:
            facing = starts[ids[int(np.argmin(costs))]].facing
            keep = [j for j in keep if starts[ids[j]].facing == facing]
        if k >= DECIDE_STAGE:
            keep = [min(keep, key=lambda j: costs[j])]
        runs, ids = [runs[j] for j in keep], [ids[j] for j in keep]
        tracks = [r[0] for r in runs]
        best = int(np.argmin([_cost(r[1].cost) for r in runs]))
        res = runs[best][1]
        seconds.append(time.perf_counter() - t1)
    return _Annealed(tracks[best], res, tuple(seconds), starts[ids[best]])


def _retry_starts(problem: FitProblem, camera: _Camera, first: _Annealed) -> list[_Start]:
    """The other facing's camera solution, then the first result's start with the body pose
    of each of the RETRY_POSES heaviest prior components."""
    out = [s for _, s in camera.candidates if s.facing != first.start.facing][:1]
    out = [replace(s, label="other facing") for s in out]
    prior = problem.prior
    order = np.argsort(-prior.weights) if prior.weights is not None else range(0)
    for k in list(order)[:RETRY_POSES]:
        xs = first.start.x.copy()
        xs[3:72] = prior.means[k]
        out.append(replace(first.start, x=xs, label=f"prior component {k}"))
    return out


def _retry_if_stuck(
    problem: FitProblem, solver: _Solver, camera: _Camera, first: _Annealed
) -> _Annealed:
    """Step 3: when the result explains the keypoints badly, re-run the annealed stages from
    other starts until one explains them, and keep the lowest energy (seconds summed)."""
    if first.result is None or solver.cancelled or not _explains_badly(problem, first.x):
        return first
    best, seconds = first, list(first.seconds)
    for start in _retry_starts(problem, camera, first):
        again = _annealed_stages(problem, solver, [start])
        seconds = _add_seconds(seconds, again.seconds)
        if again.result is not None and _cost(again.result.cost) < _cost(best.result.cost):
            best = replace(again, from_retry=True)
        if solver.cancelled or not _explains_badly(problem, best.x):
            break
    return replace(best, seconds=tuple(seconds), retried=True)


def _occlusion_veto(model, problem, keypoints, detected, options) -> OcclusionVeto | None:
    """The depth search's occlusion check (``options.occlusion`` and the detector's own
    landmarks given, whose visibility (33,) it reads: ``WorldLandmarks`` checked its shape)."""
    if not options.occlusion or detected is None:
        return None
    if keypoints.layout != "blazepose33":
        raise KeypointsError(
            f"the occlusion check needs blazepose33 keypoints, got {keypoints.layout}"
        )
    seen = np.where(np.asarray(keypoints.confidence) > 0, detected.visibility, 0.0)
    return OcclusionVeto(model, problem.setup, seen)


def _depth_search(
    problem: FitProblem,
    solver: _Solver,
    best: _Annealed,
    detected: WorldLandmarks | None,
    occlusion: OcclusionVeto | None,
    image_votes: dict[str, float] | None = None,
) -> _Annealed:
    """Step 3b: the other depth sign of the limbs pointing into depth (``depth_search.py``;
    ``detected``: the detector's world landmarks vote too, ``image_votes`` the photo's
    depth-sign network; ``occlusion``: the occlusion check), when switched on; its time is
    added to the last annealed stage's."""
    if not solver.options.depth_search or solver.cancelled or best.result is None:
        return best
    t0 = time.perf_counter()
    x, _ = search_depth(
        problem,
        best.x,
        problem.weights.pose_stage(3),
        detected=detected,
        image=image_votes,
        occlusion=occlusion,
    )
    seconds = (*best.seconds[:-1], best.seconds[-1] + time.perf_counter() - t0)
    return replace(best, x=x, seconds=seconds)


def _silhouette_stage(problem: FitProblem, solver: _Solver, best: _Annealed) -> _Annealed:
    """Step 4: from the settled fit, the last stage's weights plus the person mask's term
    (when the fit has one), for ``options.silhouette_iterations``; its time is added to the
    last stage's."""
    if solver.cancelled or best.result is None or not problem.has_silhouette:
        return best
    t0 = time.perf_counter()
    free = np.arange(problem.objective.n)
    options = solver.options
    solver.options = replace(
        options,
        max_iterations=(*options.max_iterations[:-1], options.silhouette_iterations),
    )
    try:
        x, res = solver.run(
            len(STAGE_NAMES) - 1,
            problem.weights.silhouette_stage(),
            best.x,
            free,
            radius=options.silhouette_radius,
            rounds=options.silhouette_rounds,
        )
    finally:
        solver.options = options
    seconds = (*best.seconds[:-1], best.seconds[-1] + time.perf_counter() - t0)
    return replace(best, x=x, result=res, seconds=seconds)


def _last_stage(problem: FitProblem) -> StageConfig:
    w = problem.weights
    return w.silhouette_stage() if problem.has_silhouette else w.pose_stage(3)


def _add_seconds(a, b) -> list[float]:
    """Per-stage sums of two lists of stage times (the longer one's tail kept)."""
    return [x + y for x, y in zip(a, b)] + list(a[len(b) :]) + list(b[len(a) :])


def _diagnostics(camera: _Camera, best: _Annealed) -> FitDiagnostics:
    return FitDiagnostics(
        camera_energies=tuple(e if np.isfinite(e) else None for e in camera.energies),
        camera_facing=FACING_NAMES[int(np.argmin(camera.energies))],
        facing_from_landmarks=camera.by_landmarks,
        ambiguous=camera.ambiguous,
        facing=FACING_NAMES[best.start.facing],
        mirrored_yaw=best.start.mirrored,
        retried=best.retried,
        retry_start=best.start.label if best.from_retry else None,
    )


def _result(
    problem: FitProblem,
    solver: _Solver,
    best: _Annealed,
    camera_seconds: float,
    diagnostics: FitDiagnostics,
    confidence: np.ndarray,
) -> FitResult:
    """The FitResult of the best outcome, with energies of the last stage's weights;
    ``confidence`` (K,): the keypoints' as given, for the warning on unsure limb joints."""
    res = best.result
    if solver.cancelled:
        status = Status.CANCELLED
    elif res is not None and res.status is Status.NONFINITE_START:
        raise SmplifyError(
            f"the fit's energy is not finite from any start ({res.message}): "
            "check the keypoints, the focal length and the body model"
        )
    else:
        status = Status.CONVERGED if res is None or res.status.converged else Status.MAX_ITERATIONS
    obj = problem.objective
    pose, betas, transl = obj.split(best.x)
    joints, _ = problem.setup.kin.evaluate(pose, betas, transl, jacobian=False)
    notes = visibility_warnings(problem.setup.layout, problem.use)
    if not solver.cancelled and problem.joint_energy_per_keypoint(best.x) > WARN_JOINT_ENERGY:
        notes += ("the body explains the keypoints poorly; check them (or the focal length)",)
    notes += unsure_warnings(problem.setup.layout, confidence)
    return FitResult(
        betas=betas.copy(),
        pose=pose.copy(),
        transl=transl.copy(),
        focal_length=problem.focal,
        principal_point=problem.centre,
        image_size=problem.image_size,
        joints_3d=joints[:24].copy(),
        energy=obj.energies(best.x, _last_stage(problem)),
        iterations=solver.iterations,
        stage_seconds=(camera_seconds, *best.seconds),
        status=status,
        gender=problem.gender,
        warnings=notes,
        diagnostics=diagnostics,
    )
