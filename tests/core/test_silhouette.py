"""The silhouette term (core/silhouette.py): mask mapping, Jacobian, effect on the shape, bad
masks."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.detector_crop import Crop, sample
from blender_smplify.core.fit import FitOptions, fit
from blender_smplify.core.fit_setup import get_setup, prepare
from blender_smplify.core.keypoints import Keypoints2D
from blender_smplify.core.measurements import BodyMeasurer
from blender_smplify.core.objective import SmplifyWeights, StageConfig
from blender_smplify.core.silhouette import (
    Silhouette,
    SilhouetteSettings,
    SilhouetteTarget,
    silhouette_target,
    smoothed_at,
)

FOCAL, SIZE = 600.0, (240, 320)
CENTRE = np.array([120.0, 160.0])
SETTINGS = SilhouetteSettings(surface_points=300, boundary_points=120)


@pytest.fixture(scope="module")
def model():
    return BodyModel.load(gender="male")


def a_pose() -> np.ndarray:
    """(72,) upright, facing the camera (OpenCV frame), arms 45° down."""
    pose = np.zeros((24, 3))
    pose[0] = [np.pi, 0.0, 0.0]
    pose[16], pose[17] = [0.0, 0.0, -0.8], [0.0, 0.0, 0.8]  # left, right shoulder
    return pose.ravel()


def rasterise(model, betas, pose, transl, size=SIZE, samples=6) -> np.ndarray:
    """(H, W) bool: the posed mesh projected, each triangle filled by barycentric samples (a
    simple rasteriser for a mesh whose triangles are a few pixels wide), then closed."""
    vertices, _ = model.forward(betas, pose, transl)
    uv = FOCAL * vertices[:, :2] / vertices[:, 2:] + CENTRE
    tri = uv[model.faces]  # (F, 3, 2)
    a, b = np.meshgrid(np.linspace(0, 1, samples), np.linspace(0, 1, samples))
    keep = a + b <= 1
    a, b = a[keep], b[keep]
    pts = tri[:, None, 0] + a[None, :, None] * (tri[:, None, 1] - tri[:, None, 0])
    pts = pts + b[None, :, None] * (tri[:, None, 2] - tri[:, None, 0])
    ij = np.floor(pts.reshape(-1, 2)).astype(int)
    w, h = size
    ok = (ij[:, 0] >= 0) & (ij[:, 0] < w) & (ij[:, 1] >= 0) & (ij[:, 1] < h)
    mask = np.zeros((h, w), bool)
    mask[ij[ok, 1], ij[ok, 0]] = True
    return ndimage.binary_fill_holes(ndimage.binary_closing(mask, iterations=1))


def ellipse_mask(h, w, centre, axes) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    return ((xx - centre[0]) / axes[0]) ** 2 + ((yy - centre[1]) / axes[1]) ** 2 <= 1.0


# ------------------------------------------------------------------------------ mask mapping
def test_a_turned_crop_mask_maps_back_onto_the_image_mask():
    """An image mask sampled into a turned, scaled crop (as the detector's mask is) and read
    back through the crop's affine: boundary on the image's, normals outward, distances as
    the image mask's own distance transform."""
    h, w = 400, 300
    image_mask = ellipse_mask(h, w, (140.0, 210.0), (60.0, 130.0))
    crop = Crop(np.array([150.0, 200.0]), 380.0, np.radians(25.0), 256)
    crop_mask = sample(image_mask[..., None].astype(np.float32), crop)[..., 0]
    target = SilhouetteTarget(Silhouette(crop_mask, crop.crop_to_image()), 150)
    # boundary pixels lie on the ellipse (within a crop pixel, 1.5 image px)
    e = (target.boundary - [140.0, 210.0]) / [60.0, 130.0]
    radius = np.hypot(e[:, 0], e[:, 1])
    assert 100 <= len(target.boundary) <= 200
    assert np.all(np.abs(radius - 1.0) * 60.0 < 3.0)
    # outward normals: along the ellipse's gradient
    grad = e / [60.0, 130.0]
    grad /= np.linalg.norm(grad, axis=1, keepdims=True)
    assert np.median(np.sum(grad * target.normals, axis=1)) > 0.95
    # distances to the mask at image points outside it, against the image's own transform
    exact = ndimage.distance_transform_edt(~image_mask)
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, 0], [w, h], size=(600, 2))
    uv = crop.to_crop(pts)
    pts = pts[np.all((uv > 0) & (uv < 256), axis=1)][:400]  # beyond the grid: a guess
    d, _ = target.distance_outside(pts)
    want = exact[pts[:, 1].astype(int), pts[:, 0].astype(int)]
    assert np.median(np.abs(d - want)) < 2.0
    assert np.all(np.abs(d - want) < 4.0)


