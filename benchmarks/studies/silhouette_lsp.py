"""Study: what the silhouette stage costs on real photos: fit CPU time with and without the
person mask on the first LSP development photos, fitted as the pipeline fits them (default
focal length, the lifter's 3D evidence, the mask refined by ``person_mask``).

Detections with their crop masks are cached in ``benchmarks/out/silhouette_lsp.npz``. Each photo
is fitted without and then with the mask, one after the other, so both see the same machine
load; CPU time (``time.process_time``) as in ``benchmarks/fit_lsp.py``.

    .venv/bin/python benchmarks/studies/silhouette_lsp.py [--limit 60]
        [--data ../shared/data/lsp_dev]
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

from blender_smplify.core.camera import focal_from_fov, principal_point  # noqa: E402
from blender_smplify.core.detector_crop import Crop  # noqa: E402
from blender_smplify.core.errors import NoPersonFound  # noqa: E402
from blender_smplify.core.fit import fit  # noqa: E402
from blender_smplify.core.keypoints import Keypoints2D  # noqa: E402
from blender_smplify.core.lifter import lifted_world  # noqa: E402
from blender_smplify.core.person_mask import LEVEL, UPSAMPLE, refine_grid  # noqa: E402
from blender_smplify.core.pipeline import load_model  # noqa: E402

CACHE = ROOT / "benchmarks" / "out" / "silhouette_lsp.npz"


def detect_all(data: Path, limit: int) -> dict[str, np.ndarray]:
    if CACHE.exists():
        cached = dict(np.load(CACHE))
        if len(cached["names"]) >= limit:
            return {k: v[:limit] for k, v in cached.items()}
    from blender_smplify.core.detector import JointDetector
    from blender_smplify.core.image_io import load_image

    det = JointDetector(threads=2)
    rows = {k: [] for k in ("names", "xy", "confidence", "mask", "crop", "size", "detect_s")}
    for name in sorted(p.name for p in (data / "images").glob("im*.jpg"))[:limit]:
        image = load_image(data / "images" / name)
        t0 = time.perf_counter()
        try:
            d = det.detect(image)
        except NoPersonFound:
            continue
        rows["detect_s"].append(time.perf_counter() - t0)
        rows["names"].append(name)
        rows["xy"].append(d.keypoints.xy), rows["confidence"].append(d.keypoints.confidence)
        rows["mask"].append(d.crop_mask)
        rows["crop"].append([*d.crop.centre, d.crop.side, d.crop.rotation])
        rows["size"].append((image.shape[1], image.shape[0]))
    out = {k: np.array(v) for k, v in rows.items()}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(CACHE, **out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/lsp_dev"))
    args = parser.parse_args(argv)
    dets = detect_all(Path(args.data), args.limit)
    model = load_model("neutral")
    times = {"without": [], "with": []}
    poorly = {"without": 0, "with": 0}
    extra_iterations = []
    load = os.getloadavg()[0]
    for k in range(len(dets["names"])):
        kp = Keypoints2D("blazepose33", dets["xy"][k], dets["confidence"][k])
        size = tuple(int(v) for v in dets["size"][k])
        focal = focal_from_fov(size)
        world = lifted_world(kp, focal, principal_point(size))
        c = dets["crop"][k]
        crop = Crop(c[:2], float(c[2]), float(c[3]), 256)
        its = []
        for key in ("without", "with"):
            t0 = time.process_time()
            sil = None
            if key == "with":  # the mask as the pipeline hands it over, made inside the timing
                sil = refine_grid(dets["mask"][k], crop.crop_to_image(), UPSAMPLE, LEVEL)
            res = fit(model, kp, size, focal, world=world, silhouette=sil)
            times[key].append(time.process_time() - t0)
            poorly[key] += any("explains the keypoints poorly" in w for w in res.warnings)
            its.append(res.iterations)
        extra_iterations.append(its[1] - its[0])
    n = len(dets["names"])
    print(f"{n} LSP photos; load {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    for key, t in times.items():
        t = 1000 * np.array(t)
        print(
            f"fit CPU ms {key} the mask: median {np.median(t):.0f}, p90 "
            f"{np.percentile(t, 90):.0f}, max {t.max():.0f}"
        )
    print(f"extra solver iterations: median {np.median(extra_iterations):.0f}")
    print(f"warned 'explains the keypoints poorly': {poorly}")
    if "detect_s" in dets:
        print(f"detection wall ms median {1000 * np.median(dets['detect_s']):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
