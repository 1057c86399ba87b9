"""Study: how good the lifter must be for the fit to meet issue 9's targets (rendered benchmark).

The fit takes its 3D evidence from the lifter's points (the bone directions of
``world_landmarks.BONES``; BlazePose's own landmarks vote in the depth search). Here the
lifted points are replaced by points of known quality, everything else as shipped, and each
render is fitted from the detector's and from the exact 2D keypoints:

- ``shipped``: the lifter's points as the pipeline makes them;
- ``exact``: the true body's 33 points (an error-free lifter);
- ``exact + N(0, σ)``: those with independent Gaussian noise of σ per coordinate;
- ``lifter's error × s``: truth + s (lifted − truth), the lifter's own errors, of the same kind
  and direction, made smaller;
- ``true limb signs``: the lifter's points with the depth of each clear limb segment (as
  ``depth_metrics`` counts them) turned to the truth's side, the rest of the limb with it.

Beside each fit: the lifted limb bones' angle to the true ones (median, p90, share over 30°),
the lifter's accuracy in the units of the fit's term. ``angles`` gives that figure alone for
lifter files (``""``: the shipped one), e.g. those of earlier commits, without fitting.

    .venv/bin/python benchmarks/studies/lift_needed.py fit --work W [--half tuning] [--save F]
        [--by-category shipped exact "lifter's error × 0.5"]
    .venv/bin/python benchmarks/studies/lift_needed.py angles --work W --lifters "" OLD.onnx
    .venv/bin/python benchmarks/studies/lift_needed.py shallow --work W --runs F [--half all]

``shallow`` reads a saved ``fit`` run: the segments still backwards with the true limb signs,
how far out of the image plane the (sign-corrected) lift puts them against the right ones.

``W`` holds ``keypoints.npz`` (``lifter_confidence.py detect``) and ``bp_world.npz``
(``depth_world_cache.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))
sys.path.insert(2, str(ROOT / "benchmarks/studies"))

import depth_metrics as dm  # noqa: E402
import lifter_confidence as lc  # noqa: E402
import rendered_eval as re_  # noqa: E402

NOISE_M = (0.02, 0.04)
ERROR_SCALES = (0.3, 0.5, 0.7)
#: A limb segment's child end and the points that move with it when its depth turns over.
LIMB_BELOW = {
    "left_elbow": ("left_elbow", "left_wrist", "left_pinky", "left_index", "left_thumb"),
    "left_wrist": ("left_wrist", "left_pinky", "left_index", "left_thumb"),
    "left_knee": ("left_knee", "left_ankle", "left_heel", "left_foot_index"),
    "left_ankle": ("left_ankle", "left_heel", "left_foot_index"),
}
#: Limb bones whose angle is measured: the first eight of ``world_landmarks.BONES``.
LIMB_BONES = 8


def variants(lifted: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> dict:
    """{name: (33, 3) points} replacing the lifter's ``lifted`` (module docstring); ``truth``
    (33, 3), both hip-centred in the camera frame."""
    out = {"shipped": lifted, "exact": truth}
    for sigma in NOISE_M:
        out[f"exact + N(0, {100 * sigma:.0f} cm)"] = truth + rng.normal(0, sigma, truth.shape)
    for s in ERROR_SCALES:
        out[f"lifter's error × {s}"] = truth + s * (lifted - truth)
    out["true limb signs"] = with_true_signs(lifted, truth)
    return out


def with_true_signs(lifted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``lifted`` with each clear limb segment's child (and the limb below it) mirrored in depth
    about its parent where its depth sign differs from the truth's, upper segments first."""
    from blender_smplify.core.keypoints import BLAZEPOSE33
    from blender_smplify.core.lifter import SEGMENT_ENDS

    names = BLAZEPOSE33.names
    points = lifted.copy()
    for parent, child in SEGMENT_ENDS:
        true_dz = truth[child, 2] - truth[parent, 2]
        if abs(true_dz) / np.linalg.norm(truth[child] - truth[parent]) <= dm.CLEAR_DEPTH:
            continue
        dz = points[child, 2] - points[parent, 2]
        if np.sign(dz) != np.sign(true_dz):
            below = [names.index(n) for n in limb_below(names[child])]
            points[below, 2] -= 2 * dz
    return points


def limb_below(child: str) -> tuple[str, ...]:
    """The points that move with a limb segment's child end (:data:`LIMB_BELOW`, either side)."""
    side, joint = child.split("_", 1)
    return tuple(n.replace("left_", f"{side}_", 1) for n in LIMB_BELOW[f"left_{joint}"])


