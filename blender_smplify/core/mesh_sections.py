"""Plane sections of a triangle mesh: the loop a tape measure would follow, all cuts at once.

A plane (point p, unit normal n) cuts triangle edge (a, b) where the signed distances
d_a = (a − p)·n and d_b = (b − p)·n change sign, at a + t (b − a) with t = d_a / (d_a − d_b).
Each triangle with vertices on both sides contributes one segment between its two cut edges; the
segments sharing a cut edge chain into closed loops (the mesh is closed). Of the loops of one
plane we keep the one that encloses the plane's *centre* (a point on the limb's or torso's axis),
found by the even–odd rule: a ray from the centre crosses that loop an odd number of times
(or, when none does, the loop passing within a few centimetres of the centre).
The length of a loop is the sum of its segment lengths (the tape pressed into every hollow);
its convex-hull perimeter is the length of a tape stretched over the hollows.

Everything is vectorised over all planes together: one signed-distance product, one
connected-components pass over the cut edges, and a convex hull per kept loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError


@dataclass(frozen=True)
class MeshEdges:
    """Unique edges of a triangle mesh.

    Attributes
    ----------
    edges : (E, 2) vertex ids, smaller id first.
    face_edges : (F, 3) edge id of side i of each face, side i joining corners i and i + 1.
    """

    edges: np.ndarray
    face_edges: np.ndarray

    @classmethod
    def of(cls, faces: np.ndarray) -> MeshEdges:
        faces = np.asarray(faces, dtype=np.int64)
        sides = np.stack([faces, np.roll(faces, -1, axis=1)], axis=2).reshape(-1, 2)
        edges, inverse = np.unique(np.sort(sides, axis=1), axis=0, return_inverse=True)
        return cls(edges=edges, face_edges=inverse.reshape(-1, 3))


@dataclass(frozen=True)
class Sections:
    """The kept loop of each plane.

    Attributes
    ----------
    contour_length : (M,) length of the loop that encloses each plane's centre, NaN when no
        loop does.
    hull_perimeter : (M,) perimeter of that loop's convex hull in its plane, NaN when none.
    segments : (S, 2, 3) the kept loops' segments (unordered), for drawing.
    segment_plane : (S,) plane index of each segment.
    segment_edges : (S, 2, 2) the mesh edge (vertex ids a, b) each segment's end lies on (for
        differentiating the cut, :mod:`.measurement_jacobian`).
    """

    contour_length: np.ndarray
    hull_perimeter: np.ndarray
    segments: np.ndarray
    segment_plane: np.ndarray
    segment_edges: np.ndarray

    def loop(self, plane: int) -> np.ndarray:
        """Segments (s, 2, 3) of one plane's kept loop."""
        return self.segments[self.segment_plane == plane]


