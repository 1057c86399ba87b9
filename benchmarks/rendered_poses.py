"""Poses for the rendered benchmark: mocap held out of the pose prior's training, and hand-built
poses for what no mocap here covers.

Every pose is SMPL axis-angle (72,) in the SMPL world frame (y up, the rest body facing +z, its
left along +x); the benchmark puts it on the floor and sees it from all around. Categories:

- ``cmu_walk``, ``cmu_dance``, ``cmu_action``: frames of the CMU trials held out of the prior
  (``tools.pose_prior_data.HELD_OUT_TRIALS``: walks; modern dance; punch, swordplay, basketball,
  playground climbing).
- ``hdm05_*``: HDM05 clips held out of the prior (``tools.pose_prior_data.load_hdm05_poses(
  split="held-out")``): the activities it never trained on (lying down, front kicks, throws;
  every actor) and the trained activities of the actors it never saw (squats and picking up from
  the floor, reaching overhead, hops). ``hdm05_lying`` keeps the lieDownFloor frames whose trunk
  is tilted more than 45° from upright (the clip also holds the standing and kneeling on the way).
- ``chair``, ``floor_sit``, ``crawl``, ``kneel``, ``t_pose``, ``a_pose``: **hand-built**, not
  mocap: a few named-joint templates per category with their angles drawn from ranges, plus
  Gaussian noise on every joint (:data:`NOISE_RAD`). Signs in the SMPL rest frame: hip and
  spine flexion (thigh / trunk forward) is a negative rotation about x, knee flexion positive
  about x; the left arm lowers with a negative rotation about z, the right with a positive one;
  the left elbow bends forward with a negative rotation about y, the right with a positive one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from blender_smplify.core.joints import J

#: Standard deviation of the noise added to every body joint of a hand-built pose, radians.
NOISE_RAD = 0.07

CMU_CATEGORIES: dict[str, tuple[str, ...]] = {
    "cmu_walk": (
        "iclone/007_09",
        "cgspeed/08_02",
        "cgspeed/16_15",
        "cgspeed/35_01",
        "cgspeed/113_25",
        "cgspeed/141_19",
    ),
    "cmu_dance": ("iclone/005_07", "iclone/005_15"),
    "cmu_action": (
        "iclone/001_14",
        "iclone/002_05",
        "iclone/002_09",
        "iclone/006_05",
        "iclone/006_11",
    ),
}


HDM05_CATEGORIES: dict[str, tuple[str, ...]] = {
    "hdm05_lying": ("lieDownFloor",),
    "hdm05_kick": ("kickLFront1Reps",),
    "hdm05_throw": ("throwBasketball",),
    "hdm05_squat": ("squat1Reps", "depositFloorR"),
    "hdm05_reach_up": ("grabHighR",),
    "hdm05_hop": ("hopBothLegs1hops",),
}


def trunk_tilted(poses: np.ndarray, min_deg: float = 45.0) -> np.ndarray:
    """Mask (N,) of poses whose root turns the body's up axis more than ``min_deg`` from the
    world's."""
    from blender_smplify.core.rotation import rodrigues

    up = np.array([rodrigues(p[:3])[1, 1] for p in poses])
    return up < np.cos(np.radians(min_deg))


