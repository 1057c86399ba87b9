"""The silhouette term: the person's outline shapes the body (girths), not only the joints.

The detector's person mask (BlazePose, 256 × 256 in its crop; ``Detection.crop_mask``) enters
a last stage of the fit as two sets of residuals, in normalised pixels like the
joint term, through a fixed set of a few hundred surface points x_j posed by linear blend
skinning (``surface_points.py``; analytic Jacobians in pose, β and translation):

(a) body outside the mask. With D_out the distance transform of the mask's complement (the
    distance of a pixel to the mask, 0 inside it), every surface point contributes

        r_j = λ_out ψ(s D_out(π(x_j));  σ_out),

(b) mask outside the body. For each of a few hundred mask boundary pixels b_i (the pixels of
    the mask next to its complement, one per cell of a grid) with outward normal n_i (minus
    the gradient of the smoothed mask), the nearest projected *outline* point π(x_j) whose own
    outward direction agrees with n_i (n_i · m_j > 0.5, m_j the projected surface normal;
    outline points are those whose normal is within ``outline_cos`` of perpendicular to the
    line of sight and whose outward side no other part of the body covers in the image) gives

        r_i = λ_in ψ(max(0, s n_i · (b_i − π(x_j)));  σ_in),

    the distance along the boundary's normal by which the mask reaches beyond the body there
    (point-to-line, so the spacing of the outline points along the outline adds no bias).

ψ(e; σ) = σ e / √(σ² + e²) is the Geman-McClure residual of ``objective.KeypointBlock``
(ψ² = ρ, bounded by σ); s is the normalised px per image px. The assignment b_i → x_j and the
outline are chosen at the start of each of the solver's rounds and held during it
(``hold``, ``outline_rounds.py``; ICP-style): re-chosen at every evaluation they made the
energy jump and the stage stall (docs/fit_silhouette.md, "The stalled stage").

The term runs in a stage of its own after the annealed ones (``fit.py`` step 4), from the
settled fit, with weight λs (``SmplifyWeights.silhouette``).

Loose clothing: a person in a coat is not their coat. The mask covers the body *and* what it
wears, so the two directions are weighed unequally. Body outside the mask is implausible and
costs fully (λ_out = 1, σ_out = 40 normalised px, about 7 cm on a 1.75 m body). Mask outside
the body is the normal state of a dressed person: its residual has a tighter σ_in = 15
normalised px (about 2.5 cm), so a sleeve or a coat hem standing far off the body pulls with
a force that fades with its distance (the Geman-McClure gradient falls as 1/e³ beyond σ)
while a mask that hugs the body still pulls the outline onto it. Its weight λ_in is 1 (it was
0.5 while the stage stalled above 0.65; on the shape benchmark's tuning half 1 beat 0.5 and
0.75, docs/fit_silhouette.md). That bounds what far-off clothing (a hem beyond ≈ 5 cm) can do, not
what a jumper does: measured (docs/fit_silhouette.md, "Silhouette"), a mask widened by 3 cm all
round (a tape 3 cm out measures about 19 cm more) makes the fitted girths 10-25 cm larger, whatever
the weighting; the outline alone cannot tell a body from its clothes. Mask pixels at the border of
the mask's grid (a person the crop cuts) are not used.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .camera import project_with_jacobian
from .objective import ResidualBlock

#: Mask probability above which a pixel is the person.
THRESHOLD = 0.5
#: Masks with fewer person pixels than this (on their grid) are ignored with a warning.
MIN_PIXELS = 64
#: The longest side a mask grid keeps (a full-resolution image mask is box-downsampled).
MAX_SIDE = 512
#: Occlusion test of outline points (``SilhouetteSettings.occlusion``): probe PROBE point
#: spacings out, covered when a projected surface point lies within REACH spacings of the
#: probe. 1.0 / 0.8 left the synthetic wide body's waist 4.5 cm small, 0.5 / 0.5 6.5 cm;
#: 0.7 / 0.6 3.5 cm (docs/fit_silhouette.md, "Outline points hidden in the silhouette").
PROBE, REACH = 0.7, 0.6


@dataclass(frozen=True)
class SilhouetteSettings:
    """How the two directions of the term are weighed (see the module docstring).

    Attributes
    ----------
    outside_sigma : σ_out, normalised px.
    inside_weight : λ_in relative to λ_out = 1. 0.5 with the refined mask
        (``person_mask.py``); 1.0 was best on BlazePose's coarse grid, whose outline lies half
        a cell inside the person (docs/fit_silhouette.md, "The stalled stage").
    inside_sigma : σ_in, normalised px.
    outline_cos : |cos| between a surface normal and the line of sight below which a point is
        on the outline.
    surface_points : number of posed surface points.
    boundary_points : number of mask boundary pixels.
    occlusion : leave out outline points whose outward side the body's other points cover in
        the image (a limb over the trunk): they are not on the projected silhouette.
    """

    outside_sigma: float = 40.0
    inside_weight: float = 0.5
    inside_sigma: float = 15.0
    outline_cos: float = 0.3
    occlusion: bool = True
    surface_points: int = 600
    boundary_points: int = 200


@dataclass(frozen=True)
class Silhouette:
    """A person mask: probabilities on a grid and where the grid lies in the image.

    Attributes
    ----------
    probability : (S, T) float32 person probability per grid pixel.
    to_image : (2, 3) affine A, image px = A @ (u, v, 1) for continuous grid coordinates (u, v)
        (pixel (i, j) covers [j, j + 1) × [i, i + 1) in both); a similarity (scale and turn).
    """

    probability: np.ndarray
    to_image: np.ndarray

    @classmethod
    def from_detection(cls, detection) -> Silhouette:
        """The mask of a ``detector.Detection`` in its crop's pixels (no image-sized copy), as
        BlazePose gives it. The pipeline hands the fit ``person_mask.refined_silhouette``
        instead: on this 256-cell grid the term's outline lies half a cell inside the person."""
        return cls(np.asarray(detection.crop_mask), detection.crop.crop_to_image())

    @classmethod
    def from_image_mask(cls, mask: np.ndarray) -> Silhouette:
        """An (H, W) mask in image pixels (probabilities or booleans), box-downsampled to at
        most MAX_SIDE pixels a side."""
        mask = np.asarray(mask, dtype=np.float32)
        if mask.ndim != 2:
            raise ValueError(f"a silhouette mask must be (H, W), got shape {mask.shape}")
        factor = int(np.ceil(max(mask.shape) / MAX_SIDE))
        if factor > 1:
            h, w = (mask.shape[0] // factor) * factor, (mask.shape[1] // factor) * factor
            mask = mask[:h, :w].reshape(h // factor, factor, w // factor, factor).mean((1, 3))
        return cls(mask, np.array([[factor, 0.0, 0.0], [0.0, factor, 0.0]]))


class SilhouetteTarget:
    """What the term reads from one mask, precomputed once per photo.

    Attributes
    ----------
    outside : (S, T) D_out, grid px. scale : image px per grid px.
    boundary : (Nb, 2) boundary pixels, image px. normals : (Nb, 2) their outward unit normals
        in the image.
    """

    def __init__(self, silhouette: Silhouette, boundary_points: int = 200) -> None:
        person = np.asarray(silhouette.probability) > THRESHOLD
        a = np.asarray(silhouette.to_image, dtype=np.float64)
        self.affine = a
        self.inverse = np.linalg.inv(a[:, :2])
        self.offset = a[:, 2]
        self.scale = float(np.sqrt(abs(np.linalg.det(a[:, :2]))))
        # 1. distance transform of the complement: the distance to the mask, 0 inside it
        self.outside = ndimage.distance_transform_edt(~person)
        # 2. boundary: mask pixels next to the complement, not on the grid's border, thinned
        #    to about ``boundary_points`` by keeping one per cell of a square grid
        rows, cols = np.nonzero(inner_edge(person))
        rows, cols = spread(rows + 1, cols + 1, boundary_points)
        # 3. outward normals: minus the gradient of the mask smoothed over a pixel (central
        #    differences at the boundary pixels, which are off the grid's border), turned into
        #    the image
        r, c = rows, cols
        near = smoothed_at(
            person, np.concatenate([r, r, r + 1, r - 1]), np.concatenate([c + 1, c - 1, c, c])
        )
        right, left, below, above = near.reshape(4, -1)
        grad = -np.stack([right - left, below - above])
        grad = grad.T @ self.inverse  # d/d(image px) = d/d(grid px) · A⁻¹
        norm = np.linalg.norm(grad, axis=1, keepdims=True)
        keep = norm[:, 0] > 1e-9
        self.normals = grad[keep] / norm[keep]
        uv = np.stack([cols, rows], axis=1)[keep] + 0.5
        self.boundary = uv @ a[:, :2].T + self.offset

    def distance_outside(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """D_out at image points xy (N, 2), image px, and its gradient (N, 2) in image px.

        Bilinear on the grid; beyond the grid the distance to the grid is added."""
        uv = (xy - self.offset) @ self.inverse.T - 0.5  # grid array indices (x = column)
        h, w = self.outside.shape
        inner = np.clip(uv, 0.0, [w - 1.000001, h - 1.000001])
        d, g = bilinear_with_gradient(self.outside, inner)
        beyond = uv - inner
        far = np.hypot(beyond[:, 0], beyond[:, 1])
        out = far > 0
        g = np.where(beyond != 0, 0.0, g)  # no gradient along a clamped axis ...
        g[out] += beyond[out] / far[out, None]  # ... but that of the distance to the grid
        # image px: d_img = scale · D(A⁻¹ p);  ∇_p d_img = scale · ∇D A⁻¹
        return self.scale * (d + far), self.scale * (g @ self.inverse)


def inner_edge(person: np.ndarray) -> np.ndarray:
    """(S − 2, T − 2) bool over the grid without its border: person pixels with a 4-neighbour
    that is not (the mask minus its erosion by a cross, as slices)."""
    centre = person[1:-1, 1:-1]
    inside = centre & person[:-2, 1:-1] & person[2:, 1:-1] & person[1:-1, :-2] & person[1:-1, 2:]
    return centre & ~inside


def smoothed_at(person: np.ndarray, rows: np.ndarray, cols: np.ndarray, sigma: float = 1.0):
    """(N,) the mask smoothed by a Gaussian of ``sigma`` grid px, as
    ``ndimage.gaussian_filter(person.astype(float), sigma)`` gives it (kernel radius 4σ,
    mirrored edges), but only at the pixels (rows, cols): the term needs it at four
    neighbours of 200 boundary pixels, not over the whole grid (1.4 ms a fit)."""
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(person, radius, mode="symmetric")
    window = np.arange(2 * radius + 1)
    patches = padded[(rows[:, None] + window)[:, :, None], (cols[:, None] + window)[:, None, :]]
    return np.einsum("nij,i,j->n", patches.astype(np.float64), kernel, kernel)


def bilinear_with_gradient(grid: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear value (N,) and gradient (N, 2) (d/dx, d/dy) of (H, W) ``grid`` at array
    positions xy (N, 2) = (column, row), inside [0, W − 1) × [0, H − 1)."""
    x0 = np.floor(xy).astype(int)
    f = xy - x0
    c, r = x0[:, 0], x0[:, 1]
    a, b = grid[r, c], grid[r, c + 1]
    cc, d = grid[r + 1, c], grid[r + 1, c + 1]
    fx, fy = f[:, 0], f[:, 1]
    value = (1 - fx) * (1 - fy) * a + fx * (1 - fy) * b + (1 - fx) * fy * cc + fx * fy * d
    gx = (1 - fy) * (b - a) + fy * (d - cc)
    gy = (1 - fx) * (cc - a) + fx * (d - b)
    return value, np.stack([gx, gy], axis=1)


def spread(rows: np.ndarray, cols: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """About ``count`` of the pixels (rows, cols) of a curve, one per cell of a square grid
    whose cell side is the curve's length over ``count`` (the first pixel of each cell)."""
    if len(rows) <= count:
        return rows, cols
    side = max(int(np.ceil(len(rows) / count)), 1)
    cells = (rows // side) * (cols.max() // side + 1) + cols // side
    _, first = np.unique(cells, return_index=True)
    return rows[first], cols[first]


def robust(e: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Geman-McClure residual ψ = σ e / √(σ² + e²) and dψ/de = σ³ / (σ² + e²)^(3/2)."""
    root = np.hypot(sigma, e)
    return sigma * e / root, (sigma / root) ** 3


class SilhouetteBlock(ResidualBlock):
    """The silhouette term (module docstring): ``surface_points`` residuals (a), then
    ``len(target.boundary)`` residuals (b).

    Parameters
    ----------
    target : the mask's precomputed SilhouetteTarget.
    surface : the posed surface points (``surface_points.SurfacePoints``).
    focal, centre : the camera (px, (2,) px); scale : normalised px per image px.
    settings : SilhouetteSettings.
    """

    name = "silhouette"

    def __init__(self, *, target, surface, focal, centre, scale, settings) -> None:
        self.target, self.surface, self.settings = target, surface, settings
        self.focal, self.centre, self.scale = float(focal), np.asarray(centre), float(scale)
        self.held: tuple[np.ndarray, np.ndarray] | None = None

    def hold(self, state) -> None:
        """Choose the boundary pixels' outline points at ``state`` and keep them for every
        evaluation until ``release``: within a solver run the term is then a smooth function
        whose linear model predicts its change (re-chosen per evaluation, one outline point
        leaving the outline re-matched its pixels to points 15-20 cm away and the trust region
        collapsed: docs/fit_silhouette.md, "The stalled stage")."""
        posed = self.surface.pose(state)
        uv = self.focal * posed.points[:, :2] / posed.points[:, 2:] + self.centre
        match, gap = self._matches(posed.points, posed.normals, uv)
        self.held = (match, np.isfinite(gap))

    def release(self) -> None:
        """Re-choose the outline points at every evaluation again."""
        self.held = None

    def residuals(self, state, stage, *, jacobian, compact):
        s, t = self.settings, self.target
        posed = self.surface.pose(state)
        pts, normals = posed.points, posed.normals
        uv, duv = project_with_jacobian(pts, self.focal, self.centre)
        # (a) body outside the mask
        d, grad = t.distance_outside(uv)
        r_out, dr_out = robust(self.scale * d, s.outside_sigma)
        # (b) mask outside the body, against the nearest agreeing outline point (held or now)
        if self.held is None:
            match, gap = self._matches(pts, normals, uv)
        else:
            match, found = self.held
            gap = self.scale * np.einsum("ij,ij->i", t.normals, t.boundary - uv[match])
            gap = np.where(found, gap, -np.inf)
        hit = gap > 0
        r_in, dr_in = robust(np.where(hit, gap, 0.0), s.inside_sigma)
        r_in *= s.inside_weight
        r = np.concatenate([r_out, r_in])
        rows = np.flatnonzero(r != 0) if compact else np.arange(len(r))
        if not jacobian:
            return r[rows], None
        # row m: dr/dx = dψ · scale · (∂distance/∂uv) · ∂uv/∂x_j · ∂x_j/∂params
        left_out = (dr_out * self.scale)[:, None] * grad  # (N, 2)
        left_in = -(s.inside_weight * dr_in * self.scale)[:, None] * t.normals  # (Nb, 2)
        left_in[~hit] = 0.0
        left = np.concatenate([left_out, left_in])[rows]
        point = np.concatenate([np.arange(len(pts)), np.where(hit, match, 0)])[rows]
        # J[m, p] = Σ_b c[m, b] ∂x[point_m, b]/∂p, c[m, b] = Σ_a left[m, a] duv[point_m, a, b]
        chain = (left[:, None, :] @ duv[point])[:, 0]
        return r[rows], self.surface.row_jacobian(posed, point, chain)

    def _matches(self, pts, normals, uv) -> tuple[np.ndarray, np.ndarray]:
        """For each boundary pixel: index of its outline point (0 when none) and the gap
        s n_i · (b_i − π(x_j)) (normalised px; −inf without a match)."""
        t, s = self.target, self.settings
        sight = pts / np.linalg.norm(pts, axis=1, keepdims=True)
        outline = np.flatnonzero(np.abs(np.sum(sight * normals, axis=1)) < s.outline_cos)
        nb = len(t.boundary)
        if len(outline) == 0:
            return np.zeros(nb, dtype=int), np.full(nb, -np.inf)
        # projected outward direction of each outline point: π(x + ε n) − π(x)
        ahead = pts[outline] + 0.01 * normals[outline]
        tip = self.focal * ahead[:, :2] / np.maximum(ahead[:, 2:], 1e-6) + self.centre
        m = tip - uv[outline]
        m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        if s.occlusion:
            keep = ~self._covered(pts, uv, outline, m)
            outline, m = outline[keep], m[keep]
            if len(outline) == 0:
                return np.zeros(nb, dtype=int), np.full(nb, -np.inf)
        # squared distances |b|² + |u|² − 2 b·u, infinite where the directions disagree
        u = uv[outline]
        d2 = np.sum(u * u, axis=1)[None, :] - 2.0 * (t.boundary @ u.T)
        d2 += np.sum(t.boundary * t.boundary, axis=1)[:, None]
        d2[t.normals @ m.T <= 0.5] = np.inf
        best = np.argmin(d2, axis=1)
        found = np.isfinite(d2[np.arange(nb), best])
        match = outline[best]
        gap = self.scale * np.einsum("ij,ij->i", t.normals, t.boundary - uv[match])
        return np.where(found, match, 0), np.where(found, gap, -np.inf)

    def _covered(self, pts, uv, outline, m) -> np.ndarray:
        """(len(outline),) bool: outline points whose outward side in the image is covered by
        the body's other points (an arm in front of the trunk), so not on the projected
        silhouette. Probe PROBE point spacings out along m; covered when a projected surface
        point lies within REACH spacings of the probe (spacing: the surface points' median
        distance to their nearest neighbour on the rest body, projected at the point's
        depth)."""
        step = self.focal * point_spacing(self.surface) / pts[outline, 2]  # image px
        probe = uv[outline] + (PROBE * step)[:, None] * m
        nearest, _ = cKDTree(uv).query(probe)
        return nearest < REACH * step


def point_spacing(surface) -> float:
    """Median distance (m) of a SurfacePoints' rest points to their nearest neighbour,
    computed once per SurfacePoints."""
    if getattr(surface, "_spacing", None) is None:
        d2 = np.sum((surface.rest[:, None] - surface.rest[None]) ** 2, axis=2)
        np.fill_diagonal(d2, np.inf)
        surface._spacing = float(np.median(np.sqrt(d2.min(axis=1))))
    return surface._spacing


def silhouette_target(
    silhouette: Silhouette | None, settings: SilhouetteSettings
) -> SilhouetteTarget | None:
    """The precomputed target of a mask, or None (with a warning) for a mask that cannot
    describe a person: not 2D, non-finite, fewer than MIN_PIXELS person pixels, or a person
    covering the whole grid (no boundary)."""
    if silhouette is None:
        return None
    if not isinstance(silhouette, Silhouette):
        raise TypeError(
            f"silhouette must be a silhouette.Silhouette (from_detection / from_image_mask), "
            f"got {type(silhouette).__name__}"
        )
    prob = np.asarray(silhouette.probability)
    affine = np.asarray(silhouette.to_image, dtype=np.float64)
    problem = None
    if prob.ndim != 2 or min(prob.shape, default=0) < 4:
        problem = f"a mask of shape {prob.shape} (needs (H, W), at least 4 × 4)"
    elif affine.shape != (2, 3) or not np.all(np.isfinite(affine)):
        problem = f"a mask transform of shape {affine.shape} (needs a finite (2, 3) affine)"
    elif abs(np.linalg.det(affine[:, :2])) < 1e-12:
        problem = "a degenerate mask transform"
    elif not np.all(np.isfinite(prob)):
        problem = "a mask with non-finite values"
    else:
        count = int(np.count_nonzero(prob > THRESHOLD))
        if count < MIN_PIXELS:
            problem = f"a mask with {count} person pixels (fewer than {MIN_PIXELS})"
        elif count == prob.size:
            problem = "a mask that is the person everywhere (no outline)"
    if problem is not None:
        warnings.warn(f"silhouette ignored: {problem}", stacklevel=3)
        return None
    target = SilhouetteTarget(silhouette, settings.boundary_points)
    if len(target.boundary) == 0:
        warnings.warn("silhouette ignored: the mask has no outline inside its grid", stacklevel=3)
        return None
    return target
