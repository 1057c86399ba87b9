"""What the fit derives from a model, a layout and its inputs, and its initialisation helpers.

``get_setup`` builds (once per model, layout and number of betas; cached while the model lives)
the kinematics of the layout's keypoints, the spheres of the interpenetration term and the rest
points. ``prepare`` checks one fit's inputs and gathers what its stages share (``FitProblem``:
camera, similar-triangles depth, objective). The helpers give the initial translation, the
yaw-mirrored start and the finite-difference baseline of the normal equations.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .camera import focal_from_fov, principal_point
from .errors import KeypointsError
from .joints import J
from .keypoints import LIMB_JOINTS, Keypoints2D, get_layout
from .kinematics import PointKinematics, kinematics_from_model
from .known_measurements import known_blocks
from .objective import (
    REFERENCE_HEIGHT_PX,
    KeypointBlock,
    Objective,
    SmplifyWeights,
    StageConfig,
    smplify_objective,
)
from .priors import PosePrior, SphereBody, shipped_pose_prior
from .rotation import matrix_to_rotvec, rodrigues
from .silhouette import SilhouetteBlock, silhouette_target
from .surface_points import surface_points
from .world_landmarks import WorldLandmarkBlock, WorldLandmarks, bone_targets, torso_forward

#: Upright, facing the camera (OpenCV frame) and its 180° turn about the vertical.
FACING = np.array([np.pi, 0.0, 0.0])
FACING_AWAY = np.array([0.0, 0.0, np.pi])
#: Fewer confident keypoints than this cannot place a body.
MIN_KEYPOINTS = 4
#: Keypoints spanning fewer pixels than this cannot place a body either.
MIN_SPAN_PX = 4.0
#: Widest diagonal field of view (degrees) a focal length may give: a pinhole camera models
#: no wider lens (even a 12 mm-equivalent ultra-wide has about 120°).
MAX_FOV_DEG = 170.0


class FitSetup:
    """What a fit needs from a model and a layout, built once per (model, layout, betas)."""

    def __init__(self, model, layout_name: str, num_betas: int, interpenetration: bool) -> None:
        layout = get_layout(layout_name)
        available = set(getattr(model, "landmark_names", ()) or ())
        landmarks: list[str] = []
        offsets, offset_keys = [], []
        where = []
        for target in layout.targets:
            if target.landmark is None and not any(target.offset):
                where.append(("joint", J[target.joint]))
            elif target.landmark in available:
                if target.landmark not in landmarks:
                    landmarks.append(target.landmark)
                where.append(("landmark", landmarks.index(target.landmark)))
            else:  # a rigid point: a learned target, or a landmark the model lacks
                frame = target.frame or target.joint
                key = (target.joint, target.offset, frame)
                if key not in offset_keys:
                    offset_keys.append(key)
                    offsets.append((J[target.joint], np.array(target.offset), J[frame]))
                where.append(("offset", offset_keys.index(key)))
        base = {"joint": 0, "landmark": 24, "offset": 24 + len(landmarks)}
        self.point_index = np.array([base[kind] + i for kind, i in where])
        self.kin: PointKinematics = kinematics_from_model(model, num_betas, landmarks, offsets)
        self.landmarks_used = tuple(landmarks)
        self.layout = layout
        self.spheres = SphereBody(model, num_betas) if interpenetration else None
        rest, _ = self.kin.evaluate(np.zeros(72), np.zeros(num_betas), np.zeros(3), False)
        self.rest_points = rest
        self.height = float(np.ptp(rest[:24, 1]) + 0.25)  # joints span + head top and soles


_SETUP_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_setup(model, layout: str, num_betas: int, interpenetration: bool = True) -> FitSetup:
    """The cached FitSetup of a model (a new one when the model cannot be weakly referenced)."""
    key = (layout, num_betas, interpenetration)
    try:
        per_model = _SETUP_CACHE.setdefault(model, {})
    except TypeError:  # model cannot be weakly referenced: no cache
        per_model = {}
    if key not in per_model:
        per_model[key] = FitSetup(model, layout, num_betas, interpenetration)
    return per_model[key]


@dataclass(frozen=True)
class FitProblem:
    """What every stage of one fit shares: checked inputs, camera, objective."""

    setup: FitSetup
    xy: np.ndarray  # (K, 2) keypoints, pixels
    use: np.ndarray  # (K,) bool: keypoints the fit uses
    focal: float
    centre: np.ndarray  # (2,) principal point
    image_size: tuple[int, int]
    depth: float  # similar-triangles depth of the body, metres
    objective: Objective
    prior: PosePrior
    weights: SmplifyWeights
    gender: str
    world_forward: np.ndarray | None = None  # (3,) the world landmarks' torso forward, camera

    @property
    def has_silhouette(self) -> bool:
        """The objective holds the person mask's term."""
        return any(block.name == "silhouette" for block in self.objective.blocks)

    def hold_outline(self, x: np.ndarray) -> None:
        """Hold the silhouette term's correspondences chosen at x (n,) (``outline_rounds.py``)."""
        for block in self.objective.blocks:
            if block.name == "silhouette":
                block.hold(self.objective.state(x, False))

    def release_outline(self) -> None:
        """Let the silhouette term choose its correspondences at every evaluation again."""
        for block in self.objective.blocks:
            if block.name == "silhouette":
                block.release()

    def joint_energy_per_keypoint(self, x: np.ndarray) -> float:
        """Joint energy (normalised px²) per visible keypoint at x (n,)."""
        energies = self.objective.energies(x, self.weights.pose_stage(3))
        return energies.get("joints", 0.0) / max(int(self.use.sum()), 1)


