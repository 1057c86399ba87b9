"""The silhouette term: the person's outline shapes the body (girths), not only the joints.

The detector's person mask (BlazePose, 256 × 256 in its crop; ``Detection.crop_mask``) enters
the later annealed stages of the fit as two sets of residuals, in normalised pixels like the
joint term, through a fixed set of a few hundred surface points x_j posed by linear blend
skinning (``kinematics.vertex_kinematics``; analytic Jacobians in pose, β and translation):

(a) body outside the mask. With D_out the distance transform of the mask's complement (the
    distance of a pixel to the mask, 0 inside it), every surface point contributes

        r_j = λ_out ψ(s D_out(π(x_j));  σ_out),

(b) mask outside the body. For each of a few hundred mask boundary pixels b_i (spread by
    farthest-point sampling, the pixels of the mask next to its complement) with outward
    normal n_i (the gradient of the signed distance D_out − D_in, D_in the distance transform
    of the mask), the nearest projected *outline* point π(x_j) whose own outward direction
    agrees with n_i (n_i · m_j > 0.5, m_j the projected surface normal; outline points are
    those whose normal is within ``outline_cos`` of perpendicular to the line of sight) gives

        r_i = λ_in ψ(max(0, s n_i · (b_i − π(x_j)));  σ_in),

    the distance along the boundary's normal by which the mask reaches beyond the body there
    (point-to-line, so the spacing of the outline points along the outline adds no bias).

ψ(e; σ) = σ e / √(σ² + e²) is the Geman-McClure residual of ``objective.KeypointBlock``
(ψ² = ρ, bounded by σ); s is the normalised px per image px. The assignment b_i → x_j and the
outline are re-chosen at every evaluation and held fixed for its Jacobian (ICP-style).

Loose clothing: a person in a coat is not their coat. The mask covers the body *and* what it
wears, so the two directions are weighed unequally. Body outside the mask is implausible and
costs fully (λ_out = 1, σ_out = 40 normalised px, about 7 cm on a 1.75 m body: a point well
outside counts almost as much as the whole limb of a wrong pose would). Mask outside the body
is the normal state of a dressed person and costs a quarter (λ_in = 0.25 by default) under a
tighter σ_in = 15 normalised px (about 2.5 cm): a sleeve or a coat hem standing far off the
body pulls with a force that fades with its distance (the Geman-McClure gradient falls as
1/e² beyond σ), so clothing inflates the girths by at most a few centimetres while a mask
that hugs the body still pulls the outline onto it. Mask pixels at the border of the mask's
grid (a person the crop cuts) are not used.
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .camera import project_with_jacobian
from .kinematics import vertex_kinematics
from .objective import ResidualBlock
from .rotation import skew

#: Mask probability above which a pixel is the person.
THRESHOLD = 0.5
#: Masks with fewer person pixels than this (on their grid) are ignored with a warning.
MIN_PIXELS = 64
#: The longest side a mask grid keeps (a full-resolution image mask is box-downsampled).
MAX_SIDE = 512


@dataclass(frozen=True)
class SilhouetteSettings:
    """How the two directions of the term are weighed (see the module docstring).

    Attributes
    ----------
    outside_sigma : σ_out, normalised px.
    inside_weight : λ_in relative to λ_out = 1.
    inside_sigma : σ_in, normalised px.
    outline_cos : |cos| between a surface normal and the line of sight below which a point is
        on the outline.
    surface_points : number of posed surface points.
    boundary_points : number of mask boundary pixels.
    """

    outside_sigma: float = 40.0
    inside_weight: float = 0.5
    inside_sigma: float = 15.0
    outline_cos: float = 0.3
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
        """The mask of a ``detector.Detection`` in its crop's pixels (no image-sized copy)."""
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
        # 1. distance transforms of the complement (distance to the mask) and of the mask
        self.outside = ndimage.distance_transform_edt(~person)
        inside = ndimage.distance_transform_edt(person)
        # 2. boundary: mask pixels next to the complement, not on the grid's border
        edge = person & (inside <= 1.0)
        edge[[0, -1], :] = False
        edge[:, [0, -1]] = False
        rows, cols = np.nonzero(edge)
        pick = farthest_points(np.stack([cols, rows], axis=1).astype(float), boundary_points)
        rows, cols = rows[pick], cols[pick]
        # 3. outward normals: the gradient of the smoothed signed distance D_out − D_in
        signed = ndimage.gaussian_filter(self.outside - inside, 1.0)
        gy, gx = np.gradient(signed)
        grad = np.stack([gx[rows, cols], gy[rows, cols]], axis=1) @ self.inverse  # to image
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


