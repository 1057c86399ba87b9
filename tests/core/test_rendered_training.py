"""The rendered training split (benchmarks/rendered_training.py) draws no pose from the
benchmark's pools: no clip, no second conversion of a clip, no category name of its mocap."""

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
import rendered_poses as rp  # noqa: E402
import rendered_training as rt  # noqa: E402

from tools import pose_prior_data as ppd  # noqa: E402


def _benchmark_clips() -> set[str]:
    """Every clip the benchmark's PoseSource may draw, and every clip the prior holds out."""
    cmu = {t for trials in rp.CMU_CATEGORIES.values() for t in trials} | set(ppd.HELD_OUT_TRIALS)
    benchmark_activities = {a for acts in rp.HDM05_CATEGORIES.values() for a in acts}
    hdm05 = {
        n
        for n, c in ppd.list_hdm05_clips().items()
        if c.activity in ppd.HDM05_HELD_OUT_CLASSES
        or c.actor in ppd.HDM05_HELD_OUT_ACTORS
        or (c.split == "test" and c.activity in benchmark_activities)
    }
    return cmu | hdm05


def _training_names() -> list[str]:
    return [n for acts in rt.training_clips().values() for ns in acts.values() for n in ns]


def test_training_pool_shares_no_clip_with_the_benchmark():
    names = _training_names()
    assert len(names) == len(set(names)), "a clip is listed twice"
    assert not set(names) & _benchmark_clips()
    # nor another conversion of one of the benchmark's trials
    twin = {a: b for pair in ppd.DUPLICATE_TRIALS for a, b in (pair, pair[::-1])}
    assert not {twin[n] for n in names if n in twin} & _benchmark_clips()


def test_training_pool_is_the_priors_training_data():
    names = set(_training_names())
    trials = ppd.list_trials()
    assert {n for n in names if not n.startswith("hdm05/")} <= set(trials)
    clips = ppd.list_hdm05_clips()
    hdm05 = {n for n in names if n.startswith("hdm05/")}
    assert hdm05 <= set(clips) and all(ppd.is_hdm05_training_clip(clips[n]) for n in hdm05)
    for category, activities in rt.training_clips().items():
        assert all(activities.values()), f"{category} has an activity without clips"


def test_categories_differ_from_the_benchmarks_mocap_ones():
    source = rt.TrainingPoseSource()
    mocap = set(source.categories) - set(rt.HAND_BUILT_TRAIN)
    assert mocap == set(rt.TRAIN_CMU) | set(rt.TRAIN_HDM05)
    assert not mocap & (set(rp.CMU_CATEGORIES) | set(rp.HDM05_CATEGORIES))


def test_lying_bodies_lie():
    """``lying`` turns the trunk at least 60° away from upright, and its draws differ."""
    rng = np.random.default_rng(3)
    poses = np.array([rt.lying(rp.PoseBuilder(rng)) for _ in range(40)])
    assert rp.trunk_tilted(poses, min_deg=60.0).all()
    assert np.ptp(poses[:, 3:], axis=0).max() > 1.0
