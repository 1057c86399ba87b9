"""PCK@0.2 of the joint detector on the LSP development photos, and its time per image.

    python benchmarks/detector_lsp.py [--data ../shared/data/lsp_dev] [--threads 2]
        [--passes 2] [--flip] [--limb-flip] [--no-movenet] [--refine] [--crop-scale 1.25]
        [--limb-crop-scale 1.0] [--limit N]

Defaults are JointDetector's defaults.

A joint counts as correct when it lies within 0.2 × torso size of the ground truth, torso size
being the distance from the right shoulder to the left hip (LSP's convention). Scored: the 12
limb joints (ankles, knees, hips, wrists, elbows, shoulders; left/right are the person's own).
Time: median wall-clock of ``JointDetector.detect`` per image (decoded image in, keypoints out,
all passes), after one warm-up image; also its CPU time, which other processes on the machine
disturb much less (with --threads 1 it estimates the time on one free core).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blender_smplify.core.detector import B, JointDetector
from blender_smplify.core.errors import NoPersonFound
from blender_smplify.core.image_io import load_image

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


def default_data() -> Path:
    env = os.environ.get("LSP_DEV")
    return Path(env) if env else REPO.parent / "shared/data/lsp_dev"


def evaluate(detector: JointDetector, data: Path, limit: int | None = None):
    """Run the detector on the LSP photos.

    Returns
    -------
    correct : (N, 12) bool, per image and LSP limb joint.
    times : (N,) wall-clock seconds per detect call.
    cpu : (N,) CPU seconds per detect call, all threads of this process together.
    misses : number of images where no person was found (all their joints count as wrong).
    """
    gt = np.load(data / "joints.npz")
    names, joints = gt["image"], gt["joints"]
    if limit:
        names, joints = names[:limit], joints[:limit]
    idx = np.array([B[LSP_TO_BLAZEPOSE[j]] for j in range(12)])
    correct, times, cpu, misses = [], [], [], 0
    detector.detect(load_image(data / "images" / str(names[0])))  # warm-up
    for name, truth in zip(names, joints):
        image = load_image(data / "images" / str(name))
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            det = detector.detect(image)
        except NoPersonFound:
            det = None
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if det is None:
            correct.append(np.zeros(12, bool))
            misses += 1
            continue
        torso = np.linalg.norm(truth[RIGHT_SHOULDER] - truth[LEFT_HIP])
        err = np.linalg.norm(det.keypoints.xy[idx] - truth[:12], axis=1)
        correct.append(err <= 0.2 * torso)
    return np.array(correct), np.array(times), np.array(cpu), misses


def stage_times(data: Path, limit: int | None) -> dict[str, float]:
    """Median CPU milliseconds of each stage of the default set-up, on one thread, in turn.

    With two free cores, the parallel default runs "final BlazePose pass" and "MoveNet" at the
    same time, so its time per image is about: first pass + max(final pass, MoveNet) + rest.
    """
    from blender_smplify.core.detector_crop import letterbox, roi_from_points

    det = JointDetector(threads=1, parallel=False)
    names = np.load(data / "joints.npz")["image"][:limit]
    rows = []
    for name in names:
        image = load_image(data / "images" / str(name))
        t0 = time.process_time()
        out = det._blazepose(image, letterbox(*image.shape[:2]), flip=False)
        t1 = time.process_time()
        crop = roi_from_points(out["xy"][33], out["xy"][34], det.crop_scale)
        det._blazepose(image, crop, flip=False)
        t2 = time.process_time()
        det._movenet(image, det._limb_crop(out), det._limbs)
        t3 = time.process_time()
        try:
            det.detect(image)
        except NoPersonFound:
            pass
        t4 = time.process_time()
        rows.append([t1 - t0, t2 - t1, t3 - t2, (t4 - t3) - (t3 - t0)])
    med = 1000 * np.median(np.array(rows), axis=0)
    keys = ("first pass", "final BlazePose pass", "MoveNet", "rest")
    return dict(zip(keys, med))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--crop-scale", type=float, default=1.25)
    parser.add_argument("--limb-crop-scale", type=float, default=1.0)
    parser.add_argument("--repass-ratio", type=float, default=0.6, help="inf: always 2 passes")
    parser.add_argument("--flip", action="store_true", help="flip-average BlazePose's last pass")
    parser.add_argument("--limb-flip", action="store_true", help="flip-average MoveNet")
    parser.add_argument("--no-movenet", action="store_true")
    parser.add_argument("--refine", action="store_true", help="heatmap refinement of BlazePose")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--stages", action="store_true", help="CPU time of each stage (one thread) instead"
    )
    args = parser.parse_args(argv)
    if not (args.data / "joints.npz").exists():
        print(f"LSP data not found at {args.data} (set --data or LSP_DEV)", file=sys.stderr)
        return 2
    if args.stages:
        st = stage_times(args.data, args.limit)
        for key, ms in st.items():
            print(f"  {key:<22s} {ms:6.1f} ms CPU (median)")
        crit = (
            st["first pass"] + max(st["final BlazePose pass"], st["MoveNet"]) + max(st["rest"], 0)
        )
        print(
            f"estimated time per image on two free cores (parallel default): {crit:.1f} ms; "
            f"on one core: {sum(st.values()):.1f} ms"
        )
        return 0
    detector = JointDetector(
        threads=args.threads,
        passes=args.passes,
        flip=args.flip,
        limb_flip=args.limb_flip,
        crop_scale=args.crop_scale,
        refine=args.refine,
        limb_crop_scale=args.limb_crop_scale,
        repass_ratio=args.repass_ratio,
        limb_model_path="" if args.no_movenet else None,
    )
    load_before = os.getloadavg()[0]
    correct, times, cpu, misses = evaluate(detector, args.data, args.limit)
    print(
        f"LSP dev: {len(correct)} photos, {misses} without a detected person; "
        f"passes={args.passes} flip={args.flip} limb_flip={args.limb_flip} "
        f"movenet={detector._limbs is not None} "
        f"crop_scale={args.crop_scale} limb_crop_scale={args.limb_crop_scale} "
        f"refine={args.refine} repass_ratio={args.repass_ratio} threads={args.threads}"
    )
    print("PCK@0.2 per joint:")
    for j in range(12):
        print(f"  {LSP_TO_BLAZEPOSE[j]:<15s} {correct[:, j].mean():.3f}")
    print(f"PCK@0.2, 12 limb joints: {correct.mean():.3f}")
    print(
        f"time per image: median {1000 * np.median(times):.1f} ms, "
        f"90th percentile {1000 * np.percentile(times, 90):.1f} ms; CPU time (all threads) "
        f"median {1000 * np.median(cpu):.1f} ms; load average before/after "
        f"{load_before:.2f}/{os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
