"""PCK@0.2 of the joint detector on the LSP development photos, per half, and its time per image.

    python benchmarks/detector_lsp.py [--data ../shared/data/lsp_dev] [--threads 2]
        [--half tune|validate|both] [--turn 0|90|180|270] [--cut-past PX] [--limit N]
        [--save FILE.npz] [--model BLAZEPOSE.onnx] [--set SETTING=VALUE ...]
        [detector options: --passes 2 --flip --limb-flip --no-movenet --refine ...]

Defaults are JointDetector's defaults.

The 300 photos are split once, by image id: the **tuning half** is im1001–im1150 (the first
150 ids in sorted order), the **validation half** im1151–im1300. Settings are chosen on the
tuning half only; the validation half is the figure that counts.

A joint counts as correct when it lies within 0.2 × torso size of the ground truth, torso size
being the distance from the right shoulder to the left hip (LSP's convention). Scored: the 12
limb joints (ankles, knees, hips, wrists, elbows, shoulders; left/right are the person's own).
``--turn`` turns every photo (and its ground truth) by that many degrees counter-clockwise;
``--cut-past PX`` cuts every photo at the bottom so that its lowest joint lies PX pixels below
the frame (joints outside the frame are not scored; misses count all their joints wrong).

Time: wall-clock and CPU time (all threads of this process) of ``JointDetector.detect`` per
image (decoded image in, keypoints out, all passes), after one warm-up image; median and 90th
percentile over the photos that needed no retry (``Detection.retried`` false: no search, no
turned or rotated second opinion), and the number of retries. The CPU time is much less
disturbed by other processes on a loaded machine than the wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blender_smplify.core.detector import B, DetectorSettings, JointDetector  # noqa: E402
from blender_smplify.core.errors import NoPersonFound  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402

LSP_TO_BLAZEPOSE = {  # LSP joint index -> BlazePose landmark name
    0: "right_ankle",
    1: "right_knee",
    2: "right_hip",
    3: "left_hip",
    4: "left_knee",
    5: "left_ankle",
    6: "right_wrist",
    7: "right_elbow",
    8: "right_shoulder",
    9: "left_shoulder",
    10: "left_elbow",
    11: "left_wrist",
}
RIGHT_SHOULDER, LEFT_HIP = 8, 3
LIMB_INDEX = np.array([B[LSP_TO_BLAZEPOSE[j]] for j in range(12)])
TUNE_LAST_ID = 1150
"""Image ids up to this one form the tuning half, the rest the validation half."""


def default_data() -> Path:
    env = os.environ.get("LSP_DEV")
    return Path(env) if env else REPO.parent / "shared/data/lsp_dev"


def settings_from(pairs: list[str], settings: DetectorSettings | None = None) -> DetectorSettings:
    """``settings`` (default: the shipped ones) with NAME=VALUE pairs (``--set``); a bool
    field reads 1 / true / yes as true, anything else as false."""
    settings = DetectorSettings() if settings is None else settings
    for pair in pairs:
        name, value = pair.split("=", 1)
        kind = type(getattr(settings, name))
        parsed = value.strip().lower() in ("1", "true", "yes") if kind is bool else kind(value)
        settings = replace(settings, **{name: parsed})
    return settings


def image_id(name: str) -> int:
    """1001 for "im1001.jpg"."""
    return int(Path(str(name)).stem[2:])


def halves(names: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the tuning and validation halves over ``names``."""
    ids = np.array([image_id(n) for n in names])
    return {"tune": ids <= TUNE_LAST_ID, "validate": ids > TUNE_LAST_ID}


