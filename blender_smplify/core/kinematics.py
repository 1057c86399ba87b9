"""Posed joints and attached surface points with their Jacobians (the fit's hot path).

The fit evaluates a few dozen points a few hundred times, so everything here is vectorised
over joints (one NumPy call per tree level for the forward chain, none per joint for the
Jacobian). Notation: θ_i (3,) the axis-angle of joint i, R_i its rotation, G_i = G_par(i) R_i
the global rotation, t(β) = t_0 + T β the rest joints, p the posed joints:

    p_0 = t_0 + γ,   p_j = p_par(j) + G_par(j) (t_j − t_par(j)).

With ω_i = G_par(i) J_l(θ_i) (3, 3) (J_l the left Jacobian of SO(3)), a change of θ_i rotates
everything below joint i about p_i:  ∂x/∂θ_{i,a} = ω_i[:, a] × (x − p_i).

An attached point l (a surface landmark or a rigid offset from a joint) is a skinned point

    x_l = Σ_k m_lk p_k + G_k o_lk(β),    o_lk(β) = o_lk + O_lk β,

with m_lk the combined skinning weights of its vertices and o_lk their weighted offsets from
joint k in the rest pose (no pose blend shapes). ``BodyModel.posed_points`` is built on this.
"""

from __future__ import annotations

import numpy as np

from .lbs import depth_levels
from .rotation import cross, rodrigues_with_left_jacobian, skew


