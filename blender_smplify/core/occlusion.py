"""Which limb keypoints the body hides from the camera: occlusion as evidence of depth order.

One photo leaves the depth sign of a limb segment open (``depth_search.py``), but it shows
what hides what: a wrist in front of the chest hides the chest, a wrist behind it is hidden.
BlazePose reports each landmark's own "not occluded" probability (``Detection.
world_visibility``). This module says, for a posed body in the camera frame, whether each
limb keypoint is hidden by *another* part of the body (the first surface along the keypoint's
camera ray belongs to another part than the keypoint's own limb), and compares that with the
visibility.

Two bodies answer the question:

- the mesh (:func:`first_hits`, exact, for the benchmark's truth and studies);
- the interpenetration term's spheres (``priors.SphereBody``), cheap enough for the fit
  (:func:`sphere_occlusion`).

Pinhole camera at the origin looking along +z (OpenCV), pixels ``focal · (x, y) / z + c``.
"""

from __future__ import annotations

import weakref

import numpy as np

from .camera import project
from .edit_terms import LIMB_SEGMENTS
from .joints import J

#: The blazepose33 limb keypoints this module judges, by group, and the SMPL joints whose
#: parts (the vertices each joint's skinning weight dominates) count as the keypoint's own
#: limb: the surface around a joint belongs to the bones on both sides of it.
GROUPS: dict[str, tuple[str, ...]] = {
    "elbows": ("elbow",),
    "wrists": ("wrist",),
    "hands": ("pinky", "index", "thumb"),
    "knees": ("knee",),
    "ankles": ("ankle", "heel", "foot_index"),
}
_OWN: dict[str, tuple[str, ...]] = {
    "elbow": ("shoulder", "elbow"),
    "wrist": ("elbow", "wrist", "hand"),
    "pinky": ("elbow", "wrist", "hand"),
    "index": ("elbow", "wrist", "hand"),
    "thumb": ("elbow", "wrist", "hand"),
    "knee": ("hip", "knee"),
    "ankle": ("knee", "ankle", "foot"),
    "heel": ("knee", "ankle", "foot"),
    "foot_index": ("knee", "ankle", "foot"),
}


#: The limb keypoints from each limb joint down to the limb's end (a flip of the segment
#: ending at the joint moves them in depth).
_DOWN: dict[str, tuple[str, ...]] = {
    "elbow": ("elbow", "wrist", "pinky", "index", "thumb"),
    "wrist": ("wrist", "pinky", "index", "thumb"),
    "knee": ("knee", "ankle", "heel", "foot_index"),
    "ankle": ("ankle", "heel", "foot_index"),
}


def moved_by(names, segments) -> np.ndarray:
    """(K,) bool: the keypoints of ``names`` that flipping ``segments`` (``edit_terms.
    LIMB_SEGMENTS`` keys: the segment's parent joint, e.g. "left_shoulder") moves in depth,
    those from the segment's child joint down its limb."""
    moved = set()
    for segment in segments:
        side, child = LIMB_SEGMENTS[segment].split("_", 1)
        moved |= {f"{side}_{part}" for part in _DOWN[child]}
    return np.array([n in moved for n in names])


def own_parts(name: str) -> tuple[int, ...]:
    """SMPL joints whose parts are keypoint ``name``'s own limb ("left_wrist" -> left elbow,
    wrist and hand); ``KeyError`` for a keypoint that is not a limb point."""
    side, part = name.split("_", 1)
    return tuple(J[f"{side}_{p}"] for p in _OWN[part])


