"""fit_synthetic's cases keep the trial or activity each pose came from (its per-category table
of the held-out activities the prior never saw), without changing which poses are drawn."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import fit_synthetic as fs


@pytest.fixture
def categories(monkeypatch):
    """Three categories of different sizes; every pose's numbers name its category (1, 2, 3)."""
    data = {
        "hdm05/lieDownFloor": np.full((7, 72), 1.0) + np.arange(7)[:, None] * 1e-3,
        "hdm05/kickLFront1Reps": np.full((30, 72), 2.0) + np.arange(30)[:, None] * 1e-3,
        "cmu/held_out_trials": np.full((12, 72), 3.0) + np.arange(12)[:, None] * 1e-3,
    }
    monkeypatch.setattr(fs, "_split_poses", lambda split, rng, mocap_dir: dict(data))
    return data


def test_labels_name_the_category_of_each_pose(categories):
    code = {name: float(i + 1) for i, name in enumerate(categories)}
    poses, labels = fs.load_labelled_poses("held-out-all", 20, np.random.default_rng(3))
    assert poses.shape == (20, 72) and len(labels) == 20
    assert [code[name] for name in labels] == [round(p[0]) for p in poses]
    assert set(labels) == set(categories)  # drawn evenly, not only from the first or largest


def test_labelled_draws_are_the_benchmarks_own(categories):
    plain = fs.load_poses("held-out-all", 20, np.random.default_rng(5))
    labelled, _ = fs.load_labelled_poses("held-out-all", 20, np.random.default_rng(5))
    np.testing.assert_array_equal(plain, labelled)


def test_category_table_gives_each_categorys_own_figures(capsys):
    rows = [{"pa": v} for v in (10.0, 30.0, 20.0, 100.0, 200.0)]
    labels = ["b", "b", "b", "a", "a"]
    fs.category_table(rows, labels)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["a", "2", "150.0", "/", "190.0", "/", "150.0"]
    assert lines[2].split() == ["b", "3", "20.0", "/", "28.0", "/", "20.0"]


def test_beta_scale_scales_the_same_shape_draws(toy_model):
    """--beta-scale keeps every other draw and scales the shapes: 0 gives the mean body, so a
    study can tell the shape spread from everything else."""
    from blender_smplify.core.fit_setup import get_setup
    from blender_smplify.core.keypoints import get_layout

    setup = get_setup(toy_model, "smpl24", 10, True)
    layout, pose = get_layout("smpl24"), np.zeros(72)
    cases = {
        s: fs.make_case(toy_model, setup.kin, layout, pose, np.random.default_rng(1), s)
        for s in (0.0, 1.0, 2.0)
    }
    np.testing.assert_array_equal(cases[0.0][1], 0.0)
    np.testing.assert_allclose(cases[2.0][1], 2.0 * cases[1.0][1])
    assert np.abs(cases[1.0][1]).max() > 0.1
    for s in (0.0, 2.0):  # the same turn; the body differs
        np.testing.assert_array_equal(cases[s][0], cases[1.0][0])
        assert not np.allclose(cases[s][3], cases[1.0][3])
