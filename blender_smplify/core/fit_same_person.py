"""Several photos of the same person: one shape β, one pose and camera per photo, fitted jointly.

Made-to-measure apps ask for a front and a side photo: one view leaves each bone's extent in
depth to the prior, a second view from another side sees it. The procedure:

1. each photo's own fit (:func:`.fit.fit`, with the known height and girths), which settles its
   camera, facing and pose;
2. a joint refinement over x = [β (B), θ_1 (72), γ_1 (3), θ_2, γ_2, ...] from the mean of the
   single fits' β and their poses and translations, minimising the sum of the per-photo
   objectives at the last stage's weights (with the person mask's term when a photo has one).
   The shape prior and the known measurements act on β alone, so they are counted once (in the
   first photo's objective; the others run without them). The Jacobian is block-sparse, β's
   columns shared by every photo's rows:

       J = [ J_β,1  J_p,1    0   ... ]        JᵀJ = [ Σ_v Hββ,v   Hβp,1   Hβp,2  ... ]
           [ J_β,2    0    J_p,2 ... ]              [ Hpβ,1      Hpp,1     0    ... ]
                                                    [ Hpβ,2        0     Hpp,2  ... ]

   so each photo's normal equations (``Objective.normal_equations``) are added into the shared
   ones at their columns, and Powell's dogleg (``dogleg.py``) solves them. Its Gauss-Newton
   step eliminates each photo's block first (the Schur complement on β, as bundle adjustment
   does: Triggs et al., "Bundle Adjustment — A Modern Synthesis", 2000, Sec. 6.1): V solves of
   75 unknowns and one of B instead of one of B + 75 V. On the loaded 2-core machine one
   two-photo refinement took 2.0 s with the dense solve and 38 ms with this one (OpenBLAS
   threads a solve of 160 unknowns, and its threads then wait for each other).

One photo is its single fit, unchanged. The photos may differ in size, focal length, keypoint
layout and evidence (:class:`PhotoView`); they must share the body model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .dogleg import DoglegResult, Status, dogleg
from .errors import SmplifyError
from .fit import STAGE_NAMES, FitOptions, fit
from .fit_result import FitResult
from .fit_setup import FitProblem, prepare
from .keypoints import Keypoints2D
from .known_measurements import check_girths, check_height
from .objective import SmplifyWeights, StageConfig
from .outline_rounds import dogleg_in_rounds
from .silhouette import Silhouette
from .world_landmarks import WorldLandmarks

#: Terms that act on β alone: counted once, in the first photo's objective.
SHARED_TERMS = ("shape_prior", "height", "girths")


@dataclass(frozen=True)
class PhotoView:
    """One photo's evidence, as :func:`.fit.fit` takes it.

    Attributes
    ----------
    keypoints : the photo's 2D keypoints.
    image_size : (width, height) in pixels.
    focal_length : pixels; None for the default field of view.
    world : the photo's 3D evidence (BlazePose's world landmarks, or the lifter's points), or
        None.
    silhouette : the person mask of the photo (``silhouette.Silhouette``), or None.
    detected : BlazePose's own world landmarks when ``world`` holds the lifter's points (as
        ``pipeline.detect_and_fit`` gives them): they vote in the depth search of the photo's
        own fit (``fit.fit(detected=)``), not in the joint refinement, which has no depth
        search; None: the lifter's points vote alone.
    """

    keypoints: Keypoints2D
    image_size: tuple[int, int]
    focal_length: float | None = None
    world: WorldLandmarks | None = None
    silhouette: Silhouette | None = None
    detected: WorldLandmarks | None = None


@dataclass(frozen=True)
class SamePersonResult:
    """The joint fit of several photos.

    Attributes
    ----------
    views : one FitResult per photo, in order, all with the same ``betas``.
    single : each photo's own fit (the joint refinement's start).
    betas : (B,) the shared shape.
    joint_seconds : wall time of the joint refinement (0 for one photo).
    joint_iterations : its solver iterations.
    status : the joint refinement's Status (the single fit's for one photo).
    """

    views: tuple[FitResult, ...]
    single: tuple[FitResult, ...]
    betas: np.ndarray
    joint_seconds: float = 0.0
    joint_iterations: int = 0
    status: Status = Status.CONVERGED

    @property
    def seconds(self) -> float:
        """Single fits and joint refinement, wall time."""
        return float(sum(v.seconds for v in self.single) + self.joint_seconds)


def fit_same_person(
    model,
    views: Sequence[PhotoView],
    *,
    height: float | None = None,
    girths: dict[str, float] | None = None,
    weights: SmplifyWeights | None = None,
    options: FitOptions | None = None,
    single: Sequence[FitResult] | None = None,
    callback: Callable[[int | None, int, int, float], bool | None] | None = None,
) -> SamePersonResult:
    """Fit one body shape and a pose and camera per photo to several photos of one person.

    Parameters
    ----------
    model : the body model (one for all photos).
    views : the photos' evidence, at least one.
    height, girths : the person's known stature and girths in metres (see :func:`.fit.fit`).
    weights, options : as for :func:`.fit.fit`; the joint refinement uses the last stage's
        weights and iteration count (``options.silhouette_iterations`` when a photo has an
        outline).
    single : each photo's own fit when already made (the panel's stored fits), in ``views``'
        order; None to make them. They must come from ``model``'s gender.
    callback : callback(view, stage, iteration, energy): during photo v's own fit view = v
        and stage indexes ``fit.STAGE_NAMES``; during the joint refinement view = None and
        stage = len(STAGE_NAMES). Returning False cancels (status CANCELLED).

    Returns
    -------
    SamePersonResult; for one photo its views are its single fit, unchanged.
    """
    views = tuple(views)
    if not views:
        raise SmplifyError("no photos given: the same person's fit needs at least one")
    height, girths = check_height(height), check_girths(girths) or None
    weights, options = weights or SmplifyWeights(), options or FitOptions()
    single = _single_fits(model, views, height, girths, weights, options, single, callback)
    if len(views) == 1 or any(s.status is Status.CANCELLED for s in single):
        status = Status.CANCELLED if single[0].status is Status.CANCELLED else single[0].status
        return SamePersonResult(single, single, single[0].betas.copy(), status=status)
    start = time.perf_counter()
    problems = [
        _problem(model, view, weights, options, height, girths, first=v == 0)
        for v, view in enumerate(views)
    ]
    # the single fits' last stage: its weights and iterations (with outlines 10 iterations
    # gave girths within 1 mm of 40's, at half the time: docs/fit_known_height.md)
    outline = any(p.has_silhouette for p in problems)
    joint = _JointProblem(
        problems, weights.silhouette_stage() if outline else weights.pose_stage(3)
    )
    stage = len(STAGE_NAMES)
    report = None if callback is None else (lambda it, energy: callback(None, stage, it, energy))
    if outline:  # the outlines' correspondences held per round (outline_rounds.py)
        res = dogleg_in_rounds(
            joint.normal_equations,
            joint.start(single),
            joint.hold_outlines,
            joint.release_outlines,
            iterations=options.same_person_iterations or options.silhouette_iterations,
            rounds=options.silhouette_rounds,
            radius=options.same_person_radius,
            ftol=options.ftol,
            callback=report,
            solve=joint.solve,
        )
    else:
        res = dogleg(
            joint.normal_equations,
            joint.start(single),
            max_iterations=options.max_iterations[-1],
            ftol=options.ftol,
            callback=report,
            solve=joint.solve,
        )
    seconds = time.perf_counter() - start
    fits = joint.results(res, single)
    return SamePersonResult(fits, single, fits[0].betas, seconds, res.iterations, res.status)


def _single_fits(model, views, height, girths, weights, options, given, callback):
    """Each photo's own fit: ``given`` checked against the model, or made now."""
    if given is not None:
        given = tuple(given)
        if len(given) != len(views):
            raise SmplifyError(f"{len(given)} fits given for {len(views)} photos")
        gender = str(getattr(model, "gender", "neutral"))
        for v, result in enumerate(given):
            if result.gender != gender:
                raise SmplifyError(
                    f"photo {v + 1} was fitted with the {result.gender} body model, this fit "
                    f"uses the {gender} one: one person has one body model (refit that photo)"
                )
        return given
    out = []
    for v, view in enumerate(views):
        report = None if callback is None else (lambda s, i, e, v=v: callback(v, s, i, e))
        result = fit(
            model,
            view.keypoints,
            view.image_size,
            view.focal_length,
            weights=weights,
            options=options,
            world=view.world,
            silhouette=view.silhouette,
            height=height,
            girths=girths,
            detected=view.detected,
            callback=report,
        )
        out.append(result)
        if result.status is Status.CANCELLED:
            break
    return tuple(out)


