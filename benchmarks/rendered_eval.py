"""Evaluation half of ``rendered_3d.py`` (no bpy): detect and fit each cached render, measure
against its truth, and tabulate per category.

Two fits per photo, both given the true focal length and the same model (the neutral open model,
or with ``--gender true`` the photo's own):

- **detector**: ``JointDetector().detect(load_image(png))`` then ``fit`` on its keypoints; a
  ``NoPersonFound`` is a miss.
- **truth 2D**: the truth's keypoints projected exactly, in the detector's layout
  (``blazepose33``: the true body's joints and surface landmarks, as the fit maps each
  keypoint) or ``smpl24``; confidence 1, 0 outside the image. What is left is the fit's error.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import depth_metrics as dm
import numpy as np

METRICS = ("pa24", "pa12", "mpjpe24", "mpjpe12")


#: Where a render cache keeps the body models its photos were made with.
MODELS_FOLDER = "models"


def truth_models(folder: Path) -> dict:
    """{gender: BodyModel} of the bodies in a render cache's photos: the copies the cache keeps
    in ``folder/models/`` (``rendered_3d.py render`` writes them), else the shipped models."""
    from blender_smplify.core.body_model import BodyModel, open_model_path

    def path(gender: str) -> Path:
        kept = Path(folder) / MODELS_FOLDER / open_model_path(gender).name
        return kept if kept.exists() else open_model_path(gender)

    return {g: BodyModel.load(path(g), gender=g) for g in ("female", "male")}


class StaleRenderError(ValueError):
    """A cached render was made with another body model than the one given for its truth."""


def check_same_model(joints: np.ndarray, info: dict, gender: str, tolerance: float = 1e-3):
    """Raise :class:`StaleRenderError` unless the joints (24, 3) of a ``gender`` model posed
    with a render's own parameters are the render's truth joints (within ``tolerance``
    metres): keypoints projected from another model would be those of another body than the
    one in the photo (the open models' rebuild moved joints by up to 4 cm at equal β)."""
    off = float(np.abs(joints - np.array(info["joints_camera"])).max())
    if off > tolerance:
        raise StaleRenderError(
            f"this render ({info.get('category', '?')}) was made with another body model than "
            f"the {gender} model given (its joints differ by {1000 * off:.0f} mm): use the "
            "models its cache keeps (truth_models), or render the benchmark again into a new "
            "--cache folder (rendered_3d.py render)"
        )


def truth_points(model, info: dict, layout: str) -> np.ndarray:
    """(K, 3) metres, camera frame: the true body's points of ``layout`` (its joints and surface
    landmarks, as the fit maps each keypoint); ``model`` of the true gender
    (:func:`truth_models`)."""
    from blender_smplify.core.fit_setup import get_setup

    setup = get_setup(model, layout, len(info["betas"]))
    pts, _ = setup.kin.evaluate(
        np.array(info["pose_camera"]),
        np.array(info["betas"]),
        np.array(info["transl_camera"]),
        jacobian=False,
    )
    check_same_model(pts[:24], info, model.gender)
    return pts[setup.point_index]


def truth_keypoints(model, info: dict, layout: str):
    """Keypoints2D of ``layout`` projected from the true body (``model`` of the true gender,
    the one the render was made with: :func:`truth_models`)."""
    from blender_smplify.core.keypoints import Keypoints2D

    pts = truth_points(model, info, layout)
    w, h = info["image_size"]
    xy = info["focal_px"] * pts[:, :2] / pts[:, 2:] + np.array([w / 2, h / 2])
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h) & (pts[:, 2] > 0)
    return Keypoints2D(layout, xy, inside.astype(float))


class Evaluator:
    """Detector, models and fit settings shared by all photos.

    Parameters
    ----------
    gender : "neutral" (fit with the neutral model) or "true" (the photo's gender).
    options : FitOptions for every fit.
    fit_kwargs : extra keyword arguments for ``fit`` (for new fit code).
    world_keyword : pass the detection's world landmarks (``WorldLandmarks.from_detection``)
        to ``fit`` under this keyword (detector fits only); empty: do not.
    gt_layout : layout of the truth-2D keypoints.
    truth_models : {gender: BodyModel} the photos were made with (:func:`truth_models`);
        default the shipped models.
    """

    def __init__(
        self,
        gender="neutral",
        options=None,
        fit_kwargs=None,
        world_keyword="",
        gt_layout="blazepose33",
        detector=True,
        truth_models=None,
    ):
        from blender_smplify.core.body_model import BodyModel
        from blender_smplify.core.detector import JointDetector

        self.models = {g: BodyModel.load(gender=g) for g in ("neutral", "female", "male")}
        self.truth_models = truth_models or self.models
        self.gender = gender
        self.options = options
        self.fit_kwargs = dict(fit_kwargs or {})
        self.world_keyword = world_keyword
        self.gt_layout = gt_layout
        self.detector = JointDetector() if detector else None

    def fit_model(self, info: dict):
        return self.models[info["gender"] if self.gender == "true" else "neutral"]

    def _fit(self, info, keypoints, extra=None) -> tuple[dict, object]:
        from blender_smplify.core.fit import fit

        model = self.fit_model(info)
        w, h = info["image_size"]
        kwargs = {**self.fit_kwargs, **(extra or {})}
        t0, c0 = time.perf_counter(), time.process_time()
        res = fit(model, keypoints, (w, h), info["focal_px"], options=self.options, **kwargs)
        row = dm.case_metrics(np.asarray(res.joints_3d), np.array(info["joints_camera"]))
        row.update(
            ms=1e3 * (time.perf_counter() - t0),
            cpu_ms=1e3 * (time.process_time() - c0),
            joint_energy=float(res.energy.get("joints", np.nan)),
            joints=np.asarray(res.joints_3d).round(4).tolist(),
        )
        return row, res

    def case(self, png: Path, info: dict) -> dict:
        """Both fits of one photo: {"detector": row or None (missed), "truth2d": row}."""
        from blender_smplify.core.errors import NoPersonFound
        from blender_smplify.core.image_io import load_image

        out = {"name": png.stem, "category": info["category"]}
        truth_kp = truth_keypoints(self.truth_models[info["gender"]], info, self.gt_layout)
        out["truth2d"], _ = self._fit(info, truth_kp)
        if self.detector is None:
            return out
        t0 = time.perf_counter()
        try:
            detection = self.detector.detect(load_image(png))
        except NoPersonFound:
            out["detector"] = None
            return out
        detect_ms = 1e3 * (time.perf_counter() - t0)
        extra = None
        if self.world_keyword:
            from blender_smplify.core.world_landmarks import WorldLandmarks

            extra = {self.world_keyword: WorldLandmarks.from_detection(detection)}
        out["detector"], res = self._fit(info, detection.keypoints, extra)
        out["detector"]["detect_ms"] = detect_ms
        out["fit"] = {**res.to_dict(), "keypoints": detection.keypoints.to_dict()}
        return out


