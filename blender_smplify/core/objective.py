"""The SMPLify objective as stacked least-squares residual blocks with analytic Jacobians.

    E = E_J + λθ² Eθ + λa² Ea + λl² E_lim + λβ² Eβ + λsp² Esp       (Bogo et al. 2016, Eq. 1)

with every term a sum of squares ‖r‖² of a residual block (see ``priors.py``). The joint term
is Geman-McClure on the reprojection error e_i (2,) of each keypoint, in *normalised pixels*
(pixels of the image rescaled so the person is ``REFERENCE_HEIGHT_PX`` tall, which makes the
weights independent of image resolution and of how large the person appears):

    ρ(e) = σ² ‖e‖² / (σ² + ‖e‖²),    r_i = √(w_i c_i) · σ / √(σ² + ‖e_i‖²) · e_i,

so that ‖r_i‖² = w_i c_i ρ(e_i) exactly and r_i is smooth at e_i = 0 (w_i: layout weight,
c_i: confidence). Its Jacobian is √(w_i c_i) σ (σ² + ‖e‖²)^(−1/2) (I − e eᵀ / (σ² + ‖e‖²)) de/dx.

Parameters x = [pose (72), betas (B), transl (3)], the column order of the kinematics' Jacobian.
The solver consumes the normal equations (cost ‖r‖², g = Jᵀr, H = JᵀJ); the pose prior adds its
Gauss-Newton block ½ λθ² L Lᵀ directly, which avoids forming its 70 × 69 Jacobian products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import project_with_jacobian
from .kinematics import PointKinematics
from .priors import PosePrior, SphereBody, angle_prior, joint_limits

#: Person height (px) that normalised pixels refer to.
REFERENCE_HEIGHT_PX = 1000.0


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
    pose_prior, shape_prior : (4,) λθ, λβ per stage.
    angle_ratio : λa / λθ.
    joint_limits : λl, per radian outside the box.
    interpenetration : λsp, per metre of sphere overlap.
    camera_depth : weight of keeping the depth of the similar-triangles guess in the camera stage
        (per metre).
    """

    sigma: float = 100.0
    pose_prior: tuple[float, ...] = (100.0, 60.0, 40.0, 12.0)
    shape_prior: tuple[float, ...] = (20.0, 12.0, 10.0, 8.0)
    angle_ratio: float = 0.317
    joint_limits: float = 300.0
    interpenetration: float = 1000.0
    camera_depth: float = 50.0

    def stage(self, k: int) -> dict[str, float]:
        """Scalar weights of stage k (0-based over the annealed stages)."""
        return {"pose_prior": self.pose_prior[k], "shape_prior": self.shape_prior[k],
                "angle_prior": self.angle_ratio * self.pose_prior[k],
                "joint_limits": self.joint_limits, "interpenetration": self.interpenetration}  # fmt: skip


TERMS = ("joints", "pose_prior", "angle_prior", "joint_limits", "shape_prior",
         "interpenetration", "camera_depth")  # fmt: skip