def _problem(model, view, weights, options, height, girths, first: bool) -> FitProblem:
    """The photo's fit problem; β's own terms only in the first photo's."""
    return prepare(
        model,
        view.keypoints,
        view.image_size,
        view.focal_length,
        weights,
        options,
        view.world,
        view.silhouette,
        height=height if first else None,
        girths=girths if first else None,
    )


class _JointProblem:
    """The stacked objectives of several photos over x = [β, θ_1, γ_1, θ_2, γ_2, ...]."""

    def __init__(self, problems: list[FitProblem], stage: StageConfig) -> None:
        self.problems = problems
        self.num_betas = problems[0].objective.num_betas
        if any(p.objective.num_betas != self.num_betas for p in problems):
            raise SmplifyError("the photos' fits use different numbers of shape coefficients")
        others = {k: w for k, w in stage.weights.items() if k not in SHARED_TERMS}
        self.stages = [stage] + [StageConfig(others)] * (len(problems) - 1)
        B = self.num_betas
        self.columns = []  # per photo: where its x (72 + B + 3) sits in the joint x
        for v in range(len(problems)):
            pose = B + 75 * v + np.arange(72)
            self.columns.append(np.r_[pose, np.arange(B), pose[-1] + 1 + np.arange(3)])
        self.n = B + 75 * len(problems)

    def start(self, single: Sequence[FitResult]) -> np.ndarray:
        """The single fits' poses and translations, their mean β."""
        x = np.zeros(self.n)
        x[: self.num_betas] = np.mean([s.betas for s in single], axis=0)
        for cols, s in zip(self.columns, single):
            x[cols[:72]], x[cols[-3:]] = s.pose, s.transl
        return x

    def view_x(self, x: np.ndarray, v: int) -> np.ndarray:
        """Photo v's own parameters [θ_v, β, γ_v] (72 + B + 3,)."""
        return x[self.columns[v]]

    def hold_outlines(self, x: np.ndarray) -> None:
        """Hold each photo's outline correspondences chosen at x (``outline_rounds.py``)."""
        for v, problem in enumerate(self.problems):
            problem.hold_outline(self.view_x(x, v))

    def release_outlines(self) -> None:
        for problem in self.problems:
            problem.release_outline()

    def normal_equations(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Σ_v of each photo's cost, gradient and Gauss-Newton matrix, at its columns."""
        cost, g, H = 0.0, np.zeros(self.n), np.zeros((self.n, self.n))
        for v, problem in enumerate(self.problems):
            obj, cols = problem.objective, self.columns[v]
            c, gv, Hv = obj.normal_equations(self.view_x(x, v), np.arange(obj.n), self.stages[v])
            cost += c
            g[cols] += gv
            H[np.ix_(cols, cols)] += Hv
        return cost, g, H

    def solve(self, H: np.ndarray, b: np.ndarray) -> np.ndarray:
        """x with H x = b, eliminating each photo's own block (75, 75) onto β's (B, B):

        S = Hββ − Σ_v Hβv Hvv⁻¹ Hvβ,   S xβ = bβ − Σ_v Hβv Hvv⁻¹ b_v,
        x_v = Hvv⁻¹ (b_v − Hvβ xβ).
        """
        B = self.num_betas
        S, rhs = H[:B, :B].copy(), b[:B].copy()
        eliminated = []
        for v in range(len(self.problems)):
            own = slice(B + 75 * v, B + 75 * (v + 1))
            coupling = H[own, :B]
            # Hvv⁻¹ [Hvβ, b_v] in one solve
            solved = np.linalg.solve(H[own, own], np.column_stack([coupling, b[own]]))
            S -= coupling.T @ solved[:, :B]
            rhs -= coupling.T @ solved[:, B]
            eliminated.append((own, solved))
        x = np.empty_like(b)
        x[:B] = np.linalg.solve(S, rhs)
        for own, solved in eliminated:
            x[own] = solved[:, B] - solved[:, :B] @ x[:B]
        return x

    def results(self, res: DoglegResult, single: Sequence[FitResult]) -> tuple[FitResult, ...]:
        """One FitResult per photo at the joint solution (energies of its own terms)."""
        out = []
        for v, (problem, s) in enumerate(zip(self.problems, single)):
            xv = self.view_x(res.x, v)
            pose, betas, transl = problem.objective.split(xv)
            joints, _ = problem.setup.kin.evaluate(pose, betas, transl, jacobian=False)
            status = res.status
            if status not in (Status.CANCELLED, Status.MAX_ITERATIONS):
                status = Status.CONVERGED
            out.append(
                replace(
                    s,
                    betas=betas.copy(),
                    pose=pose.copy(),
                    transl=transl.copy(),
                    joints_3d=joints[:24].copy(),
                    energy=problem.objective.energies(xv, self.stages[v]),
                    iterations=s.iterations + res.iterations,
                    status=status,
                )
            )
        return tuple(out)