def plane_basis(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (M, 3), (M, 3) spanning each plane, orthogonal to the normals (M, 3)."""
    normals = np.asarray(normals, dtype=np.float64)
    ref = np.where(np.abs(normals[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(normals, ref)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, np.cross(normals, u)


def plane_sections(
    vertices: np.ndarray,
    faces: np.ndarray,
    edges: MeshEdges,
    cut_faces: np.ndarray,
    cut_plane: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray,
    centres: np.ndarray,
    hull: np.ndarray | None = None,
    max_gap: float = 0.03,
) -> Sections:
    """Cut a mesh with M planes, each restricted to its own subset of faces.

    Parameters
    ----------
    vertices : (V, 3) mesh vertices.
    faces : (F, 3) triangles.
    edges : the mesh's :class:`MeshEdges`.
    cut_faces : (K,) face ids to cut, the faces of all planes concatenated.
    cut_plane : (K,) plane index (0 … M − 1) of each entry of ``cut_faces``.
    points : (M, 3) a point on each plane.
    normals : (M, 3) unit normals.
    centres : (M, 3) for each plane a point on the axis of the part to measure; the loop around
        it is kept. It is projected onto its plane first.

    Returns
    -------
    Sections
    """
    M = len(points)
    # 1. signed distance of every vertex to every plane: d[v, m] = (x_v − p_m)·n_m (einsum, not
    #    BLAS: a threaded BLAS call costs milliseconds of start-up on a busy machine)
    dist = np.einsum("vk,mk->vm", vertices, normals) - np.einsum("mk,mk->m", points, normals)
    # 2. faces with corners on both sides (d ≥ 0 counts as above, so exactly two sides cross)
    corner_d = dist.ravel()[faces[cut_faces] * M + cut_plane[:, None]]  # (K, 3)
    above = corner_d >= 0.0
    n_above = above[:, 0].view(np.int8) + above[:, 1].view(np.int8) + above[:, 2].view(np.int8)
    crossing = (n_above == 1) | (n_above == 2)
    face_ids, planes, above = cut_faces[crossing], cut_plane[crossing], above[crossing]
    if len(face_ids) == 0:
        return _empty(M)
    # 3. the two cut sides of each crossing face; a node is a (plane, edge) pair
    side_cut = above != above[:, [1, 2, 0]]  # side i joins corners i and i + 1
    rows, sides = np.nonzero(side_cut)  # two per row, rows ascending
    E = len(edges.edges)
    keys = planes[rows] * E + edges.face_edges[face_ids[rows], sides]
    node_keys, node_of = np.unique(keys, return_inverse=True)
    node_plane, node_edge = node_keys // E, node_keys % E
    a, b = edges.edges[node_edge, 0], edges.edges[node_edge, 1]
    da, db = dist[a, node_plane], dist[b, node_plane]
    t = (da / (da - db))[:, None]
    nodes = vertices[a] + t * (vertices[b] - vertices[a])  # (N, 3)
    seg = node_of.reshape(-1, 2)  # (S, 2) node ids of each face's segment
    # 4. loops = connected components of the segment graph
    n_nodes = len(nodes)
    graph = coo_matrix((np.ones(len(seg)), (seg[:, 0], seg[:, 1])), shape=(n_nodes, n_nodes))
    n_loops, loop_of_node = connected_components(graph, directed=False)
    loop_of_seg = loop_of_node[seg[:, 0]]
    loop_plane = np.zeros(n_loops, dtype=np.int64)
    loop_plane[loop_of_node] = node_plane
    lengths = np.linalg.norm(nodes[seg[:, 1]] - nodes[seg[:, 0]], axis=1)
    loop_length = np.bincount(loop_of_seg, weights=lengths, minlength=n_loops)
    # 5. even–odd rule: does a ray from the centre along +u cross the loop an odd number of times?
    u, w = plane_basis(normals)
    rel = nodes - centres[node_plane]
    nu = np.einsum("nk,nk->n", rel, u[node_plane])
    nw = np.einsum("nk,nk->n", rel, w[node_plane])
    ua, wa, ub, wb = nu[seg[:, 0]], nw[seg[:, 0]], nu[seg[:, 1]], nw[seg[:, 1]]
    straddles = (wa > 0.0) != (wb > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        u_hit = ua + (ub - ua) * wa / (wa - wb)
    hits = straddles & (u_hit > 0.0)
    encloses = np.bincount(loop_of_seg, weights=hits, minlength=n_loops) % 2 == 1
    # 6. per plane the longest enclosing loop (the outer one if loops nest); where none encloses
    #    the centre (it lies just outside a thin body), the loop passing nearest to it
    gap = np.full(n_loops, np.inf)
    np.minimum.at(gap, loop_of_node, np.hypot(nu, nw))
    score = np.where(encloses, loop_length, -gap)
    order = np.lexsort((score, loop_plane))
    last = np.r_[loop_plane[order][1:] != loop_plane[order][:-1], True]
    best = np.full(M, -1)
    best[loop_plane[order][last]] = order[last]
    chosen = best >= 0
    near = encloses[best[chosen]] | (gap[best[chosen]] < max_gap)
    best[np.flatnonzero(chosen)[~near]] = -1
    wanted = np.ones(M, dtype=bool) if hull is None else np.asarray(hull, dtype=bool)
    node_edges = edges.edges[node_edge]
    return _kept(
        best, wanted, loop_length, loop_of_seg, loop_of_node, seg, nodes, node_edges, nu, nw
    )


def _kept(
    best, wanted, loop_length, loop_of_seg, loop_of_node, seg, nodes, node_edges, nu, nw
) -> Sections:
    M = len(best)
    contour = np.full(M, np.nan)
    hull = np.full(M, np.nan)
    found = best >= 0
    contour[found] = loop_length[best[found]]
    plane_of_loop = np.full(len(loop_length), -1)
    plane_of_loop[best[found]] = np.flatnonzero(found)
    for m in np.flatnonzero(found & wanted):
        in_loop = loop_of_node == best[m]
        hull[m] = hull_perimeter(np.column_stack([nu[in_loop], nw[in_loop]]))
    seg_plane = plane_of_loop[loop_of_seg]
    keep = seg_plane >= 0
    return Sections(contour, hull, nodes[seg[keep]], seg_plane[keep], node_edges[seg[keep]])


def _empty(M: int) -> Sections:
    nan = np.full(M, np.nan)
    none = np.zeros(0, dtype=np.int64)
    return Sections(nan, nan.copy(), np.zeros((0, 2, 3)), none, np.zeros((0, 2, 2), np.int64))


def hull_perimeter(points_2d: np.ndarray) -> float:
    """Perimeter of the convex hull of points (n, 2); for fewer than 3 or collinear points the
    length of the segment that spans them, back and forth."""
    if len(points_2d) >= 3:
        try:
            return float(ConvexHull(points_2d).area)  # in 2-D, qhull's "area" is the perimeter
        except QhullError:
            pass
    span = points_2d.max(axis=0) - points_2d.min(axis=0) if len(points_2d) else np.zeros(2)
    return float(2.0 * np.linalg.norm(span))