def test_image_masks_are_shrunk_but_keep_image_pixels():
    mask = ellipse_mask(1200, 900, (450.0, 600.0), (150.0, 400.0))
    sil = Silhouette.from_image_mask(mask)
    assert max(sil.probability.shape) <= 512
    target = SilhouetteTarget(sil, 100)
    d, _ = target.distance_outside(np.array([[450.0, 600.0], [450.0 + 250.0, 600.0]]))
    assert d[0] == 0.0 and abs(d[1] - 100.0) < 6.0


# ------------------------------------------------------------------------------ Jacobian
@pytest.mark.parametrize("held", [False, True])
def test_block_jacobian_matches_finite_differences(model, held):
    """Both directions active: a body wider than the mask in places and narrower in others.
    ``held``: the outline points chosen at another body (the solver's rounds hold them)."""
    rng = np.random.default_rng(3)
    x = np.concatenate([a_pose() + rng.normal(scale=0.1, size=72), rng.normal(size=10)])
    x = np.concatenate([x, [0.05, -0.1, 4.0]])
    elsewhere = x + rng.normal(scale=0.05, size=len(x))
    mask = ellipse_mask(SIZE[1], SIZE[0], (125.0, 160.0), (45.0, 140.0))
    crop = Crop(np.array([120.0, 160.0]), 330.0, 0.3, 256)  # turned, as the detector's
    crop_mask = sample(mask[..., None].astype(np.float32), crop)[..., 0]
    kp = synthetic_keypoints(model, x)
    prob = prepare(
        model,
        kp,
        SIZE,
        FOCAL,
        SmplifyWeights(),
        FitOptions(silhouette=SETTINGS),
        None,
        Silhouette(crop_mask, crop.crop_to_image()),
    )
    block = prob.objective.blocks[-1]
    assert block.name == "silhouette"
    stage = StageConfig({})
    if held:
        prob.hold_outline(elsewhere)
        assert block.held is not None

    def r(x):
        return block.residuals(
            prob.objective.state(x, False), stage, jacobian=False, compact=False
        )[0]

    r0, J = block.residuals(prob.objective.state(x), stage, jacobian=True, compact=False)
    n = SETTINGS.surface_points
    assert np.count_nonzero(r0[:n]) > 10 and np.count_nonzero(r0[n:]) > 10
    h, numeric = 1e-6, np.zeros_like(J)
    for k in range(len(x)):
        xp, xm = x.copy(), x.copy()
        xp[k] += h
        xm[k] -= h
        numeric[:, k] = (r(xp) - r(xm)) / (2 * h)
    np.testing.assert_allclose(J, numeric, atol=1e-4 * np.abs(numeric).max())
    # the compact form holds the same non-zero rows
    rc, Jc = block.residuals(prob.objective.state(x), stage, jacobian=True, compact=True)
    np.testing.assert_allclose(rc, r0[r0 != 0])
    np.testing.assert_allclose(Jc, J[r0 != 0], atol=1e-12)


def synthetic_keypoints(model, x) -> Keypoints2D:
    """Exact blazepose33 keypoints of the body at x (n,)."""
    setup = get_setup(model, "blazepose33", 10)
    pts, _ = setup.kin.evaluate(x[:72], x[72:82], x[82:], False)
    kp = pts[setup.point_index]
    return Keypoints2D("blazepose33", FOCAL * kp[:, :2] / kp[:, 2:] + CENTRE, np.ones(len(kp)))


