"""Build-time tool: the depth-sign network's training crops from rendered photos with 3D truth.

For each photo (``NAME.png`` with ``NAME.json`` holding ``joints_camera``, the 24 SMPL joints
in the camera frame, as ``benchmarks/rendered_3d.py`` writes them) and its detector keypoints
(an npz with ``name``, ``detector_xy`` (N, 33, 2), ``detector_conf`` (N, 33), as
``benchmarks/studies/lifter_confidence.py detect`` caches them), the 8 limb segments' crops
exactly as ``core/depth_sign.segment_crops`` cuts them at run time from the detector's
keypoints, once as detected and ``--jitter`` more times with each keypoint moved by
N(0, (σ × body scale)²), and each segment's label: its true depth change per length along the
ray to its midpoint (``benchmarks/depth_metrics.segment_depths``; positive: the child end is
the farther). Segments whose truth lies within ``--min-tilt`` of the image plane are left out.

    .venv/bin/python tools/depth_sign_data.py --photos DIR --keypoints KP.npz --world BP.npz
        --out crops.npz
        [--half tuning] [--jitter 2] [--truth] [--limit N]

Runs in the project's own environment (numpy, Pillow); ``tools/train_depth_sign.py`` trains on
the file in the torch environment. The output holds crops as uint8 (N, 8, 64, 64) (RGB, marks
and context RGB, × 255), scalars (N, 8) (``core/depth_sign.py``: the geometry's and the other
sources', the lifter's sign head and BlazePose's world landmarks (``--world``, as
``depth_world_cache.py`` writes them)), tilt (N,), segment (N,), photo names and index (N,),
version (N,: 0 as detected, then the jittered copies, then ``--truth``'s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402

from blender_smplify.core.depth_sign import body_scale, evidence, segment_crops  # noqa: E402

RGB = [0, 1, 2, 5, 6, 7]
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.keypoints import Keypoints2D  # noqa: E402
from blender_smplify.core.lifter import default_lifter  # noqa: E402


def photo_rows(png: Path, xy, conf, world, jitter: int, sigma: float, rng, truth=None):
    """The crops of one photo's segments (as detected, then ``jitter`` jittered copies, then
    from the exact keypoints ``truth`` = (xy, conf) if given), their scalars with the other
    sources' (the lifter's sign head on the detected keypoints, BlazePose's ``world`` =
    (points (33, 3) camera frame, visibility (33,))) and their labels; None where the detector
    found no one."""
    if not np.isfinite(xy).any() or conf.max() <= 0 or not np.isfinite(world[0]).all():
        return None
    info = json.loads(png.with_suffix(".json").read_text())
    w, h = info["image_size"]
    lifted = default_lifter().lift(np.nan_to_num(xy), np.clip(conf, 0, 1), info["focal_px"],
                                   np.array([w / 2, h / 2]))  # fmt: skip
    others = evidence(lifted.segment_away_probability, *world)
    depth, length = dm.segment_depths(np.asarray(info["joints_camera"]))
    tilt = depth / length
    image = load_image(png)
    xy = np.nan_to_num(xy)
    scale = body_scale(xy, conf >= 0.1)
    out = []
    for version in range(1 + jitter):
        moved = xy if version == 0 else xy + rng.normal(0.0, sigma * scale, xy.shape)
        crops, scalars, ok = segment_crops(image, Keypoints2D("blazepose33", moved, conf))
        out.append((crops, np.concatenate([scalars, others], 1), ok, version))
    if truth is not None:
        crops, scalars, ok = segment_crops(image, Keypoints2D("blazepose33", *truth))
        out.append((crops, np.concatenate([scalars, others], 1), ok, 1 + jitter))
    return tilt, out


def build(args) -> int:
    kp = np.load(args.keypoints)
    bp = np.load(args.world)
    assert (bp["name"] == kp["name"]).all(), "keypoints and world landmarks rows differ"
    names = [str(n) for n in kp["name"]]
    if args.half:
        names = [
            n for n in names if (int(n.rsplit("_", 1)[1]) % 2 == 0) == (args.half == "tuning")
        ]
    names = names[: args.limit] if args.limit else names
    index = {str(n): k for k, n in enumerate(kp["name"])}
    rng = np.random.default_rng(args.seed)
    cols = {k: [] for k in ("crops", "scalars", "tilt", "segment", "photo", "version")}
    start, used = time.perf_counter(), []
    for name in names:
        png = args.photos / f"{name}.png"
        if not png.exists() or not png.with_suffix(".json").exists():
            continue
        k = index[name]
        truth = (np.nan_to_num(kp["truth_xy"][k]), kp["truth_conf"][k]) if args.truth else None
        world = (bp["points"][k], bp["visibility"][k])
        got = photo_rows(png, kp["detector_xy"][k], kp["detector_conf"][k], world, args.jitter,
                         args.sigma, rng, truth)  # fmt: skip
        if got is None:
            continue
        tilt, versions = got
        keep = np.abs(tilt) >= args.min_tilt
        for crops, scalars, ok, version in versions:
            rows = np.flatnonzero(keep & ok)
            cols["crops"].append(to_uint8(crops[rows]))
            cols["scalars"].append(scalars[rows])
            cols["tilt"].append(tilt[rows].astype(np.float32))
            cols["segment"].append(rows.astype(np.int8))
            cols["photo"].append(np.full(len(rows), len(used), dtype=np.int32))
            cols["version"].append(np.full(len(rows), version, dtype=np.int8))
        used.append(name)
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    np.savez(args.out, names=np.array(used), **arrays)
    print(f"{len(used)} photos, {len(arrays['tilt'])} crops "
          f"({(np.abs(arrays['tilt']) > 0.3).mean():.0%} clear) in "
          f"{time.perf_counter() - start:.0f} s -> {args.out}")  # fmt: skip
    return 0


def to_uint8(crops: np.ndarray) -> np.ndarray:
    """(N, 8, S, S) float crops (RGB in [−½, ½], marks in [0, 1], RGB) as uint8."""
    out = crops.copy()
    out[:, RGB] += 0.5
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=Path, required=True)
    p.add_argument("--keypoints", type=Path, required=True)
    p.add_argument(
        "--world",
        type=Path,
        required=True,
        help="bp_world.npz: BlazePose's world landmarks (camera frame), same rows",
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--half",
        choices=("tuning", "report"),
        default=None,
        help="only that half's names (the benchmark's renders: evaluation only)",
    )
    p.add_argument("--jitter", type=int, default=2)
    p.add_argument("--sigma", type=float, default=0.03, help="jitter per body scale")
    p.add_argument(
        "--truth",
        action="store_true",
        help="also crops from the exact keypoints (the npz's truth_xy, truth_conf)",
    )
    p.add_argument("--min-tilt", type=float, default=0.15)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    return build(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
