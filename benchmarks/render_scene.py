"""What a rendered photo shows, as plain data (numpy, no bpy): the body on the floor, the camera,
the look (skin, clothes, lights, background) and the exact truth.

Frames: the SMPL world (y up, metres, floor at y = 0) and the camera of the fit (OpenCV: x right,
y down, z forward, principal point at the image centre). ``render_people.Renderer`` turns a
:class:`Camera`, the posed mesh and a :class:`Look` into a PNG.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from blender_smplify.core.camera import focal_from_35mm
from blender_smplify.core.joints import J
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

#: Skin tones (sRGB, 0-1) from light to dark; a look interpolates between neighbours.
SKIN_TONES = np.array(
    [
        [0.96, 0.80, 0.69],
        [0.90, 0.70, 0.57],
        [0.78, 0.57, 0.44],
        [0.63, 0.43, 0.30],
        [0.45, 0.29, 0.19],
        [0.30, 0.19, 0.12],
    ]
)
HAIR_TONES = np.array(
    [
        [0.05, 0.04, 0.03],
        [0.20, 0.12, 0.06],
        [0.45, 0.30, 0.15],
        [0.75, 0.60, 0.35],
        [0.55, 0.55, 0.55],
    ]
)
FLOOR_PATTERNS = ("noise", "checker", "brick", "wave", "voronoi")


@dataclass(frozen=True)
class Camera:
    """Pinhole camera: world point X maps to R (X − position) in the OpenCV camera frame."""

    rotation: np.ndarray  # (3, 3) world -> camera
    position: np.ndarray  # (3,) world
    focal_px: float
    image_size: tuple[int, int]  # (width, height)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """Camera-frame coordinates (N, 3) of world points (N, 3)."""
        return (np.asarray(points) - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixels (N, 2) of world points (N, 3)."""
        p = self.to_camera(points)
        centre = np.array(self.image_size, dtype=float) / 2
        return self.focal_px * p[:, :2] / p[:, 2:] + centre


@dataclass(frozen=True)
class Box:
    """An axis-aligned box prop (a chair seat): centre and size (3,) in the world, sRGB colour."""

    centre: np.ndarray
    size: np.ndarray
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class Look:
    """Appearance of one photo; colours sRGB 0-1."""

    skin: tuple[float, float, float]
    subsurface: float
    skin_roughness: float
    shirt: tuple[float, float, float]
    sleeves: str  # "none", "short", "long"
    trousers: tuple[float, float, float]
    long_trousers: bool
    shoes: tuple[float, float, float] | None
    hair: tuple[float, float, float]
    floor: str
    floor_colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    floor_scale: float
    wall: bool
    wall_colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    sky: tuple[tuple[float, float, float], tuple[float, float, float]]
    world_strength: float
    sun_elevation: float  # radians
    sun_azimuth: float
    sun_strength: float
    props: tuple[Box, ...] = field(default_factory=tuple)


def _colour(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]):
    """A random sRGB colour with saturation and value drawn from the given ranges."""
    import colorsys

    return colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*sat), rng.uniform(*val))


def sample_look(rng: np.random.Generator, props: tuple[Box, ...] = ()) -> Look:
    """A random appearance: skin tone, clothes, floor, wall, sky and sun."""
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    skin = tuple((1 - (t - i)) * SKIN_TONES[i] + (t - i) * SKIN_TONES[i + 1])
    muted = ((0.0, 0.7), (0.1, 0.9))

    def pair(sat, val):
        return _colour(rng, sat, val), _colour(rng, sat, val)

    return Look(
        skin=skin,
        subsurface=float(rng.uniform(0.15, 0.4)),
        skin_roughness=float(rng.uniform(0.4, 0.6)),
        shirt=_colour(rng, *muted),
        sleeves=str(rng.choice(["none", "short", "long"], p=[0.2, 0.45, 0.35])),
        trousers=_colour(rng, *muted),
        long_trousers=bool(rng.uniform() < 0.6),
        shoes=None if rng.uniform() < 0.2 else _colour(rng, (0.0, 0.5), (0.05, 0.8)),
        hair=tuple(HAIR_TONES[rng.integers(len(HAIR_TONES))]),
        floor=str(rng.choice(FLOOR_PATTERNS)),
        floor_colours=pair((0.0, 0.5), (0.2, 0.8)),
        floor_scale=float(rng.uniform(0.5, 4.0)),
        wall=bool(rng.uniform() < 0.5),
        wall_colours=pair((0.0, 0.5), (0.3, 0.9)),
        sky=(_colour(rng, (0.0, 0.3), (0.6, 1.0)), _colour(rng, (0.2, 0.7), (0.4, 1.0))),
        world_strength=float(rng.uniform(0.4, 1.2)),
        sun_elevation=float(rng.uniform(np.radians(25), np.radians(70))),
        sun_azimuth=float(rng.uniform(0, 2 * np.pi)),
        sun_strength=float(rng.uniform(1.5, 4.5)),
        props=props,
    )


