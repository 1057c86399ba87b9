"""Study: should the pipeline fit the person's outline by default? The whole rendered
benchmark (both halves), each render fitted without and then with the detector's mask.

Every render of ``rendered_3d.py``'s cache (read only), its detection from ``--detections`` (a
pickle {png path: image hash, image hash: Detection or error}, as
``keypoint_targets.py --write-caches`` writes it; detected here when absent), fitted as
``pipeline.detect_and_fit`` fits it (the lifter's points as the 3D evidence, the neutral
model, the true focal length) without and with ``Silhouette.from_detection``, one after the
other so both see the same machine load. A smaller pickle of {png: (Keypoints2D, Silhouette)}
goes to ``--slim`` for the next run. Prints ``rendered_eval.table`` per half and mode (CPU ms
in brackets) and the per-photo change.

    .venv/bin/python benchmarks/studies/silhouette_default.py --detections DETECTIONS.pkl
        [--slim /tmp/silhouette_default_detections.pkl] [--save rows.json] [--cache FOLDER]
        [--half tuning|report]

(the run in docs/fit_silhouette.md: ``--cache /work/main/benchmarks/out/rendered_3d/seed0
--detections /tmp/layout_det/detections.pkl``)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402
from rendered_eval import table  # noqa: E402

from blender_smplify.core import pipeline  # noqa: E402
from blender_smplify.core.camera import principal_point  # noqa: E402
from blender_smplify.core.errors import SmplifyError  # noqa: E402
from blender_smplify.core.fit import fit  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.lifter import lifted_world  # noqa: E402
from blender_smplify.core.silhouette import Silhouette  # noqa: E402

CACHE = ROOT / "benchmarks" / "out" / "rendered_3d" / "seed0"
MODES = ("off", "on")


def slim_detections(folder: Path, detections: Path | None, slim: Path) -> dict:
    """{png: (keypoints, silhouette) or None (no person)}, from ``slim`` when it exists."""
    if slim.exists():
        return pickle.loads(slim.read_bytes())
    full = pickle.loads(detections.read_bytes()) if detections else {}
    # the pickle's paths may name another checkout's copy of the renders: match the tail
    tail = {
        Path(k).parent.name + "/" + Path(k).name: v
        for k, v in full.items()
        if folder.parent.name in k
    }
    out = {}
    for png in sorted(folder.glob("*.png")):
        found = full.get(tail.get(png.parent.name + "/" + png.name))
        if found is None:
            try:
                found = pipeline.detector().detect(load_image(png))
            except SmplifyError as error:
                found = error
        ok = not isinstance(found, Exception)
        out[str(png)] = (found.keypoints, Silhouette.from_detection(found)) if ok else None
    slim.parent.mkdir(parents=True, exist_ok=True)
    slim.write_bytes(pickle.dumps(out))
    return out


def fit_all(folder: Path, found: dict, halves=("tuning", "report")) -> list[dict]:
    """One row per render of ``halves``: name, category, half, and per mode the metrics
    (None: missed)."""
    model = pipeline.load_model("neutral")
    rows = []
    for js in sorted(folder.glob("*.json")):
        info = json.loads(js.read_text())
        half = "tuning" if int(js.stem.rsplit("_", 1)[1]) % 2 == 0 else "report"
        if half not in halves:
            continue
        row = {"name": js.stem, "category": info["category"], "half": half}
        rows.append(row)
        got = found.get(str(js.with_suffix(".png")))
        if got is None:
            row.update({mode: None for mode in MODES})
            continue
        keypoints, silhouette = got
        size, focal = tuple(info["image_size"]), info["focal_px"]
        world = lifted_world(keypoints, focal, principal_point(size))
        for mode, sil in zip(MODES, (None, silhouette)):
            wall, cpu = time.perf_counter(), time.process_time()
            res = fit(model, keypoints, size, focal, world=world, silhouette=sil)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            metrics = dm.case_metrics(np.asarray(res.joints_3d), np.array(info["joints_camera"]))
            poorly = any("explains the keypoints poorly" in w for w in res.warnings)
            metrics.update(ms=1e3 * wall, cpu_ms=1e3 * cpu, poorly=poorly)
            row[mode] = metrics
    return rows


def report(rows: list[dict]) -> None:
    categories = sorted({r["category"] for r in rows})
    for half in ("report", "tuning"):
        part = [r for r in rows if r["half"] == half]
        if not part:
            continue
        for mode in MODES:
            poorly = sum(bool(r[mode] and r[mode]["poorly"]) for r in part)
            print(
                f"\n### {half} half ({len(part)}), silhouette {mode}; 'explains poorly' {poorly}"
            )
            print(table(part, mode, categories))
        both = [r for r in part if r["off"] and r["on"]]
        diff = np.array([r["on"]["pa24"] - r["off"]["pa24"] for r in both])
        print(
            f"\n{half}: per photo on minus off (PA-MPJPE 24) median {np.median(diff):+.1f} mm; "
            f"worse by > 10 mm {int(np.sum(diff > 10))}, better by > 10 mm "
            f"{int(np.sum(diff < -10))} of {len(both)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=str(CACHE), help="the rendered benchmark's renders")
    parser.add_argument("--detections", default="", help="keypoint_targets.py's pickle")
    parser.add_argument("--slim", default="/tmp/silhouette_default_detections.pkl")
    parser.add_argument("--save", default="", help="per-render rows as JSON")
    parser.add_argument("--rows", default="", help="print the tables of saved rows only")
    parser.add_argument("--half", choices=("tuning", "report"), help="only this half")
    args = parser.parse_args(argv)
    if args.rows:
        report(json.loads(Path(args.rows).read_text()))
        return 0
    start, load = time.perf_counter(), os.getloadavg()[0]
    found = slim_detections(
        Path(args.cache), Path(args.detections) if args.detections else None, Path(args.slim)
    )
    halves = (args.half,) if args.half else ("tuning", "report")
    rows = fit_all(Path(args.cache), found, halves)
    print(
        f"{len(rows)} renders; load {load:.1f} before, {os.getloadavg()[0]:.1f} after; "
        f"{time.perf_counter() - start:.0f} s"
    )
    if args.save:
        Path(args.save).write_text(json.dumps(rows))
    report(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
