"""The person mask for the silhouette term (core/person_mask.py): a finer grid over the
person's box, the calibrated probability level on the term's threshold."""

from types import SimpleNamespace

import numpy as np
import pytest

from blender_smplify.core.detector_crop import Crop, bilinear
from blender_smplify.core.person_mask import (
    MARGIN,
    interpolate_axis,
    person_box,
    refine_grid,
    refined_silhouette,
)
from blender_smplify.core.silhouette import THRESHOLD, Silhouette

SCALE = 2.5  # image px per mask cell, as on the shape benchmark's renders


def soft_band(a: float, b: float, level: float, size: int = 64) -> np.ndarray:
    """(size, size) probability of a vertical band from column coordinate a to b (continuous
    grid coordinates), rows 10 to 54, that crosses ``level`` exactly on the band's edges."""
    u = np.arange(size) + 0.5
    inside = np.minimum(u - a, b - u)  # signed distance to the nearer edge, cells
    logit = inside / 0.8 + np.log(level / (1 - level))
    p = np.zeros((size, size))
    p[10:54] = 1.0 / (1.0 + np.exp(-logit))
    return p.astype(np.float32)


def width_px(silhouette: Silhouette, row_image_y: float) -> float:
    """Image px between the outer edges of the cells above the term's threshold along the
    grid row that holds image row y (an axis-aligned grid)."""
    a = silhouette.to_image
    r = int((row_image_y - a[1, 2]) / a[1, 1])
    cols = np.flatnonzero(silhouette.probability[r] > THRESHOLD)
    return (cols[-1] + 1 - cols[0]) * a[0, 0]


def test_the_refined_grid_puts_the_threshold_on_the_calibrated_level():
    level, a, b = 0.25, 20.3, 41.6
    grid = soft_band(a, b, level)
    to_image = np.array([[SCALE, 0.0, 7.0], [0.0, SCALE, -3.0]])
    refined = refine_grid(grid, to_image, 4, level)
    true_width = (b - a) * SCALE
    # the fine cells above the threshold span the band within a fine cell (2.5 / 4 px)
    assert abs(width_px(refined, -3.0 + 30 * SCALE) - true_width) <= SCALE / 4 + 1e-6
    # the plain grid at 0.5 misses it by more: narrower (the level is below 0.5)
    plain = Silhouette(grid, to_image)
    assert width_px(plain, -3.0 + 30 * SCALE) < true_width - SCALE / 2


@pytest.mark.parametrize("level", [0.25, 0.7])
def test_the_level_map_is_monotone_and_puts_the_level_on_the_threshold(level):
    p = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    grid = np.tile(p, (8, 1))
    grid[:, :3] = 0.0
    out = refine_grid(grid, np.array([[1.0, 0, 0], [0, 1.0, 0]]), 1, level).probability[4]
    assert np.all(np.diff(out) >= 0) and out[0] == 0.0 and out[-1] == pytest.approx(1.0)
    np.testing.assert_array_equal(out > THRESHOLD, p > level)
    assert out[np.argmin(abs(p - level))] == pytest.approx(THRESHOLD, abs=1e-6)


def test_a_finer_grid_keeps_the_mask_where_the_image_says():
    # with the level on the threshold the probability is unchanged: every fine cell holds the
    # coarse mask's bilinear value at that cell's centre in the image
    rng = np.random.default_rng(3)
    grid = soft_band(12.0, 50.0, 0.5)
    grid[10:54] *= rng.uniform(0.6, 1.0, (44, 1)).astype(np.float32)
    turn = 0.3
    lin = SCALE * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    to_image = np.hstack([lin, [[40.0], [-12.0]]])
    refined = refine_grid(grid, to_image, 3, 0.5)
    a = refined.to_image
    rows = rng.integers(5, refined.probability.shape[0] - 5, 50)
    cols = rng.integers(5, refined.probability.shape[1] - 5, 50)
    image = np.stack([cols + 0.5, rows + 0.5], axis=1) @ a[:, :2].T + a[:, 2]
    uv = (image - to_image[:, 2]) @ np.linalg.inv(lin).T - 0.5
    expected = bilinear(grid[..., None], uv[:, 0], uv[:, 1], None)[:, 0]
    np.testing.assert_allclose(refined.probability[rows, cols], expected, atol=2e-4)


