"""Priors of the SMPLify fit as least-squares residual blocks with analytic Jacobians.

Each prior returns residuals r and their Jacobian, so that its energy is ‖r‖²:

- pose prior: Gaussian mixture over the 69 body-pose numbers, made sum-of-squares by keeping
  the best component (Bogo et al. 2016, Sec. 3): E = min_j −log(c_j N(θ; μ_j, Σ_j)) − const,
  r = [√½ L_jᵀ(θ − μ_j), √(κ_j − min κ)] with precision Σ_j⁻¹ = L_j L_jᵀ;
- angle prior: exp of the bending angle of elbows and knees in the wrong direction;
- joint limits: hinge on each axis-angle component outside an anatomical box (radians);
- shape prior: r = β (β is standardised, Σ_β = I);
- interpenetration: spheres along the limbs and torso, radii that follow the shape
  (linearised in β), r = max(0, ρ_a + ρ_b − ‖c_a − c_b‖) for spheres of non-adjacent parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .joints import NUM_JOINTS, SMPL_JOINT_NAMES, J

DEFAULT_POSE_PRIOR = Path(__file__).resolve().parent.parent / "data" / "pose_prior.npz"


@dataclass(frozen=True)
class PosePrior:
    """Gaussian mixture over the body pose (69,), used in its min-component form.

    Attributes
    ----------
    means : (K, 69); chol : (K, 69, 69) lower-triangular L with precision = L Lᵀ;
    costs : (K,) κ_j = −log c_j − log normaliser_j, the constant part of −log(c_j N_j).
    weights : (K,) mixture weights c_j, or None (equal).
    """

    means: np.ndarray
    chol: np.ndarray
    costs: np.ndarray
    weights: np.ndarray | None = None

    @property
    def mean_pose(self) -> np.ndarray:
        """(69,) mixture mean Σ_j c_j μ_j, where the fit starts (as SMPLify does)."""
        if self.weights is None:
            return self.means.mean(axis=0)
        return self.weights @ self.means

    @property
    def half_precision(self) -> np.ndarray:
        """(K, 69, 69) ½ L Lᵀ per component (the Gauss-Newton block of the residuals)."""
        cached = self.__dict__.get("_half_precision")
        if cached is None:
            cached = 0.5 * self.chol @ np.swapaxes(self.chol, 1, 2)
            object.__setattr__(self, "_half_precision", cached)
        return cached

    @classmethod
    def load(cls, path: str | Path | None = None) -> PosePrior:
        """Read a prior .npz (means (K, 69), precisions_cholesky (K, 69, 69), weights (K,))."""
        path = Path(path) if path is not None else DEFAULT_POSE_PRIOR
        try:
            with np.load(path, allow_pickle=False) as data:
                means = np.asarray(data["means"], dtype=np.float64)
                chol = np.asarray(data["precisions_cholesky"], dtype=np.float64)
                weights = np.asarray(data["weights"], dtype=np.float64)
        except FileNotFoundError:
            raise ModelFileError(f"pose prior not found at {path}") from None
        except (OSError, KeyError, ValueError) as exc:
            raise ModelFileError(f"pose prior {path} is unreadable: {exc}") from None
        k = means.shape[0]
        if means.shape != (k, 69) or chol.shape != (k, 69, 69) or weights.shape != (k,):
            raise ModelFileError(f"pose prior {path} has unexpected array shapes")
        # log normaliser of N(μ, (L Lᵀ)⁻¹): Σ log diag L − (d/2) log 2π, computed from the same
        # L the residuals use (the file's own ``log_normalizers`` are not needed)
        diag = np.abs(np.diagonal(chol, axis1=1, axis2=2))
        if np.any(diag <= 0) or np.any(weights <= 0):
            raise ModelFileError(f"pose prior {path} has a singular component")
        log_norm = np.log(diag).sum(axis=1) - 0.5 * 69 * np.log(2 * np.pi)
        return cls(means, chol, -np.log(weights) - log_norm, weights / weights.sum())

    def residuals(self, body_pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Residuals (70,), Jacobian (70, 69) and the chosen component."""
        # z[k, c] = sum_d (θ − μ_k)[d] L_k[d, c]  (z = L_kᵀ (θ − μ_k))
        z = np.einsum("kd,kdc->kc", body_pose - self.means, self.chol)
        energy = 0.5 * np.einsum("kc,kc->k", z, z) + self.costs
        best = int(np.argmin(energy))
        r = np.empty(70)
        r[:69] = np.sqrt(0.5) * z[best]
        r[69] = np.sqrt(max(self.costs[best] - self.costs.min(), 0.0))
        jac = np.zeros((70, 69))
        jac[:69] = np.sqrt(0.5) * self.chol[best].T
        return r, jac, best