def turn(image: np.ndarray, joints: np.ndarray, degrees: int) -> tuple[np.ndarray, np.ndarray]:
    """Turn an image and its (N, 2) pixel joints counter-clockwise by a multiple of 90°."""
    k = (degrees // 90) % 4
    for _ in range(k):
        w = image.shape[1]
        image = np.rot90(image, 1)  # (x, y) -> (y, w - x)
        joints = np.stack([joints[:, 1], w - joints[:, 0]], axis=1)
    return np.ascontiguousarray(image), joints


def cut_bottom(image: np.ndarray, joints: np.ndarray, past: float) -> np.ndarray:
    """The image cut at the bottom so that the lowest of its (14, 2) ground-truth joints (an
    ankle for a person standing) lies ``past`` pixels below the frame; padded first by
    repeating the last row when the photo ends above that line."""
    bottom = int(round(joints[:, 1].max() - past))
    if bottom > image.shape[0]:
        pad = np.repeat(image[-1:], bottom - image.shape[0], axis=0)
        image = np.concatenate([image, pad])
    return np.ascontiguousarray(image[: max(bottom, 1)])


def evaluate(
    detector: JointDetector,
    data: Path,
    names: np.ndarray,
    joints: np.ndarray,
    degrees: int = 0,
    cut_past: float | None = None,
) -> dict[str, np.ndarray]:
    """Run the detector on the given LSP photos.

    ``cut_past``: cut each photo so that its lowest joint lies this many pixels below the frame
    (``cut_bottom``); ground-truth joints outside the frame are then not scored.

    Returns
    -------
    dict of per-image arrays: "correct" (N, 12) bool per LSP limb joint, "scored" (N, 12) bool
    (joints in the frame), "xy" (N, 12, 2) detected limb joints (NaN when missed),
    "confidence" (N, 12), "wall" and "cpu" (N,) seconds per detect call, "retried" (N,) bool,
    "missed" (N,) bool.
    """
    keys = ("correct", "scored", "xy", "confidence", "wall", "cpu", "retried", "missed")
    rows = {k: [] for k in keys}
    detector.detect(load_image(data / "images" / str(names[0])))  # warm-up
    for name, truth in zip(names, joints):
        image = load_image(data / "images" / str(name))
        if cut_past is not None:
            image = cut_bottom(image, truth, cut_past)
        rows["scored"].append(truth[:12, 1] <= image.shape[0])
        image, truth = turn(image, truth, degrees)
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            det = detector.detect(image)
        except NoPersonFound:
            det = None
        rows["wall"].append(time.perf_counter() - start)
        rows["cpu"].append(time.process_time() - start_cpu)
        rows["missed"].append(det is None)
        rows["retried"].append(bool(getattr(det, "retried", False)))
        xy = np.full((12, 2), np.nan) if det is None else det.keypoints.xy[LIMB_INDEX]
        conf = np.zeros(12) if det is None else det.keypoints.confidence[LIMB_INDEX]
        torso = np.linalg.norm(truth[RIGHT_SHOULDER] - truth[LEFT_HIP])
        err = np.linalg.norm(xy - truth[:12], axis=1)
        rows["correct"].append(np.nan_to_num(err, nan=np.inf) <= 0.2 * torso)
        rows["xy"].append(xy)
        rows["confidence"].append(conf)
    return {k: np.array(v) for k, v in rows.items()}


def report(label: str, res: dict[str, np.ndarray]) -> None:
    """Print PCK per joint and overall, misses and times of one set of photos."""
    correct = np.where(res["scored"], res["correct"], np.nan)
    plain = ~res["retried"] & ~res["missed"]
    ms = {k: 1000 * res[k][plain] for k in ("wall", "cpu")}
    print(
        f"{label}: {len(correct)} photos, PCK@0.2 on the 12 limb joints {np.nanmean(correct):.3f}"
    )
    print(
        "  per joint: "
        + ", ".join(f"{LSP_TO_BLAZEPOSE[j]} {np.nanmean(correct[:, j]):.3f}" for j in range(12))
    )
    print(
        f"  misses {int(res['missed'].sum())}, retried {int(res['retried'].sum())}; time per "
        f"photo without retry ({int(plain.sum())}): wall median {np.median(ms['wall']):.1f} ms "
        f"p90 {np.percentile(ms['wall'], 90):.1f} ms, CPU median {np.median(ms['cpu']):.1f} ms "
        f"p90 {np.percentile(ms['cpu'], 90):.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--half", choices=("tune", "validate", "both"), default="both")
    parser.add_argument("--turn", type=int, default=0, choices=(0, 90, 180, 270))
    parser.add_argument(
        "--cut-past", type=float, default=None, help="cut the lowest joint this far off the frame"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N photos of each half")
    parser.add_argument("--save", type=Path, default=None, help="per-image results (.npz)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a DetectorSettings field (repeatable), e.g. --set second_opinion_limb=0.6",
    )
    parser.add_argument("--model", type=Path, default=None, help="BlazePose ONNX file")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--crop-scale", type=float, default=1.25)
    parser.add_argument("--limb-crop-scale", type=float, default=1.0)
    parser.add_argument("--repass-ratio", type=float, default=None, help="inf: always 2 passes")
    parser.add_argument("--flip", action="store_true", help="flip-average BlazePose's last pass")
    parser.add_argument("--limb-flip", action="store_true", help="flip-average MoveNet")
    parser.add_argument("--no-movenet", action="store_true")
    parser.add_argument("--refine", action="store_true", help="heatmap refinement of BlazePose")
    args = parser.parse_args(argv)
    if not (args.data / "joints.npz").exists():
        print(f"LSP data not found at {args.data} (set --data or LSP_DEV)", file=sys.stderr)
        return 2
    settings = settings_from(args.set)
    detector = JointDetector(
        args.model,
        threads=args.threads,
        passes=args.passes,
        flip=args.flip,
        limb_flip=args.limb_flip,
        crop_scale=args.crop_scale,
        refine=args.refine,
        limb_crop_scale=args.limb_crop_scale,
        repass_ratio=args.repass_ratio,
        limb_model_path="" if args.no_movenet else None,
        settings=settings,
    )
    gt = np.load(args.data / "joints.npz")
    names, joints = gt["image"], gt["joints"]
    parts = halves(names)
    chosen = ("tune", "validate") if args.half == "both" else (args.half,)
    print(
        f"{detector.model_path.name}, LSP dev, turned by {args.turn}°, lowest joint "
        f"{args.cut_past} px off the frame: "
        f"passes={args.passes} flip={args.flip} "
        f"limb_flip={args.limb_flip} movenet={not args.no_movenet} crop_scale={args.crop_scale} "
        f"limb_crop_scale={args.limb_crop_scale} refine={args.refine} "
        f"repass_ratio={args.repass_ratio} threads={args.threads} settings={args.set}; load "
        f"average "
        f"{os.getloadavg()[0]:.2f}"
    )
    saved = {}
    for half in chosen:
        idx = np.flatnonzero(parts[half])[: args.limit]
        res = evaluate(detector, args.data, names[idx], joints[idx], args.turn, args.cut_past)
        report(f"{half} half", res)
        saved.update({f"{half}/{k}": v for k, v in res.items()})
        saved[f"{half}/image"] = names[idx]
    if args.save:
        np.savez_compressed(args.save, **saved)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