def checked_camera(image_size, focal_length) -> tuple[tuple[int, int], float]:
    """(width, height) and the focal length in pixels, or a KeypointsError saying what is wrong."""
    try:
        w_img, h_img = (int(image_size[0]), int(image_size[1]))
    except (TypeError, ValueError, IndexError, OverflowError):  # also NaN, inf
        raise KeypointsError(f"image size must be (width, height), got {image_size!r}") from None
    if w_img <= 0 or h_img <= 0:
        raise KeypointsError(f"image size must be positive, got {image_size}")
    focal = float(focal_length) if focal_length is not None else focal_from_fov((w_img, h_img))
    if not np.isfinite(focal) or focal <= 0:
        raise KeypointsError(f"focal length must be a positive number of pixels, got {focal}")
    if focal < focal_from_fov((w_img, h_img), MAX_FOV_DEG):  # else the fit runs into overflows
        raise KeypointsError(
            f"focal length {focal:.3g} px is too short for a {w_img} x {h_img} image: its "
            f"diagonal field of view would exceed {MAX_FOV_DEG:g}° (is it in pixels?)"
        )
    return (w_img, h_img), focal


def checked_keypoints(
    setup: FitSetup, keypoints: Keypoints2D, min_confidence: float = 0.0
) -> np.ndarray:
    """Confidence × layout weight (K,), or a KeypointsError when too few or too close.

    Keypoints whose confidence is below ``min_confidence`` get weight 0, unless fewer than
    MIN_KEYPOINTS would be left (then every visible keypoint keeps its weight).
    """
    conf = keypoints.confidence * setup.layout.weights
    use = conf > 0
    if use.sum() < MIN_KEYPOINTS:
        raise KeypointsError(
            f"too few keypoints to fit a body: {int(use.sum())} visible, need {MIN_KEYPOINTS}"
        )
    span = float(np.ptp(keypoints.xy[use], axis=0).max())
    if span < MIN_SPAN_PX:
        raise KeypointsError(f"the keypoints span only {span:.1f} px: too small to fit a body")
    confident = np.where(keypoints.confidence >= min_confidence, conf, 0.0)
    return confident if np.count_nonzero(confident) >= MIN_KEYPOINTS else conf