def farthest_points(points: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` of (N, D) points spread by farthest-point sampling (deterministic:
    from the first point)."""
    n = len(points)
    if n <= count:
        return np.arange(n)
    chosen = np.empty(count, dtype=int)
    chosen[0] = 0
    dist = np.full(n, np.inf)
    for k in range(1, count):
        dist = np.minimum(dist, np.sum((points - points[chosen[k - 1]]) ** 2, axis=1))
        chosen[k] = int(np.argmax(dist))
    return chosen


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
    surface : the posed surface points (``kinematics.SurfacePoints``).
    focal, centre : the camera (px, (2,) px); scale : normalised px per image px.
    settings : SilhouetteSettings.
    """

    name = "silhouette"

    def __init__(self, *, target, surface, focal, centre, scale, settings) -> None:
        self.target, self.surface, self.settings = target, surface, settings
        self.focal, self.centre, self.scale = float(focal), np.asarray(centre), float(scale)

    def residuals(self, state, stage, *, jacobian, compact):
        s, t = self.settings, self.target
        posed = self.surface.pose(state)
        pts, normals = posed.points, posed.normals
        uv, duv = project_with_jacobian(pts, self.focal, self.centre)
        # (a) body outside the mask
        d, grad = t.distance_outside(uv)
        r_out, dr_out = robust(self.scale * d, s.outside_sigma)
        # (b) mask outside the body, against the nearest agreeing outline point
        match, gap = self._matches(pts, normals, uv)
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
        needed, which = np.unique(point, return_inverse=True)
        pjac = self.surface.jacobian(posed, needed)  # only the points some row reads
        # J[m, p] = Σ_a Σ_b left[m, a] duv[point_m, a, b] pjac[point_m, b, p]
        chain = np.einsum("ma,mab->mb", left, duv[point])
        return r[rows], np.einsum("mb,mbp->mp", chain, pjac[which])

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


class SurfacePoints:
    """A fixed set of surface vertices, posed with their Jacobian and their normals.

    The vertices are spread over the rest mesh by farthest-point sampling (deterministic).
    Positions are linear blend skinning over each vertex's few influences,
    x_v = Σ_k w_vk (G_k (v_v + S_v β) + p_k − G_k t_k(β)), and the posed normal is
    Σ_k w_vk G_k n_v normalised (the rest normal n_v; the shape's effect on it is left out);
    the Jacobian of the points a residual reads (``jacobian``) is that of
    ``kinematics.vertex_kinematics`` summed over the few influences only.

    Parameters
    ----------
    model : BodyModel. num_betas : shape coefficients fitted. count : number of vertices.
    """

    def __init__(self, model, num_betas: int, count: int) -> None:
        self.vertices = farthest_points(model.v_template, count)
        self.count = len(self.vertices)
        self.kin = vertex_kinematics(model, self.vertices, num_betas)
        self.rest = model.v_template[self.vertices]
        self.dirs = model.shapedirs[self.vertices, :, :num_betas]  # (L, 3, B)
        self.normals = vertex_normals(model.v_template, model.faces)[self.vertices]
        weights = model.lbs_weights[self.vertices]
        k = max(int(np.count_nonzero(weights > 0, axis=1).max()), 1)
        self.influence = np.argsort(-weights, axis=1)[:, :k]  # (L, K) joints
        self.weight = np.take_along_axis(weights, self.influence, axis=1)  # (L, K)

    def pose(self, state) -> Posed:
        """The points at the state's parameters (with the chain their Jacobian reuses)."""
        p, G, t, Jl = self.kin.chain(state.pose, state.betas, state.transl)
        v = self.rest + self.dirs @ state.betas  # (L, 3)
        c = p - np.einsum("kab,kb->ka", G, t)  # (24, 3): p_k − G_k t_k
        # Gw[l, a, b] = Σ_K w[l, K] G[influence[l, K], a, b], likewise cw
        Gw = np.einsum("lk,lkab->lab", self.weight, G[self.influence])
        cw = np.einsum("lk,lka->la", self.weight, c[self.influence])
        pts = np.einsum("lab,lb->la", Gw, v) + cw
        normals = np.einsum("lab,lb->la", Gw, self.normals)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        return Posed(pts, normals, p, G, t, Jl, v)

    def jacobian(self, posed: Posed, points: np.ndarray) -> np.ndarray:
        """(len(points), 3, n) d point / d [pose, betas, transl] of the points indexed.

        ``kinematics.py``'s attached-point Jacobian over each vertex's K influences only:
        ∂x/∂θ_ia = ω_ia × (Y_i − M_i p_i), Y_i = Σ_{k below or at i} w_k (p_k + G_k (v − t_k)),
        M_i = Σ_{k below or at i} w_k; ∂x/∂β = Σ_k w_k (∂p_k/∂β + G_k (S_v − T_k))."""
        k = self.kin
        n, b, m = k.num_joints, k.num_betas, len(points)
        p, G, t = posed.p, posed.G, posed.t
        joint, w = self.influence[points], self.weight[points]  # (m, K)
        Gk = G[joint]  # (m, K, 3, 3)
        y = p[joint] + np.einsum("lkab,lkb->lka", Gk, posed.v[points][:, None] - t[joint])
        below = k.anc_self[:, joint] * w[None]  # (24, m, K): w_k where joint i is at/above k
        Y = np.einsum("ilk,lka->lia", below, y)  # (m, 24, 3)
        rel = Y - below.sum(axis=2).T[:, :, None] * p[None]
        Gpar = G[k._par]
        Gpar[0] = np.eye(3)
        omega = Gpar @ posed.Jl  # omega[i, :, a] = ω_ia
        # d[l, i, a, x] = (ω_ia × rel[l, i])_x = Σ_y [ω_ia]×[x, y] rel[l, i, y]
        d = np.einsum("iaxy,liy->liax", skew(np.swapaxes(omega, 1, 2)), rel)
        jac = np.empty((m, 3, k.num_params))
        jac[:, :, : 3 * n] = d.transpose(0, 3, 1, 2).reshape(m, 3, 3 * n)
        E = (Gpar @ k._dirs_rel).reshape(n, -1)  # joint offsets' change per β, posed
        dp_db = (k.anc_self.T @ E).reshape(n, 3, b) - G @ k.joint_dirs  # ∂p_k/∂β − G_k T_k
        jac[:, :, 3 * n : 3 * n + b] = np.einsum("lk,lkab->lab", w, dp_db[joint])
        jac[:, :, 3 * n : 3 * n + b] += np.einsum("lk,lkac,lcb->lab", w, Gk, self.dirs[points])
        jac[:, :, 3 * n + b :] = w.sum(axis=1)[:, None, None] * np.eye(3)
        return jac


@dataclass(frozen=True)
class Posed:
    """SurfacePoints at one parameter vector: points (L, 3), unit normals (L, 3), and the
    kinematic chain (joints p (24, 3), rotations G (24, 3, 3), rest joints t (24, 3), left
    Jacobians Jl (24, 3, 3)) and shaped rest points v (L, 3) their Jacobian reuses."""

    points: np.ndarray
    normals: np.ndarray
    p: np.ndarray
    G: np.ndarray
    t: np.ndarray
    Jl: np.ndarray
    v: np.ndarray


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals of a triangle mesh (V, 3), (F, 3)."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # length = 2 × area
    out = np.zeros_like(vertices)
    for c in range(3):
        np.add.at(out, faces[:, c], face_n)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


_SURFACE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def surface_points(model, num_betas: int, count: int) -> SurfacePoints:
    """The cached SurfacePoints of a model (a new one when it cannot be weakly referenced)."""
    try:
        per_model = _SURFACE_CACHE.setdefault(model, {})
    except TypeError:
        per_model = {}
    key = (num_betas, count)
    if key not in per_model:
        per_model[key] = SurfacePoints(model, num_betas, count)
    return per_model[key]


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
