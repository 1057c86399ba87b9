"""Where the detector's keypoints lie on the SMPL body: learned from renders with exact truth.

    .venv/bin/python benchmarks/studies/keypoint_targets.py --detections CACHE.pkl \
        [--half tuning|report] [--movenet MOVENET.pkl --min-confidence 0.3]

For every BlazePose keypoint (left and right mirror-symmetric) an offset ``o`` in the rest
frame of its SMPL joint, fitted by linear least squares on the perspective constraints

    (u − cx)·P_z − f·P_x = 0,   (v − cy)·P_z − f·P_y = 0,   P = p_joint + G_joint · o

(p, G the true joint's camera-frame position and global rotation; u, v the detected keypoint),
each row divided by P_z so that its residual is in pixels, iteratively reweighted (Tukey's
biweight on 4.685 robust SDs) and on detections with confidence ≥ 0.5 only. Photos: the
TUNING halves only, so that the report halves judge the result: the rendered benchmark's even
photos in each category (``benchmarks/rendered_3d.py``, cached under
``/work/main/benchmarks/out/rendered_3d/seed0``) and the shape benchmark's tuning people, front
and side (``benchmarks/shape_accuracy.py``). Printed per keypoint: the median pixel residual
at the layout's target in this tree (a landmark's β = 0 fallback offset, a learned point, or the
joint), at the joint itself, and at the learned offset; and the offset in mm. The hips are also
fitted in the thigh's frame (last row) against the pelvis's of the layout. The figures quoted
in ``core/learned_targets.py`` are this script's output with the layout before the learned targets
(commit f382d79: hips and shoulders on the ``*_surface`` landmarks).

``--movenet PATH`` learns the ``coco17`` layout's targets from MoveNet's own keypoints instead
(a pickle {png path: (xy (17, 2), score (17,)) or None} of ``JointDetector.landmark_passes``'
``limbs``; use ``--min-confidence 0.3``, MoveNet's scores run lower).

``--detections`` is a pickle {png path: image hash, image hash: Detection or error}; with
``--write-caches`` the detector runs once on every render of both benchmarks and writes it
(and MoveNet's pass to ``--movenet`` when given) first: minutes.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from blender_smplify.core import keypoints as kp_mod
from blender_smplify.core.joints import SMPL_PARENTS, J
from blender_smplify.core.rotation import rodrigues

RENDERED = ROOT / "benchmarks" / "out" / "rendered_3d" / "seed0"
SHAPE = ROOT / "benchmarks" / "out" / "shape_accuracy" / "seed0"
MIRROR = np.diag([-1.0, 1.0, 1.0])


def write_caches(folders: list[Path], detections: Path, movenet: Path | None) -> None:
    """Detect every render once: {png: image hash, hash: Detection or error} to
    ``detections``; MoveNet's own pass {png: (xy, score) or None} to ``movenet``."""
    import hashlib

    from blender_smplify.core import pipeline
    from blender_smplify.core.errors import SmplifyError
    from blender_smplify.core.image_io import load_image

    detector, found, limbs = pipeline.detector(), {}, {}
    for png in sorted(p for folder in folders for p in folder.glob("*.png")):
        image = load_image(png)
        key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
        try:
            found[key] = detector.detect(image)
            _ = found[key].mask  # computed once, kept in the pickle (the silhouette needs it)
        except SmplifyError as error:
            found[key] = error
        found[str(png)] = key
        if movenet is not None:
            try:
                lp = detector.landmark_passes(image).limbs
            except SmplifyError:
                lp = None
            limbs[str(png)] = None if lp is None else (lp.xy, lp.score)
    detections.write_bytes(pickle.dumps(found))
    if movenet is not None:
        movenet.write_bytes(pickle.dumps(limbs))


def rendered_halves(folder: Path) -> dict[str, list[Path]]:
    """The rendered benchmark's photos split by index within their category (even: tuning)."""
    halves = {"tuning": [], "report": []}
    for js in sorted(folder.glob("*.json")):
        index = int(js.stem.rsplit("_", 1)[1])
        halves["tuning" if index % 2 == 0 else "report"].append(js)
    return halves


