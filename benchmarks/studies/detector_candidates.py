"""Raw outputs of the detector's models on the LSP photos, for choosing how to combine them.

    python benchmarks/studies/detector_candidates.py OUT.npz [--data DIR] [--limit N]

For every LSP development photo (both halves; ``detector_lsp.halves`` splits them) this runs the
default detector's passes (``JointDetector.results``) and, on top of them, the candidates of
issue 13, each on the same crops, and saves the limb joints of each in LSP order:

- ``blaze``: BlazePose's final pass; ``blaze_flip``: the same crop mirrored, swapped back;
- ``move``: MoveNet on its crop; ``move_flip``: mirrored; ``move_s09``/``move_s11``: on crops
  0.9 / 1.1 times as large; ``move_mask``: on a square around the person mask (> 0.5).

Each entry holds xy (N, 12, 2) and a score (N, 12); ``truth`` the (N, 14, 2) ground truth.
The choices are then made offline on the tuning half (``detector_fusion.py``,
``detector_calibration.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from detector_lsp import LIMB_INDEX, default_data  # noqa: E402

from blender_smplify.core.blazepose import INPUT  # noqa: E402
from blender_smplify.core.detector import JointDetector  # noqa: E402
from blender_smplify.core.detector_crop import Crop  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.movenet import COCO17_NAMES, MoveNet  # noqa: E402

LSP_COCO = np.array(
    [
        COCO17_NAMES.index(n)
        for n in (
            "right_ankle",
            "right_knee",
            "right_hip",
            "left_hip",
            "left_knee",
            "left_ankle",
            "right_wrist",
            "right_elbow",
            "right_shoulder",
            "left_shoulder",
            "left_elbow",
            "left_wrist",
        )
    ]
)


def mask_crop(pass_mask: np.ndarray, crop: Crop, scale: float = 1.1) -> Crop | None:
    """Square crop, turned like ``crop``, around the person mask's pixels > 0.5."""
    rows, cols = np.nonzero(pass_mask > 0.5)
    if rows.size < 20:
        return None
    lo = np.array([cols.min(), rows.min()], float)
    hi = np.array([cols.max() + 1, rows.max() + 1], float)
    centre = crop.to_image((0.5 * (lo + hi))[None])[0]
    side = float(np.max(hi - lo)) * crop.side / INPUT * scale
    return Crop(centre, side, crop.rotation, INPUT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    det = JointDetector(threads=2)
    flipped = MoveNet(det.limb_model_path, 2, flip=True)
    plain = MoveNet(det.limb_model_path, 2)
    gt = np.load(args.data / "joints.npz")
    names, truth = gt["image"][: args.limit], gt["joints"][: args.limit]
    keys = ("blaze", "blaze_flip", "move", "move_flip", "move_s09", "move_s11", "move_mask")
    rows = {k: ([], []) for k in keys}
    start = time.time()
    for name in names:
        image = load_image(args.data / "images" / str(name))
        res = det.results(image)
        pose, limbs = res.pose, res.limbs
        both = det.blazepose.run(image, pose.crop, flip=True)
        xy_f = 2 * both.xy - pose.xy  # the mirrored pass alone (the average is linear)
        conf_f = np.clip(2 * both.confidence - pose.confidence, 0, 1)
        entries = {
            "blaze": (pose.xy[LIMB_INDEX], pose.confidence[LIMB_INDEX]),
            "blaze_flip": (xy_f[LIMB_INDEX], conf_f[LIMB_INDEX]),
            "move": (limbs.xy[LSP_COCO], limbs.score[LSP_COCO]),
        }
        fl = flipped.run(image, limbs.crop)
        entries["move_flip"] = (
            2 * fl.xy[LSP_COCO] - limbs.xy[LSP_COCO],
            2 * fl.score[LSP_COCO] - limbs.score[LSP_COCO],
        )
        c = limbs.crop
        for key, scale in (("move_s09", 0.9), ("move_s11", 1.1)):
            m = plain.run(image, Crop(c.centre, c.side * scale, c.rotation, INPUT))
            entries[key] = (m.xy[LSP_COCO], m.score[LSP_COCO])
        mc = mask_crop(pose.mask, pose.crop)
        m = plain.run(image, mc) if mc is not None else limbs
        entries["move_mask"] = (m.xy[LSP_COCO], m.score[LSP_COCO])
        for key, (xy, score) in entries.items():
            rows[key][0].append(xy)
            rows[key][1].append(score)
    print(f"{len(names)} photos in {time.time() - start:.0f} s")
    saved = {"image": names, "truth": truth}
    for key, (xy, score) in rows.items():
        saved[f"{key}/xy"], saved[f"{key}/score"] = np.array(xy), np.array(score)
    np.savez_compressed(args.out, **saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
