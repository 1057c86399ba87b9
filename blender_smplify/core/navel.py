"""Navel depth, and a linear fill that makes a deep navel shallow on every shape (bpy-free).

Pattern pieces in garment tools sink into a deep navel, so designers flatten it. Here the
belly around the navel is described in a local frame fixed on the model's template: its normal
n is that of the plane through a ring of vertices around the navel (``ring`` radii, measured in
that plane), and the height of a vertex is h = n·x. A quadratic surface
h ≈ a + b·u + c·v + d·u² + e·uv + f·v² fitted by least squares to the ring's heights stands for
the belly without its dimple; the navel's depth is how far the vertices inside the ring lie below
that surface, at most.

The fill moves each inner vertex along n towards the surface:
h' = h + s·(Q h_ring − h), where Q (inner × ring) evaluates the least-squares surface at
the inner vertices and s ∈ [0, 1] is the strength: s = 1 puts them on the surface, so the depth
falls as (1 − s) times the depth. The ring does not move; its vertices scatter about the surface
by the fit's residual (about a millimetre), which is the seam the fill leaves. Because Q and n
come from the template alone, the fill is one fixed linear map of the vertex coordinates:
applied to the template and to every shape key (each an absolute copy of the mesh) it gives
exactly the fill of every blended shape, which keeps shape keys consistent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SmplifyError

#: inner radius (m): the vertices that move; the ring between the radii holds the belly
INNER_RADIUS = 0.022
RING_RADIUS = 0.08


@dataclass(frozen=True)
class NavelRegion:
    """The navel's neighbourhood, fixed on a template.

    Attributes
    ----------
    normal : (3,) unit normal of the ring's plane (pointing out of the body).
    inner : (n,) vertex ids within the inner radius (they move).
    ring : (m,) vertex ids between the radii (they define the surface).
    surface : (n, m) Q: heights of the surface at the inner vertices from the ring's heights.
    """

    normal: np.ndarray
    inner: np.ndarray
    ring: np.ndarray
    surface: np.ndarray

    def depth(self, vertices: np.ndarray) -> float:
        """Deepest point (m) of the inner vertices below the belly surface, for any shape of the
        mesh (V, 3) (≥ 0: a vertex above the surface counts as depth 0)."""
        h = vertices @ self.normal
        return float(max(0.0, np.max(self.surface @ h[self.ring] - h[self.inner])))

    def fill(self, vertices: np.ndarray, strength: float) -> np.ndarray:
        """The mesh (V, 3) with its navel filled by ``strength`` s ∈ [0, 1] (a linear map)."""
        if not 0.0 <= strength <= 1.0:
            raise SmplifyError(f"navel fill strength must lie in [0, 1], got {strength}")
        h = vertices @ self.normal
        lift = strength * (self.surface @ h[self.ring] - h[self.inner])
        out = np.array(vertices, dtype=np.float64, copy=True)
        out[self.inner] += lift[:, None] * self.normal
        return out

    def strength_for(self, vertices: np.ndarray, max_depth: float) -> float:
        """The strength that brings the navel of ``vertices`` (V, 3) to ``max_depth`` (m)
        (0 when it is not deeper): the depth scales by (1 − s)."""
        depth = self.depth(vertices)
        return 0.0 if depth <= max_depth else 1.0 - max_depth / depth


def navel_region(
    v_template: np.ndarray,
    navel: int,
    front: np.ndarray,
    *,
    inner_radius: float = INNER_RADIUS,
    ring_radius: float = RING_RADIUS,
) -> NavelRegion:
    """Build the navel's region on a template.

    Parameters
    ----------
    v_template : (V, 3) rest vertices (metres).
    navel : id of the navel vertex (the omphalion landmark).
    front : (3,) the body's front direction (SMPL frame: +z).
    inner_radius, ring_radius : radii (m) in the ring's plane.
    """
    v = np.asarray(v_template, dtype=np.float64)
    front = np.asarray(front, dtype=np.float64) / np.linalg.norm(front)
    centre = v[navel]
    # 1. Candidates: the front of the body near the navel (not the arms or the back)
    near = np.flatnonzero(
        (np.linalg.norm(v - centre, axis=1) < 1.5 * ring_radius) & ((v - centre) @ front > -0.05)
    )
    # 2. Plane of the ring (refined once: the ring depends on the plane it is measured in)
    normal = front
    for _ in range(2):
        u_axis, v_axis = _tangent_axes(normal)
        radius = np.hypot((v[near] - centre) @ u_axis, (v[near] - centre) @ v_axis)
        ring = near[(radius >= inner_radius) & (radius < ring_radius)]
        _check_ring(len(ring), navel)
        normal = _plane_normal(v[ring], front)
    u_axis, v_axis = _tangent_axes(normal)
    uv = np.stack([(v[near] - centre) @ u_axis, (v[near] - centre) @ v_axis], axis=1)
    radius = np.linalg.norm(uv, axis=1)
    ring_mask = (radius >= inner_radius) & (radius < ring_radius)
    inner_mask = radius < inner_radius
    _check_ring(int(ring_mask.sum()) * bool(inner_mask.any()), navel)
    # 3. Q = P_inner · pinv(P_ring): least-squares quadratic through the ring, read at the inner
    surface = _quadratic(uv[inner_mask]) @ np.linalg.pinv(_quadratic(uv[ring_mask]))
    return NavelRegion(normal, near[inner_mask], near[ring_mask], surface)


def _check_ring(count: int, navel: int) -> None:
    if count < 12:
        raise SmplifyError(
            f"too few vertices around the navel (vertex {navel}) to fit the belly: {count} "
            "in the ring (12 needed)"
        )


def _tangent_axes(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit axes (3,) spanning the plane normal to ``normal``; u is as horizontal as the
    normal allows (SMPL: x, the body's left)."""
    u = np.array([1.0, 0.0, 0.0]) - normal[0] * normal
    u /= np.linalg.norm(u)
    return u, np.cross(normal, u)


def _plane_normal(points: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Unit normal (3,) of the least-squares plane through points (m, 3), on ``front``'s side."""
    _, _, vt = np.linalg.svd(points - points.mean(axis=0))
    normal = vt[-1]
    return normal if normal @ front > 0 else -normal


def _quadratic(uv: np.ndarray) -> np.ndarray:
    """Design matrix (n, 6) of a quadratic surface at points uv (n, 2)."""
    u, v = uv.T
    return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)
