"""The SMPLify objective as named, weighted least-squares residual blocks with analytic Jacobians.

    E = E_J + λθ² Eθ + λa² Ea + λl² E_lim + λβ² Eβ + λsp² Esp       (Bogo et al. 2016, Eq. 1)
      + λw² E_w   (bone directions of BlazePose's world landmarks, when given: world_landmarks.py)
      + λs² E_s   (the person mask, when given, in a last refining stage: silhouette.py)
      + λh² E_h + λg² E_g   (a known stature and girths, when given: known_measurements.py)

with every term a sum of squares ‖λ r‖² of one :class:`ResidualBlock` (see ``priors.py``); a
stage of the fit says which blocks count and with what λ (a :class:`StageConfig`). The joint
term is Geman-McClure on the reprojection error e_i (2,) of each keypoint, in *normalised
pixels* (pixels of the image rescaled so the person is ``REFERENCE_HEIGHT_PX`` tall, which makes
the weights independent of image resolution and of how large the person appears):

    ρ(e) = σ² ‖e‖² / (σ² + ‖e‖²),    r_i = √(w_i c_i) · σ / √(σ² + ‖e_i‖²) · e_i,

so that ‖r_i‖² = w_i c_i ρ(e_i) exactly and r_i is smooth at e_i = 0 (w_i: layout weight,
c_i: confidence). Its Jacobian is √(w_i c_i) σ (σ² + ‖e‖²)^(−1/2) (I − e eᵀ / (σ² + ‖e‖²)) de/dx.

Parameters x = [pose (72), betas (B), transl (3)], the column order of the kinematics' Jacobian.
The solver consumes the normal equations (cost ‖r‖², g = Jᵀr, H = JᵀJ); the pose prior adds its
Gauss-Newton block ½ λθ² L Lᵀ directly, which avoids forming its 70 × 69 Jacobian products.

A new term is a :class:`ResidualBlock` subclass (a ``name`` and ``residuals``) added to the
blocks of an :class:`Objective`, with its λ in each stage's ``StageConfig.weights``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .camera import project_with_jacobian
from .kinematics import PointKinematics
from .priors import PosePrior, SphereBody, angle_prior, joint_limits

#: Person height (px) that normalised pixels refer to.
REFERENCE_HEIGHT_PX = 1000.0
#: Names of the blocks of :func:`smplify_objective`, in their order.
TERMS = (
    "joints",
    "pose_prior",
    "angle_prior",
    "joint_limits",
    "shape_prior",
    "interpenetration",
    "camera_depth",
    "world",
    "silhouette",
    "height",
    "girths",
)


@dataclass(frozen=True)
class StageConfig:
    """What one stage of the fit asks of the objective.

    Attributes
    ----------
    weights : λ per block name (residual multiplier; the energy is λ² ‖r‖²); a block that is
        missing or has λ ≤ 0 is left out of the stage.
    keypoint_mask : (K,) 1 for the keypoints the joint term uses in this stage, 0 for the
        others; None for all.
    """

    weights: Mapping[str, float]
    keypoint_mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        if self.keypoint_mask is not None:
            mask = np.array(self.keypoint_mask, dtype=np.float64)
            mask.flags.writeable = False
            object.__setattr__(self, "keypoint_mask", mask)

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, 0.0))


@dataclass(frozen=True)
class SmplifyWeights:
    """Weights of the objective, per stage where annealed (residual multipliers λ; energy λ²).

    SMPLify anneals the pose prior 404 → 404 → 57.4 → 4.78 and the shape prior
    100 → 50 → 10 → 5, with the angle prior at 0.317 × the pose weight. We keep the idea (strong
    prior first, then let the data speak) and the angle ratio, but not the numbers: in our
    normalised pixels an 85× range makes the first stages ignore the keypoints altogether. The
    values below were chosen on ``benchmarks/fit_synthetic.py`` with motions of the prior's
    *training* trials (3 px noise, 10 % dropped; median PA-MPJPE, first prior): final λθ
    25 → 12 and λβ 3 → 8 took it from 44 to 36 mm, and a 10× (not 85×) annealing range lowered
    the 90th percentile. With the retrained prior λθ 12 still beat 7 and 20.

    Attributes
    ----------
    sigma : Geman-McClure scale, normalised pixels (SMPLify: 100 px).
    min_confidence : keypoints less confident than this are left out of the joint term
        (``fit_setup.checked_keypoints``; unless fewer than four would be left). Off (0) by
        default: on the rendered benchmark 0.5 beat 0, 0.3, 0.7, 0.8 and a confidence power of
        2 or 4 on the tuning half of ``benchmarks/studies/lifter_confidence.py`` (the
        detector's limb points below 0.6 are off by 10-18 % of the body's height), but the
        report half did not confirm it (docs/fit_data_term.md, "The data term against the
        detector's errors").
    pose_prior, shape_prior : (4,) λθ, λβ per stage.
    angle_ratio : λa / λθ.
    joint_limits : λl, per radian outside the box.
    interpenetration : λsp, per metre of sphere overlap.
    camera_depth : weight of keeping the depth of the similar-triangles guess in the camera stage
        (per metre).
    world, world_sigma : λw of the bone directions of BlazePose's world landmarks
        (``world_landmarks.WorldLandmarkBlock``; present only when the fit is given them) in the
        annealed stages, and its Geman-McClure scale (chord of the angle). Chosen with
        ``benchmarks/studies/world_landmarks.py --split train`` (simulated landmarks, 6 cm
        error, 5 % of limbs flipped): λw 50, 70 and 100 all beat none; 100 with σ 0.7-1.0 had
        the lowest 90th percentile of PA-MPJPE (43 vs 72 mm) and fewest limbs backwards
        (2.3-2.6 vs 7.5 %); 200 was worse again on held-out cases. With the lifter's points
        (what the pipeline gives) and the depth search, λw 70 beat 100 and 50 on the tuning
        half of the rendered benchmark (``benchmarks/studies/lifter_confidence.py``; from the
        detector 61 → 59 mm PA-MPJPE median, 12.8 → 11.8 % limbs backwards) and lowered the
        medians and p90s on the report half too (docs/fit_data_term.md, "The data term against the
        detector's errors").
    silhouette : λs of the person mask (``silhouette.SilhouetteBlock``; present only when the
        fit is given a mask), in its own stage after the last annealed one
        (``silhouette_stage``): while the pose is still settling, 10⁵ of joint energy away from
        the keypoints, the outline's pull turns limbs into wrong basins.
    silhouette_shape_prior : λβ in that stage (None: the last annealed stage's).
    height, girths : λh, λg per metre of a known stature's and girth's residual
        (``known_measurements.py``; present only when given), in the annealed stages. At
        λh = 10⁴ a 1 mm error costs as much as a keypoint 10 normalised px off: the stature
        lands within 0.1 mm of the given one, which the keypoints cannot dispute (size and depth
        trade freely in one view). Girths are a linearisation of plane cuts, hence softer.
    """

    sigma: float = 100.0
    min_confidence: float = 0.0
    pose_prior: tuple[float, ...] = (100.0, 60.0, 40.0, 12.0)
    shape_prior: tuple[float, ...] = (20.0, 12.0, 10.0, 8.0)
    angle_ratio: float = 0.317
    joint_limits: float = 300.0
    interpenetration: float = 1000.0
    camera_depth: float = 50.0
    world: float = 70.0
    world_sigma: float = 0.7
    silhouette: float = 4.0
    silhouette_shape_prior: float | None = None
    height: float = 1e4
    girths: float = 3e3

    def stage(self, k: int) -> dict[str, float]:
        """Scalar prior weights of stage k (0-based over the annealed stages)."""
        return {
            "pose_prior": self.pose_prior[k],
            "shape_prior": self.shape_prior[k],
            "angle_prior": self.angle_ratio * self.pose_prior[k],
            "joint_limits": self.joint_limits,
            "interpenetration": self.interpenetration,
            "world": self.world,
            "height": self.height,
            "girths": self.girths,
        }

    def camera_stage(self, keypoint_mask: np.ndarray | None) -> StageConfig:
        """The camera stage: the joint term on ``keypoint_mask`` and the depth guess."""
        return StageConfig({"joints": 1.0, "camera_depth": self.camera_depth}, keypoint_mask)

    def pose_stage(self, k: int) -> StageConfig:
        """Annealed stage k (0-3): the joint term on every keypoint and the priors."""
        return StageConfig({"joints": 1.0, **self.stage(k)})

    def silhouette_stage(self) -> StageConfig:
        """The last annealed stage's weights with the person mask's term."""
        weights = {"joints": 1.0, **self.stage(3), "silhouette": self.silhouette}
        if self.silhouette_shape_prior is not None:
            weights["shape_prior"] = self.silhouette_shape_prior
        return StageConfig(weights)


@dataclass(frozen=True)
class BodyState:
    """The parameters x (n,) split, and the posed points every block reads.

    points : (P, 3) joints then attached points, camera frame; points_jac : (P, 3, n) or None.
    """

    x: np.ndarray
    pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    points: np.ndarray
    points_jac: np.ndarray | None
    beta_cols: slice


class ResidualBlock:
    """One named term ‖λ r(x)‖² of the objective; λ comes from the stage (``StageConfig``).

    A subclass sets ``name`` and implements :meth:`residuals`; it may override
    :meth:`add_normal_equations` when it can add λ² JᵀJ more cheaply than by forming J.
    """

    name: str = ""

    def residuals(
        self, state: BodyState, stage: StageConfig, *, jacobian: bool, compact: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Unweighted residuals r (m,) and, with ``jacobian``, dr/dx (m, n).

        With ``compact`` a block may leave out rows that are zero with a zero gradient (an
        inactive hinge); without it the size must not depend on x (finite differences).
        """
        raise NotImplementedError

    def add_normal_equations(
        self, state: BodyState, stage: StageConfig, weight: float, g: np.ndarray, H: np.ndarray
    ) -> float:
        """Add λ Jᵀ(λ r) to g (n,) and λ² JᵀJ to H (n, n); return the energy ‖λ r‖²."""
        r, J = self.residuals(state, stage, jacobian=True, compact=True)
        if r.size == 0:
            return 0.0
        r, J = weight * r, weight * J
        g += J.T @ r
        _add_gram(H, J)
        return float(r @ r)


class Objective:
    """Residual blocks of one fit problem over the parameters of ``kinematics``.

    It holds no per-stage state: every evaluation takes the stage's ``StageConfig``.

    Parameters
    ----------
    kinematics : posed points (joints then attached points) and their Jacobian.
    blocks : the terms, in the order their energies are summed.
    """

    def __init__(self, *, kinematics: PointKinematics, blocks: Sequence[ResidualBlock]) -> None:
        self.kinematics = kinematics
        self.blocks: tuple[ResidualBlock, ...] = tuple(blocks)

    @property
    def num_betas(self) -> int:
        return self.kinematics.num_betas

    @property
    def n(self) -> int:
        """Number of parameters, 72 + B + 3."""
        return self.kinematics.num_params

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """pose (72,), betas (B,), transl (3,) of x (n,)."""
        return x[:72], x[72 : 72 + self.num_betas], x[72 + self.num_betas :]

    def state(self, x: np.ndarray, jacobian: bool = True) -> BodyState:
        pose, betas, transl = self.split(x)
        pts, pjac = self.kinematics.evaluate(pose, betas, transl, jacobian=jacobian)
        cols = slice(72, 72 + self.num_betas)
        return BodyState(x, pose, betas, transl, pts, pjac, cols)

    def _active(self, stage: StageConfig):
        for block in self.blocks:
            weight = stage.weight(block.name)
            if weight > 0:
                yield block, weight

    def weighted_blocks(
        self, x: np.ndarray, stage: StageConfig, *, jacobian: bool = True, compact: bool = True
    ) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
        """[(name, λ r (m,), λ J (m, n) or None)] of the blocks active in ``stage``."""
        state = self.state(x, jacobian)
        out = []
        for block, weight in self._active(stage):
            r, J = block.residuals(state, stage, jacobian=jacobian, compact=compact)
            out.append((block.name, weight * r, None if J is None else weight * J))
        return out

    def residuals(self, x: np.ndarray, stage: StageConfig) -> np.ndarray:
        """All weighted residuals, fixed size (for finite differences)."""
        blocks = self.weighted_blocks(x, stage, jacobian=False, compact=False)
        return np.concatenate([r for _, r, _ in blocks])

    def energies(self, x: np.ndarray, stage: StageConfig) -> dict[str, float]:
        """Energy ‖λ r‖² per active block."""
        out: dict[str, float] = {}
        for name, r, _ in self.weighted_blocks(x, stage, jacobian=False):
            out[name] = out.get(name, 0.0) + float(r @ r)
        return out

    def normal_equations(
        self, x: np.ndarray, free: np.ndarray, stage: StageConfig
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Cost ‖r‖², gradient half g = Jᵀr (f,) and Gauss-Newton matrix H = JᵀJ (f, f).

        Only the columns ``free`` (f,) enter g and H.
        """
        state = self.state(x, jacobian=True)
        cost = 0.0
        g = np.zeros(self.n)
        H = np.zeros((self.n, self.n))
        for block, weight in self._active(stage):
            cost += block.add_normal_equations(state, stage, weight, g, H)
        if len(free) == self.n:
            return cost, g, H
        return cost, g[free], H[np.ix_(free, free)]


# ---------------------------------------------------------------------------------- the blocks
class KeypointBlock(ResidualBlock):
    """The joint term E_J: Geman-McClure reprojection error of the 2D keypoints.

    Parameters
    ----------
    point_index : (K,) which kinematics point each keypoint is.
    target : (K, 2) keypoints in pixels; confidence : (K,) c_i · w_i (0: unused).
    focal : pixels; centre : (2,) principal point; scale : normalised px per px.
    sigma : Geman-McClure scale, normalised px.
    """

    name = "joints"

    def __init__(self, *, point_index, target, confidence, focal, centre, scale, sigma) -> None:
        self.point_index = np.asarray(point_index, dtype=int)
        self.target = np.asarray(target, dtype=np.float64)
        self.confidence = np.asarray(confidence, dtype=np.float64)
        self.focal, self.centre, self.scale = float(focal), np.asarray(centre), float(scale)
        self.sigma = float(sigma)

    def residuals(self, state, stage, *, jacobian, compact):
        use = self.confidence
        if stage.keypoint_mask is not None:
            use = use * stage.keypoint_mask
        uv, duv = project_with_jacobian(state.points[self.point_index], self.focal, self.centre)
        e = self.scale * (uv - self.target)
        # √(σ² + ‖e‖²) by hypot: σ² + eᵀe overflows for a keypoint ~1e154 px off (then J is NaN)
        root = np.hypot(self.sigma, np.hypot(e[:, 0], e[:, 1]))
        a = np.sqrt(use) * self.sigma / root
        r = (a[:, None] * e).reshape(-1)
        if not jacobian:
            return r, None
        # de/dx = scale · duv/dP · dP/dx ; dr/de = a (I − e eᵀ / (σ² + ‖e‖²)) = a (I − ê êᵀ)
        # with ê = e / root; J[k] = a_k (I − ê êᵀ) · scale · duv[k] · dP[k], 2×3 factors first
        e_n = e / root[:, None]
        proj = np.eye(2)[None] - e_n[:, :, None] * e_n[:, None, :]
        left = (a * self.scale)[:, None, None] * (proj @ duv)  # (K, 2, 3)
        n = state.points_jac.shape[2]
        return r, (left @ state.points_jac[self.point_index]).reshape(-1, n)


class PosePriorBlock(ResidualBlock):
    """Eθ: the best Gaussian component of the pose prior (``PosePrior.residuals``)."""

    name = "pose_prior"

    def __init__(self, prior: PosePrior) -> None:
        self.prior = prior

    def residuals(self, state, stage, *, jacobian, compact):
        r, jp, _ = self.prior.residuals(state.pose[3:])
        if not jacobian:
            return r, None
        J = np.zeros((70, len(state.x)))
        J[:, 3:72] = jp
        return r, J

    def add_normal_equations(self, state, stage, weight, g, H):
        # r = λ √½ Lᵀ(θ − μ): Jᵀr = λ² ½ L Lᵀ (θ − μ) and JᵀJ = λ² ½ L Lᵀ (precomputed per
        # component)
        r, _, k = self.prior.residuals(state.pose[3:])
        r = weight * r
        w2, half = weight**2, self.prior.half_precision[k]
        g[3:72] += w2 * (half @ (state.x[3:72] - self.prior.means[k]))
        H[3:72, 3:72] += w2 * half
        return float(r @ r)


class OneColumnBlock(ResidualBlock):
    """A term whose residual i depends on the pose parameter ``columns[i]`` alone.

    ``function(pose (72,), compact) -> (residuals (m,), derivatives (m,), columns (m,))``.
    """

    def __init__(self, name: str, function) -> None:
        self.name, self.function = name, function

    def residuals(self, state, stage, *, jacobian, compact):
        r, derivatives, columns = self.function(state.pose, compact)
        if not jacobian:
            return r, None
        J = np.zeros((len(r), len(state.x)))
        J[np.arange(len(r)), columns] = derivatives
        return r, J

    def add_normal_equations(self, state, stage, weight, g, H):
        # one non-zero per row of J: Jᵀr and JᵀJ touch g and the diagonal of H at its column
        r, derivatives, columns = self.function(state.pose, True)
        r, d = weight * r, weight * derivatives
        np.add.at(g, columns, d * r)
        np.add.at(H, (columns, columns), d * d)
        return float(r @ r)


class ShapePriorBlock(ResidualBlock):
    """Eβ: r = β (β standardised, Σ_β = I)."""

    name = "shape_prior"

    def residuals(self, state, stage, *, jacobian, compact):
        if not jacobian:
            return state.betas, None
        J = np.zeros((len(state.betas), len(state.x)))
        J[:, state.beta_cols] = np.eye(len(state.betas))
        return state.betas, J

    def add_normal_equations(self, state, stage, weight, g, H):
        # J = [0 I 0] on the β columns: Jᵀr = λ² β there, JᵀJ adds λ² to their diagonal
        r = weight * state.betas
        cols = np.arange(H.shape[0])[state.beta_cols]
        g[cols] += weight * r
        H[cols, cols] += weight * weight
        return float(r @ r)


class InterpenetrationBlock(ResidualBlock):
    """Esp: overlap of the spheres of non-adjacent body parts (``SphereBody.residuals``)."""

    name = "interpenetration"

    def __init__(self, spheres: SphereBody, num_joints: int = 24) -> None:
        self.spheres, self.num_joints = spheres, num_joints

    def residuals(self, state, stage, *, jacobian, compact):
        n_j = self.num_joints
        pjac = state.points_jac
        if pjac is None:  # the sphere term forms its rows from the Jacobian's shape
            pjac = np.zeros((n_j, 3, len(state.x)))
        r, J = self.spheres.residuals(
            state.points[:n_j], pjac[:n_j], state.betas, state.beta_cols, compact
        )
        return r, (J if jacobian else None)


class CameraDepthBlock(ResidualBlock):
    """The camera stage's pull towards the similar-triangles depth: r = t_z − depth (metres)."""

    name = "camera_depth"

    def __init__(self, depth: float) -> None:
        self.depth = float(depth)

    def residuals(self, state, stage, *, jacobian, compact):
        r = np.array([state.transl[2] - self.depth])
        if not jacobian:
            return r, None
        J = np.zeros((1, len(state.x)))
        J[0, -1] = 1.0
        return r, J


def smplify_objective(
    *,
    kinematics: PointKinematics,
    keypoints: KeypointBlock,
    pose_prior: PosePrior | None,
    spheres: SphereBody | None,
    depth: float,
    world: ResidualBlock | None = None,
    silhouette: ResidualBlock | None = None,
    known: Sequence[ResidualBlock] = (),
) -> Objective:
    """The objective of the fit: the blocks of ``TERMS`` (a term given as None is left out;
    ``world`` is a ``world_landmarks.WorldLandmarkBlock``, ``silhouette`` a
    ``silhouette.SilhouetteBlock``, ``known`` the blocks of known measurements,
    ``known_measurements.KnownHeightBlock`` and ``KnownGirthsBlock``)."""
    blocks: list[ResidualBlock] = [keypoints]
    if pose_prior is not None:
        blocks.append(PosePriorBlock(pose_prior))
    blocks += [
        OneColumnBlock("angle_prior", lambda pose, compact: angle_prior(pose)),
        OneColumnBlock("joint_limits", joint_limits),
        ShapePriorBlock(),
    ]
    if spheres is not None:
        blocks.append(InterpenetrationBlock(spheres, kinematics.num_joints))
    blocks.append(CameraDepthBlock(depth))
    if world is not None:
        blocks.append(world)
    if silhouette is not None:
        blocks.append(silhouette)
    blocks += list(known)
    return Objective(kinematics=kinematics, blocks=blocks)


def _add_gram(H: np.ndarray, J: np.ndarray, rows: int = 24) -> None:
    """H += JᵀJ in chunks of rows small enough that OpenBLAS stays on one thread.

    OpenBLAS splits a product over threads above about 2.6e5 multiply-adds; on a loaded
    2-core machine the threads wait for each other for milliseconds, 300× the work itself.
    """
    for start in range(0, J.shape[0], rows):
        Jc = J[start : start + rows]
        H += Jc.T @ Jc