# ------------------------------------------------------------------------------ shape
@pytest.fixture(scope="module")
def wide_body(model):
    """(measurer, true measurements, exact keypoints, mask) of a male body with a waist far
    from the mean's, in an A-pose, rendered into a mask."""
    measurer = BodyMeasurer(model)
    mean_waist = measurer.measure(np.zeros(10)).values["waist_girth"]
    rng = np.random.default_rng(7)
    candidates = rng.normal(size=(40, 10)) * 1.5
    waists = [measurer.measure(b).values["waist_girth"] for b in candidates]
    betas = candidates[int(np.argmax(waists))]
    truth = measurer.measure(betas).values
    assert truth["waist_girth"] - mean_waist > 0.12  # a clearly wider body
    pose, transl = a_pose(), np.array([0.0, -0.25, 4.2])
    kp = synthetic_keypoints(model, np.concatenate([pose, betas, transl]))
    mask = Silhouette.from_image_mask(rasterise(model, betas, pose, transl))
    return measurer, truth, kp, mask


def test_the_outline_of_a_wider_body_moves_the_fitted_waist_toward_it(model, wide_body):
    """With its exact keypoints and stature the joints-only fit keeps a mean-like waist, the
    silhouette brings it most of the way."""
    measurer, truth, kp, mask = wide_body
    options = FitOptions(silhouette=SETTINGS)
    kw = dict(options=options, height=truth["stature"])
    plain = fit(model, kp, SIZE, FOCAL, **kw)
    with_mask = fit(model, kp, SIZE, FOCAL, silhouette=mask, **kw)
    err_plain = measurer.measure(plain.betas).values["waist_girth"] - truth["waist_girth"]
    err_mask = measurer.measure(with_mask.betas).values["waist_girth"] - truth["waist_girth"]
    assert abs(err_plain) > 0.06
    assert abs(err_mask) < 0.5 * abs(err_plain)
    assert "silhouette" in with_mask.energy and "silhouette" not in plain.energy


def test_the_stage_does_not_stall_when_the_mask_pulls_at_full_weight(model, wide_body):
    """Inside weight 1 (mask outside the body weighed as much as the body outside the mask):
    with the outline points re-chosen at every evaluation, one point leaving the outline
    re-matched its boundary pixels 15-20 cm away, every step was rejected and the waist stayed
    37 cm too small (docs/fit_silhouette.md, "The stalled stage"). Held within the solver's rounds,
    the stage brings the waist within 5 cm (3.7 cm small with the occlusion rule, 0.7 cm without
    it)."""
    measurer, truth, kp, mask = wide_body
    settings = replace(SETTINGS, inside_weight=1.0)
    options = FitOptions(silhouette=settings, silhouette_iterations=10)
    result = fit(model, kp, SIZE, FOCAL, options=options, height=truth["stature"], silhouette=mask)
    err = measurer.measure(result.betas).values["waist_girth"] - truth["waist_girth"]
    assert abs(err) < 0.05