class PoseBuilder:
    """A pose under construction: named joints set or added to as axis-angle (x, y, z)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.pose = np.zeros((24, 3))

    def u(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def set(self, joint: str, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> PoseBuilder:
        self.pose[J[joint]] = (x, y, z)
        return self

    def both(self, part: str, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> PoseBuilder:
        """Set ``left_<part>`` to (x, y, z) and ``right_<part>`` to its mirror (x, −y, −z)."""
        self.set("left_" + part, x, y, z)
        return self.set("right_" + part, x, -y, -z)

    def arms_down(self, lower: float, elbow: float = 0.0, forward: float = 0.0) -> PoseBuilder:
        """Arms lowered by ``lower`` rad from the T-pose, swung forward by ``forward``, elbows
        bent forward by ``elbow``."""
        self.set("left_shoulder", 0.0, -forward, -lower)
        self.set("right_shoulder", 0.0, forward, lower)
        self.set("left_elbow", 0.0, -elbow, 0.0)
        return self.set("right_elbow", 0.0, elbow, 0.0)

    def done(self, root: np.ndarray | None = None) -> np.ndarray:
        """(72,) pose with noise on the body joints and ``root`` (3,) as global orientation."""
        pose = self.pose.copy()
        pose[1:] += self.rng.normal(scale=NOISE_RAD, size=(23, 3))
        pose[0] = np.zeros(3) if root is None else root
        return pose.ravel()


def t_pose(b: PoseBuilder) -> np.ndarray:
    b.both("shoulder", 0.0, b.u(-0.2, 0.2), b.u(-0.15, 0.1))
    b.both("hip", 0.0, 0.0, b.u(-0.05, 0.15))
    return b.done()


def a_pose(b: PoseBuilder) -> np.ndarray:
    b.arms_down(b.u(0.6, 1.0), elbow=b.u(0.0, 0.3), forward=b.u(-0.1, 0.3))
    b.both("hip", 0.0, 0.0, b.u(0.0, 0.2))
    return b.done()


def chair(b: PoseBuilder) -> np.ndarray:
    hip, knee = b.u(-1.75, -1.35), b.u(1.2, 1.9)
    spread = b.u(0.0, 0.35)
    b.set("left_hip", hip, b.u(-0.1, 0.2), spread).set("right_hip", hip, b.u(-0.2, 0.1), -spread)
    b.both("knee", knee)
    b.both("ankle", b.u(-0.3, 0.2))
    b.set("spine1", b.u(-0.2, 0.25)).set("spine2", b.u(-0.1, 0.15))
    variant = b.rng.integers(3)
    if variant == 0:  # hands on the thighs
        b.arms_down(b.u(1.1, 1.35), elbow=b.u(1.0, 1.5), forward=b.u(0.2, 0.5))
    elif variant == 1:  # arms crossed / hands in the lap
        b.arms_down(b.u(1.1, 1.3), elbow=b.u(1.6, 2.1), forward=b.u(0.3, 0.6))
    else:  # one arm up talking, the other down
        b.set("left_shoulder", 0.0, b.u(-1.0, -0.5), b.u(-0.9, -0.3))
        b.set("left_elbow", 0.0, b.u(-2.0, -1.2), 0.0)
        b.set("right_shoulder", 0.0, b.u(0.2, 0.5), b.u(1.1, 1.3)).set("right_elbow", 0, 1.2, 0)
    return b.done()


def floor_sit(b: PoseBuilder) -> np.ndarray:
    variant = b.rng.integers(3)
    lean = b.u(-0.35, 0.0)
    if variant == 0:  # legs stretched forward, hands on the floor behind
        b.both("hip", b.u(-1.6, -1.3), 0.0, b.u(0.0, 0.25)).both("knee", b.u(0.0, 0.4))
        b.set("spine1", lean + 0.25)
        b.arms_down(b.u(1.0, 1.3), forward=b.u(-0.8, -0.4), elbow=b.u(0.0, 0.2))
        return b.done()
    if variant == 1:  # knees up, arms around the knees
        b.both("hip", b.u(-2.2, -1.9), 0.0, b.u(0.0, 0.2)).both("knee", b.u(2.0, 2.4))
        b.set("spine1", b.u(-0.4, -0.1)).set("spine2", b.u(-0.3, 0.0))
        b.arms_down(b.u(0.9, 1.2), elbow=b.u(0.6, 1.2), forward=b.u(0.6, 1.0))
        return b.done()
    # cross-legged: thighs flexed, spread and turned out, shins crossed in front
    b.both("hip", b.u(-1.5, -1.2), b.u(0.5, 0.9), b.u(0.6, 0.9)).both("knee", b.u(2.1, 2.5))
    b.both("ankle", 0.0, 0.0, b.u(-0.4, 0.0))
    b.set("spine1", lean + 0.1)
    b.arms_down(b.u(1.1, 1.35), elbow=b.u(0.8, 1.4), forward=b.u(0.3, 0.6))
    return b.done()


def crawl(b: PoseBuilder) -> np.ndarray:
    """On all fours: the trunk horizontal, face down (root +90° about x), looking ahead."""
    b.both("hip", b.u(-1.75, -1.35), 0.0, b.u(0.0, 0.2)).both("knee", b.u(1.4, 1.75))
    b.both("ankle", b.u(0.3, 0.7))
    b.set("left_shoulder", 0.0, b.u(-1.7, -1.4), b.u(-0.3, 0.0))
    b.set("right_shoulder", 0.0, b.u(1.4, 1.7), b.u(0.0, 0.3))
    b.set("left_elbow", 0.0, b.u(-0.3, 0.0), 0.0).set("right_elbow", 0.0, b.u(0.0, 0.3), 0.0)
    b.both("wrist", 0.0, 0.0, b.u(1.1, 1.5))  # palms flat on the floor
    b.set("neck", b.u(-0.5, -0.2)).set("head", b.u(-0.4, -0.1))
    if b.rng.uniform() < 0.35:  # one hand lifted, reaching forward
        b.set("left_shoulder", 0.0, b.u(-2.2, -1.8), b.u(-0.3, 0.2))
    return b.done(root=np.array([b.u(1.45, 1.65), 0.0, 0.0]))


def kneel(b: PoseBuilder) -> np.ndarray:
    variant = b.rng.integers(3)
    if variant == 0:  # upright on both knees
        b.both("hip", b.u(-0.3, 0.05)).both("knee", b.u(1.45, 1.7)).both("ankle", b.u(0.3, 0.7))
        b.arms_down(b.u(1.0, 1.4), elbow=b.u(0.0, 1.0), forward=b.u(-0.2, 0.4))
    elif variant == 1:  # on one knee (left foot forward)
        b.set("left_hip", b.u(-1.7, -1.3), 0.0, b.u(0.0, 0.2)).set("left_knee", b.u(1.4, 1.8))
        b.set("right_hip", b.u(-0.1, 0.25)).set("right_knee", b.u(1.4, 1.8))
        b.set("right_ankle", b.u(0.3, 0.8))
        b.arms_down(b.u(1.0, 1.4), elbow=b.u(0.3, 1.5), forward=b.u(0.2, 0.8))
    else:  # sitting back on the heels
        b.both("hip", b.u(-0.7, -0.3)).both("knee", b.u(2.4, 2.7)).both("ankle", b.u(0.4, 0.8))
        b.set("spine1", b.u(-0.3, 0.1))
        b.arms_down(b.u(1.1, 1.4), elbow=b.u(0.8, 1.4), forward=b.u(0.3, 0.7))
    return b.done()


HAND_BUILT: dict[str, Callable[[PoseBuilder], np.ndarray]] = {
    "chair": chair,
    "floor_sit": floor_sit,
    "crawl": crawl,
    "kneel": kneel,
    "t_pose": t_pose,
    "a_pose": a_pose,
}

#: Categories with a chair (a box under the seat) in the scene.
SEATED_ON_PROP = ("chair",)
#: Categories whose root is pitched until these parts touch the floor together (front, back).
SUPPORTS = {
    "crawl": (
        ("left_wrist", "right_wrist", "left_hand", "right_hand"),
        ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_foot", "right_foot"),
    ),
}


class PoseSource:
    """Poses per category; mocap clips are loaded on first use (retargeting takes a while)."""

    def __init__(self) -> None:
        self._mocap: dict[str, np.ndarray] | None = None
        self._hdm05: dict[str, list[tuple[str, np.ndarray]]] | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(CMU_CATEGORIES) + tuple(HDM05_CATEGORIES) + tuple(HAND_BUILT)

    def sample(self, category: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """One pose (72,) of ``category`` and where it came from (clip and frame, or
        ``hand-built``)."""
        if category in HAND_BUILT:
            return HAND_BUILT[category](PoseBuilder(rng)), "hand-built"
        if category in CMU_CATEGORIES:
            clips = [(t, self._cmu()[t]) for t in CMU_CATEGORIES[category]]
        elif category in HDM05_CATEGORIES:
            clips = self._held_out_hdm05()[category]
        else:
            raise KeyError(f"unknown category {category!r}; known: {', '.join(self.categories)}")
        name, poses = clips[rng.integers(len(clips))]
        frame = int(rng.integers(len(poses)))
        return poses[frame].copy(), f"{name}#{frame}"

    def _cmu(self) -> dict[str, np.ndarray]:
        if self._mocap is None:
            from tools.pose_prior_data import load_held_out_poses

            self._mocap = load_held_out_poses()
        return self._mocap

    def _held_out_hdm05(self) -> dict[str, list[tuple[str, np.ndarray]]]:
        """(clip, cleaned poses) per HDM05 category, from the held-out split only."""
        if self._hdm05 is None:
            from tools.pose_prior_data import clean_poses, list_hdm05_clips, load_hdm05_poses

            classes = sorted({c for cs in HDM05_CATEGORIES.values() for c in cs})
            activity = {n: c.activity for n, c in list_hdm05_clips().items()}
            poses = load_hdm05_poses(classes=classes, split="held-out")
            self._hdm05 = {}
            for category, names in HDM05_CATEGORIES.items():
                clips = [(n, clean_poses(n, p)) for n, p in poses.items() if activity[n] in names]
                if category == "hdm05_lying":
                    clips = [(n, p[trunk_tilted(p)]) for n, p in clips]
                self._hdm05[category] = [(n, p) for n, p in clips if len(p)]
        return self._hdm05
