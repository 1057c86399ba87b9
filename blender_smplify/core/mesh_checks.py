"""Is a body mesh a closed 2-manifold, and how to close it (bpy-free).

Cloth simulators and the garment tools that import our avatars want a watertight body: every
edge shared by exactly two faces, the faces oriented consistently (each shared edge traversed
once in each direction), one connected piece. For such a surface the Euler characteristic
χ = V − E + F = 2 − 2g gives its genus g (0 for a body without tunnels). An open surface has
boundary loops (holes); :func:`fill_holes` closes them with triangles over the existing
vertices, so the model's per-vertex arrays (shape directions, skinning weights, regressors)
stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .errors import SmplifyError


@dataclass(frozen=True)
class ManifoldReport:
    """Topology of a polygon mesh.

    Attributes
    ----------
    vertices, edges, faces : counts (vertices: those the faces use).
    unused_vertices : vertices no face uses.
    boundary_edges : edges of exactly one face (the rims of holes).
    nonmanifold_edges : edges of three or more faces.
    misoriented_edges : edges of two faces that traverse them in the same direction.
    holes : number of rims (connected pieces of the open edges).
    components : connected pieces (over the faces' edges).
    euler : χ = V − E + F.
    """

    vertices: int
    edges: int
    faces: int
    unused_vertices: int
    boundary_edges: int
    nonmanifold_edges: int
    misoriented_edges: int
    holes: int
    components: int
    euler: int

    @property
    def closed(self) -> bool:
        """Every edge in exactly two faces, consistently oriented, one piece."""
        return (
            self.boundary_edges == 0
            and self.nonmanifold_edges == 0
            and self.misoriented_edges == 0
            and self.components == 1
        )

    @property
    def genus(self) -> int | None:
        """Number of tunnels of a closed surface (χ = 2 − 2g), else None."""
        return (2 - self.euler) // 2 if self.closed else None

    def summary(self) -> str:
        """One line for a status bar or a report."""
        if self.closed:
            return (
                f"closed 2-manifold: {self.vertices} vertices, {self.faces} faces, "
                f"Euler characteristic {self.euler} (genus {self.genus})"
            )
        return (
            f"not closed: {self.holes} hole(s) ({self.boundary_edges} open edges), "
            f"{self.nonmanifold_edges} non-manifold and {self.misoriented_edges} misoriented "
            f"edges, {self.components} piece(s), Euler characteristic {self.euler}"
        )


def directed_edges(polygons: np.ndarray) -> np.ndarray:
    """Directed edges (F·k, 2) of polygons (F, k), face by face in their winding order."""
    polygons = np.asarray(polygons, dtype=np.int64)
    if polygons.ndim != 2 or polygons.shape[1] < 3:
        raise SmplifyError(f"faces must be an (F, k) array with k >= 3, got {polygons.shape}")
    return np.stack([polygons, np.roll(polygons, -1, axis=1)], axis=-1).reshape(-1, 2)


def manifold_report(polygons: np.ndarray, num_vertices: int) -> ManifoldReport:
    """Check that polygons (F, k) (triangles or quads) over ``num_vertices`` form a closed
    2-manifold; see :class:`ManifoldReport` for what is counted."""
    edges = directed_edges(polygons)
    if edges.size and (edges.min() < 0 or edges.max() >= num_vertices):
        raise SmplifyError(f"faces index vertices outside 0..{num_vertices - 1}")
    # 1. Undirected edges and how many faces use each
    undirected = np.sort(edges, axis=1)
    unique, inverse, uses = np.unique(undirected, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    # 2. Orientation: a shared edge is traversed once each way, so its +1/−1 signs cancel
    forward = np.where(edges[:, 0] < edges[:, 1], 1, -1)
    balance = np.bincount(inverse, weights=forward, minlength=len(unique))
    misoriented = int(np.sum((uses == 2) & (balance != 0)))
    # 3. Pieces: connected components of the graph of used vertices
    used = np.unique(edges)
    boundary = unique[uses == 1]
    components = _pieces(unique, num_vertices)
    # 4. Holes: pieces of the graph of open edges (a rim is one piece, also where rims are odd)
    holes = _pieces(boundary, num_vertices) if len(boundary) else 0
    return ManifoldReport(
        vertices=len(used),
        edges=len(unique),
        faces=len(polygons),
        unused_vertices=num_vertices - len(used),
        boundary_edges=len(boundary),
        nonmanifold_edges=int(np.sum(uses > 2)),
        misoriented_edges=misoriented,
        holes=holes,
        components=components,
        euler=len(used) - len(unique) + len(polygons),
    )


def _pieces(edges: np.ndarray, num_vertices: int) -> int:
    """Connected pieces of the graph of ``edges`` (E, 2), counting only vertices on an edge."""
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), (num_vertices,) * 2)
    _, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[np.unique(edges)]))


def boundary_loops(polygons: np.ndarray) -> list[np.ndarray]:
    """The holes' rims: lists of vertex ids (n,) in the winding of the faces beside them.

    Each boundary edge a→b is the edge of its one face; a rim is followed by chaining such edges
    head to tail. Raises SmplifyError where rims touch (a vertex on two holes), which a
    2-manifold with boundary does not have.
    """
    edges = directed_edges(polygons)
    undirected = np.sort(edges, axis=1)
    _, inverse, uses = np.unique(undirected, axis=0, return_inverse=True, return_counts=True)
    rim = edges[uses[inverse.ravel()] == 1]
    following = dict(zip(rim[:, 0].tolist(), rim[:, 1].tolist()))
    if len(following) != len(rim):
        raise SmplifyError("the mesh's holes touch at a vertex: not a manifold with boundary")
    loops = []
    while following:
        start, loop = next(iter(following)), []
        vertex = start
        while True:
            loop.append(vertex)
            vertex = following.pop(vertex, None)
            if vertex is None:
                raise SmplifyError("an open rim does not close into a loop")
            if vertex == start:
                break
        loops.append(np.array(loop, dtype=np.int64))
    return loops


def fill_holes(polygons: np.ndarray) -> np.ndarray:
    """Triangles (T, 3) that close every hole of polygons (F, k), over existing vertices only.

    Each rim is fanned from its first vertex, wound against the rim so that every new edge is
    traversed opposite to its neighbouring face (the orientation stays consistent). No vertex
    is added, so every per-vertex array of a body model stays valid. Suits the small, nearly
    planar, convex holes of body meshes; a large or twisted hole wants a proper remesh.
    """
    triangles = []
    for loop in boundary_loops(polygons):
        reverse = loop[::-1]  # the neighbouring faces run a→b along the rim; new ones b→a
        for i in range(1, len(reverse) - 1):
            triangles.append((reverse[0], reverse[i], reverse[i + 1]))
    return np.array(triangles, dtype=np.int64).reshape(-1, 3)


def winding_numbers(
    vertices: np.ndarray, triangles: np.ndarray, points: np.ndarray, chunk: int = 8
) -> np.ndarray:
    """Winding number (P,) of a closed triangle mesh around each point: 1 inside, 0 outside.

    The sum over the triangles of the solid angle each subtends at the point, over 4π
    (Van Oosterom & Strackee 1983: tan(Ω/2) = a·(b×c) / (abc + (a·b)c + (a·c)b + (b·c)a),
    with a, b, c the corners relative to the point and a, b, c also their lengths). Unlike a
    nearest-face normal test it is exact away from the surface whatever the surface's shape.

    Parameters
    ----------
    vertices : (V, 3); triangles : (T, 3) outward-wound; points : (P, 3).
    chunk : points per vectorised block (memory ~ chunk · T · 9 floats).
    """
    corners = np.asarray(vertices, dtype=np.float64)[np.asarray(triangles)]  # (T, 3, 3)
    points = np.asarray(points, dtype=np.float64)
    out = np.empty(len(points))
    for start in range(0, len(points), chunk):
        rel = corners[None] - points[start : start + chunk, None, None]  # (p, T, 3, 3)
        a, b, c = rel[:, :, 0], rel[:, :, 1], rel[:, :, 2]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        numerator = np.einsum("ptk,ptk->pt", a, np.cross(b, c))
        dot = lambda x, y: np.einsum("ptk,ptk->pt", x, y)  # noqa: E731
        denominator = la * lb * lc + dot(a, b) * lc + dot(a, c) * lb + dot(b, c) * la
        out[start : start + chunk] = np.arctan2(numerator, denominator).sum(axis=1) / (2 * np.pi)
    return out
