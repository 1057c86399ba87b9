"""A fixed set of surface vertices of a body model, posed by linear blend skinning with their
normals and their Jacobian in pose, shape and translation (the silhouette term's points).

The Jacobian is ``kinematics.py``'s attached-point Jacobian (``vertex_kinematics``) summed over
each vertex's few skinning influences rather than all 24 joints, computed only for the points
a residual reads.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .kinematics import vertex_kinematics
from .rotation import cross


def farthest_points(points: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` of (N, D) points spread by farthest-point sampling (deterministic:
    from the first point)."""
    n = len(points)
    if n <= count:
        return np.arange(n)
    chosen = np.empty(count, dtype=int)
    chosen[0] = 0
    dist = np.full(n, np.inf)
    for k in range(1, count):
        dist = np.minimum(dist, np.sum((points - points[chosen[k - 1]]) ** 2, axis=1))
        chosen[k] = int(np.argmax(dist))
    return chosen


class SurfacePoints:
    """A fixed set of surface vertices, posed with their Jacobian and their normals.

    The vertices are spread over the rest mesh by farthest-point sampling (deterministic).
    Positions are linear blend skinning over each vertex's few influences,
    x_v = Σ_k w_vk (G_k (v_v + S_v β) + p_k − G_k t_k(β)), and the posed normal is
    Σ_k w_vk G_k n_v normalised (the rest normal n_v; the shape's effect on it is left out);
    the Jacobian of the points a residual reads (``jacobian``) is that of
    ``kinematics.vertex_kinematics`` summed over the few influences only.

    Parameters
    ----------
    model : BodyModel. num_betas : shape coefficients fitted. count : number of vertices.
    """

    def __init__(self, model, num_betas: int, count: int) -> None:
        self.vertices = farthest_points(model.v_template, count)
        self.count = len(self.vertices)
        self.kin = vertex_kinematics(model, self.vertices, num_betas)
        self.rest = model.v_template[self.vertices]
        self.dirs = model.shapedirs[self.vertices, :, :num_betas]  # (L, 3, B)
        self.normals = vertex_normals(model.v_template, model.faces)[self.vertices]
        weights = model.lbs_weights[self.vertices]
        k = max(int(np.count_nonzero(weights > 0, axis=1).max()), 1)
        self.influence = np.argsort(-weights, axis=1)[:, :k]  # (L, K) joints
        self.weight = np.take_along_axis(weights, self.influence, axis=1)  # (L, K)
        self.skinning = np.ascontiguousarray(weights)  # (L, 24): zero beyond the influences

    def pose(self, state) -> Posed:
        """The points at the state's parameters (with the chain their Jacobian reuses)."""
        p, G, t, Jl = self.kin.chain(state.pose, state.betas, state.transl)
        v = self.rest + self.dirs @ state.betas  # (L, 3)
        c = p - np.einsum("kab,kb->ka", G, t)  # (24, 3): p_k − G_k t_k
        # Gw[l, a, b] = Σ_k w[l, k] G[k, a, b], likewise cw: one (L, 24) @ (24, 12) product
        Gc = self.skinning @ np.concatenate([G.reshape(-1, 9), c], axis=1)
        Gw, cw = Gc[:, :9].reshape(-1, 3, 3), Gc[:, 9:]
        pts = _rotate(Gw, v) + cw
        normals = _rotate(Gw, self.normals)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        return Posed(pts, normals, p, G, t, Jl, v)

    def jacobian(self, posed: Posed, points: np.ndarray) -> np.ndarray:
        """(len(points), 3, n) d point / d [pose, betas, transl] of the points indexed (the
        three coordinates' ``row_jacobian``)."""
        m = len(points)
        rows = np.repeat(np.asarray(points, dtype=int), 3)
        return self.row_jacobian(posed, rows, np.tile(np.eye(3), (m, 1))).reshape(m, 3, -1)

    def row_jacobian(self, posed: Posed, point: np.ndarray, left: np.ndarray) -> np.ndarray:
        """(m, n) d (c_m · x_point[m]) / d [pose, betas, transl]: the Jacobian of residual
        rows that each read one point through a fixed (3,) row c_m (``left`` (m, 3)), without
        forming the points' (3, n) Jacobians.

        ``kinematics.py``'s attached-point Jacobian over each vertex's K influences only:
        ∂x/∂θ_ia = ω_ia × (Y_i − M_i p_i), Y_i = Σ_{k below or at i} w_k (p_k + G_k (v − t_k)),
        M_i = Σ_{k below or at i} w_k; ∂x/∂β = Σ_k w_k (∂p_k/∂β + G_k (S_v − T_k)). A row
        reads c · (ω_ia × rel_i) = ω_ia · (rel_i × c)."""
        k = self.kin
        n, b = k.num_joints, k.num_betas
        p, G, t = posed.p, posed.G, posed.t
        needed, which = np.unique(point, return_inverse=True)
        joint, w = self.influence[needed], self.weight[needed]  # (q, K)
        y = p[joint] + _rotate(G[joint], posed.v[needed][:, None] - t[joint])  # (q, K, 3)
        below = k.anc_self[:, joint] * w[None]  # (24, q, K): w_k where joint i is at/above k
        rel = below.transpose(1, 0, 2) @ y - below.sum(axis=2).T[:, :, None] * p[None]
        Gpar = G[k._par]
        Gpar[0] = np.eye(3)
        omega = Gpar @ posed.Jl  # omega[i, :, a] = ω_ia
        # J[m, i, a] = Σ_x (rel[i] × c_m)_x ω[i, x, a]: one (m, 3) @ (3, 3) product per joint
        turned = cross(rel[which], left[:, None, :]).transpose(1, 0, 2)  # (24, m, 3)
        jac = np.empty((len(point), k.num_params))
        jac[:, : 3 * n] = (turned @ omega).transpose(1, 0, 2).reshape(len(point), 3 * n)
        E = (Gpar @ k._dirs_rel).reshape(n, -1)  # joint offsets' change per β, posed
        dp_db = (k.anc_self.T @ E).reshape(n, 3, b) - G @ k.joint_dirs  # ∂p_k/∂β − G_k T_k
        skin = self.skinning[needed]  # (q, 24)
        db = (skin @ dp_db.reshape(n, -1)).reshape(-1, 3, b)
        db += (skin @ G.reshape(n, 9)).reshape(-1, 3, 3) @ self.dirs[needed]
        jac[:, 3 * n : 3 * n + b] = (left[:, None, :] @ db[which])[:, 0]
        jac[:, 3 * n + b :] = w.sum(axis=1)[which, None] * left
        return jac