@lru_cache(maxsize=1)
def shipped_pose_prior() -> PosePrior:
    """The shipped prior (``DEFAULT_POSE_PRIOR``), read once per process: reading and checking
    the file took 4.6 ms, a sixteenth of a fit. Its arrays are read-only, since every caller
    shares them."""
    prior = PosePrior.load()
    for array in (prior.means, prior.chol, prior.costs, prior.weights):
        array.flags.writeable = False
    return prior


#: (joint, axis, sign): exp(sign · θ[axis]) penalises bending against the joint.
ANGLE_PRIOR_TERMS = (
    ("left_elbow", 1, 1.0),
    ("right_elbow", 1, -1.0),
    ("left_knee", 0, -1.0),
    ("right_knee", 0, -1.0),
)
_ANGLE_INDEX = np.array([3 * J[name] + axis for name, axis, _ in ANGLE_PRIOR_TERMS])
_ANGLE_SIGN = np.array([s for _, _, s in ANGLE_PRIOR_TERMS])


def angle_prior(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residuals (4,), their derivatives (4,) and the pose indices (4,) they depend on."""
    e = np.exp(_ANGLE_SIGN * pose[_ANGLE_INDEX])
    return e, _ANGLE_SIGN * e, _ANGLE_INDEX


# Anatomical boxes on the axis-angle components (x, y, z) of each joint, radians, in the SMPL
# rest frame (x: the body's left, y: up, z: forward). Wide on purpose: axis-angle components are
# not Euler angles, and the pose prior does the fine work; these stop impossible bends. Each box
# is the union of a hand-set anatomical range and the 0.5-99.5 % range (± 0.1 rad) of the
# retargeted CMU training motions (both sides, mirrored), except the ankle twist (z), where
# the retargeted data holds ±π flips; 0.6 % of training frames fall outside somewhere.
_LIMITS_LEFT = {
    "hip": ((-2.6, 0.7), (-1.0, 1.25), (-0.7, 1.4)),
    "knee": ((-0.3, 2.7), (-0.5, 0.5), (-0.4, 0.4)),
    "ankle": ((-1.5, 1.15), (-1.65, 0.9), (-1.0, 1.0)),
    "foot": ((-0.8, 1.3), (-0.4, 0.55), (-0.4, 0.4)),
    "collar": ((-0.6, 0.6), (-0.7, 0.7), (-0.65, 0.8)),
    "shoulder": ((-2.15, 1.9), (-2.3, 1.0), (-1.9, 1.8)),
    "elbow": ((-1.6, 1.6), (-2.8, 0.2), (-0.6, 1.2)),
    "wrist": ((-1.7, 2.3), (-1.45, 1.2), (-1.2, 1.25)),
    "hand": ((-0.8, 0.8), (-0.8, 0.8), (-0.8, 0.8)),
}
_LIMITS_CENTRE = {
    "spine1": ((-0.6, 1.2), (-0.8, 0.8), (-0.7, 0.7)),
    "spine2": ((-0.6, 1.0), (-0.8, 0.8), (-0.7, 0.7)),
    "spine3": ((-0.6, 1.0), (-0.8, 0.8), (-0.7, 0.7)),
    "neck": ((-0.9, 1.1), (-1.2, 1.2), (-0.8, 0.8)),
    "head": ((-0.8, 1.25), (-1.0, 1.0), (-0.7, 0.7)),
}


def _joint_limit_table() -> tuple[np.ndarray, np.ndarray]:
    lower = np.full((NUM_JOINTS, 3), -np.inf)
    upper = np.full((NUM_JOINTS, 3), np.inf)
    for name, box in _LIMITS_CENTRE.items():
        lower[J[name]], upper[J[name]] = np.array(box).T
    for part, box in _LIMITS_LEFT.items():
        lo, hi = np.array(box).T
        lower[J["left_" + part]], upper[J["left_" + part]] = lo, hi
        # mirror across the sagittal plane: x stays, y and z flip sign
        flip = np.array([1.0, -1.0, -1.0])
        mlo, mhi = lo * flip, hi * flip
        lower[J["right_" + part]] = np.minimum(mlo, mhi)
        upper[J["right_" + part]] = np.maximum(mlo, mhi)
    return lower.reshape(-1), upper.reshape(-1)


JOINT_LIMIT_LOWER, JOINT_LIMIT_UPPER = _joint_limit_table()  # (72,) each; root unbounded


def joint_limits(
    pose: np.ndarray, compact: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hinge residuals outside the boxes: values (m,), d/dpose (m,) and pose indices (m,).

    With ``compact`` only the components outside their box are returned, else all 72.
    """
    over = pose - JOINT_LIMIT_UPPER
    under = JOINT_LIMIT_LOWER - pose
    r = np.maximum(over, 0.0) + np.maximum(under, 0.0)
    sign = np.where(over > 0, 1.0, np.where(under > 0, -1.0, 0.0))
    if compact:
        idx = np.flatnonzero(r > 0)
        return r[idx], sign[idx], idx
    return r, sign, np.arange(len(r))


def within_joint_limits(pose: np.ndarray, tolerance: float = 0.0) -> bool:
    """True when every body-pose component is inside its box (within ``tolerance`` rad)."""
    pose = np.asarray(pose, dtype=np.float64).reshape(-1)
    return bool(
        np.all(pose >= JOINT_LIMIT_LOWER - tolerance)
        and np.all(pose <= JOINT_LIMIT_UPPER + tolerance)
    )


# ----------------------------------------------------------------------------------------------
# Interpenetration

#: Body parts as (name, start joint, end joint, sphere positions along the bone).
_LIMB_PARTS = (
    ("upper_arm", "shoulder", "elbow", (0.45, 0.8)),
    ("forearm", "elbow", "wrist", (0.3, 0.7)),
    ("hand", "wrist", "hand", (0.9,)),
    ("thigh", "hip", "knee", (0.35, 0.7)),
    ("shin", "knee", "ankle", (0.3, 0.7)),
    ("foot", "ankle", "foot", (0.7,)),
)
_TORSO_PARTS = (
    ("belly", "spine1", "spine2", (0.0,)),
    ("chest", "spine3", "neck", (0.0,)),
    ("head", "head", "head", (0.0,)),
)
_ARM = ("upper_arm", "forearm", "hand")  # the parts of either arm
_LEGS = ("thigh", "shin", "foot")


def _part_list():
    parts = []
    for side in ("left", "right"):
        for name, a, b, ts in _LIMB_PARTS:
            parts.append((f"{side}_{name}", J[f"{side}_{a}"], J[f"{side}_{b}"], ts))
    for name, a, b, ts in _TORSO_PARTS:
        parts.append((name, J[a], J[b], ts))
    return parts


def _part_pairs(names: list[str]) -> list[tuple[str, str]]:
    """Pairs of parts that must not overlap: arms vs torso/head/legs/other arm, leg vs leg."""
    pairs = set()
    for side, other in (("left", "right"), ("right", "left")):
        arm = [f"{side}_{p}" for p in _ARM]
        for a in arm:
            for b in ("belly", "chest") + tuple(f"{s}_{p}" for s in (side, other) for p in _LEGS):
                pairs.add(tuple(sorted((a, b))))
            for b in (f"{other}_{p}" for p in _ARM):
                pairs.add(tuple(sorted((a, b))))
        for a in (f"{side}_forearm", f"{side}_hand"):
            pairs.add(tuple(sorted((a, "head"))))
        for a in (f"{side}_{p}" for p in _LEGS):
            for b in (f"{other}_{p}" for p in _LEGS):
                pairs.add(tuple(sorted((a, b))))
        for a in (f"{side}_shin", f"{side}_foot"):
            pairs.add(tuple(sorted((a, "belly"))))
    for side in ("left", "right"):  # an upper arm touches the chest at the shoulder
        pairs.discard(("chest", f"{side}_upper_arm"))
    return sorted(p for p in pairs if p[0] in names and p[1] in names)


class SphereBody:
    """Spheres on the body's bones whose radii follow the shape, for the interpenetration term.

    Attributes
    ----------
    a, b : (S,) joints whose segment carries each sphere; t : (S,) position along it.
    radius0 : (S,) radius at β = 0; radius_dirs : (S, B) change per unit β.
    pairs : (P, 2) sphere index pairs checked for overlap.
    """

    def __init__(self, model, num_betas: int, shrink: float = 0.8) -> None:
        parts = _part_list()
        names = [p[0] for p in parts]
        v_template = np.asarray(model.v_template, dtype=np.float64)
        shapedirs = np.asarray(model.shapedirs, dtype=np.float64)[:, :, :num_betas]
        J_regressor = np.asarray(model.J_regressor, dtype=np.float64)
        owner = np.argmax(np.asarray(model.lbs_weights), axis=1)
        part_radius = np.zeros((len(parts), 1 + num_betas))
        for b in range(-1, num_betas):  # b = −1: β = 0; then a finite step along each β
            step = 0.5
            verts = v_template if b < 0 else v_template + step * shapedirs[:, :, b]
            joints = J_regressor @ verts
            for k, (_, a, e, _) in enumerate(parts):
                part_radius[k, b + 1] = _segment_radius(verts[owner == a], joints[a], joints[e])
        radius0 = shrink * part_radius[:, 0]
        dirs = shrink * (part_radius[:, 1:] - part_radius[:, :1]) / 0.5
        self.a, self.b, self.t, self.part, rad, rdirs = [], [], [], [], [], []
        for k, (_, a, e, ts) in enumerate(parts):
            for t in ts:
                self.a.append(a), self.b.append(e), self.t.append(t), self.part.append(k)
                rad.append(radius0[k]), rdirs.append(dirs[k])
        self.a, self.b, self.t = np.array(self.a), np.array(self.b), np.array(self.t)
        self.part = np.array(self.part)
        self.radius0 = np.array(rad)
        self.radius_dirs = np.array(rdirs).reshape(len(rad), num_betas)  # (S, 0) when B = 0
        pair_parts = {(names.index(x), names.index(y)) for x, y in _part_pairs(names)}
        s = np.arange(len(self.a))
        ii, jj = np.meshgrid(s, s, indexing="ij")
        keep = np.array(
            [(self.part[i], self.part[j]) in pair_parts for i, j in zip(ii.ravel(), jj.ravel())]
        )
        self.pairs = np.stack([ii.ravel()[keep], jj.ravel()[keep]], axis=1)

    def residuals(
        self,
        joints: np.ndarray,
        joints_jac: np.ndarray,
        betas: np.ndarray,
        beta_cols: slice,
        compact: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Overlap depths (P,) in metres and their Jacobian (P, n).

        joints : (24, 3) posed joints; joints_jac : (24, 3, n). With ``compact`` only the
        overlapping pairs are returned (the others have zero residual and zero gradient).
        """
        t = self.t[:, None]
        centres = (1 - t) * joints[self.a] + t * joints[self.b]
        radii = self.radius0 + self.radius_dirs @ betas
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        d_vec = centres[i] - centres[j]
        dist = np.sqrt(np.einsum("px,px->p", d_vec, d_vec))
        overlap = radii[i] + radii[j] - dist
        active = np.flatnonzero(overlap > 0)
        n = joints_jac.shape[2]
        rows = active if compact else np.arange(len(overlap))
        r = np.maximum(overlap[rows], 0.0)
        jac = np.zeros((len(rows), n))
        if len(active):
            ai, aj = i[active], j[active]

            def centre_jac(k):  # (P, 3, n) d centre / d params of spheres k
                tt = self.t[k][:, None, None]
                return (1 - tt) * joints_jac[self.a[k]] + tt * joints_jac[self.b[k]]

            unit = d_vec[active] / np.maximum(dist[active], 1e-9)[:, None]
            jrow = -np.einsum("px,pxn->pn", unit, centre_jac(ai) - centre_jac(aj))
            jrow[:, beta_cols] += self.radius_dirs[ai] + self.radius_dirs[aj]
            if compact:
                jac[:] = jrow
            else:
                jac[active] = jrow
        return r, jac


def _segment_radius(verts: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Median distance (m) of vertices from the segment a-b (a point when a == b)."""
    if len(verts) == 0:
        return 0.05
    ab = b - a
    length2 = float(ab @ ab)
    if length2 < 1e-12:
        return float(np.median(np.linalg.norm(verts - a, axis=1)))
    s = np.clip((verts - a) @ ab / length2, 0.0, 1.0)
    return float(np.median(np.linalg.norm(verts - (a + s[:, None] * ab), axis=1)))


__all__ = [
    "JOINT_LIMIT_LOWER",
    "JOINT_LIMIT_UPPER",
    "SMPL_JOINT_NAMES",
    "PosePrior",
    "SphereBody",
    "angle_prior",
    "joint_limits",
    "within_joint_limits",
]
