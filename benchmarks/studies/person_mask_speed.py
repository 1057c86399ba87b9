"""What the refined person mask (``core/person_mask.py``) adds to a fit's time: the mask's
set-up for the silhouette term (``Silhouette`` and ``SilhouetteTarget``) with the refined mask
against BlazePose's grid as the pipeline hands it over, on the sample photo and a few LSP
photos; CPU time (``time.process_time``), median of ``--repeats`` runs each, the two variants
interleaved so that they share the machine's load.

    .venv/bin/python benchmarks/studies/person_mask_speed.py [--lsp 10] [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def set_up(make, detection) -> float:
    """CPU ms of making the term's target from ``detection`` with ``make``."""
    from blender_smplify.core.silhouette import SilhouetteTarget

    start = time.process_time()
    SilhouetteTarget(make(detection))
    return 1e3 * (time.process_time() - start)


def main(argv: list[str] | None = None) -> int:
    from blender_smplify.core import pipeline
    from blender_smplify.core.image_io import load_image
    from blender_smplify.core.person_mask import LEVEL, UPSAMPLE, refined_silhouette
    from blender_smplify.core.silhouette import Silhouette

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lsp", type=int, default=10, help="LSP development photos")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--upsample", type=int, default=UPSAMPLE)
    ap.add_argument("--level", type=float, default=LEVEL)
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/lsp_dev"))
    args = ap.parse_args(argv)
    photos = sorted((ROOT / "blender_smplify/data/samples").glob("*.jpg"))[:1]
    photos += sorted(Path(args.data, "images").glob("*.jpg"))[: args.lsp]
    print(f"upsample {args.upsample}, level {args.level}; load average {os.getloadavg()[0]:.1f}")
    print("| photo | mask cells, BlazePose → refined | set-up ms, BlazePose | refined | added |")
    print("|---|---|---|---|---|")
    added = []

    def refine(detection):
        return refined_silhouette(detection, args.upsample, args.level)

    for png in photos:
        detection = pipeline.detector().detect(load_image(png))
        plain, fine = [], []
        for _ in range(args.repeats):
            plain.append(set_up(Silhouette.from_detection, detection))
            fine.append(set_up(refine, detection))
        cells = refine(detection).probability.size
        a, b = np.median(plain), np.median(fine)
        added.append(b - a)
        print(
            f"| {png.name} | {detection.crop_mask.size} → {cells} | {a:.1f} | {b:.1f} | "
            f"{b - a:+.1f} |"
        )
    print(
        f"median added {np.median(added):+.1f} ms over {len(photos)} photos; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