def _rotate(M: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(..., 3) M v of (..., 3, 3) matrices and (..., 3) vectors."""
    return M[..., 0] * v[..., None, 0] + M[..., 1] * v[..., None, 1] + M[..., 2] * v[..., None, 2]


@dataclass(frozen=True)
class Posed:
    """SurfacePoints at one parameter vector: points (L, 3), unit normals (L, 3), and the
    kinematic chain (joints p (24, 3), rotations G (24, 3, 3), rest joints t (24, 3), left
    Jacobians Jl (24, 3, 3)) and shaped rest points v (L, 3) their Jacobian reuses."""

    points: np.ndarray
    normals: np.ndarray
    p: np.ndarray
    G: np.ndarray
    t: np.ndarray
    Jl: np.ndarray
    v: np.ndarray


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals of a triangle mesh (V, 3), (F, 3)."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # length = 2 × area
    out = np.zeros_like(vertices)
    for c in range(3):
        np.add.at(out, faces[:, c], face_n)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


_SURFACE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def surface_points(model, num_betas: int, count: int) -> SurfacePoints:
    """The cached SurfacePoints of a model (a new one when it cannot be weakly referenced)."""
    try:
        per_model = _SURFACE_CACHE.setdefault(model, {})
    except TypeError:
        per_model = {}
    key = (num_betas, count)
    if key not in per_model:
        per_model[key] = SurfacePoints(model, num_betas, count)
    return per_model[key]
