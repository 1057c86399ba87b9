"""The shape benchmark's bookkeeping (benchmarks/shape_people.py, shape_errors.py; no rendering,
no detector): each photo keeps its own body's truth, each fit is scored against its own person
with its own gender's model, and the tables count what they say."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.measurements import BodyMeasurer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import render_scene as rs
import shape_errors as se
import shape_people as sp

FIT = SimpleNamespace(key="fit", views=("front", "side"), baseline=None)
MEAN = SimpleNamespace(key="mean", views=(), baseline="mean")
MEAN_HEIGHT = SimpleNamespace(key="mean_height", views=(), baseline="mean_height")


@pytest.fixture(scope="module")
def models():
    return {g: BodyModel.load(gender=g) for g in ("female", "male")}


@pytest.fixture(scope="module")
def measurers(models):
    return se.Measurers(models)


@pytest.fixture(scope="module")
def direct(models):
    """BodyMeasurer per gender made here, not through the bookkeeping under test."""
    return {g: BodyMeasurer(m) for g, m in models.items()}


@pytest.fixture(scope="module")
def cache(tmp_path_factory, models, measurers):
    """Four people's photo records as ``render`` writes them (the render's truth faked: only
    the camera matters here), ids 0-3: female, female, male, male."""
    folder = tmp_path_factory.mktemp("shape")
    for index in range(4):
        rng = sp.person_rng(0, index)
        person = sp.draw_person(index, models["female"].num_betas, rng)
        measurements = measurers.measure(person.gender, person.betas)
        for view in sp.VIEWS:
            _, shot = sp.photo(person, view, rng)
            truth = {"focal_px": 800.0, "image_size": [480, 640], "betas": "overwritten"}
            record = sp.photo_record(person, view, shot, truth, measurements)
            (folder / f"p{index:03d}_{view}.json").write_text(json.dumps(record))
            (folder / f"p{index:03d}_{view}.png").write_bytes(b"")
    return folder


def test_records_keep_the_rendered_body_and_its_own_measurements(cache, direct):
    people = se.load_people(cache)
    assert [p["person"] for p in people] == [0, 1, 2, 3]
    assert [p["gender"] for p in people] == ["female", "female", "male", "male"]
    for p in people:
        person = sp.draw_person(p["person"], 16, sp.person_rng(0, p["person"]))
        np.testing.assert_array_equal(p["betas"], person.betas)
        truth = direct[p["gender"]].measure(person.betas).values
        assert p["measurements"]["chest_girth"] == truth["chest_girth"]
        assert p["measurements"]["stature"] == truth["stature"]
        assert set(p["photos"]) == {"front", "side"}


def test_a_photo_of_another_body_is_refused(cache, tmp_path):
    for js in cache.glob("p000_*.json"):
        (tmp_path / js.name).write_text(js.read_text())
        (tmp_path / js.with_suffix(".png").name).write_bytes(b"")
    side = json.loads((tmp_path / "p000_side.json").read_text())
    side["betas"][3] += 0.5
    (tmp_path / "p000_side.json").write_text(json.dumps(side))
    with pytest.raises(ValueError, match="not the body of person 0"):
        se.load_people(tmp_path)


def test_a_perfect_fit_scores_zero_and_a_wrong_body_does_not(cache, measurers):
    people = se.load_people(cache)

    def own_body(cond, person):  # the fit found exactly this person's β (16) with its gender
        return person["gender"], np.array(person["betas"]), 0.05

    rows = se.evaluate_people(people, [FIT, MEAN, MEAN_HEIGHT], own_body, measurers)
    fits = [r for r in rows if r["condition"] == "fit"]
    assert [r["person"] for r in fits] == [0, 1, 2, 3]
    for r in fits:
        assert r["status"] == "ok"
        assert max(r["errors"].values()) < 1e-6, r["person"]
    # the neighbour's body (same gender) is a wrong answer with a visible error
    by_id = {p["person"]: p for p in people}

    def neighbour(cond, person):
        other = by_id[person["person"] ^ 1]
        return other["gender"], np.array(other["betas"]), 0.05

    wrong = se.evaluate_people(people, [FIT], neighbour, measurers)
    assert all(r["errors"]["chest_girth"] > 1.0 for r in wrong)


def test_errors_are_in_mm_against_the_truth_of_the_fitted_gender(cache, measurers, direct):
    person = se.load_people(cache)[2]  # male
    fitted = np.array(person["betas"][:10])  # the fit has 10 components, the truth 16
    fitted[0] += 1.0

    def fitter(cond, p):
        return p["gender"], fitted, 0.05

    (row,) = se.evaluate_people([person], [FIT], fitter, measurers)
    truth = direct["male"].measure(person["betas"]).values
    mine = direct["male"].measure(fitted).values
    for name in se.HEADLINE:
        assert row["errors"][name] == pytest.approx(1e3 * abs(mine[name] - truth[name]))
    assert row["errors"]["hip_girth"] > 1.0


def test_baselines_are_the_mean_body_of_the_gender_scaled_to_the_height(cache, measurers, direct):
    person = se.load_people(cache)[0]  # female
    rows = se.evaluate_people([person], [MEAN, MEAN_HEIGHT], None, measurers)
    mean = direct["female"].measure(np.zeros(16)).values
    truth = person["measurements"]
    k = truth["stature"] / mean["stature"]
    assert rows[0]["errors"]["waist_girth"] == pytest.approx(
        1e3 * abs(mean["waist_girth"] - truth["waist_girth"])
    )
    assert rows[1]["errors"]["stature"] == pytest.approx(0.0, abs=1e-9)
    assert rows[1]["errors"]["waist_girth"] == pytest.approx(
        1e3 * abs(k * mean["waist_girth"] - truth["waist_girth"])
    )


def _row(person, half, condition, chest, status="ok"):
    errors = {"stature": 1.0, "chest_girth": chest, "waist_girth": 2.0, "hip_girth": 3.0}
    return {
        "person": person,
        "gender": "female",
        "half": half,
        "condition": condition,
        "status": status,
        "errors": errors,
        "fit_seconds": 0.1,
        **({"needs": "X from branch y"} if status == "not available" else {}),
    }


def test_table_medians_halves_failures_and_missing_functions():
    rows = [_row(k, sp.half(k), "a", 10.0 * k) for k in range(10)]
    rows.append({**_row(10, "tuning", "a", 0.0), "status": "failed"})
    rows += [_row(k, sp.half(k), "b", 0.0, "not available") for k in range(4)]
    conditions = [("a", "cond a"), ("b", "cond b")]
    report = se.table(rows, conditions, "report").splitlines()
    a = [c.strip() for c in report[2].split("|")]
    assert a[1:4] == ["cond a", "5", "0"]
    assert a[5] == "50 / 82"  # chest of ids 1, 3, 5, 7, 9: 10, 30, 50, 70, 90 mm
    tuning = se.table(rows, conditions, "tuning").splitlines()
    assert [c.strip() for c in tuning[2].split("|")][3:6] == ["1", "1 / 1", "40 / 72"]
    assert "| cond b | 2 | 0 | not available (needs X from branch y) |" in report[3]


def test_halves_hold_both_genders_and_stances():
    for which in ("tuning", "report"):
        ids = [k for k in range(8) if sp.half(k) == which]
        people = [sp.draw_person(k, 16, sp.person_rng(0, k)) for k in ids]
        assert sorted(p.gender for p in people) == ["female", "female", "male", "male"]
        assert sorted(p.stance for p in people) == ["a_pose", "a_pose", "standing", "standing"]


def test_side_photos_see_the_body_from_its_left(models):
    model, rng = models["male"], np.random.default_rng(3)
    for view in sp.VIEWS:
        pose, shot = sp.stance_pose("standing", rng), sp.view_shot(view, rng)
        vertices, _ = model.forward(
            np.zeros(16), pose, rs.place_on_floor(model, np.zeros(16), pose)
        )
        camera = rs.frame_body(vertices, rs.body_facing(pose), shot)
        seen_from = camera.position - (vertices.min(axis=0) + vertices.max(axis=0)) / 2
        azimuth = np.degrees(np.arctan2(seen_from[0], seen_from[2]))  # 0: front, 90: left (+x)
        assert abs(azimuth - {"front": 0, "side": 90}[view]) <= 10.5, view
        uv = camera.project(vertices)
        assert (uv >= 0).all() and (uv < camera.image_size).all(), view


def test_bias_is_fitted_minus_the_own_persons_truth():
    truths = {k: {n: 1.0 + k for n in se.HEADLINE} for k in range(3)}
    rows = [
        {**_row(k, sp.half(k), "a", 0.0), "measurements": {n: 1.0 + k + d for n in se.HEADLINE}}
        for k, d in enumerate((0.01, 0.02, -0.05))
    ]
    line = se.bias_table(rows, truths, [("a", "cond a")]).splitlines()[2]
    assert [c.strip() for c in line.split("|")][1:4] == ["cond a", "3", "+10"]