def place_on_floor(model, betas: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Translation (3,) putting the posed body's lowest vertex on the floor (y = 0) and its
    pelvis above the world origin."""
    vertices, joints = model.forward(betas, pose, None)
    return np.array([-joints[J["pelvis"], 0], -vertices[:, 1].min(), -joints[J["pelvis"], 2]])


def level_on_supports(model, betas, pose, front: tuple[str, ...], back: tuple[str, ...]):
    """``pose`` (72,) with its root pitched about the world x axis until the lowest vertices of
    the ``front`` and ``back`` body parts (parts named by the joint that moves them most) are
    level: hands and knees of a body on all fours, facing +z."""
    pose = np.array(pose, dtype=float)
    dominant = model.lbs_weights.argmax(axis=1)
    parts = [np.isin(dominant, [J[n] for n in names]) for names in (front, back)]
    for _ in range(4):
        vertices, _ = model.forward(betas, pose, None)
        low = [vertices[p][np.argmin(vertices[p, 1])] for p in parts]
        d = low[0] - low[1]
        pitch = np.arctan2(d[1], np.hypot(d[0], d[2]))  # > 0: the front is higher
        pose[:3] = matrix_to_rotvec(rodrigues(np.array([pitch, 0.0, 0.0])) @ rodrigues(pose[:3]))
    return pose


def chair_under(vertices: np.ndarray, joints: np.ndarray, rng: np.random.Generator) -> Box:
    """A box seat under the thighs of a seated body (world vertices (V, 3), joints (24, 3))."""
    hips = joints[[J["left_hip"], J["right_hip"]]].mean(axis=0)
    knees = joints[[J["left_knee"], J["right_knee"]]].mean(axis=0)
    near = np.linalg.norm(vertices[:, [0, 2]] - hips[[0, 2]], axis=1) < 0.15
    seat = vertices[near, 1].min()
    forward = knees[[0, 2]] - hips[[0, 2]]
    centre_xz = hips[[0, 2]] + 0.3 * forward
    colour = _colour(rng, (0.0, 0.6), (0.15, 0.7))
    return Box(
        np.array([centre_xz[0], seat / 2, centre_xz[1]]), np.array([0.45, seat, 0.45]), colour
    )


def look_at(position: np.ndarray, target: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """World-to-camera rotation (3, 3) of a level camera at ``position`` looking at ``target``."""
    z = target - position
    z = z / np.linalg.norm(z)
    x = np.cross(z, np.array([0.0, 1.0, 0.0]))  # image right; world y is up, camera y down
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return rodrigues(np.array([0.0, 0.0, roll])) @ R


def body_facing(pose: np.ndarray) -> np.ndarray:
    """Horizontal unit vector (3,) the body's root faces in the world."""
    forward = rodrigues(pose[:3]) @ np.array([0.0, 0.0, 1.0])
    forward[1] = 0.0
    norm = np.linalg.norm(forward)
    return forward / norm if norm > 1e-6 else np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class Shot:
    """How the camera is set around the body."""

    yaw: float  # radians, camera azimuth about the body's facing (0 = in front, π = behind)
    height: float  # camera height above the floor, metres
    lens_mm: float  # 35 mm-equivalent focal length
    fill: float  # body bounding box / image, the larger of width and height ratios
    landscape: bool
    shift: tuple[float, float]  # body centre off the image centre, share of the free margin
    roll: float  # radians


def sample_shot(rng: np.random.Generator, landscape: bool) -> Shot:
    """Phone-like framing: all around, 0.8-1.8 m high, 24-70 mm; 1 in 10 framed tight."""
    tight = rng.uniform() < 0.1
    return Shot(
        yaw=float(rng.uniform(0, 2 * np.pi)),
        height=float(rng.uniform(0.8, 1.8)),
        lens_mm=float(np.exp(rng.uniform(np.log(24), np.log(70)))),
        fill=float(rng.uniform(0.95, 1.1) if tight else rng.uniform(0.5, 0.9)),
        landscape=bool(landscape != (rng.uniform() < 0.1)),
        shift=(float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8))),
        roll=float(rng.normal(scale=np.radians(2.0))),
    )