def prepare(
    model,
    keypoints: Keypoints2D,
    image_size,
    focal_length: float | None,
    weights: SmplifyWeights,
    options,
    world: WorldLandmarks | None = None,
    silhouette=None,
    *,
    height: float | None = None,
    girths: dict[str, float] | None = None,
) -> FitProblem:
    """Check the inputs, place the camera, guess the depth, build the objective.

    ``options`` is the fit's FitOptions (num_betas, interpenetration and pose_prior are read).
    ``world``: BlazePose's world landmarks, turned into the camera frame for their bone block
    and their torso's forward direction (``world_landmarks.py``), or None.
    ``silhouette``: the person mask (``silhouette.Silhouette``) for the silhouette block, or
    None; a mask that cannot describe a person is left out with a warning. ``height`` and
    ``girths`` (metres): the known measurements' blocks (``known_measurements.known_blocks``).
    """
    size, focal = checked_camera(image_size, focal_length)
    centre = principal_point(size)
    num_betas = int(min(options.num_betas, np.asarray(model.shapedirs).shape[2]))
    setup = get_setup(model, keypoints.layout, num_betas, options.interpenetration)
    conf = checked_keypoints(setup, keypoints, weights.min_confidence)
    prior = options.pose_prior if options.pose_prior is not None else shipped_pose_prior()
    use = conf > 0
    depth = initial_depth(setup, keypoints.xy, use, focal)
    scale = REFERENCE_HEIGHT_PX / (focal * setup.height / depth)  # normalised px per px
    joints = KeypointBlock(
        point_index=setup.point_index,
        target=keypoints.xy,
        confidence=conf,
        focal=focal,
        centre=centre,
        scale=scale,
        sigma=weights.sigma,
    )
    bones, forward = None, None
    if world is not None:
        in_camera = world.in_camera(focal, centre)
        targets = bone_targets(in_camera, world.visibility, setup.layout.names, setup.point_index)
        bones, forward = WorldLandmarkBlock(targets, weights.world_sigma), torso_forward(in_camera)
    outline = None
    target = silhouette_target(silhouette, options.silhouette)
    if target is not None:
        surface = surface_points(model, num_betas, options.silhouette.surface_points)
        outline = SilhouetteBlock(
            target=target,
            surface=surface,
            focal=focal,
            centre=centre,
            scale=scale,
            settings=options.silhouette,
        )
    objective = smplify_objective(
        kinematics=setup.kin,
        keypoints=joints,
        pose_prior=prior,
        spheres=setup.spheres,
        depth=depth,
        world=bones,
        silhouette=outline,
        known=known_blocks(model, num_betas, height, girths),
    )
    return FitProblem(
        setup,
        keypoints.xy,
        use,
        focal,
        centre,
        size,
        depth,
        objective,
        prior,
        weights,
        str(getattr(model, "gender", "neutral")),
        forward,
    )


def initial_depth(setup: FitSetup, xy: np.ndarray, use: np.ndarray, focal: float) -> float:
    """Depth (m) by similar triangles: rest torso lengths over their image lengths."""
    lay = setup.layout
    rest = setup.rest_points[setup.point_index]
    ratios = []
    ls, rs, lh, rh = (lay.index(n) for n in lay.torso)
    for a, b in ((ls, lh), (rs, rh), (ls, rh), (rs, lh)):
        if use[a] and use[b]:
            d2 = np.linalg.norm(xy[a] - xy[b])
            if d2 > 1.0:
                ratios.append(np.linalg.norm(rest[a] - rest[b]) / d2)
    if not ratios:  # no torso: all pairs, the larger image distances first
        idx = np.flatnonzero(use)
        for i in idx:
            for j in idx[idx > i]:
                d3, d2 = np.linalg.norm(rest[i] - rest[j]), np.linalg.norm(xy[i] - xy[j])
                if d3 > 0.15 and d2 > 1.0:
                    ratios.append(d3 / d2)
    ratio = float(np.median(ratios)) if ratios else 1.7 / 500.0
    return float(np.clip(focal * ratio, 0.3, 200.0))


