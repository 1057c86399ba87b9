"""The detector's keypoints and world landmarks of a render cache (``rendered_3d.py render``),
incrementally: only photos not yet in the output files are detected, so it can run again and
again while the renderer adds photos.

    .venv/bin/python benchmarks/rendered_detections.py --cache DIR/seed1000 [--out DIR]

Writes to ``--out`` (default: the cache folder), in the formats of
``studies/lifter_confidence.py detect`` and ``studies/depth_world_cache.py``, one row per
photo, rows in the same order in both files:

- ``keypoints.npz``: ``name`` (N,), ``detector_xy`` (N, 33, 2) and ``detector_conf`` (N, 33)
  (the shipped detector, blazepose33, pixels; NaN and 0 where it found no person),
  ``truth_xy`` (N, 33, 2) and ``truth_conf`` (N, 33) (``rendered_eval.truth_keypoints`` from
  the cache's own body models; conf 1 inside the image, 0 outside).
- ``bp_world.npz``: ``name`` (N,), ``points`` (N, 33, 3) BlazePose's world landmarks turned
  into the camera frame (hip-centred, metres; ``WorldLandmarks.in_camera``) and
  ``visibility`` (N, 33) (NaN and 0 where no person).

Both are saved every ``--every`` photos and at the end, each written to a temporary file and
renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

KEYPOINTS = ("name", "detector_xy", "detector_conf", "truth_xy", "truth_conf")
WORLD = ("name", "points", "visibility")


def load_rows(path: Path, keys: tuple[str, ...]) -> dict[str, list]:
    """The columns of a saved file as lists (empty lists when there is none yet)."""
    if not path.exists():
        return {k: [] for k in keys}
    with np.load(path) as data:
        return {k: list(data[k]) for k in keys}


def save_rows(path: Path, rows: dict[str, list]) -> None:
    tmp = path.with_name(path.stem + ".partial.npz")
    np.savez(tmp, **{k: np.array(v) for k, v in rows.items()})
    os.replace(tmp, path)


def finished_photos(folder: Path) -> list[tuple[Path, dict]]:
    """(png, truth) of every photo whose truth is written (the renderer writes it last)."""
    cases = []
    for js in sorted(folder.glob("*.json")):
        try:
            cases.append((js.with_suffix(".png"), json.loads(js.read_text())))
        except json.JSONDecodeError:  # being written now: the next pass takes it
            continue
    return [(png, info) for png, info in cases if png.exists()]


def detected(detector, png: Path, info: dict) -> tuple[np.ndarray, ...]:
    """The detector's keypoints xy (33, 2) px and confidences (33,), and BlazePose's world
    landmarks in the render's camera frame (33, 3) m with their visibilities (33,), of one
    photo; NaN and zeros where it finds no person."""
    from blender_smplify.core.errors import NoPersonFound
    from blender_smplify.core.image_io import load_image
    from blender_smplify.core.world_landmarks import WorldLandmarks

    try:
        detection = detector.detect(load_image(png))
    except NoPersonFound:
        return np.full((33, 2), np.nan), np.zeros(33), np.full((33, 3), np.nan), np.zeros(33)
    world = WorldLandmarks.from_detection(detection)
    w, h = info["image_size"]
    points = world.in_camera(info["focal_px"], np.array([w / 2, h / 2]))
    return detection.keypoints.xy, detection.keypoints.confidence, points, world.visibility


def detect_one(detector, models, png: Path, info: dict) -> tuple[tuple, tuple]:
    """One photo's keypoints row and world-landmarks row (column order of KEYPOINTS, WORLD)."""
    import rendered_eval as re_

    truth = re_.truth_keypoints(models[info["gender"]], info, "blazepose33")
    xy, conf, points, visibility = detected(detector, png, info)
    return (png.stem, xy, conf, truth.xy, truth.confidence), (png.stem, points, visibility)


def main(argv: list[str] | None = None) -> int:
    import rendered_eval as re_

    from blender_smplify.core.detector import JointDetector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True, help="folder of png + json renders")
    ap.add_argument("--out", type=Path, default=None, help="default: the cache folder")
    ap.add_argument("--every", type=int, default=100, help="save after this many photos")
    args = ap.parse_args(argv)
    out = args.out or args.cache
    out.mkdir(parents=True, exist_ok=True)
    kp_path, world_path = out / "keypoints.npz", out / "bp_world.npz"
    keypoints, world = load_rows(kp_path, KEYPOINTS), load_rows(world_path, WORLD)
    if [str(n) for n in keypoints["name"]] != [str(n) for n in world["name"]]:
        raise SystemExit(f"{kp_path} and {world_path} hold different photos; delete both")
    done = {str(n) for n in keypoints["name"]}
    todo = [(png, info) for png, info in finished_photos(args.cache) if png.stem not in done]
    print(f"{len(done)} photos detected before, {len(todo)} new", flush=True)
    if not todo:
        return 0
    models = re_.truth_models(args.cache)
    detector = JointDetector()
    start, load = time.perf_counter(), os.getloadavg()[0]
    for k, (png, info) in enumerate(todo):
        kp_row, world_row = detect_one(detector, models, png, info)
        for rows, row in ((keypoints, kp_row), (world, world_row)):
            for key, value in zip(rows, row):
                rows[key].append(value)
        if (k + 1) % args.every == 0 or k + 1 == len(todo):
            save_rows(kp_path, keypoints)
            save_rows(world_path, world)
            seconds = time.perf_counter() - start
            print(f"{k + 1}/{len(todo)} new photos, {seconds:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    print(
        f"{len(todo)} photos detected in {seconds:.0f} s ({seconds / len(todo):.2f} s each; load "
        f"{load:.1f} before, {os.getloadavg()[0]:.1f} after); {len(keypoints['name'])} in "
        f"{kp_path} and {world_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