def bone_angles(points: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(8,) degrees between the limb bones of ``points`` and of ``truth`` (33, 3)."""
    from blender_smplify.core.keypoints import BLAZEPOSE33
    from blender_smplify.core.world_landmarks import BONES

    ends = np.array([[BLAZEPOSE33.index(a), BLAZEPOSE33.index(b)] for a, b in BONES[:LIMB_BONES]])
    u = points[ends[:, 1]] - points[ends[:, 0]]
    v = truth[ends[:, 1]] - truth[ends[:, 0]]
    cos = np.sum(u * v, 1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def hip_centred(points: np.ndarray) -> np.ndarray:
    from blender_smplify.core.keypoints import BLAZEPOSE33

    hips = [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]
    return points - points[hips].mean(0)


def fits_of_case(info, kp, model, truth_model, detected, rng) -> dict:
    """{source: {variant: case_metrics with "angles" (8,) and the fitted "joints"}, or None
    where that source has no keypoints (the detector found no one)} of one render."""
    from dataclasses import replace

    from blender_smplify.core.fit import fit
    from blender_smplify.core.lifter import default_lifter, lift_keypoints, world_of

    w, h = info["image_size"]
    focal, principal = info["focal_px"], np.array([w / 2, h / 2])
    joints = np.array(info["joints_camera"])
    truth = hip_centred(re_.truth_points(truth_model, info, "blazepose33"))
    rows = {}
    for source in lc.SOURCES:
        keypoints = lc.cached_keypoints(kp, source)
        if keypoints is None:
            rows[source] = None
            continue
        lifted = lift_keypoints(keypoints, focal, principal, default_lifter())
        rows[source] = {}
        for name, points in variants(lifted.points, truth, rng).items():
            start = time.process_time()
            world = world_of(replace(lifted, points=points))  # as the pipeline passes a lift
            res = fit(model, keypoints, (w, h), focal, world=world, detected=detected)
            metrics = dm.case_metrics(np.asarray(res.joints_3d), joints)
            metrics["cpu_ms"] = 1e3 * (time.process_time() - start)
            metrics["angles"] = bone_angles(points, truth).tolist()
            metrics["joints"] = np.asarray(res.joints_3d).round(4).tolist()
            rows[source][name] = metrics
    return rows


def angle_summary(rows: list[dict]) -> str:
    a = np.concatenate([r["angles"] for r in rows])
    return f"{np.median(a):4.1f}° / {np.percentile(a, 90):4.1f}°, {100 * np.mean(a > 30):4.1f} %"


def print_table(cases: list[dict], half: str) -> None:
    for source in lc.SOURCES:
        print(f"\nfrom {source}, {half} half: lifted points | "
              "PA-MPJPE 24 median / p90 | limbs backwards | facing right | CPU ms | "
              "limb bones' angle to the truth median / p90, share over 30°")  # fmt: skip
        fitted = [c[source] for c in cases if c[source] is not None]
        for name in fitted[0]:
            rows = [c[name] for c in fitted]
            print(f"| {name} | {lc.summary(rows)} | {angle_summary(rows)} |")


def lifted_angles(cases, keypoints, truth_models, files: list[str], world_cache: Path) -> None:
    """The limb bones' angles of each lifter file's points (mirror-averaged, as shipped), and of
    BlazePose's own world landmarks (``world_cache``)."""
    from blender_smplify.core.lifter import Lifter, lift_keypoints

    for file in files:
        lifter = Lifter(file or None, mirror_average=True)
        rows: dict[str, list] = {s: [] for s in lc.SOURCES}
        for png, info in cases:
            w, h = info["image_size"]
            truth = re_.truth_points(truth_models[info["gender"]], info, "blazepose33")
            for source in lc.SOURCES:
                kp = lc.cached_keypoints(keypoints[png.stem], source)
                if kp is not None:
                    lifted = lift_keypoints(kp, info["focal_px"], np.array([w / 2, h / 2]), lifter)
                    rows[source].append({"angles": bone_angles(lifted.points, truth)})
        cells = ", ".join(f"from {s} {angle_summary(r)}" for s, r in rows.items())
        print(f"| {file or 'shipped'} | {cells} |")
    blazepose = []
    for png, info in cases:
        landmarks = lc.detected_landmarks(world_cache, png.stem, info)
        if landmarks is not None:
            centre = np.array(info["image_size"]) / 2.0
            truth = re_.truth_points(truth_models[info["gender"]], info, "blazepose33")
            points = landmarks.in_camera(info["focal_px"], centre)
            blazepose.append({"angles": bone_angles(points, truth)})
    print(f"| BlazePose's world landmarks | {angle_summary(blazepose)} |")


def backwards_mask(joints: np.ndarray, true_depth: np.ndarray, clear: np.ndarray) -> np.ndarray:
    """(8,) bool: the clear limb segments whose depth in the fitted ``joints`` (24, 3) has the
    other sign than ``true_depth`` (``depth_metrics.segment_depths``)."""
    depth, _ = dm.segment_depths(joints)
    return clear & (np.sign(depth) != np.sign(true_depth))


def shallow(renders, keypoints, truth_models, saved: Path) -> None:
    """The clear limb segments the fit with ``true limb signs`` still has backwards: the
    sign-corrected lift's |depth| / length there, against the truth's and the right ones'."""
    from blender_smplify.core.lifter import SEGMENT_ENDS, lift_keypoints

    fits = {c["name"]: c["detector"] for c in json.loads(saved.read_text())}
    backwards, right, truth_ratio, shipped_too = [], [], [], 0
    for png, info in renders:
        if fits.get(png.stem) is None:
            continue
        true_depth, length = dm.segment_depths(np.array(info["joints_camera"]))
        clear = np.abs(true_depth) / length > dm.CLEAR_DEPTH
        kp = lc.cached_keypoints(keypoints[png.stem], "detector")
        w, h = info["image_size"]
        lifted = lift_keypoints(kp, info["focal_px"], np.array([w / 2, h / 2]))
        truth = hip_centred(re_.truth_points(truth_models[info["gender"]], info, "blazepose33"))
        fixed = with_true_signs(lifted.points, truth)
        a, b = fixed[SEGMENT_ENDS[:, 0]], fixed[SEGMENT_ENDS[:, 1]]
        ratio = np.abs(b[:, 2] - a[:, 2]) / np.linalg.norm(b - a, axis=1)
        fitted = {v: np.array(fits[png.stem][v]["joints"]) for v in ("true limb signs", "shipped")}
        still = backwards_mask(fitted["true limb signs"], true_depth, clear)
        backwards += ratio[still].tolist()
        right += ratio[clear & ~still].tolist()
        truth_ratio += (np.abs(true_depth) / length)[still].tolist()
        shipped_too += int(np.count_nonzero(still & backwards_mask(fitted["shipped"], true_depth,
                                                                   clear)))  # fmt: skip
    print(f"{len(backwards)} clear segments backwards with the true limb signs, {shipped_too} "
          f"of them backwards in the shipped fit too; |depth| / length median (share < 0.15): "
          f"the corrected lift there {np.median(backwards):.2f} "
          f"({np.mean(np.array(backwards) < 0.15):.2f}), the truth there "
          f"{np.median(truth_ratio):.2f}, the lift on the {len(right)} right ones "
          f"{np.median(right):.2f} ({np.mean(np.array(right) < 0.15):.2f})")  # fmt: skip


def main(argv=None) -> int:
    from blender_smplify.core.body_model import BodyModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("fit", "angles", "shallow"))
    ap.add_argument("--runs", type=Path, default=None, help="shallow: a saved fit run")
    ap.add_argument("--lifters", nargs="+", default=[""], help="angles: ONNX files")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    ap.add_argument("--save", type=Path, default=None, help="the per-render rows as JSON")
    ap.add_argument("--by-category", nargs="*", default=[], metavar="VARIANT",
                    help="fit: also these variants per category")  # fmt: skip
    args = ap.parse_args(argv)
    model = BodyModel.load(gender="neutral")
    truth_models = re_.truth_models(args.cache)
    keypoints = lc.load_keypoints(args.work)
    renders = [(png, info) for png, info in re_.load_cases(args.cache, None, None)
               if args.half == "all" or lc.half_of(png.stem) == args.half]  # fmt: skip
    if args.step == "angles":
        print(f"{args.half} half: limb bones' angle to the truth, median / p90, share over 30°")
        lifted_angles(renders, keypoints, truth_models, args.lifters, args.work / "bp_world.npz")
        return 0
    if args.step == "shallow":
        shallow(renders, keypoints, truth_models, args.runs)
        return 0
    rng = np.random.default_rng(0)
    cases = []
    for png, info in renders:
        detected = lc.detected_landmarks(args.work / "bp_world.npz", png.stem, info)
        case = fits_of_case(info, keypoints[png.stem], model, truth_models[info["gender"]],
                            detected, rng)  # fmt: skip
        cases.append({"name": png.stem, "category": info["category"], **case})
    if args.save:
        args.save.write_text(json.dumps(cases, default=float))
    print_table(cases, args.half)
    if args.by_category:
        lc.print_tables(cases, args.by_category)
    return 0


if __name__ == "__main__":
    sys.exit(main())
