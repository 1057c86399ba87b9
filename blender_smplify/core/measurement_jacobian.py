"""Measurements and their analytic Jacobian in the shape coefficients β.

The rest mesh is linear in β: v(β) = v_template + Σ_l shapedirs[:, :, l] β_l (Loper et al.
2015, Eq. 1), and so are the regressed joints J(β) = J_regressor v(β). Every measurement of
:class:`.measurements.BodyMeasurer` is a smooth function of these points as long as the cut's
combinatorics stay put, which this module holds fixed at the current β:

- **girths**: which mesh edges each kept loop crosses, which of the cut's loops is kept, and (for
  a hull tape) which loop points are the hull's corners. A cut point on edge (a, b) is
  x = a + t (b − a), t = d_a / (d_a − d_b), d_a = (a − p)·n, where the plane's point p (the
  mean of its landmarks) and normal n (the unit bone direction for limb and neck cuts) move
  with β too; both motions are differentiated (dt carries them), so the Jacobian is exact to
  first order. A loop's length is Σ ‖x_j − x_i‖ over its segments; its hull perimeter is the
  same sum over the hull's corners in order (the points lie in the plane, so the 3-D distances
  are the in-plane ones).
- **heights**: a landmark's (or the top vertex's) height above the lowest vertex.
- **lengths**: sums of ‖landmark_j − landmark_i‖; the back length is the back's midline
  section between two landmarks' heights, the clipped ends moving with those heights.

d‖e‖ = ê·de for every segment e gives the rows. Central differences of
``BodyMeasurer.measure`` agree to about 1e-8 relative
(``tests/core/test_measurement_jacobian.py``); away from the current β the fixed combinatorics
are the only approximation, which a re-linearising solver (:mod:`.shape_from_measurements`)
absorbs.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import ConvexHull, QhullError

from .errors import SmplifyError
from .joints import J
from .measurements import (
    GIRTHS,
    LENGTHS,
    MEASUREMENT_NAMES,
    BodyMeasurer,
    Cut,
    back_profile_segments,
)
from .mesh_sections import plane_basis


class MeasurementJacobian:
    """Values and Jacobians of named measurements of one model's rest-pose bodies.

    Parameters
    ----------
    model_or_measurer : a BodyModel, or a :class:`BodyMeasurer` of one (reused, with its
        landmarks).
    """

    def __init__(self, model_or_measurer) -> None:
        if isinstance(model_or_measurer, BodyMeasurer):
            self.measurer = model_or_measurer
        else:
            self.measurer = BodyMeasurer(model_or_measurer)
        self.model = self.measurer.model
        self._girth_index = {g.name: m for m, g in enumerate(GIRTHS)}
        self._lengths = {s.name: s for s in LENGTHS}
        self._back_plane = len(self.measurer.cuts) - 1  # the back's section follows the girths
        # p_m = mean of cut m's landmarks: _through[m, v] = 1 / their number
        through = [[self.measurer.landmarks[n] for n in c.through] for c in self.measurer.cuts]
        rows = np.repeat(np.arange(len(through)), [len(t) for t in through])
        weights = np.concatenate([np.full(len(t), 1.0 / len(t)) for t in through])
        self._through = csr_matrix(
            (weights, (rows, np.concatenate(through))),
            shape=(len(through), self.model.num_vertices),
        )

    def __call__(
        self, betas: np.ndarray | None = None, names: list[str] | tuple[str, ...] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Measurements (metres) and their derivatives in β.

        Parameters
        ----------
        betas : (b,) shape coefficients (the model's first b components; default all zero).
        names : measurement names (default :data:`MEASUREMENT_NAMES`).

        Returns
        -------
        values : (M,) metres, equal to ``BodyMeasurer.measure(betas).values`` for ``names``;
            NaN where a cut found no loop (its row is NaN too).
        jacobian : (M, b) d value / d β.
        """
        names = tuple(MEASUREMENT_NAMES if names is None else names)
        unknown = [n for n in names if n not in MEASUREMENT_NAMES]
        if unknown:
            raise SmplifyError(
                f"unknown measurement(s): {', '.join(unknown)}; known: "
                + ", ".join(MEASUREMENT_NAMES)
            )
        betas = self._betas(betas)
        dirs = self.model.shapedirs[:, :, : len(betas)]  # (V, 3, b)
        # v[v, k] = v_template[v, k] + Σ_l dirs[v, k, l] β_l
        vertices = self.model.v_template + np.einsum("vkl,l->vk", dirs, betas)
        cut = self.measurer.cut(vertices)
        planes = [self._girth_index[n] for n in names if n in self._girth_index]
        rows = self._girths(cut, vertices, dirs, planes)
        values = np.full(len(names), np.nan)
        jacobian = np.full((len(names), len(betas)), np.nan)
        for i, name in enumerate(names):
            if name in self._girth_index:
                row = rows.get(self._girth_index[name])
            else:
                row = self._length(self._lengths[name], cut, vertices, dirs)
            if row is not None:
                values[i], jacobian[i] = row
        return values, jacobian

    def _betas(self, betas: np.ndarray | None) -> np.ndarray:
        if betas is None:
            return np.zeros(self.model.num_betas)
        betas = np.asarray(betas, dtype=np.float64).ravel()
        if len(betas) > self.model.num_betas:
            raise SmplifyError(f"{len(betas)} betas given, the model has {self.model.num_betas}")
        if not np.all(np.isfinite(betas)):
            raise SmplifyError("betas must be finite")
        return betas

    # ---- girths ---------------------------------------------------------------------------

    def _plane_derivatives(self, cut: Cut, dirs: np.ndarray):
        """d p / d β (P, 3, b) and d n / d β (P, 3, b) of every cut plane."""
        cuts = self.measurer.cuts
        V, _, b = dirs.shape
        dp = (self._through @ dirs.reshape(V, 3 * b)).reshape(-1, 3, b)
        dn = np.zeros_like(dp)
        bone = [m for m, c in enumerate(cuts) if c.normal[0] == "bone"]
        a = [J[cuts[m].normal[1]] for m in bone]
        c = [J[cuts[m].normal[2]] for m in bone]
        J_dirs = self.model.J_dirs[:, :, : dirs.shape[2]]
        n = cut.normals[bone]  # (nb, 3)
        length = np.linalg.norm(cut.joints[c] - cut.joints[a], axis=1)
        # n = d / ‖d‖  →  dn = (I − n nᵀ) dd / ‖d‖, dd = J_dirs[c] − J_dirs[a]
        dd = J_dirs[c] - J_dirs[a]  # (nb, 3, b)
        dn[bone] = (dd - n[:, :, None] * np.einsum("mk,mkl->ml", n, dd)[:, None, :]) / length[
            :, None, None
        ]
        return dp, dn

    def _cut_points(self, cut: Cut, vertices, dirs, plane: np.ndarray, edges: np.ndarray):
        """Points (k, 3) where planes ``plane`` (k,) cut mesh edges (k, 2), and their
        derivatives (k, 3, b)."""
        dP, dN = self._plane_derivatives(cut, dirs)
        p, n, dp, dn = cut.points[plane], cut.normals[plane], dP[plane], dN[plane]
        va, vb = vertices[edges[:, 0]], vertices[edges[:, 1]]
        Sa, Sb = dirs[edges[:, 0]], dirs[edges[:, 1]]  # (k, 3, b)
        da, db = np.einsum("kj,kj->k", va - p, n), np.einsum("kj,kj->k", vb - p, n)
        # d(d_a)[k, l] = Σ_j (Sa − dp)[k, j, l] n[k, j] + Σ_j (va − p)[k, j] dn[k, j, l]
        dda = np.einsum("kjl,kj->kl", Sa - dp, n) + np.einsum("kj,kjl->kl", va - p, dn)
        ddb = np.einsum("kjl,kj->kl", Sb - dp, n) + np.einsum("kj,kjl->kl", vb - p, dn)
        t = da / (da - db)
        dt = (da[:, None] * ddb - db[:, None] * dda) / ((da - db) ** 2)[:, None]
        x = va + t[:, None] * (vb - va)
        dx = (1.0 - t)[:, None, None] * Sa + t[:, None, None] * Sb
        dx += (vb - va)[:, :, None] * dt[:, None, :]
        return x, dx

    def _girths(self, cut: Cut, vertices, dirs, planes: list[int]) -> dict:
        """plane -> (value, row (b,)) of the girths ``planes``; missing where no loop."""
        sections = cut.sections
        wanted = np.isin(sections.segment_plane, planes)
        seg_plane = sections.segment_plane[wanted]
        if len(seg_plane) == 0:
            return {}
        edges = sections.segment_edges[wanted].reshape(-1, 2)  # (2s, 2): both ends
        # each cut point ends two segments: differentiate it once, keyed by (plane, edge)
        V = self.model.num_vertices
        keys = (np.repeat(seg_plane, 2) * V + edges[:, 0]) * V + edges[:, 1]
        unique_keys, first, end_node = np.unique(keys, return_index=True, return_inverse=True)
        node_plane = unique_keys // (V * V)
        x, dx = self._cut_points(cut, vertices, dirs, node_plane, edges[first])
        # contour tapes: Σ over each plane's segments
        ends = end_node.reshape(-1, 2)  # (s, 2) cut points of each segment
        lengths, seg_rows = _segment_rows(x[ends], dx[ends])
        found = np.unique(seg_plane)
        rank = np.searchsorted(found, seg_plane)
        per_plane = csr_matrix((np.ones(len(rank)), (rank, np.arange(len(rank)))))
        value, row = per_plane @ lengths, per_plane @ seg_rows
        rows = {int(m): (float(value[i]), row[i]) for i, m in enumerate(found)}
        # hull tapes: the same sum over the hull's corners, in order
        for m in found:
            if GIRTHS[m].tape == "hull":
                nodes = node_plane == m
                rows[int(m)] = _hull_row(x[nodes], dx[nodes], cut.normals[m])
        return rows

    # ---- heights and lengths --------------------------------------------------------------

    def _length(self, spec, cut: Cut, vertices, dirs):
        y = vertices[:, 1]
        floor = int(np.argmin(y))
        ids = [self.measurer.landmarks[n] for n in spec.landmarks]
        if spec.kind == "stature":
            top = int(np.argmax(y))
            return y[top] - y[floor], dirs[top, 1] - dirs[floor, 1]
        if spec.kind == "height":
            return y[ids[0]] - y[floor], dirs[ids[0], 1] - dirs[floor, 1]
        if spec.kind in ("line", "line_to_floor"):
            ends = np.stack([ids[:-1], ids[1:]], axis=1)
            value, row = _path_length(vertices[ends], dirs[ends])
            if spec.kind == "line_to_floor":
                value, row = value + y[ids[-1]] - y[floor], row + dirs[ids[-1], 1] - dirs[floor, 1]
            return value, row
        return self._back_length(cut, vertices, dirs, ids)

    def _back_length(self, cut: Cut, vertices, dirs, ids):
        """The back's midline profile between the heights of landmarks ids[1] (low) and ids[0]
        (high), its ends clipped onto those heights."""
        m = self._back_plane
        in_plane = cut.sections.segment_plane == m
        segments = cut.sections.segments[in_plane]
        low, high = vertices[ids[1], 1], vertices[ids[0], 1]
        keep = back_profile_segments(segments, cut.joints, low, high)
        if not keep.any():
            return None
        edges = cut.sections.segment_edges[in_plane][keep].reshape(-1, 2)
        x, dx = self._cut_points(cut, vertices, dirs, np.full(len(edges), m), edges)
        x, dx = x.reshape(-1, 2, 3), dx.reshape(-1, 2, 3, dx.shape[2])
        bounds = ((low, dirs[ids[1], 1]), (high, dirs[ids[0], 1]))
        x_c, dx_c = x.copy(), dx.copy()
        for end in (0, 1):
            other = 1 - end
            for (bound, dbound), outside in zip(
                bounds, (x[:, end, 1] < low, x[:, end, 1] > high), strict=True
            ):
                xo, xe = x[outside, other], x[outside, end]
                dxo, dxe = dx[outside, other], dx[outside, end]
                # x_c = x_o + s (x_e − x_o), s = (bound − y_o) / (y_e − y_o)
                h = xe[:, 1] - xo[:, 1]
                s = (bound - xo[:, 1]) / h
                ds = (
                    (dbound - dxo[:, 1]) * h[:, None]
                    - (bound - xo[:, 1])[:, None] * (dxe[:, 1] - dxo[:, 1])
                ) / (h**2)[:, None]
                x_c[outside, end] = xo + s[:, None] * (xe - xo)
                dx_c[outside, end] = (
                    dxo + s[:, None, None] * (dxe - dxo) + (xe - xo)[:, :, None] * ds[:, None, :]
                )
        return _path_length(x_c, dx_c)


