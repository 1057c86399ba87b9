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