def test_refined_silhouette_reads_the_detection_crop():
    grid = soft_band(100.0, 150.0, 0.4, size=256)
    crop = Crop(np.array([300.0, 320.0]), 640.0, 0.0, 256)
    detection = SimpleNamespace(crop_mask=grid, crop=crop)
    refined = refined_silhouette(detection, upsample=2, level=0.4)
    # the band's edges in the image: crop u = 100 and 150 -> x = 300 + 2.5 (u - 128)
    y = crop.to_image(np.array([[125.0, 30.5]]))[0, 1]
    assert abs(width_px(refined, y) - 50 * 2.5) <= 2.5 / 2 + 1e-6
    corner = refined.to_image @ np.array([0.0, 0.0, 1.0])
    r0, _, c0, _ = person_box(grid)
    np.testing.assert_allclose(corner, crop.to_image(np.array([[c0, r0]], float))[0])


def test_person_box_has_a_margin_and_stays_on_the_grid():
    p = np.zeros((40, 30), np.float32)
    p[10:20, 5:8] = 0.9
    assert person_box(p) == (10 - MARGIN, 20 + MARGIN, 5 - MARGIN, 8 + MARGIN)
    p[:, 0] = 0.9  # the person touches the grid's border: the box keeps it
    assert person_box(p) == (0, 40, 0, 8 + MARGIN)
    assert person_box(np.zeros((40, 30))) == (0, 40, 0, 30)


def test_interpolate_axis_is_linear_and_keeps_the_ends():
    grid = np.array([[0.0, 10.0, 30.0, 60.0]]).T * np.array([[1.0, 2.0]])  # (4, 2)
    x = np.array([-0.5, 0.0, 0.25, 1.5, 3.0, 3.5])
    along = interpolate_axis(grid, x, 0)
    np.testing.assert_allclose(along[:, 0], [0.0, 0.0, 2.5, 20.0, 60.0, 60.0])
    np.testing.assert_allclose(along[:, 1], 2 * along[:, 0])
    np.testing.assert_allclose(interpolate_axis(grid.T, x, 1), along.T)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"upsample": 0}, "upsample"),
        ({"upsample": 1.5}, "upsample"),
        ({"level": 1.0}, "level"),
        ({"level": 0.0}, "level"),
    ],
)
def test_bad_settings_are_named(kwargs, words):
    detection = SimpleNamespace(crop_mask=np.zeros((8, 8)), crop=Crop(np.zeros(2), 8.0))
    with pytest.raises(ValueError, match=words):
        refined_silhouette(detection, **kwargs)


def test_a_mask_that_is_not_2d_is_named():
    detection = SimpleNamespace(crop_mask=np.zeros((8, 8, 1)), crop=Crop(np.zeros(2), 8.0))
    with pytest.raises(ValueError, match="crop mask"):
        refined_silhouette(detection)


def test_the_pipeline_hands_the_fit_the_refined_mask(monkeypatch):
    from pathlib import Path

    from blender_smplify.core import fit as fit_module
    from blender_smplify.core import pipeline
    from blender_smplify.core.image_io import load_image

    sample = Path(pipeline.__file__).parents[1] / "data" / "samples" / "standing_person.jpg"
    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("silhouette"))
        raise RuntimeError("seen")  # the fit itself is not the point here

    monkeypatch.setattr(fit_module, "fit", spy)
    with pytest.raises(RuntimeError, match="seen"):
        pipeline.fit_photo(sample, silhouette=True)
    expected = refined_silhouette(pipeline.detector().detect(load_image(sample)))
    np.testing.assert_array_equal(seen[0].probability, expected.probability)
    np.testing.assert_allclose(seen[0].to_image, expected.to_image)