def frame_body(
    vertices: np.ndarray, facing: np.ndarray, shot: Shot, short_side: int = 480
) -> Camera:
    """The camera of ``shot`` sized so the body's image fills ``shot.fill`` of the frame."""
    long_side = short_side * 4 // 3
    size = (long_side, short_side) if shot.landscape else (short_side, long_side)
    focal = focal_from_35mm(shot.lens_mm, size)
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    target = (lo + hi) / 2
    c, s = np.cos(shot.yaw), np.sin(shot.yaw)
    direction = np.array([c * facing[0] + s * facing[2], 0.0, -s * facing[0] + c * facing[2]])
    distance = 3.0
    for _ in range(6):
        position = target + distance * direction
        position[1] = shot.height
        cam = Camera(look_at(position, target, shot.roll), position, focal, size)
        uv = cam.project(vertices[::7])
        extent = np.max((uv.max(axis=0) - uv.min(axis=0)) / np.array(size))
        distance = max(distance * extent / shot.fill, 0.4 + np.linalg.norm((hi - lo)[[0, 2]]) / 2)
    # turn the camera so the body's box sits off-centre by a share of the free margin
    uv = cam.project(vertices[::7])
    centre, half = (uv.max(axis=0) + uv.min(axis=0)) / 2, np.array(size) / 2
    margin = np.maximum(half - (uv.max(axis=0) - uv.min(axis=0)) / 2, 0.0)
    want = half + np.array(shot.shift) * margin
    pan = np.arctan((centre[0] - half[0]) / focal) - np.arctan((want[0] - half[0]) / focal)
    tilt = np.arctan((centre[1] - half[1]) / focal) - np.arctan((want[1] - half[1]) / focal)
    turn = rodrigues(np.array([0.0, pan, 0.0])) @ rodrigues(np.array([-tilt, 0.0, 0.0]))
    return Camera(turn.T @ cam.rotation, cam.position, focal, size)


def model_fingerprint(model) -> str:
    """A short hash of the body model's template, shape space, joint regressor and skinning
    weights: a cached render's truth is only valid for the model that made it."""
    digest = hashlib.sha256()
    for array in (model.v_template, model.shapedirs, model.J_regressor, model.lbs_weights):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def truth(model, betas, pose, transl, camera: Camera) -> dict:
    """The exact answer for a photo: joints in the camera frame and in pixels, and the body's
    parameters in the world and in the camera frame (as the fit reports them)."""
    _, joints = model.forward(betas, pose, transl)
    joints_cam = camera.to_camera(joints)
    # forward(pose, t) = R_root (x − J0) + J0 + t, so in the camera: root R·R_root and
    # translation R (J0 + t − C) − J0, with J0 the shaped rest pelvis
    j0 = model.rest_joints(betas)[0]
    pose_cam = np.array(pose, dtype=float).copy()
    pose_cam[:3] = matrix_to_rotvec(camera.rotation @ rodrigues(pose[:3]))
    transl_cam = camera.rotation @ (j0 + transl - camera.position) - j0
    return {
        "joints_camera": joints_cam.tolist(),
        "joints_2d": camera.project(joints).tolist(),
        "pose": np.asarray(pose).tolist(),
        "transl": np.asarray(transl).tolist(),
        "pose_camera": pose_cam.tolist(),
        "transl_camera": transl_cam.tolist(),
        "betas": np.asarray(betas).tolist(),
        "focal_px": float(camera.focal_px),
        "image_size": list(camera.image_size),
        "camera_rotation": camera.rotation.tolist(),
        "camera_position": camera.position.tolist(),
        "model_fingerprint": model_fingerprint(model),
    }
