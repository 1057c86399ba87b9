"""Bookkeeping of the shape benchmark (``shape_accuracy.py``; numpy only, no bpy, no detector):
true measurements, errors of a fitted body against its own person's truth, and the tables.

A **row** is one person under one condition: ``{"person", "gender", "half", "condition",
"status", "errors", "fit_seconds", "measurements"}`` with ``status`` "ok", "failed" (no person
detected, or the fit raised) or "not available" (the condition's function does not exist yet;
``needs`` says what), and ``errors`` the absolute error in mm of every measurement (ok rows).
"""

from __future__ import annotations

import numpy as np

#: The measurements the tables report (``core.measurements`` names).
HEADLINE = ("stature", "chest_girth", "waist_girth", "hip_girth")
GIRTHS = HEADLINE[1:]
LABELS = {"stature": "stature", "chest_girth": "chest", "waist_girth": "waist", "hip_girth": "hip"}


class Measurers:
    """One ``BodyMeasurer`` per gender, made on first use.

    Parameters
    ----------
    models : gender -> BodyModel (the models the truth was rendered with and fits use).
    """

    def __init__(self, models: dict) -> None:
        self.models = models
        self._measurers: dict = {}

    def measure(self, gender: str, betas) -> dict[str, float]:
        """All BodyMeasurer values (metres) of the ``gender`` model's body with shape
        ``betas`` (b,), b at most the model's components (the rest are 0)."""
        from blender_smplify.core.measurements import BodyMeasurer

        if gender not in self._measurers:
            self._measurers[gender] = BodyMeasurer(self.models[gender])
        return dict(self._measurers[gender].measure(np.asarray(betas, dtype=float)).values)


def scaled(measurements: dict[str, float], factor: float) -> dict[str, float]:
    """Every measurement (lengths and girths alike) of a body scaled uniformly by ``factor``."""
    return {name: factor * value for name, value in measurements.items()}


def errors_mm(truth: dict[str, float], fitted: dict[str, float]) -> dict[str, float]:
    """|fitted − truth| in mm per measurement both have (NaN where either is NaN)."""
    return {n: 1e3 * abs(fitted[n] - truth[n]) for n in truth if n in fitted}


def ok_row(person: dict, condition: str, fitted: dict[str, float], seconds: float | None):
    """The row of a fit that gave measurements ``fitted`` (metres) for ``person`` (a truth
    record: "person", "gender", "half", "measurements")."""
    return {
        **_key(person, condition),
        "status": "ok",
        "errors": errors_mm(person["measurements"], fitted),
        "fit_seconds": seconds,
        "measurements": fitted,
    }


def failed_row(person: dict, condition: str, why: str) -> dict:
    return {**_key(person, condition), "status": "failed", "why": why}


def unavailable_row(person: dict, condition: str, needs: str) -> dict:
    return {**_key(person, condition), "status": "not available", "needs": needs}


def _key(person: dict, condition: str) -> dict:
    return {
        "person": person["person"],
        "gender": person["gender"],
        "half": person["half"],
        "condition": condition,
    }


def summarise(rows: list[dict]) -> dict:
    """Median and 90th percentile of each HEADLINE error (mm), of all girth errors pooled, the
    failures and the median fit time of one condition's rows."""
    ok = [r for r in rows if r["status"] == "ok"]
    s = {
        "people": len(rows),
        "failed": sum(r["status"] == "failed" for r in rows),
        "unavailable": [r["needs"] for r in rows if r["status"] == "not available"],
    }
    if not ok:
        return s
    for name in HEADLINE:
        values = np.array([r["errors"][name] for r in ok])
        s[name] = (float(np.nanmedian(values)), float(np.nanpercentile(values, 90)))
    pooled = np.array([r["errors"][g] for r in ok for g in GIRTHS])
    s["girths"] = (float(np.nanmedian(pooled)), float(np.nanpercentile(pooled, 90)))
    times = [r["fit_seconds"] for r in ok if r.get("fit_seconds") is not None]
    s["fit_ms"] = 1e3 * float(np.median(times)) if times else None
    return s