# ------------------------------------------------------------------------------ bad masks
@pytest.mark.parametrize(
    "probability, why",
    [
        (np.zeros((256, 256), np.float32), "person pixels"),
        (np.ones((256, 256), np.float32), "everywhere"),
        (np.full((256, 256), np.nan, np.float32), "non-finite"),
        (np.zeros((256, 256, 3), np.float32), "shape"),
        (np.zeros((2, 2), np.float32), "shape"),
    ],
)
def test_a_mask_that_cannot_be_a_person_is_ignored_with_a_warning(model, probability, why):
    sil = Silhouette(probability, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    with pytest.warns(UserWarning, match=why):
        assert silhouette_target(sil, SETTINGS) is None
    x = np.concatenate([a_pose(), np.zeros(10), [0.0, -0.25, 4.2]])
    kp = synthetic_keypoints(model, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(model, kp, SIZE, FOCAL, silhouette=sil)
    assert "silhouette" not in result.energy
    assert np.all(np.isfinite(result.betas))


def test_a_wrong_transform_or_type_is_a_readable_error_or_warning(model):
    mask = ellipse_mask(64, 64, (32.0, 32.0), (10.0, 25.0)).astype(np.float32)
    with pytest.warns(UserWarning, match="transform"):
        assert silhouette_target(Silhouette(mask, np.eye(3)), SETTINGS) is None
    with pytest.warns(UserWarning, match="degenerate"):
        assert silhouette_target(Silhouette(mask, np.zeros((2, 3))), SETTINGS) is None
    with pytest.raises(TypeError, match="Silhouette"):
        silhouette_target(mask, SETTINGS)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        Silhouette.from_image_mask(np.zeros((10, 10, 3)))


def test_surface_points_agree_with_the_skinned_mesh_and_the_generic_kinematics(model):
    """Positions against full linear blend skinning of the mesh (``BodyModel.forward``, no pose
    correctives in the open model), the few-influence Jacobian against
    ``kinematics.vertex_kinematics``'s dense one."""
    from blender_smplify.core.objective import BodyState
    from blender_smplify.core.surface_points import SurfacePoints

    surface = SurfacePoints(model, 10, 200)
    rng = np.random.default_rng(5)
    pose, betas, transl = rng.normal(scale=0.4, size=72), rng.normal(size=10), np.ones(3)
    state = BodyState(None, pose, betas, transl, None, None, slice(72, 82))
    posed = surface.pose(state)
    vertices, _ = model.forward(betas, pose, transl)
    np.testing.assert_allclose(posed.points, vertices[surface.vertices], atol=1e-10)
    some = np.array([0, 7, 50, 199])
    _, dense = surface.kin.evaluate(pose, betas, transl, True, some)
    np.testing.assert_allclose(surface.jacobian(posed, some), dense[24:], atol=1e-10)


def test_covered_outline_points_are_those_with_a_point_near_their_outward_probe(model):
    """``_covered`` (a k-d tree's nearest point) against its definition written out: covered
    when some projected surface point lies within REACH spacings of the probe PROBE spacings
    out along m."""
    from blender_smplify.core.objective import BodyState
    from blender_smplify.core.silhouette import PROBE, REACH, SilhouetteBlock, point_spacing
    from blender_smplify.core.surface_points import SurfacePoints

    surface = SurfacePoints(model, 10, 300)
    state = BodyState(None, a_pose(), np.zeros(10), np.array([0.0, 0.2, 3.0]), None, None, None)
    pts = surface.pose(state).points
    uv = FOCAL * pts[:, :2] / pts[:, 2:] + CENTRE
    block = SilhouetteBlock(
        target=None, surface=surface, focal=FOCAL, centre=CENTRE, scale=1.0, settings=SETTINGS
    )
    rng = np.random.default_rng(2)
    outline = np.arange(0, 300, 2)
    m = rng.normal(size=(len(outline), 2))
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    step = FOCAL * point_spacing(surface) / pts[outline, 2]
    probe = uv[outline] + (PROBE * step)[:, None] * m
    d2 = np.sum((probe[:, None, :] - uv[None, :, :]) ** 2, axis=2)
    expected = np.any(d2 < (REACH * step[:, None]) ** 2, axis=1)
    assert 0 < expected.sum() < len(outline)
    np.testing.assert_array_equal(block._covered(pts, uv, outline, m), expected)


def test_the_pipeline_passes_the_detected_mask_when_switched_on(monkeypatch):
    from pathlib import Path

    from blender_smplify.core import pipeline

    sample = Path(pipeline.__file__).parents[1] / "data" / "samples" / "standing_person.jpg"
    monkeypatch.setattr(pipeline, "SILHOUETTE_FROM_MASK", True)
    on = pipeline.fit_photo(sample)
    monkeypatch.setattr(pipeline, "SILHOUETTE_FROM_MASK", False)
    off = pipeline.fit_photo(sample)
    assert on.fit.energy["silhouette"] > 0 and "silhouette" not in off.fit.energy


def test_the_mask_smoothed_at_a_few_pixels_equals_the_whole_grid_smoothed():
    """The boundary normals read the smoothed mask only where they need it: the values equal
    ``ndimage.gaussian_filter`` over the whole grid, at the grid's edges too."""
    rng = np.random.default_rng(0)
    person = ndimage.binary_opening(rng.random((60, 45)) > 0.4)
    person[0, :] = True
    rows, cols = np.indices(person.shape).reshape(2, -1)
    whole = ndimage.gaussian_filter(person.astype(np.float64), 1.0)
    np.testing.assert_allclose(smoothed_at(person, rows, cols), whole.ravel(), atol=1e-12)