def shape_halves(folder: Path) -> dict[str, list[Path]]:
    """The shape benchmark's photos by the person's half (even person ids: tuning)."""
    halves = {"tuning": [], "report": []}
    for js in sorted(folder.glob("p*_*.json")):
        halves[json.loads(js.read_text())["half"]].append(js)
    return halves


def global_rotations(pose: np.ndarray) -> np.ndarray:
    """(24, 3, 3) global rotations G_j of the SMPL kinematic chain from (72,) axis-angles."""
    local = rodrigues(np.asarray(pose).reshape(24, 3))
    G = np.empty_like(local)
    for j in range(24):
        parent = SMPL_PARENTS[j]
        G[j] = local[j] if parent < 0 else G[parent] @ local[j]
    return G


def detected(png: Path, detections: dict, movenet: dict | None):
    """(xy, confidence) of a photo: the detection's blazepose33 keypoints, or with ``movenet``
    MoveNet's own 17 (COCO order) from its pass; None when nobody was found."""
    if movenet is not None:
        return movenet.get(str(png))
    found = detections.get(detections.get(str(png)))
    if found is None or isinstance(found, Exception):
        return None
    return found.keypoints.xy, found.keypoints.confidence


def observations(
    files: list[Path], detections: dict, min_conf: float, movenet: dict | None = None
) -> list[dict]:
    """Per photo: truth joints (24, 3) and rotations, camera, detected xy and confidence."""
    rows = []
    for js in files:
        found = detected(js.with_suffix(".png"), detections, movenet)
        if found is None:
            continue
        info = json.loads(js.read_text())
        w, h = info["image_size"]
        rows.append(
            {
                "p": np.array(info["joints_camera"]),
                "G": global_rotations(info["pose_camera"]),
                "f": info["focal_px"],
                "c": np.array([w / 2, h / 2]),
                "xy": found[0],
                "ok": found[1] >= min_conf,
            }
        )
    return rows


def constraint_rows(rows, k: int, joint: int, mirror: bool, frame: int | None = None):
    """A o = b rows (pixel units) of keypoint ``k`` on ``joint`` over all photos, the offset
    in the rest frame of ``frame`` (default: the joint's own)."""
    A, b = [], []
    for r in rows:
        if not r["ok"][k]:
            continue
        G = r["G"][joint if frame is None else frame] @ (MIRROR if mirror else np.eye(3))
        p, f, (u, v) = r["p"][joint], r["f"], r["xy"][k] - r["c"]
        for coord, axis in ((u, 0), (v, 1)):
            A.append((coord * G[2] - f * G[axis]) / p[2])
            b.append((f * p[axis] - coord * p[2]) / p[2])
    return np.array(A).reshape(-1, 3), np.array(b)


def robust_offset(A: np.ndarray, b: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Least-squares offset, reweighted by Tukey's biweight (scale 4.685 × 1.4826 MAD)."""
    w = np.ones(len(b))
    o = np.zeros(3)
    for _ in range(iterations):
        sw = np.sqrt(w)
        o = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)[0]
        r = A @ o - b
        scale = 4.685 * 1.4826 * np.median(np.abs(r)) + 1e-9
        w = np.clip(1 - (r / scale) ** 2, 0, None) ** 2
    return o


def pixel_error(A: np.ndarray, b: np.ndarray, o: np.ndarray) -> float:
    """Median 2D distance (px) of the keypoint's rows pairs (u, v) at offset ``o``."""
    r = (A @ np.asarray(o) - b).reshape(-1, 2)
    return float(np.median(np.linalg.norm(r, axis=1)))


def _side_free(name: str) -> str:
    """Keypoint name without its side: a left/right pair shares it."""
    return (
        name.replace("left_", "")
        .replace("right_", "")
        .replace("mouth_left", "mouth")
        .replace("mouth_right", "mouth")
    )