def summarise(rows: list[dict]) -> dict:
    """Medians, shares and times of a list of per-photo rows (None rows are misses)."""
    fitted = [r for r in rows if r is not None]
    s = {"n": len(rows), "missed": len(rows) - len(fitted)}
    if not fitted:
        return s
    for key in METRICS:
        values = np.array([r[key] for r in fitted])
        s[key] = float(np.median(values))
        s[key + "_p90"] = float(np.percentile(values, 90))
    back, segs = sum(r["backwards"] for r in fitted), sum(r["segments"] for r in fitted)
    s["backwards"], s["segments"] = back, segs
    judged = [r["facing_right"] for r in fitted if r["facing_right"] is not None]
    s["facing_right"], s["facing_judged"] = sum(judged), len(judged)
    s["ms"] = float(np.median([r["ms"] for r in fitted]))
    s["ms_p90"] = float(np.percentile([r["ms"] for r in fitted], 90))
    s["cpu_ms"] = float(np.median([r["cpu_ms"] for r in fitted]))
    return s


def table(results: list[dict], path: str, categories: list[str]) -> str:
    """Markdown table for one path ("detector" or "truth2d"), a row per category and "all"."""
    head = (
        "| category | photos | missed | PA-MPJPE 24 median / p90 | PA-MPJPE 12 | MPJPE 24 "
        "| MPJPE 12 | limb segments backwards | facing right | fit ms median / p90 (CPU) |"
    )
    lines = [head, "|---" * 10 + "|"]
    for cat in categories + ["all"]:
        rows = [r.get(path) for r in results if cat == "all" or r["category"] == cat]
        if not rows:
            continue
        s = summarise(rows)
        name = f"**{cat}**" if cat == "all" else cat
        if "pa24" not in s:
            lines.append(f"| {name} | {s['n']} | {s['missed']} |" + " – |" * 7)
            continue
        seg = s["segments"]
        back = f"{100 * s['backwards'] / seg:.1f} % ({s['backwards']}/{seg})" if seg else "–"
        judged, right = s["facing_judged"], s["facing_right"]
        facing = f"{100 * right / judged:.0f} % ({right}/{judged})" if judged else "–"
        lines.append(
            f"| {name} | {s['n']} | {s['missed']} | {s['pa24']:.0f} / {s['pa24_p90']:.0f} "
            f"| {s['pa12']:.0f} | {s['mpjpe24']:.0f} | {s['mpjpe12']:.0f} | {back} "
            f"| {facing} | {s['ms']:.0f} / {s['ms_p90']:.0f} ({s['cpu_ms']:.0f}) |"
        )
    return "\n".join(lines)


def compare(before: list[dict], after: list[dict], path: str, categories: list[str]) -> str:
    """Markdown table of two saved runs side by side (median PA-MPJPE 24, limb segments
    backwards, facing right), a row per category and "all"."""
    lines = [
        (
            f"| category ({path}) | PA-MPJPE 24 before → after | backwards before → after "
            "| facing right before → after |"
        ),
        "|---|---|---|---|",
    ]
    for cat in categories + ["all"]:
        cells = []
        for run in (before, after):
            s = summarise([r.get(path) for r in run if cat == "all" or r["category"] == cat])
            seg, judged = s.get("segments", 0), s.get("facing_judged", 0)
            cells.append(
                (
                    f"{s['pa24']:.0f}" if "pa24" in s else "–",
                    f"{100 * s['backwards'] / seg:.1f} %" if seg else "–",
                    f"{100 * s['facing_right'] / judged:.1f} %" if judged else "–",
                )
            )
        name = f"**{cat}**" if cat == "all" else cat
        lines.append(f"| {name} | " + " | ".join(f"{a} → {b}" for a, b in zip(*cells)) + " |")
    return "\n".join(lines)


def load_cases(folder: Path, categories: list[str] | None, limit: int | None):
    """(png, truth) pairs of the cached renders, sorted by name, optionally filtered."""
    cases = []
    for js in sorted(folder.glob("*.json")):
        png = js.with_suffix(".png")
        if not png.exists():
            continue
        info = json.loads(js.read_text())
        if categories and info["category"] not in categories:
            continue
        cases.append((png, info))
    return cases[:limit] if limit else cases
