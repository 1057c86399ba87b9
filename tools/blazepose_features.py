"""Build-time tool: BlazePose's inner features of each rendered photo, from the same detector
pass the pipeline makes, with each limb segment's true depth sign.

    .venv/bin/python tools/blazepose_features.py --photos DIR --model X.onnx --out F.npz
        [--half tuning] [--limit N]

``X.onnx``: the shipped BlazePose with its feature tensors as extra outputs
(``tools/blazepose_feature_model.py``). ``core/detector.JointDetector`` runs unchanged on
each photo (its passes, MoveNet, second opinions); the features are those of the BlazePose
pass whose crop the detection keeps (``Detection.crop``). Per photo: the global features
(288 × 2 × 2, flattened), the spatial features (48 channels at 64 × 64 over the crop) sampled
bilinearly at the 33 detected landmarks and at the 8 limb segments' midpoints (in crop
coordinates, ``Crop.to_crop``), the detected keypoints, BlazePose's world landmarks in the
camera frame and visibilities, the lifter's sign head (``segment_away_probability``) and the
truth (each segment's depth change per length, ``depth_metrics.segment_depths``). Incremental:
photos already in ``--out`` are skipped; saved every 50 photos.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402

from blender_smplify.core.depth_sign import SEGMENT_ENDS  # noqa: E402
from blender_smplify.core.detector import JointDetector  # noqa: E402
from blender_smplify.core.errors import NoPersonFound  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.lifter import default_lifter  # noqa: E402
from blender_smplify.core.world_landmarks import WorldLandmarks  # noqa: E402

KEYS = ("name", "xy", "conf", "world", "visibility", "lifter", "tilt", "glob", "at_points",
        "at_mid", "crop")  # fmt: skip


class FeatureTap:
    """Keeps the feature outputs of every BlazePose pass of ``detector``, by its crop."""

    def __init__(self, detector: JointDetector):
        self.by_crop: dict[int, tuple] = {}
        session, self.last = detector.blazepose.session, None
        names = [o.name for o in session.get_outputs()]
        run_session, run_pass = session.run, detector.blazepose.run

        def tapped_session(outputs, feed):
            got = run_session(outputs, feed)
            self.last = dict(zip(names, got))
            return got

        def tapped_pass(image, crop, flip=False):
            result = run_pass(image, crop, flip)
            self.by_crop[id(result.crop)] = (result.crop, self.last)
            return result

        session.run = tapped_session
        detector.blazepose.run = tapped_pass

    def features(self, crop) -> dict:
        return self.by_crop[id(crop)][1]


def sample_spatial(spatial: np.ndarray, crop, xy: np.ndarray) -> np.ndarray:
    """(N, 48) the spatial features (48, 64, 64) at image points xy (N, 2), bilinear, edge
    cells beyond the crop."""
    uv = crop.to_crop(xy)
    cells = uv * (spatial.shape[-1] / crop.size) - 0.5  # cell (i, j) centred on 4j + 2, 4i + 2
    coords = np.stack([cells[:, 1], cells[:, 0]])
    return np.stack(
        [ndimage.map_coordinates(c, coords, order=1, mode="nearest") for c in spatial], axis=1
    )


def photo_row(detector, tap, lifter, png: Path) -> dict | None:
    info = json.loads(png.with_suffix(".json").read_text())
    tap.by_crop.clear()
    try:
        det = detector.detect(load_image(png))
    except NoPersonFound:
        return None
    out = tap.features(det.crop)
    w, h = info["image_size"]
    principal = np.array([w / 2, h / 2])
    xy, conf = np.asarray(det.keypoints.xy, float), np.asarray(det.keypoints.confidence, float)
    world = WorldLandmarks.from_detection(det)
    spatial = out["features_spatial"][0]
    mid = (xy[SEGMENT_ENDS[:, 0]] + xy[SEGMENT_ENDS[:, 1]]) / 2
    depth, length = dm.segment_depths(np.asarray(info["joints_camera"]))
    lifted = lifter.lift(np.nan_to_num(xy), np.clip(conf, 0, 1), info["focal_px"], principal)
    c = det.crop
    return {
        "name": png.stem, "xy": xy, "conf": conf,
        "world": world.in_camera(info["focal_px"], principal), "visibility": world.visibility,
        "lifter": lifted.segment_away_probability, "tilt": depth / length,
        "glob": out["features_global"][0].ravel(),
        "at_points": sample_spatial(spatial, c, np.nan_to_num(xy)).astype(np.float16),
        "at_mid": sample_spatial(spatial, c, np.nan_to_num(mid)).astype(np.float16),
        "crop": np.array([*c.centre, c.side, c.rotation, float(c.mirrored)]),
    }  # fmt: skip


def save(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: np.array([r[k] for r in rows]) for k in KEYS})
    tmp.replace(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--half", choices=("tuning", "report"), default=None)
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)
    rows = []
    if args.out.exists():
        old = np.load(args.out)
        rows = [{k: old[k][i] for k in KEYS} for i in range(len(old["name"]))]
    done = {str(r["name"]) for r in rows}
    pngs = [q for q in sorted(args.photos.glob("*.png")) if q.with_suffix(".json").exists()]
    if args.half:
        pngs = [
            q for q in pngs if (int(q.stem.rsplit("_", 1)[1]) % 2 == 0) == (args.half == "tuning")
        ]
    todo = [q for q in pngs if q.stem not in done][: args.limit]
    detector = JointDetector(model_path=args.model)
    tap, lifter = FeatureTap(detector), default_lifter()
    start, new = time.perf_counter(), 0
    for png in todo:
        row = photo_row(detector, tap, lifter, png)
        if row is None:
            continue
        rows.append(row)
        new += 1
        if new % 50 == 0:
            save(args.out, rows)
            print(f"{new} new photos, {time.perf_counter() - start:.0f} s", flush=True)
    save(args.out, rows)
    print(f"{new} new photos ({len(rows)} in all) in {time.perf_counter() - start:.0f} s "
          f"-> {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