class Objective:
    """Residual blocks of one fit problem.

    Parameters
    ----------
    kinematics : points (joints then attached points) and their Jacobian.
    point_index : (K,) which kinematics point each keypoint is.
    target : (K, 2) keypoints in pixels; confidence : (K,) c_i · w_i (0: unused).
    focal : pixels; centre : (2,) principal point; scale : normalised px per px.
    pose_prior, spheres : priors (None switches the term off).
    """

    def __init__(
        self,
        kinematics: PointKinematics,
        point_index: np.ndarray,
        target: np.ndarray,
        confidence: np.ndarray,
        focal: float,
        centre: np.ndarray,
        scale: float,
        pose_prior: PosePrior | None,
        spheres: SphereBody | None,
        sigma: float = 100.0,
    ) -> None:
        self.kin = kinematics
        self.point_index = np.asarray(point_index, dtype=int)
        self.target = np.asarray(target, dtype=np.float64)
        self.confidence = np.asarray(confidence, dtype=np.float64)
        self.focal, self.centre, self.scale = float(focal), np.asarray(centre), float(scale)
        self.pose_prior, self.spheres, self.sigma = pose_prior, spheres, float(sigma)
        self.num_betas = kinematics.num_betas
        self.n = kinematics.num_params
        self.beta_cols = slice(72, 72 + self.num_betas)
        self.weights: dict[str, float] = {t: 0.0 for t in TERMS}
        self.weights["joints"] = 1.0
        self.depth_target = 0.0
        self.data_mask = np.ones(len(self.point_index))

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return x[:72], x[72 : 72 + self.num_betas], x[72 + self.num_betas :]

    # ------------------------------------------------------------------ residual blocks
    def _one_column_block(
        self, name: str, w: dict, residuals: np.ndarray, derivatives: np.ndarray,
        columns: np.ndarray, jac: bool,
    ) -> tuple[str, np.ndarray, np.ndarray | None]:
        """A weighted term whose residual i depends on parameter ``columns[i]`` alone."""
        J = None
        if jac:
            J = np.zeros((len(residuals), self.n))
            J[np.arange(len(residuals)), columns] = w[name] * derivatives
        return name, w[name] * residuals, J

    def blocks(
        self, x: np.ndarray, jac: bool = True, compact: bool = True, prior_jacobian: bool = True
    ) -> list:
        """Residual blocks [(term, r (m,), J (m, n) or None)], weights applied.

        With ``compact`` the hinge terms return only their active rows; otherwise every block
        has a fixed size (for finite differences). Without ``prior_jacobian`` the pose prior's
        Jacobian is left out (None): ``normal_equations`` adds its product directly.
        """
        pose, betas, transl = self.split(x)
        pts, pjac = self.kin.evaluate(pose, betas, transl, jacobian=True)
        out = []
        w = self.weights
        # 1. joints: robust reprojection
        use = self.confidence * self.data_mask
        kp = pts[self.point_index]
        uv, duv = project_with_jacobian(kp, self.focal, self.centre)
        e = self.scale * (uv - self.target)
        # √(σ² + ‖e‖²) by hypot: σ² + eᵀe overflows for a keypoint ~1e154 px off (then J is NaN)
        root = np.hypot(self.sigma, np.hypot(e[:, 0], e[:, 1]))
        a = np.sqrt(w["joints"] * use) * self.sigma / root
        r = (a[:, None] * e).reshape(-1)
        J = None
        if jac:
            # de/dx = scale · duv/dP · dP/dx ; dr/de = a (I − e eᵀ / (σ² + ‖e‖²)) = a (I − ê êᵀ)
            # with ê = e / root; J[k] = a_k (I − ê êᵀ) · scale · duv[k] · dP[k], 2×3 factors first
            e_n = e / root[:, None]
            proj = np.eye(2)[None] - e_n[:, :, None] * e_n[:, None, :]
            left = (a * self.scale)[:, None, None] * (proj @ duv)  # (K, 2, 3)
            J = (left @ pjac[self.point_index]).reshape(-1, self.n)
        out.append(("joints", r, J))
        # 2. pose prior (best Gaussian component)
        if w["pose_prior"] > 0 and self.pose_prior is not None:
            rp, jp, self._prior_best = self.pose_prior.residuals(pose[3:])
            Jp = None
            if jac and prior_jacobian:
                Jp = np.zeros((70, self.n))
                Jp[:, 3:72] = w["pose_prior"] * jp
            out.append(("pose_prior", w["pose_prior"] * rp, Jp))
        # 3. angle prior on elbows and knees
        if w["angle_prior"] > 0:
            out.append(self._one_column_block("angle_prior", w, *angle_prior(pose), jac))
        # 4. joint limits
        if w["joint_limits"] > 0:
            limits = joint_limits(pose, compact)
            out.append(self._one_column_block("joint_limits", w, *limits, jac))
        # 5. shape prior
        if w["shape_prior"] > 0:
            Jb = None
            if jac:
                Jb = np.zeros((self.num_betas, self.n))
                Jb[:, self.beta_cols] = w["shape_prior"] * np.eye(self.num_betas)
            out.append(("shape_prior", w["shape_prior"] * betas, Jb))
        # 6. interpenetration
        if w["interpenetration"] > 0 and self.spheres is not None:
            n_j = self.kin.num_joints
            rs, js = self.spheres.residuals(pts[:n_j], pjac[:n_j], betas, self.beta_cols, compact)
            out.append(("interpenetration", w["interpenetration"] * rs,
                        w["interpenetration"] * js if jac else None))  # fmt: skip
        # 7. camera stage: keep the similar-triangles depth
        if w["camera_depth"] > 0:
            Jz = None
            if jac:
                Jz = np.zeros((1, self.n))
                Jz[0, -1] = w["camera_depth"]
            out.append(("camera_depth", np.array([w["camera_depth"] * (transl[2] -
                                                  self.depth_target)]), Jz))  # fmt: skip
        return out

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """All residuals, fixed size (for finite differences)."""
        return np.concatenate([r for _, r, _ in self.blocks(x, jac=False, compact=False)])

    def energies(self, x: np.ndarray) -> dict[str, float]:
        """Energy ‖r‖² per active term."""
        out: dict[str, float] = {}
        for name, r, _ in self.blocks(x, jac=False):
            out[name] = out.get(name, 0.0) + float(r @ r)
        return out

    # ------------------------------------------------------------------ normal equations
    def normal_equations(
        self, x: np.ndarray, free: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Cost ‖r‖², gradient half g = Jᵀr (f,) and Gauss-Newton matrix H = JᵀJ (f, f).

        Only the columns ``free`` (f,) enter g and H. The pose prior's block is added from its
        precomputed ½ λθ² L Lᵀ.
        """
        cost = 0.0
        g = np.zeros(self.n)
        H = np.zeros((self.n, self.n))
        for name, r, J in self.blocks(x, jac=True, prior_jacobian=False):
            if r.size == 0:
                continue
            cost += float(r @ r)
            if J is None:  # pose prior: r = λ √½ Lᵀ(θ − μ), so Jᵀr = λ² ½ L Lᵀ (θ − μ)
                k, w2 = self._prior_best, self.weights["pose_prior"] ** 2
                half = self.pose_prior.half_precision[k]
                g[3:72] += w2 * (half @ (x[3:72] - self.pose_prior.means[k]))
                H[3:72, 3:72] += w2 * half
                continue
            g += J.T @ r
            _add_gram(H, J)
        if len(free) == self.n:
            return cost, g, H
        return cost, g[free], H[np.ix_(free, free)]


def _add_gram(H: np.ndarray, J: np.ndarray, rows: int = 24) -> None:
    """H += JᵀJ in chunks of rows small enough that OpenBLAS stays on one thread.

    OpenBLAS splits a product over threads above about 2.6e5 multiply-adds; on a loaded
    2-core machine the threads wait for each other for milliseconds, 300× the work itself.
    """
    for start in range(0, J.shape[0], rows):
        Jc = J[start : start + rows]
        H += Jc.T @ Jc