def learn(rows, layout, frames: dict[str, str] | None = None) -> dict[str, dict]:
    """Learned offset (left side's frame) per keypoint part, with residuals before/after."""
    out = {}
    done = set()
    for name, target in zip(layout.names, layout.targets):
        part = _side_free(name)
        if part in done:
            continue
        done.add(part)
        pair = [(i, n) for i, n in enumerate(layout.names) if _side_free(n) == part]
        A, b, shipped_rows = [], [], []
        for i, n in pair:
            t = layout.targets[i]
            mirror = n.startswith("right_") or n == "mouth_right"
            frame = (frames or {}).get(part, t.frame)
            if frame and n.startswith("right_"):
                frame = frame.replace("left", "right")
            Ai, bi = constraint_rows(rows, i, J[t.joint], mirror, J[frame] if frame else None)
            A.append(Ai), b.append(bi)
            shipped = np.array(t.offset)  # a landmark's fallback, a learned point, or zero
            shipped_rows.append((Ai, bi, MIRROR @ shipped if mirror else shipped))
        A, b = np.concatenate(A), np.concatenate(b)
        o = robust_offset(A, b)
        before = np.median(
            np.concatenate(
                [
                    np.linalg.norm((Ai @ s - bi).reshape(-1, 2), axis=1)
                    for Ai, bi, s in shipped_rows
                ]
            )
        )
        out[part] = {
            "joint": target.joint.replace("right_", "left_")
            + (f" (frame {frame.replace('right', 'left')})" if frame else ""),
            "n": len(b) // 2,
            "shipped_px": float(before),
            "joint_px": pixel_error(A, b, np.zeros(3)),
            "learned_px": pixel_error(A, b, o),
            "offset_mm": (1e3 * o).round(1).tolist(),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detections", required=True)
    parser.add_argument("--half", choices=("tuning", "report"), default="tuning")
    parser.add_argument("--min-confidence", type=float, default=0.5)
    parser.add_argument("--shape-folder", default=str(SHAPE))
    parser.add_argument("--json", default="")
    parser.add_argument(
        "--movenet",
        default="",
        help="pickle {png path: (xy (17, 2), score (17,)) or None} of MoveNet's own pass: "
        "learn the coco17 layout's targets from it instead",
    )
    parser.add_argument("--rendered-folder", default=str(RENDERED))
    parser.add_argument("--write-caches", action="store_true")
    args = parser.parse_args(argv)
    if args.write_caches:
        folders = [Path(args.rendered_folder), Path(args.shape_folder)]
        write_caches(folders, Path(args.detections), Path(args.movenet) if args.movenet else None)
    detections = pickle.loads(Path(args.detections).read_bytes())
    movenet = pickle.loads(Path(args.movenet).read_bytes()) if args.movenet else None
    layout = kp_mod.get_layout("coco17" if movenet else "blazepose33")
    sets = {
        "rendered": rendered_halves(Path(args.rendered_folder))[args.half],
        "shape": shape_halves(Path(args.shape_folder))[args.half],
    }
    results = {}
    for label, files in [*sets.items(), ("both", sets["rendered"] + sets["shape"])]:
        rows = observations(files, detections, args.min_confidence, movenet)
        results[label] = learn(rows, layout)
        results[label + "_thigh_frame"] = learn(rows, layout, {"hip": "left_hip"})
        print(
            f"\n{label}: {len(rows)} photos ({args.half} half), confidence >= "
            f"{args.min_confidence}"
        )
        print(
            "| keypoint | joint | n | shipped px | joint px | learned px | offset mm (x, y, z) |"
        )
        print("|---|---|---|---|---|---|---|")
        thigh = results[label + "_thigh_frame"]["hip"]
        for part, r in [*results[label].items(), ("hip", thigh)]:
            print(
                f"| {part} | {r['joint']} | {r['n']} | {r['shipped_px']:.1f} "
                f"| {r['joint_px']:.1f} | {r['learned_px']:.1f} | {tuple(r['offset_mm'])} |"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