def _segment_rows(ends: np.ndarray, d_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (s,) of segments ends (s, 2, 3) and their derivatives (s, b) from d_ends
    (s, 2, 3, b): d‖x_1 − x_0‖ = ê·(dx_1 − dx_0)."""
    e = ends[:, 1] - ends[:, 0]
    length = np.linalg.norm(e, axis=1)
    unit = e / np.where(length > 0.0, length, 1.0)[:, None]
    # rows[s, l] = Σ_k unit[s, k] (d_ends[s, 1, k, l] − d_ends[s, 0, k, l])
    return length, np.einsum("sk,skl->sl", unit, d_ends[:, 1] - d_ends[:, 0])


def _path_length(ends: np.ndarray, d_ends: np.ndarray) -> tuple[float, np.ndarray]:
    """Σ ‖x_1 − x_0‖ over segments ends (s, 2, 3) and its derivative (b,)."""
    length, rows = _segment_rows(ends, d_ends)
    return float(length.sum()), rows.sum(axis=0)


def _hull_row(x: np.ndarray, dx: np.ndarray, normal: np.ndarray):
    """Perimeter of the convex hull of in-plane points x (k, 3) and its derivative (b,) from dx
    (k, 3, b), the hull's corners held fixed; None when the points have no 2-D hull."""
    u, w = plane_basis(normal[None])
    try:
        corners = ConvexHull(np.column_stack([x @ u[0], x @ w[0]])).vertices
    except QhullError:
        return None
    ring = np.r_[corners, corners[0]]
    sides = np.stack([ring[:-1], ring[1:]], axis=1)  # (h, 2) hull sides, in order
    return _path_length(x[sides], dx[sides])


def measurement_jacobian(
    model, betas: np.ndarray | None = None, names: list[str] | tuple[str, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Values (M,) and Jacobian (M, b) of ``names`` at ``betas`` (b,) for ``model``.

    One-off convenience: builds a :class:`BodyMeasurer` (about 0.1 s); keep a
    :class:`MeasurementJacobian` to evaluate many β.
    """
    return MeasurementJacobian(model)(betas, names)
