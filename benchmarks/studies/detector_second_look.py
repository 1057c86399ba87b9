"""MoveNet's second look (``core/second_look.py``): which extra view, which agreement radius.

    python benchmarks/studies/detector_second_look.py collect OUT.npz [--data DIR] [--limit N]
    python benchmarks/studies/detector_second_look.py score OUT.npz

``collect`` runs the default detector's passes (``JointDetector.results`` with the second look
switched off) on every LSP development photo and, on the final MoveNet crop, MoveNet again on
the mirrored crop and on crops 1.15, 1.3 and 1.45 times as large (the last mirrored too), and
saves their 12 limb joints in LSP order with the ground truth.

``score`` prints PCK@0.2 on the 12 limb joints, tuning half / validation half, of the first
pass and of each view averaged in where it agrees with the first pass within r × torso
(``second_look.agreeing_mean``), for r in 0.1 ... 0.5, on every photo or only on photos whose
limb score is below a threshold. Choose on the tuning half; the validation half checks it.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from detector_lsp import default_data, halves  # noqa: E402

from blender_smplify.core.detector import JointDetector  # noqa: E402
from blender_smplify.core.detector_settings import DetectorSettings  # noqa: E402
from blender_smplify.core.image_io import load_image  # noqa: E402
from blender_smplify.core.movenet import COCO17_NAMES, LimbPass  # noqa: E402
from blender_smplify.core.second_look import agreeing_mean, larger_crop  # noqa: E402

# fmt: off
LSP_COCO = np.array([COCO17_NAMES.index(n) for n in (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
)])
# fmt: on
"""(12,) COCO indices of LSP's 12 limb joints, in LSP order."""
VIEWS = {  # name -> (crop scale, mirrored)
    "mirrored": (1.0, True),
    "s1.15": (1.15, False),
    "s1.3": (1.3, False),
    "s1.45": (1.45, False),
    "s1.15_mirrored": (1.15, True),
}


def collect_views(args: argparse.Namespace, det: JointDetector, views_of) -> int:
    """For every LSP photo (``args.data``, the first ``args.limit``), ``views_of(image,
    det.results(image))``: {name: a MoveNet ``LimbPass`` (saved as NAME/xy and NAME/score), or
    a number}; saved to ``args.out`` with the photos' names and truth joints."""
    gt = np.load(args.data / "joints.npz")
    names, truth = gt["image"][: args.limit], gt["joints"][: args.limit]
    rows: dict[str, list] = {}
    start = time.time()
    for name in names:
        image = load_image(args.data / "images" / str(name))
        for key, view in views_of(image, det.results(image)).items():
            if isinstance(view, LimbPass):
                rows.setdefault(f"{key}/xy", []).append(view.xy)
                rows.setdefault(f"{key}/score", []).append(view.score)
            else:
                rows.setdefault(key, []).append(view)
    print(f"{len(names)} photos in {time.time() - start:.0f} s")
    saved = {k: np.array(v) for k, v in rows.items()}
    np.savez_compressed(args.out, image=names, truth=truth, **saved)
    return 0


def collect(args: argparse.Namespace) -> int:
    """Run the passes and the extra views on every photo; save them."""
    det = JointDetector(threads=2, settings=replace(DetectorSettings(), second_look_scale=0.0))

    def views_of(image, result) -> dict:
        first = result.limbs
        views = {"first": first}
        for key, (scale, mirrored) in VIEWS.items():
            crop = larger_crop(first.crop, scale)
            views[key] = det.movenet.run(image, crop.mirror() if mirrored else crop)
        return views

    return collect_views(args, det, views_of)


def score(args: argparse.Namespace) -> int:
    """Print PCK of the first pass and of every view averaged in where it agrees."""
    d = np.load(args.out, allow_pickle=True)
    truth, parts = d["truth"], halves(d["image"])
    torso = np.linalg.norm(truth[:, 8] - truth[:, 3], axis=1)

    def pck(xy17: np.ndarray) -> tuple[float, float]:
        ok = np.linalg.norm(xy17[:, LSP_COCO] - truth[:, :12], axis=2) <= 0.2 * torso[:, None]
        return ok[parts["tune"]].mean(), ok[parts["validate"]].mean()

    first_xy, first_score = d["first/xy"], d["first/score"]
    limb = first_score[:, LSP_COCO].mean(axis=1)
    print("PCK@0.2, tuning / validation half")
    tune, val = pck(first_xy)
    print(f"  first pass: {tune:.4f} / {val:.4f}")
    rows = []
    for key in VIEWS:
        for agree in (0.1, 0.2, 0.3, 0.4, 0.5):
            mean = np.array(
                [
                    agreeing_mean(_pass(first_xy[i], first_score[i]), _pass(xy, None), agree).xy
                    for i, xy in enumerate(d[f"{key}/xy"])
                ]
            )
            for below in (0.6, 0.7, 0.8, np.inf):
                doubt = limb < below
                share = doubt[parts["tune"]].mean()
                xy = np.where(doubt[:, None, None], mean, first_xy)
                rows.append((*pck(xy), key, agree, below, share))
    rows.sort(key=lambda r: -r[0])
    for tune, val, key, agree, below, share in rows:
        print(
            f"  {key:<15s} r={agree:.1f} limb score < {below} ({share:.0%} of the photos): "
            f"{tune:.4f} / {val:.4f}"
        )
    return 0


def _pass(xy: np.ndarray, score: np.ndarray | None) -> LimbPass:
    """A LimbPass holding saved keypoints (the crop is not needed to average them)."""
    return LimbPass(crop=None, xy=xy, score=np.zeros(17) if score is None else score)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("collect", "score"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    return collect(args) if args.step == "collect" else score(args)


if __name__ == "__main__":
    sys.exit(main())
