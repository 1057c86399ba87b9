"""Training split of the rendered photos: the benchmark's scenes (cameras, light, skin, clothes,
backgrounds, Cycles settings) with poses from sources the benchmark never draws from, for
learning from photos (e.g. a limb's depth sign) without training on the benchmark.

    .venv/bin/python benchmarks/rendered_3d.py render --split train --seed 1000 \
        --per-category 1000 --cache OUTSIDE/depth_train     # -> OUTSIDE/depth_train/seed1000

Categories, one photo of each in turn (half mocap, half hand-built):

- ``cmu_walking``, ``cmu_dancing``, ``cmu_sports``: the CMU trials the pose prior trains on
  (not in ``tools.pose_prior_data.HELD_OUT_TRIALS``, which holds every trial of the benchmark's
  ``rendered_poses.CMU_CATEGORIES``; the cgspeed copies of iclone trials left out as in
  ``tools/train_pose_prior.py``), grouped by activity.
- ``hdm05_down``, ``hdm05_arms``, ``hdm05_steps``: HDM05 clips of ``load_hdm05_poses(
  split="train")``: trained activities by trained actors only (the benchmark draws from the
  held-out split: held-out activities, and the held-out actors' clips).
- the hand-built categories of ``rendered_poses.HAND_BUILT``, drawn with the split's own seed,
  and ``lying`` (:func:`lying`, hand-built too): the training mocap holds no lying body (HDM05's
  lieDownFloor is held out whole), the benchmark's ``hdm05_lying`` does.

Within a mocap category a pose is an activity drawn uniformly, then one of its clips, then one
of its cleaned frames (``clean_poses``), so that no long or frequent activity dominates.
"""

from __future__ import annotations

import numpy as np
from rendered_poses import HAND_BUILT, PoseBuilder

from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues

_WALKS_CGSPEED = (
    "08_01 10_04 12_01 12_03 16_58 26_01 27_01 29_01 32_01 35_28 38_01 39_01 43_01 45_01 "
    "46_01 47_01 49_01 55_04 114_13 133_21 136_20 143_32 144_33"
).split()
_DANCES = (2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20)
_BASKETBALL = (2, 3, 4, 6, 7, 8, 9, 10, 12, 14, 15)

#: CMU training trials per category and activity (``CMU data.csv`` descriptions).
TRAIN_CMU: dict[str, dict[str, tuple[str, ...]]] = {
    "cmu_walking": {
        "walk": (
            "iclone/002_01",
            "iclone/002_02",
            "iclone/005_01",
            "iclone/006_01",
            *(f"iclone/007_{t:02d}" for t in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12)),
            *(f"cgspeed/{t}" for t in _WALKS_CGSPEED),
        ),
        "run": ("iclone/002_03",),
        "uneven terrain": ("iclone/003_01", "iclone/003_02"),
    },
    "cmu_dancing": {"modern dance": tuple(f"iclone/005_{t:02d}" for t in _DANCES)},
    "cmu_sports": {
        "basketball": tuple(f"iclone/006_{t:02d}" for t in _BASKETBALL),
        "swordplay": ("iclone/002_07", "iclone/002_08"),
        "jump, balance": ("iclone/002_04",),
        "playground": ("iclone/001_01", "iclone/001_08"),
        "bend over, scoop up": ("iclone/002_06",),
        "wash self": ("iclone/002_10",),
    },
}

#: HDM05 activity classes per category (clips of the training split only).
TRAIN_HDM05: dict[str, tuple[str, ...]] = {
    "hdm05_down": ("squat1Reps", "depositFloorR"),
    "hdm05_arms": ("grabHighR", "rotateArmsBothBackward1Reps", "elbowToKnee1RepsLelbowStart"),
    "hdm05_steps": ("hopBothLegs1hops", "jogLeftCircle4StepsRstart", "sneak2StepsLStart"),
}


