"""The shape benchmark's exact person masks and edge measurements (benchmarks/truth_masks.py,
benchmarks/mask_accuracy.py; no rendering, no detector)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import mask_accuracy as ma
import truth_masks as tm

SQUARE = np.array([[0, 1, 2], [0, 2, 3]])


def rectangle(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def test_a_rectangle_covers_its_area_exactly():
    # edges on the 1/4-pixel sample lattice's midlines: every pixel's coverage is exact
    cov = tm.rasterise(rectangle(2.25, 3.5, 7.75, 6.0), SQUARE, (10, 10))
    assert cov.sum() / tm.SS**2 == pytest.approx(5.5 * 2.5)
    np.testing.assert_array_equal(cov[3, 2:8], [6, 8, 8, 8, 8, 6])
    np.testing.assert_array_equal(cov[4, 2:8], [12, 16, 16, 16, 16, 12])
    assert cov[:3].sum() == 0 and cov[6:].sum() == 0
    # the triangles' winding does not matter (a mesh seen from behind turns it)
    turned = tm.rasterise(rectangle(2.25, 3.5, 7.75, 6.0), SQUARE[:, ::-1], (10, 10))
    np.testing.assert_array_equal(turned, cov)


def test_overlapping_and_large_triangles_make_a_union():
    # a big rectangle (more than 8 samples a side: the one-by-one path) twice, and a
    # small one inside it: covered once
    xy = np.concatenate([rectangle(1.0, 1.0, 9.0, 7.0), rectangle(3.0, 3.0, 4.0, 4.0)])
    faces = np.concatenate([SQUARE, SQUARE, SQUARE + 4])
    cov = tm.rasterise(xy, faces, (12, 9))
    assert cov.max() == tm.SS**2
    assert cov.sum() / tm.SS**2 == pytest.approx(8.0 * 6.0)


def test_the_render_check_finds_a_shifted_mask():
    cov = tm.rasterise(rectangle(10.3, 0.0, 30.6, 20.0), SQUARE, (40, 20)) / tm.SS**2
    image = np.where(np.arange(40)[None, :] + 0.5 < 10.3, 0.0, 200.0) * np.ones((20, 1))
    image = np.repeat(image[..., None], 3, axis=2)
    image[:, 10] = 200.0 * 0.7  # the pixel the edge crosses: partly covered
    found = tm.edge_offsets(cov, image)
    assert len(found) and abs(np.median(found)) < 0.3
    shifted = tm.edge_offsets(np.roll(cov, 2, axis=1), image)
    assert np.median(shifted) == pytest.approx(-2.0, abs=0.3)


def test_run_edges_interpolate_the_level_and_keep_to_the_run():
    row = np.array([0.0, 0.2, 0.6, 1.0, 1.0, 0.8, 0.0, 0.9, 1.0, 0.0])
    left, right = ma.run_edges(row, 3.7, 0.5)
    assert left == pytest.approx(1.5 + 0.3 / 0.4)  # between centres 1.5 and 2.5
    assert right == pytest.approx(5.5 + 0.3 / 0.8)  # between centres 5.5 and 6.5
    assert ma.run_edges(row, 6.2, 0.5) is None  # outside the mask
    assert ma.run_edges(row, 8.1, 0.5) == pytest.approx((6.5 + 0.5 / 0.9, 9.0))


def test_an_unknown_mask_kind_is_named():
    with pytest.raises(ValueError, match="unknown mask"):
        tm.mask_silhouette("nearest", None, "p000_front")