def limb_keypoints(names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Indices into ``names`` of each group's keypoints (``GROUPS``), both sides."""
    return {
        group: np.array([k for k, n in enumerate(names) if n.split("_", 1)[-1] in parts])
        for group, parts in GROUPS.items()
    }


def face_parts(lbs_weights: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F,) the SMPL joint whose skinning weight, summed over the triangle's corners, is
    largest: the body part each face belongs to."""
    return np.argmax(np.asarray(lbs_weights)[faces].sum(axis=1), axis=1)


def first_hits(
    vertices: np.ndarray,
    faces: np.ndarray,
    pixels: np.ndarray,
    focal: float,
    principal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel's camera ray first meets the mesh.

    Parameters
    ----------
    vertices : (V, 3) camera frame, metres, all in front of the camera.
    faces : (F, 3) triangles.
    pixels : (K, 2) image pixels.

    Returns
    -------
    depth : (K, F) camera z of each triangle along each pixel's ray (inf where the ray misses
        it): 1/z interpolated with the image-plane barycentrics, exact for a pinhole.
    """
    xy = project(vertices, focal, principal)[faces]  # (F, 3, 2)
    inv_z = 1.0 / vertices[faces][:, :, 2]  # (F, 3)
    a, b, c = xy[:, 0], xy[:, 1], xy[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    ok = np.abs(area) > 1e-12
    p = np.asarray(pixels, dtype=np.float64)[:, None, :]  # (K, 1, 2)

    def edge(u, v):  # (K, F) twice the signed area of (u, v, p) over twice that of (a, b, c)
        cross = (v[:, 0] - u[:, 0]) * (p[..., 1] - u[:, 1]) - (v[:, 1] - u[:, 1]) * (
            p[..., 0] - u[:, 0]
        )
        return cross / np.where(ok, area, 1.0)

    wa, wb, wc = edge(b, c), edge(c, a), edge(a, b)
    inside = (wa >= 0) & (wb >= 0) & (wc >= 0) & ok
    inv = wa * inv_z[:, 0] + wb * inv_z[:, 1] + wc * inv_z[:, 2]
    depth = np.where(inside & (inv > 0), 1.0 / np.where(inv > 0, inv, 1.0), np.inf)
    return depth, inside


def mesh_occlusion(
    vertices: np.ndarray,
    faces: np.ndarray,
    parts: np.ndarray,
    points: np.ndarray,
    owners: list[tuple[int, ...]],
    focal: float,
    principal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which points another part of the mesh hides, and which lie over another part at all.

    Parameters
    ----------
    vertices : (V, 3) posed mesh, camera frame; faces : (F, 3); parts : (F,) each face's part
        (:func:`face_parts`).
    points : (K, 3) the keypoints' 3D points, camera frame.
    owners : K tuples of the parts that are each point's own limb (:func:`own_parts`).

    Returns
    -------
    hidden : (K,) bool: the first surface along the point's ray is another part's, in front
        of the point.
    over : (K,) bool: the ray meets another part somewhere (in front of the point or behind):
        the points whose depth order the image can show.
    """
    depth, _ = first_hits(vertices, faces, project(points, focal, principal), focal, principal)
    return _hidden_and_over(depth, parts, owners, points[:, 2])


def _hidden_and_over(
    depth: np.ndarray, parts: np.ndarray, owners: list[tuple[int, ...]], z: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(hidden, over) (K,) of points at camera depths z (K,) from the depths (K, M) at which
    each point's ray meets M surface elements (inf: misses) of the given parts (M,): hidden
    where the first element met belongs to another part than the point's own (``owners``)
    and lies in front of the point; over where the ray meets another part at all."""
    own = np.array([np.isin(parts, o) for o in owners])  # (K, M)
    other_depth = np.where(own, np.inf, depth).min(axis=1)
    own_depth = np.where(own, depth, np.inf).min(axis=1)
    hidden = (other_depth < z) & (other_depth <= own_depth)
    return hidden, np.isfinite(other_depth)


#: Side of the grid cells (m) of the rest mesh from which :class:`SurfaceSample` keeps one
#: vertex each, and the radius of each kept vertex's disc as a share of it.
CELL = 0.04
DISC = 0.6
#: Joints of largest skinning weight that move each sample point.
TOP = 3


class SurfaceSample:
    """A sparse sample of the body's surface, skinned like the mesh (without the pose's
    corrective shapes), each point a small sphere: the fitted body's occluders at a few
    hundred points instead of the mesh's tens of thousands of triangles.

    Parameters
    ----------
    model : BodyModel (``v_template``, ``shapedirs``, ``lbs_weights``).
    num_betas : shape coefficients the fit uses.
    cell : one vertex is kept in each cell of a grid of this side over the rest mesh.

    Attributes
    ----------
    rest : (N, 3) kept vertices at β = 0; dirs : (N, 3, B) their shape directions.
    joints, weights : (N, TOP) the joints of largest skinning weight and their weights
        (renormalised); part : (N,) the joint whose weight is largest.
    radius : the spheres' radius, metres.
    """

    def __init__(self, model, num_betas: int, cell: float = CELL) -> None:
        rest = np.asarray(model.v_template, dtype=np.float64)
        _, first = np.unique(np.floor(rest / cell).astype(np.int64), axis=0, return_index=True)
        keep = np.sort(first)
        self.rest = rest[keep]
        self.dirs = np.asarray(model.shapedirs, dtype=np.float64)[keep][:, :, :num_betas]
        weights = np.asarray(model.lbs_weights, dtype=np.float64)[keep]
        self.part = np.argmax(weights, axis=1)
        # the TOP joints of largest weight per point, renormalised (a sparse skinning)
        self.joints = np.argsort(-weights, axis=1)[:, :TOP]
        top = np.take_along_axis(weights, self.joints, axis=1)
        self.weights = top / top.sum(axis=1, keepdims=True)
        self.radius = DISC * cell

    def posed(self, chain: tuple, betas: np.ndarray) -> np.ndarray:
        """(N, 3) the sample posed by a kinematic chain (``PointKinematics.chain``'s posed
        joints p, global rotations G and rest joints t): v = Σ_k w_k (G_k (v(β) − t_k) + p_k),
        linear blend skinning (SMPL, Loper et al. 2015, Eq. 2 without pose blend shapes)."""
        p, G, t = chain[:3]
        v = self.rest + self.dirs @ np.asarray(betas, dtype=np.float64)
        k = self.joints
        moved = np.einsum("nkab,nkb->nka", G[k], v[:, None, :] - t[k]) + p[k]
        return np.einsum("nk,nka->na", self.weights, moved)


def sphere_occlusion(
    centres: np.ndarray,
    parts: np.ndarray,
    radius: float,
    points: np.ndarray,
    owners: list[tuple[int, ...]],
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mesh_occlusion` on spheres: which points another part hides, and which lie over
    another part, along each point's camera ray (camera at the origin).

    Parameters
    ----------
    centres : (N, 3) sphere centres, camera frame; parts : (N,) each sphere's part.
    radius : the spheres' radius.
    points : (K, 3) the keypoints' 3D points; owners : K tuples of each point's own parts.

    Returns
    -------
    hidden, over : (K,) bool, as :func:`mesh_occlusion`.
    """
    rays = points / np.linalg.norm(points, axis=1, keepdims=True)  # (K, 3)
    along = rays @ centres.T  # (K, N) distance to the foot of the perpendicular
    off2 = np.einsum("na,na->n", centres, centres)[None] - along**2
    inside = off2 < radius**2
    front = along - np.sqrt(np.where(inside, radius**2 - off2, 0.0))
    depth = np.where(inside & (front > 0), front * rays[:, 2:], np.inf)  # camera z
    return _hidden_and_over(depth, parts, owners, points[:, 2])


#: BlazePose's visibility is clipped to [CLIP, 1 − CLIP] before its log-likelihood is taken.
CLIP = 0.05


class Occluders:
    """The fitted body's limb keypoints and the surface that may hide them, for one fit.

    Parameters
    ----------
    model : BodyModel of the fit; num_betas : its shape coefficients.
    names : (K,) the keypoint layout's names; point_index : (K,) each keypoint's row in the
        fit kinematics' points (``FitSetup.point_index``).
    """

    def __init__(self, model, num_betas: int, names, point_index: np.ndarray) -> None:
        self.sample = SurfaceSample(model, num_betas)
        groups = limb_keypoints(tuple(names))
        self.limbs = np.concatenate([groups[g] for g in GROUPS])
        self.rows = np.asarray(point_index)[self.limbs]
        self.owners = [own_parts(names[k]) for k in self.limbs]

    def judge(self, kin, pose, betas, transl) -> tuple[np.ndarray, np.ndarray]:
        """(hidden, over) (L,) of the limb keypoints (``self.limbs``) of the body posed by
        ``kin`` (``PointKinematics``) at pose (72,), betas (B,), transl (3,)."""
        points, _ = kin.evaluate(pose, betas, transl, jacobian=False)
        centres = self.sample.posed(kin.chain(pose, betas, transl), betas)
        s = self.sample
        return sphere_occlusion(centres, s.part, s.radius, points[self.rows], self.owners)


def evidence(
    base: tuple[np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray],
    visibility: np.ndarray,
    moved: np.ndarray | None = None,
) -> float:
    """How much better a body's occlusion explains BlazePose's visibility than a base body's:
    Σ_k [ℓ_k(other) − ℓ_k(base)] over the (``moved``) keypoints that lie over another part in
    either, with ℓ_k = log(1 − v_k) where the body hides keypoint k and log v_k where it
    shows it.

    Parameters
    ----------
    base, other : (hidden, over) (L,) bool of each body (``Occluders.judge``).
    visibility : (L,) BlazePose's visibility of the same keypoints (0 where not detected:
        those are left out).
    moved : (L,) bool, the keypoints to count (:func:`moved_by` the flip that made ``other``:
        the refit also shifts the rest of the body a little, whose occlusion says nothing of
        the flip); None: all.
    """
    v = np.clip(np.asarray(visibility, dtype=np.float64), CLIP, 1.0 - CLIP)
    seen = np.asarray(visibility) > 0
    over = (base[1] | other[1]) & seen
    if moved is not None:
        over &= moved

    def loglik(hidden):
        return np.where(hidden, np.log1p(-v), np.log(v))[over].sum()

    return float(loglik(other[0]) - loglik(base[0]))


#: A depth flip is refused where the occlusion evidence against it is below −VETO (nats):
#: chosen on the rendered benchmark's tuning half (docs/fit_depth.md, "Occlusion as depth
#: evidence").
VETO = 1.0

_OCCLUDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class OcclusionVeto:
    """The depth search's occlusion check: a flip whose refitted body hides the flipped limb's
    keypoints where BlazePose sees them (or shows them where it does not) is refused.

    Parameters
    ----------
    model : the fit's BodyModel; setup : its ``FitSetup`` (layout, kinematics, point rows).
    visibility : (K,) BlazePose's visibility of the layout's keypoints (0: not detected).
    veto : refuse a flip whose :func:`evidence` is below −veto.
    """

    def __init__(self, model, setup, visibility: np.ndarray, veto: float = VETO) -> None:
        self.kin, self.names, self.veto = setup.kin, setup.layout.names, veto
        key = (setup.layout.name, setup.kin.num_betas)
        cache = _OCCLUDERS.setdefault(model, {})
        if key not in cache:
            cache[key] = Occluders(model, setup.kin.num_betas, self.names, setup.point_index)
        self.occluders = cache[key]
        self.visibility = np.asarray(visibility, dtype=np.float64)[self.occluders.limbs]
        self.limb_names = [self.names[k] for k in self.occluders.limbs]

    def allows(self, split, x_from: np.ndarray, x_to: np.ndarray, segments) -> bool:
        """Whether the flip of ``segments`` from x_from (n,) to x_to (n,) (``split``: x ->
        pose, betas, transl) is not contradicted by the visibility."""
        limbs = [s for s in segments if s in LIMB_SEGMENTS]
        if not limbs:
            return True
        before = self.occluders.judge(self.kin, *split(x_from))
        after = self.occluders.judge(self.kin, *split(x_to))
        moved = moved_by(self.limb_names, limbs)
        return evidence(before, after, self.visibility, moved) > -self.veto
