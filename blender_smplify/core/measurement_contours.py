"""Girth contours for drawing: each girth's tape as one closed polyline, and the bone it rides on.

:class:`.measurements.BodyMeasurer` keeps each girth's loop as unordered segments. For drawing,
a tape is a closed polyline whose length is the girth: for a ``contour`` tape the loop itself,
its segments chained in order; for a ``hull`` tape the loop's convex-hull corners in order (the
tape stretched over the hollows). Each contour also names the joint whose skinning weights
dominate its loop, so a drawing can ride rigidly on that bone when the body is posed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from .joints import SMPL_JOINT_NAMES
from .measurements import GIRTHS, BodyMeasurer
from .mesh_sections import plane_basis


@dataclass(frozen=True)
class Contour:
    """One girth's tape.

    Attributes
    ----------
    points : (n, 3) closed polyline (the last point joins the first), rest pose, model axes.
    bone : the SMPL joint whose skinning weights dominate the loop.
    length : the polyline's perimeter, metres (the girth's value).
    """

    points: np.ndarray
    bone: str
    length: float


def girth_contours(measurer: BodyMeasurer, betas: np.ndarray | None = None) -> dict[str, Contour]:
    """Every girth's contour (:class:`Contour`) of the body with shape ``betas`` (b,); girths
    whose cut found no loop are left out."""
    model = measurer.model
    betas = np.zeros(0) if betas is None else np.asarray(betas, dtype=np.float64).ravel()
    # v[v, k] = v_template[v, k] + Σ_l shapedirs[v, k, l] β_l
    vertices = model.v_template + np.einsum(
        "vkl,l->vk", model.shapedirs[:, :, : len(betas)], betas
    )
    cut = measurer.cut(vertices)
    sections = cut.sections
    contours = {}
    for m, girth in enumerate(GIRTHS):
        in_plane = sections.segment_plane == m
        if not in_plane.any():
            continue
        segments, edges = sections.segments[in_plane], sections.segment_edges[in_plane]
        if girth.tape == "hull":
            points = _hull_ring(segments.reshape(-1, 3), cut.normals[m])
        else:
            points = _chained(segments, edges)
        weights = model.lbs_weights[edges.reshape(-1)].sum(axis=0)
        closed = np.vstack([points, points[:1]])
        length = float(np.sum(np.linalg.norm(np.diff(closed, axis=0), axis=1)))
        contours[girth.name] = Contour(points, SMPL_JOINT_NAMES[int(np.argmax(weights))], length)
    return contours


def _chained(segments: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The points (n, 3) of a closed loop given as unordered segments (s, 2, 3) whose ends lie
    on mesh edges (s, 2, 2): each end's edge names the point, two segments share each point."""
    keys, node = np.unique(edges.reshape(-1, 2), axis=0, return_inverse=True)
    node = node.reshape(-1, 2)  # (s, 2) point ids of each segment
    position = np.zeros((len(keys), 3))
    position[node.reshape(-1)] = segments.reshape(-1, 3)
    touching: list[list[int]] = [[] for _ in keys]
    for s, (a, b) in enumerate(node):
        touching[a].append(s)
        touching[b].append(s)
    order, previous, current = [int(node[0, 0])], 0, int(node[0, 1])
    while current != order[0] and len(order) <= len(keys):
        order.append(current)
        nxt = [s for s in touching[current] if s != previous]
        if not nxt:  # an open chain (a cut through a hole): stop at its end
            break
        previous = nxt[0]
        a, b = node[previous]
        current = int(b if a == current else a)
    points = position[order]
    # a cut through a vertex puts two edges' points on it: drop the repeats (length unchanged)
    repeat = np.all(points == np.roll(points, 1, axis=0), axis=1)
    return points[~repeat] if not repeat.all() else points[:1]


def _hull_ring(points: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """The convex-hull corners (h, 3), in order, of points (k, 3) in the plane of ``normal``."""
    points = np.unique(points, axis=0)
    u, w = plane_basis(normal[None])
    try:
        corners = ConvexHull(np.column_stack([points @ u[0], points @ w[0]])).vertices
    except QhullError:
        return points
    return points[corners]