class PointKinematics:
    """Joints (24) and attached points (L) of an SMPL-format model, with d/d[pose, betas, transl].

    Parameters
    ----------
    joint_template : (24, 3) rest joints at β = 0.
    joint_dirs : (24, 3, B) change of the rest joints per unit β.
    parents : (24,) parent index, −1 for the root.
    attach_weights : (L, 24) m_lk.
    attach_offsets : (L, 24, 3) o_lk at β = 0 (already multiplied by m_lk).
    attach_offset_dirs : (L, 24, 3, B) O_lk.
    """

    def __init__(
        self,
        joint_template: np.ndarray,
        joint_dirs: np.ndarray,
        parents: np.ndarray,
        attach_weights: np.ndarray | None = None,
        attach_offsets: np.ndarray | None = None,
        attach_offset_dirs: np.ndarray | None = None,
    ) -> None:
        self.joint_template = np.asarray(joint_template, dtype=np.float64)
        self.joint_dirs = np.asarray(joint_dirs, dtype=np.float64)
        self.parents = np.asarray(parents, dtype=int)
        n, b = self.joint_template.shape[0], self.joint_dirs.shape[2]
        self.num_joints, self.num_betas = n, b
        self.levels = depth_levels(self.parents)
        self._level_pairs = [(idx, self.parents[idx]) for idx in self.levels]
        self._par = np.where(self.parents < 0, 0, self.parents)
        # ancestor masks: strict[i, j] = i is a strict ancestor of j
        strict = np.zeros((n, n), dtype=bool)
        for j in range(1, n):
            i = self.parents[j]
            strict[:, j] = strict[:, i]
            strict[i, j] = True
        self.anc_strict = strict.astype(np.float64)
        self.anc_self = self.anc_strict + np.eye(n)
        # _col_mask[j, (i, a)] = i is a strict ancestor of j
        self._col_mask = np.repeat(self.anc_strict.T, 3, axis=1)
        # joint offsets from the parent, per unit beta (root: its own dirs)
        dirs_rel = self.joint_dirs - self.joint_dirs[self._par]
        dirs_rel[0] = self.joint_dirs[0]
        self._dirs_rel = dirs_rel
        if attach_weights is None:
            attach_weights = np.zeros((0, n))
            attach_offsets = np.zeros((0, n, 3))
            attach_offset_dirs = np.zeros((0, n, 3, b))
        self.m = np.asarray(attach_weights, dtype=np.float64)
        self.o = np.asarray(attach_offsets, dtype=np.float64)
        self.O = np.ascontiguousarray(np.asarray(attach_offset_dirs, dtype=np.float64)[..., :b])
        self.num_attached = self.m.shape[0]
        self._O_mat = self.O.transpose(1, 2, 0, 3).reshape(3 * n, -1)
        # Σ_k m_lk per attached point: dx_l/dtransl = (Σ_k m_lk) I
        self._m_sum = self.m.sum(axis=1)
        self.num_params = 3 * n + b + 3

    @property
    def num_points(self) -> int:
        return self.num_joints + self.num_attached

    def chain(
        self, pose: np.ndarray, betas: np.ndarray, transl: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The forward chain: posed joints p (n, 3), global rotations G (n, 3, 3), rest joints
        t(β) (n, 3) and the left Jacobians J_l(θ_i) (n, 3, 3)."""
        n = self.num_joints
        theta = np.asarray(pose, dtype=np.float64).reshape(n, 3)
        R, Jl = rodrigues_with_left_jacobian(theta)
        # 1. rest joints: t[j, x] = t0[j, x] + sum_b T[j, x, b] beta[b]
        t = self.joint_template + self.joint_dirs @ np.asarray(betas, dtype=np.float64)
        # 2. forward chain, one tree level at a time, as affine maps [G_j | p_j] (3, 4) =
        #    [G_par | p_par] [R_j, t_j − t_par; 0, 1]: one product per level
        local = np.zeros((n, 4, 4))
        local[:, :3, :3] = R
        local[:, :3, 3] = t - t[self._par]
        local[:, 3, 3] = 1.0
        A = np.empty((n, 3, 4))
        A[0, :, :3] = R[0]
        A[0, :, 3] = t[0] + transl
        for idx, par in self._level_pairs:
            A[idx] = A[par] @ local[idx]
        return np.ascontiguousarray(A[:, :, 3]), np.ascontiguousarray(A[:, :, :3]), t, Jl

    def evaluate(
        self,
        pose: np.ndarray,
        betas: np.ndarray,
        transl: np.ndarray,
        jacobian: bool = True,
        attached: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Posed points and their Jacobian.

        Parameters
        ----------
        pose : (72,) axis-angle; betas : (B,); transl : (3,).
        attached : (L',) indices of the attached points to pose (None: all L).

        Returns
        -------
        points : (24 + L, 3) joints then attached points (L' of them when ``attached``).
        jac : (24 + L, 3, 72 + B + 3) d points / d [pose, betas, transl], or None.
        """
        n, b = self.num_joints, self.num_betas
        m, o0, o_dirs, o_mat, m_sum = self.m, self.o, self.O, self._O_mat, self._m_sum
        if attached is not None:
            m, o0, o_dirs, m_sum = m[attached], o0[attached], o_dirs[attached], m_sum[attached]
            o_mat = o_dirs.transpose(1, 2, 0, 3).reshape(3 * n, -1)
        L = m.shape[0]
        betas = np.asarray(betas, dtype=np.float64)
        p, G, t, Jl = self.chain(pose, betas, transl)
        # 3. attached points: x_l = sum_k m_lk p_k + G_k o_lk(beta)
        if L:
            o = o0 + (o_dirs.reshape(-1, b) @ betas).reshape(o0.shape)  # (L, n, 3), one gemv
            # Go[l, k, a] = sum_b G[k, a, b] o[l, k, b]
            Go = (o.transpose(1, 0, 2) @ G.transpose(0, 2, 1)).transpose(1, 0, 2)
            q = m[:, :, None] * p[None] + Go  # (L, n, 3)
            x = q.sum(axis=1)
            points = np.concatenate([p, x])
        else:
            points = p
        if not jacobian:
            return points, None

        jac = np.zeros((n + L, 3, self.num_params))
        Gpar = G[self._par]
        Gpar[0] = np.eye(3)
        # omega[i, :, a] = G_par(i) J_l(theta_i) e_a; skew form S[i, a] = [omega_ia]x
        omega = Gpar @ Jl
        # 4. joints: dp_j/dtheta_ia = omega_ia x (p_j - p_i) = -[p_j]x omega_ia - omega_ia x p_i
        # for i a strict ancestor of j; all columns (i, a) at once with Om[x, (i, a)] = ω_ia[x]
        Om = omega.transpose(1, 0, 2).reshape(3, 3 * n)
        D = cross(Om.T, np.repeat(p, 3, axis=0))  # (3n, 3): ω_ia × p_i
        jj = skew(-p) @ Om  # (n, 3, 3n)
        jj -= D.T[None]
        jj *= self._col_mask[:, None, :]
        jac[:n, :, : 3 * n] = jj
        # 5. betas: dp_j/dbeta = sum_{i anc-or-self j} G_par(i) (T_i - T_par(i))
        E = Gpar @ self._dirs_rel  # (n, 3, b)
        # dp_db[j] = sum_i anc_self[i, j] E[i]
        dp_db = (self.anc_self.T @ E.reshape(n, -1)).reshape(n, 3, b)
        jac[:n, :, 3 * n : 3 * n + b] = dp_db
        jac[:n, :, 3 * n + b :] = np.eye(3)
        if L:
            # 6. attached: dx_l/dtheta_ia = omega_ia x (Q_li - M_li p_i), sums over k below i
            # Q[l, i, x] = sum_k anc_self[i, k] q[l, k, x]
            Q = (self.anc_self @ q.transpose(1, 0, 2).reshape(n, -1)).reshape(n, L, 3)
            Q = Q.transpose(1, 0, 2)
            M = m @ self.anc_self.T  # (L, i)
            v = Q - M[:, :, None] * p[None]
            S = skew(np.swapaxes(omega, 1, 2)).reshape(n, 9, 3)  # S[i, (a, x), y] = [ω_ia]x
            dl = (S @ v.transpose(1, 2, 0)).reshape(n, 3, 3, L)  # (i, a, x, l)
            jac[n:, :, : 3 * n] = dl.transpose(3, 2, 0, 1).reshape(L, 3, 3 * n)
            # dx_l/dbeta = sum_k m_lk dp_k/dbeta + G_k O_lk
            dx_db = (m @ dp_db.reshape(n, -1)).reshape(L, 3, b)
            # sum_k G[k, x, y] O[l, k, y, b] as one (3, 24·3) @ (24·3, L·B) product
            Gm = G.transpose(1, 0, 2).reshape(3, 3 * n)
            dx_db += (Gm @ o_mat).reshape(3, L, b).transpose(1, 0, 2)
            jac[n:, :, 3 * n : 3 * n + b] = dx_db
            jac[n:, :, 3 * n + b :] = m_sum[:, None, None] * np.eye(3)
        return points, jac


def kinematics_from_model(
    model,
    num_betas: int,
    landmarks: list[str] | tuple[str, ...] = (),
    offsets: list[tuple[int, np.ndarray]] | None = None,
) -> PointKinematics:
    """Build the fit kinematics of a BodyModel.

    Parameters
    ----------
    model : BodyModel.
    num_betas : number of shape coefficients to fit (≤ B').
    landmarks : names of the model's surface landmarks to pose (after the joints).
    offsets : rigid points after the landmarks: (joint index, (3,) rest offset) at the offset
        from that joint in its own rest frame, or (joint index, (3,) rest offset, frame index)
        at the joint plus the offset turned by the frame joint's rotation.
    """
    joint_template = model.J_template
    joint_dirs = model.J_dirs[:, :, :num_betas]
    n = joint_template.shape[0]
    m_list, o_list, O_list = [], [], []
    if landmarks:
        m, M0, Mdirs = model.landmark_sums(landmarks, num_betas)
        # o[l, k] = Σ_v a w (v_rest − t0_k), O likewise with the shape directions
        m_list.append(m)
        o_list.append(M0 - m[:, :, None] * joint_template)
        O_list.append(Mdirs - m[:, :, None, None] * joint_dirs)
    for joint, offset, *frame in offsets or []:
        m = np.zeros((1, n))
        m[0, joint] = 1.0
        o = np.zeros((1, n, 3))
        o[0, frame[0] if frame else joint] = offset  # x = p_joint + G_frame offset
        m_list.append(m), o_list.append(o), O_list.append(np.zeros((1, n, 3, num_betas)))
    if m_list:
        return PointKinematics(
            joint_template,
            joint_dirs,
            model.parents,
            np.concatenate(m_list),
            np.concatenate(o_list),
            np.concatenate(O_list),
        )
    return PointKinematics(joint_template, joint_dirs, model.parents)


def vertex_kinematics(model, vertices: np.ndarray, num_betas: int) -> PointKinematics:
    """The fit kinematics of mesh vertices (joints first, then the vertices, as attached
    points): each vertex is its own landmark, x_v = Σ_k w_vk (p_k + G_k (v_v(β) − t_k(β))).

    Parameters
    ----------
    model : BodyModel.
    vertices : (L,) vertex indices.
    num_betas : number of shape coefficients to fit.
    """
    idx = np.asarray(vertices, dtype=int)
    joint_template, joint_dirs = model.J_template, model.J_dirs[:, :, :num_betas]
    w = model.lbs_weights[idx]  # (L, 24)
    # o[l, k] = w_lk (v_l − t0_k);  O[l, k] = w_lk (S_l − T_k), S the vertex's shape dirs
    rel = model.v_template[idx][:, None, :] - joint_template[None]
    rel_dirs = model.shapedirs[idx, :, :num_betas][:, None] - joint_dirs[None]
    return PointKinematics(
        joint_template,
        joint_dirs,
        model.parents,
        w,
        w[:, :, None] * rel,
        w[:, :, None, None] * rel_dirs,
    )
