"""Closed 2-manifold check and hole filling on meshes of known topology, and on the open models."""

from __future__ import annotations

import numpy as np
import pytest

from blender_smplify.core.errors import SmplifyError
from blender_smplify.core.mesh_checks import (
    boundary_loops,
    fill_holes,
    manifold_report,
    winding_numbers,
)

CUBE_QUADS = np.array(
    [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]
)


def uv_sphere(rings: int = 8, segments: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A closed triangulated sphere: vertices (V, 3), outward-wound triangles (F, 3)."""
    theta = np.linspace(0, np.pi, rings + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    body = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    vertices = np.vstack([[0, 0, 1], body, [0, 0, -1]])
    ring = lambda r, s: 1 + r * segments + s % segments  # noqa: E731
    south = len(vertices) - 1
    faces = [(0, ring(0, s), ring(0, s + 1)) for s in range(segments)]
    for r in range(rings - 2):
        for s in range(segments):
            a, b, c, d = ring(r, s), ring(r, s + 1), ring(r + 1, s + 1), ring(r + 1, s)
            faces += [(a, d, c), (a, c, b)]
    faces += [(south, ring(rings - 2, s + 1), ring(rings - 2, s)) for s in range(segments)]
    return vertices, np.array(faces)


def test_closed_surfaces_pass_with_euler_characteristic_two():
    cube = manifold_report(CUBE_QUADS, 8)
    assert cube.closed and cube.euler == 2 and cube.genus == 0 and cube.edges == 12
    vertices, faces = uv_sphere()
    sphere = manifold_report(faces, len(vertices))
    assert sphere.closed and sphere.euler == 2 and sphere.holes == 0


def test_torus_has_genus_one():
    n, m = 6, 5
    ids = np.arange(n * m).reshape(n, m)
    quads = [
        (ids[i, j], ids[(i + 1) % n, j], ids[(i + 1) % n, (j + 1) % m], ids[i, (j + 1) % m])
        for i in range(n)
        for j in range(m)
    ]
    report = manifold_report(np.array(quads), n * m)
    assert report.closed and report.euler == 0 and report.genus == 1


def test_open_flipped_split_and_nonmanifold_meshes_are_caught():
    opened = manifold_report(CUBE_QUADS[1:], 8)
    assert not opened.closed and opened.holes == 1 and opened.boundary_edges == 4
    flipped = CUBE_QUADS.copy()
    flipped[2] = flipped[2, ::-1]
    report = manifold_report(flipped, 8)
    assert not report.closed and report.misoriented_edges == 4 and report.boundary_edges == 0
    two = manifold_report(np.vstack([CUBE_QUADS, CUBE_QUADS + 8]), 16)
    assert not two.closed and two.components == 2 and two.euler == 4
    vertices, faces = uv_sphere()
    a, b = faces[0, :2]
    fin = np.vstack([faces, [[a, b, len(vertices)]]])  # a third face on one edge
    assert manifold_report(fin, len(vertices) + 1).nonmanifold_edges == 1


def test_fill_holes_closes_with_consistent_orientation_and_no_new_vertices():
    vertices, faces = uv_sphere()
    # two holes: the north cap fan and one quad's two triangles further down
    opened = np.delete(faces, list(range(12)) + [40, 41], axis=0)
    report = manifold_report(opened, len(vertices))
    assert report.holes == 2 and not report.closed
    patch = fill_holes(opened)
    assert patch.max() < len(vertices)
    closed = manifold_report(np.vstack([opened, patch]), len(vertices))
    assert closed.closed and closed.euler == 2


def test_boundary_loops_follow_the_rim_in_winding_order():
    loops = boundary_loops(CUBE_QUADS[1:])
    assert len(loops) == 1 and sorted(loops[0].tolist()) == [0, 1, 2, 3]
    # the rim runs as the faces beside it wind: the removed face was 0→3→2→1, its
    # neighbours traverse 0→1→2→3
    start = int(np.flatnonzero(loops[0] == 0)[0])
    assert np.roll(loops[0], -start).tolist() == [0, 1, 2, 3]


def test_bad_faces_raise_readable_errors():
    with pytest.raises(SmplifyError, match="outside"):
        manifold_report(CUBE_QUADS, 7)
    with pytest.raises(SmplifyError, match="k >= 3"):
        manifold_report(np.array([[0, 1]]), 2)


@pytest.mark.parametrize("gender", ["neutral", "female", "male"])
def test_open_models_are_closed_genus_zero(gender):
    from blender_smplify.core.body_model import BodyModel

    model = BodyModel.load(gender=gender)
    for polygons in (model.quads, model.faces):
        report = manifold_report(polygons, model.num_vertices)
        assert report.closed and report.genus == 0 and report.unused_vertices == 0


def test_toy_smpl_format_model_is_reported_open(toy_model):
    report = manifold_report(toy_model.faces, toy_model.num_vertices)
    assert not report.closed and report.boundary_edges > 0


def test_winding_number_is_one_inside_and_zero_outside(rng):
    vertices, faces = uv_sphere(rings=16, segments=24)
    points = rng.uniform(-1.2, 1.2, (400, 3))
    radius = np.linalg.norm(points, axis=1)
    clear = np.abs(radius - 1) > 0.05  # the facetted sphere lies between 0.98 and 1
    winding = winding_numbers(vertices, faces, points[clear])
    np.testing.assert_allclose(winding, (radius[clear] < 1).astype(float), atol=1e-9)
    flipped = winding_numbers(vertices, faces[:, ::-1], np.zeros((1, 3)))
    np.testing.assert_allclose(flipped, [-1.0])