def mirror_yaw(x: np.ndarray) -> np.ndarray:
    """Parameters with the body's heading mirrored about the optical axis (yaw ψ -> −ψ).

    The body's forward direction f = R e_z makes the angle φ = atan2(f_x, f_z) in the camera's
    horizontal plane; a turn by −2φ about the camera's vertical axis maps it to −φ, which
    projects the torso almost identically.
    """
    R = rodrigues(x[:3])
    phi = np.arctan2(R[0, 2], R[2, 2])
    out = x.copy()
    out[:3] = matrix_to_rotvec(rodrigues(np.array([0.0, -2.0 * phi, 0.0])) @ R)
    return out


def initial_translation(setup, xy, use, focal, centre, depth, facing) -> np.ndarray:
    """Translation putting the rest body at ``depth`` over the used keypoints' centroid."""
    rest = setup.rest_points[setup.point_index][use]
    rest = rest @ rodrigues(np.asarray(facing, dtype=np.float64)).T
    target = (xy[use].mean(axis=0) - centre) * depth / focal
    return np.array([target[0] - rest[:, 0].mean(), target[1] - rest[:, 1].mean(), depth])


def finite_difference_normal_equations(
    obj: Objective, x: np.ndarray, free: np.ndarray, stage: StageConfig
):
    """Normal equations from forward differences of the fixed-size residuals (baseline)."""
    r = obj.residuals(x, stage)
    J = np.empty((len(r), len(free)))
    for c, k in enumerate(free):
        h = 1.49e-8 * max(1.0, abs(x[k]))
        xp = x.copy()
        xp[k] += h
        J[:, c] = (obj.residuals(xp, stage) - r) / h
    return float(r @ r), J.T @ r, J.T @ J


#: Limb joints whose confidence lies below this (but above 0: a missing joint is warned of
#: apart) count as ones the detector is unsure of ...
UNSURE_CONFIDENCE = 0.6
#: ... and a fit with at least this many of them carries the warning of
#: :func:`unsure_warnings`. Both chosen on the first 150 LSP photos with the energy warning
#: (``benchmarks/studies/warning_rule.py``, highest F1 against "limb PCK@0.2 below 75 %"; grid
#: 0.3-0.6 × 1-3): there the two together warn on 10 photos, 6 of them failures (13 in all); on
#: the other 150 on 12, 6 of them failures (14). The energy alone then warned on 2 and 5.
UNSURE_JOINTS = 3
#: The limb joints in the order the warning names them: the left side's, then the right's.
_LEFT_FIRST = sorted(LIMB_JOINTS, key=lambda name: name.startswith("right"))


def unsure_warnings(layout, confidence: np.ndarray) -> tuple[str, ...]:
    """A warning naming the limb joints the detector is unsure of (confidence in (0,
    ``UNSURE_CONFIDENCE``)) when there are at least ``UNSURE_JOINTS``; none otherwise."""
    unsure = [
        name.replace("_", " ")
        for name in _LEFT_FIRST
        if name in layout.names and 0.0 < confidence[layout.index(name)] < UNSURE_CONFIDENCE
    ]
    if len(unsure) < UNSURE_JOINTS:
        return ()
    return (f"the detector is unsure of the {', '.join(unsure)}: check them",)


def visibility_warnings(layout, use: np.ndarray) -> tuple[str, ...]:
    out = []
    groups = {"legs": ("knee", "ankle"), "arms": ("elbow", "wrist")}
    for what, parts in groups.items():
        idx = [
            layout.index(f"{s}_{p}")
            for s in ("left", "right")
            for p in parts
            if f"{s}_{p}" in layout.names
        ]
        if idx and not use[idx].any():
            out.append(f"{what} not visible: their pose comes from the prior only")
    return tuple(out)