def table(rows: list[dict], conditions: list[tuple[str, str]], which_half: str) -> str:
    """Markdown table over the people of ``which_half`` ("tuning", "report" or "all"), one line
    per (condition key, label) in ``conditions``; a condition whose rows are "not available"
    says what it needs instead of figures."""
    head = [
        "condition",
        "people",
        "failed",
        *(f"{LABELS[n]} median / p90" for n in HEADLINE),
        "girths pooled median / p90",
        "fit ms median",
    ]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for key, label in conditions:
        chosen = [
            r
            for r in rows
            if r["condition"] == key and (which_half == "all" or r["half"] == which_half)
        ]
        if not chosen:
            continue
        s = summarise(chosen)
        if s["unavailable"]:
            needs = sorted(set(s["unavailable"]))
            cells = [f"not available (needs {'; '.join(needs)})"] + ["–"] * (len(head) - 3)
        elif "stature" not in s:
            cells = ["–"] * (len(head) - 3)
        else:
            cells = [f"{s[n][0]:.0f} / {s[n][1]:.0f}" for n in (*HEADLINE, "girths")]
            cells.append("–" if s["fit_ms"] is None else f"{s['fit_ms']:.0f}")
        lines.append(f"| {label} | {s['people']} | {s['failed']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


class Unavailable(Exception):
    """A condition's function does not exist in this tree; the message says what it needs."""


class FitFailed(Exception):
    """No person detected, or the fit refused the input: counted, not fatal."""


def load_people(folder) -> list[dict]:
    """Person records from a render cache: ``{"person", "gender", "half", "betas",
    "measurements", "photos": {view: (png path, truth dict)}}``, sorted by id. The photos of
    one person must agree on gender, β and measurements (they are one body)."""
    import json
    from pathlib import Path

    people: dict[int, dict] = {}
    for js in sorted(Path(folder).glob("p*_*.json")):
        png = js.with_suffix(".png")
        if not png.exists():
            continue
        info = json.loads(js.read_text())
        record = people.setdefault(
            info["person"],
            {
                "person": info["person"],
                "gender": info["gender"],
                "half": info["half"],
                "betas": info["betas"],
                "measurements": info["measurements"],
                "photos": {},
            },
        )
        same = (record["gender"], record["betas"]) == (info["gender"], info["betas"])
        if not same or record["measurements"] != info["measurements"]:
            raise ValueError(f"{js.name}: not the body of person {info['person']}'s other photos")
        record["photos"][info["view"]] = (png, info)
    return [people[k] for k in sorted(people)]


def evaluate_people(people, conditions, fitter, measurers: Measurers, progress=None):
    """Rows of every person under every condition.

    Parameters
    ----------
    people : records of :func:`load_people`.
    conditions : Condition-like objects with ``key``, ``baseline`` (None, "mean" or
        "mean_height") and ``views`` (the photos it needs).
    fitter : fitter(condition, person) -> (gender, betas (b,), fit seconds); raises
        :class:`Unavailable` or :class:`FitFailed` (anything else is a bug and propagates).
    measurers : the Measurers of the true models.
    progress : called with the number of people done.
    """
    rows = []
    for k, person in enumerate(people):
        mean = measurers.measure(person["gender"], np.zeros(0))
        for cond in conditions:
            if cond.baseline is not None:
                factor = 1.0
                if cond.baseline == "mean_height":
                    factor = person["measurements"]["stature"] / mean["stature"]
                rows.append(ok_row(person, cond.key, scaled(mean, factor), None))
            elif any(view not in person["photos"] for view in cond.views):
                rows.append(failed_row(person, cond.key, "photo missing"))
            else:
                try:
                    gender, betas, seconds = fitter(cond, person)
                except Unavailable as why:
                    rows.append(unavailable_row(person, cond.key, str(why)))
                    continue
                except FitFailed as why:
                    rows.append(failed_row(person, cond.key, str(why)))
                    continue
                rows.append(ok_row(person, cond.key, measurers.measure(gender, betas), seconds))
        if progress:
            progress(k + 1)
    return rows


def bias_table(rows: list[dict], truths: dict[int, dict], conditions) -> str:
    """Markdown table of the median signed error (fitted − true, mm) of each HEADLINE
    measurement over all people (both halves), one line per (key, label) of ``conditions``
    with ok rows; ``truths``: person id -> that person's true measurements (metres)."""
    head = ["condition", "people", *(f"{LABELS[n]} fit − truth" for n in HEADLINE)]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for key, label in conditions:
        ok = [r for r in rows if r["condition"] == key and r["status"] == "ok"]
        if not ok:
            continue
        cells = []
        for name in HEADLINE:
            signed = [1e3 * (r["measurements"][name] - truths[r["person"]][name]) for r in ok]
            cells.append(f"{np.nanmedian(signed):+.0f}")
        lines.append(f"| {label} | {len(ok)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