def lying(b: PoseBuilder) -> np.ndarray:
    """On the back, the front or a side, limbs drawn from ranges (signs as in
    ``rendered_poses``); the root turns the standing body about the world x axis (back: -90°,
    front: +90°) or about the facing axis z (side: ±90°), with a little roll."""
    variant = b.rng.integers(4)
    if variant == 0:  # on the back: legs straight or knees up, arms anywhere
        for side in ("left", "right"):
            if b.rng.uniform() < 0.5:
                knee = b.u(1.0, 1.9)
                b.set(f"{side}_hip", -knee / 2 + b.u(-0.2, 0.2)).set(f"{side}_knee", knee)
        b.arms_down(b.u(-1.0, 1.5), elbow=b.u(0.0, 2.0), forward=b.u(-0.3, 1.2))
        b.set("neck", b.u(-0.1, 0.4), b.u(-0.7, 0.7))
        turn = rodrigues(np.array([0.0, 0.0, b.u(-0.25, 0.25)])) @ rodrigues(
            np.array([-np.pi / 2, 0.0, 0.0])
        )
    elif variant == 1:  # on the front: head turned, one knee drawn up or not
        if b.rng.uniform() < 0.5:
            b.set("left_hip", b.u(-0.8, -0.3), 0.0, b.u(0.3, 0.8)).set("left_knee", b.u(0.5, 1.5))
        b.arms_down(b.u(-1.2, 1.5), elbow=b.u(0.0, 0.5), forward=b.u(-0.4, 0.0))
        b.set("neck", b.u(-0.4, 0.0), b.u(0.6, 1.1) * b.rng.choice([-1, 1]))
        turn = rodrigues(np.array([0.0, 0.0, b.u(-0.25, 0.25)])) @ rodrigues(
            np.array([np.pi / 2, 0.0, 0.0])
        )
    else:  # on the left or right side, knees and arms forward
        b.set("left_hip", b.u(-1.4, -0.2)).set("right_hip", b.u(-1.4, -0.2))
        b.set("left_knee", b.u(0.2, 1.8)).set("right_knee", b.u(0.2, 1.8))
        b.set("spine1", b.u(-0.3, 0.05))
        b.arms_down(b.u(0.3, 1.4), elbow=b.u(0.0, 1.6), forward=b.u(0.4, 1.4))
        roll = (np.pi / 2 + b.u(-0.2, 0.2)) * (1 if variant == 2 else -1)
        turn = rodrigues(np.array([0.0, 0.0, roll]))
    return b.done(root=matrix_to_rotvec(turn))


#: Hand-built categories of the training split.
HAND_BUILT_TRAIN = {**HAND_BUILT, "lying": lying}


def training_clips() -> dict[str, dict[str, tuple[str, ...]]]:
    """Clip names per mocap category and activity (reads the HDM05 manifest, no motion)."""
    from tools.pose_prior_data import is_hdm05_training_clip, list_hdm05_clips

    clips = {c: dict(acts) for c, acts in TRAIN_CMU.items()}
    hdm05 = list_hdm05_clips()
    for category, activities in TRAIN_HDM05.items():
        clips[category] = {
            a: tuple(n for n, c in hdm05.items() if c.activity == a and is_hdm05_training_clip(c))
            for a in activities
        }
    return clips


class TrainingPoseSource:
    """``rendered_poses.PoseSource``'s interface over the training split; a mocap category's
    clips are loaded and cleaned on its first use."""

    def __init__(self) -> None:
        self._clips = training_clips()
        self._poses: dict[str, dict[str, list[tuple[str, np.ndarray]]]] = {}

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(TRAIN_CMU) + tuple(TRAIN_HDM05) + tuple(HAND_BUILT_TRAIN)

    def sample(self, category: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """One pose (72,) of ``category`` and its origin (clip and frame, or ``hand-built``)."""
        if category in HAND_BUILT_TRAIN:
            return HAND_BUILT_TRAIN[category](PoseBuilder(rng)), "hand-built"
        if category not in self._clips:
            raise KeyError(f"unknown category {category!r}; known: {', '.join(self.categories)}")
        activities = self._activities(category)
        clips = activities[sorted(activities)[rng.integers(len(activities))]]
        name, poses = clips[rng.integers(len(clips))]
        frame = int(rng.integers(len(poses)))
        return poses[frame].copy(), f"{name}#{frame}"

    def _activities(self, category: str) -> dict[str, list[tuple[str, np.ndarray]]]:
        if category not in self._poses:
            from tools.pose_prior_data import clean_poses, load_hdm05_poses, load_smpl_poses

            names = [n for ns in self._clips[category].values() for n in ns]
            if category in TRAIN_HDM05:
                loaded = load_hdm05_poses(classes=TRAIN_HDM05[category], split="train")
            else:
                loaded = load_smpl_poses(trials=names)
            self._poses[category] = {
                a: [(n, clean_poses(n, loaded[n])) for n in ns]
                for a, ns in self._clips[category].items()
            }
        return self._poses[category]
