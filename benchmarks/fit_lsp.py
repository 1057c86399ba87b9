"""Fit time and the retry path on real photos: the 300 LSP development photos' detections.

Detections are cached in ``benchmarks/out/lsp_detections.npz`` (``--redetect`` to refresh), so
reruns only fit. Each photo is fitted with the default focal length (``camera.DEFAULT_FOV_DEG``)
from its ``blazepose33`` keypoints, one fit at a time on one thread. Reported separately for the
first 150 photos by id (used to tune) and the other 150 (held out):

- fit time, wall and CPU: median, 90th percentile, max;
- how many fits end in the retry path (joint energy per visible keypoint above
  ``fit.RETRY_JOINT_ENERGY``, "the body explains the keypoints poorly"), and how many still
  carry that warning at the end;
- the distribution of the final joint energy per visible keypoint (normalised px²), and of the
  per-keypoint reprojection error (px) relative to the torso.

``--draw ID ...`` writes, for those photos, the fit over the photo and seen from the side into
``benchmarks/out/fit_lsp/``.

    .venv/bin/python benchmarks/fit_lsp.py [--data ../shared/data/lsp_dev] [--limit N]
        [--redetect] [--world] [--draw im1001 ...] [--set RETRY_POSES=1 ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender_smplify.core.errors import NoPersonFound
from blender_smplify.core.image_io import load_image
from blender_smplify.core.world_landmarks import WorldLandmarks

OUT = ROOT / "benchmarks" / "out"
CACHE = OUT / "lsp_detections.npz"
TUNE = 150  # the first photos by id tune; the rest are held out


def default_data() -> Path:
    env = os.environ.get("LSP_DEV")
    return Path(env) if env else ROOT.parent / "shared/data/lsp_dev"


def detect_all(data: Path, limit: int | None, threads: int = 2) -> dict[str, np.ndarray]:
    """Run the detector on every photo; arrays per photo (found = False: no person)."""
    from blender_smplify.core.detector import JointDetector

    names = sorted(p.name for p in (data / "images").glob("im*.jpg"))[:limit]
    det = JointDetector(threads=threads)
    det.detect(load_image(data / "images" / names[0]))  # warm-up
    rows = {
        k: []
        for k in (
            "xy",
            "confidence",
            "world",
            "visibility",
            "crop_centre",
            "crop_side",
            "crop_rotation",
            "size",
            "seconds",
            "found",
        )
    }
    for name in names:
        image = load_image(data / "images" / name)
        t0 = time.perf_counter()
        try:
            d = det.detect(image)
        except NoPersonFound:
            d = None
        rows["seconds"].append(time.perf_counter() - t0)
        rows["size"].append((image.shape[1], image.shape[0]))
        rows["found"].append(d is not None)
        if d is None:
            for k, shape in (
                ("xy", (33, 2)),
                ("confidence", (33,)),
                ("world", (33, 3)),
                ("visibility", (33,)),
                ("crop_centre", (2,)),
            ):
                rows[k].append(np.zeros(shape))
            rows["crop_side"].append(0.0), rows["crop_rotation"].append(0.0)
            continue
        rows["xy"].append(d.keypoints.xy), rows["confidence"].append(d.keypoints.confidence)
        rows["world"].append(d.world), rows["visibility"].append(d.world_visibility)
        rows["crop_centre"].append(d.crop.centre), rows["crop_side"].append(d.crop.side)
        rows["crop_rotation"].append(d.crop.rotation)
    out = {k: np.array(v) for k, v in rows.items()}
    out["names"] = np.array(names)
    return out


def load_detections(data: Path, limit: int | None, redetect: bool) -> dict[str, np.ndarray]:
    if CACHE.exists() and not redetect:
        cached = dict(np.load(CACHE))
        if limit is None or len(cached["names"]) >= limit:
            return {k: v[:limit] for k, v in cached.items()}
    dets = detect_all(data, limit)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, **dets)
    return dets


def cached_world(dets, k: int) -> WorldLandmarks:
    """BlazePose's world landmarks of cached detection ``k``."""
    return WorldLandmarks(
        dets["world"][k],
        dets["visibility"][k],
        float(dets["crop_rotation"][k]),
        dets["crop_centre"][k],
    )


def fitted_keypoints(model, res, layout: str) -> np.ndarray:
    """(K, 2) pixels: where the fitted body ``res`` puts the keypoints of ``layout``."""
    from blender_smplify.core.fit_setup import get_setup

    setup = get_setup(model, layout, len(res.betas), True)
    pts, _ = setup.kin.evaluate(res.pose, res.betas, res.transl, jacobian=False)
    kpts = pts[setup.point_index]
    return res.focal_length * kpts[:, :2] / kpts[:, 2:] + res.principal_point


def keypoint_errors(model, res, kp) -> np.ndarray:
    """(K,) pixel distance of each fitted keypoint from the detected one (NaN: not used)."""
    from blender_smplify.core.keypoints import get_layout

    err = np.linalg.norm(fitted_keypoints(model, res, kp.layout) - kp.xy, axis=1)
    return np.where(kp.confidence * get_layout(kp.layout).weights > 0, err, np.nan)


def fit_all(model, dets, world: bool, retry: bool = True) -> list[dict]:
    """Fit every detection with the default focal; one row of figures per photo."""
    from blender_smplify.core import fit as fit_module
    from blender_smplify.core.fit import fit
    from blender_smplify.core.keypoints import Keypoints2D, get_layout

    layout = get_layout("blazepose33")
    threshold = fit_module.RETRY_JOINT_ENERGY
    rows = []
    try:
        if not retry:
            fit_module.RETRY_JOINT_ENERGY = np.inf
        for k, name in enumerate(dets["names"]):
            if not dets["found"][k]:
                continue
            kp = Keypoints2D("blazepose33", dets["xy"][k], dets["confidence"][k])
            size = tuple(int(v) for v in dets["size"][k])
            wl = cached_world(dets, k) if world else None
            t0, c0 = time.perf_counter(), time.process_time()
            res = fit(model, kp, size, world=wl)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            visible = max(int(((kp.confidence * layout.weights) > 0).sum()), 1)
            err = keypoint_errors(model, res, kp)
            rows.append(
                {
                    "name": str(name),
                    "index": k,
                    "ms": 1e3 * wall,
                    "cpu": 1e3 * cpu,
                    "energy": res.energy.get("joints", 0.0) / visible,
                    "poor": any("poorly" in w for w in res.warnings),
                    "err_px": float(np.nanmedian(err)),
                    "res": res,
                    "kp": kp,
                    "height_px": _height_px(kp),
                }
            )
    finally:
        fit_module.RETRY_JOINT_ENERGY = threshold
    return rows


def _height_px(kp) -> float:
    """Rough person size in pixels: the extent of the confident keypoints."""
    xy = kp.xy[kp.confidence > 0]
    return float(np.ptp(xy, axis=0).max()) if len(xy) > 1 else float("nan")


def report(rows: list[dict], label: str, threshold: float) -> None:
    if not rows:
        return
    ms, cpu = np.array([r["ms"] for r in rows]), np.array([r["cpu"] for r in rows])
    energy = np.array([r["energy"] for r in rows])
    q = np.percentile(energy, [10, 25, 50, 75, 90])
    print(
        f"{label} (n={len(rows)}): wall ms median {np.median(ms):.0f} / p90 "
        f"{np.percentile(ms, 90):.0f} / max {ms.max():.0f}; CPU ms median {np.median(cpu):.0f}"
        f" / p90 {np.percentile(cpu, 90):.0f} / max {cpu.max():.0f}"
    )
    print(
        f"  joint energy per visible keypoint: p10 {q[0]:.0f}, p25 {q[1]:.0f}, median "
        f"{q[2]:.0f}, p75 {q[3]:.0f}, p90 {q[4]:.0f}; above {threshold:g}: "
        f"{int((energy > threshold).sum())}; ending 'explains poorly': "
        f"{sum(r['poor'] for r in rows)}"
    )


def draw(model, row, data: Path, out_dir: Path, scale: int = 4) -> Path:
    """The fit over the photo (upscaled) and from the side, via benchmarks/render_fit.py."""
    import json

    from PIL import Image

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from render_fit import render

    out_dir.mkdir(parents=True, exist_ok=True)
    img = Image.open(data / "images" / row["name"])
    big = out_dir / f"{Path(row['name']).stem}_x{scale}.png"
    img.resize((img.width * scale, img.height * scale), Image.LANCZOS).save(big)
    d = row["res"].to_dict()
    d["camera"]["focal_length"] *= scale
    d["camera"]["principal_point"] = [scale * v for v in d["camera"]["principal_point"]]
    d["keypoints"] = row["kp"].to_dict()
    d["keypoints"]["xy"] = (scale * row["kp"].xy).tolist()
    path = out_dir / f"{Path(row['name']).stem}.json"
    path.write_text(json.dumps(d))
    png = out_dir / f"{Path(row['name']).stem}_fit.png"
    render(str(big), str(path), str(png))
    return png


def main(argv: list[str] | None = None) -> int:
    from blender_smplify.core import fit as fit_module
    from blender_smplify.core.body_model import BodyModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--redetect", action="store_true")
    ap.add_argument("--detect-only", action="store_true")
    ap.add_argument("--world", action="store_true", help="give the fit the world landmarks")
    ap.add_argument(
        "--no-retry-pass",
        action="store_true",
        help="skip the second pass without retries (energy before any retry)",
    )
    ap.add_argument("--draw", nargs="*", default=[], help="photo ids to draw, e.g. im1001")
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override constants of core/fit.py for a study, e.g. RETRY_POSES=1",
    )
    args = ap.parse_args(argv)
    for item in args.set:
        name, _, value = item.partition("=")
        setattr(
            fit_module,
            name,
            None
            if value == "None"
            else type(getattr(fit_module, name) if getattr(fit_module, name) is not None else int)(
                value
            ),
        )
        print(f"fit.{name} = {getattr(fit_module, name)!r}")
    dets = load_detections(args.data, args.limit, args.redetect)
    print(
        f"{len(dets['names'])} photos, {int((~dets['found']).sum())} without a person; "
        f"detect median {1e3 * np.median(dets['seconds']):.0f} ms"
    )
    if args.detect_only:
        return 0
    model = BodyModel.load()
    rows = fit_all(model, {k: v[:2] for k, v in dets.items()}, args.world)  # warm-up
    load = os.getloadavg()[0]
    rows = fit_all(model, dets, args.world)
    threshold = fit_module.RETRY_JOINT_ENERGY
    print(
        f"world landmarks: {args.world}; RETRY_JOINT_ENERGY {threshold:g}; load average "
        f"{load:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)"
    )
    tune = [r for r in rows if r["index"] < TUNE]
    held = [r for r in rows if r["index"] >= TUNE]
    report(tune, f"first {TUNE} (tune)", threshold)
    report(held, "other 150 (held out)", threshold)
    extra = {}
    if not args.no_retry_pass:
        before = fit_all(model, dets, args.world, retry=False)
        for label, part in (
            ("tune", [r for r in before if r["index"] < TUNE]),
            ("held out", [r for r in before if r["index"] >= TUNE]),
        ):
            e = np.array([r["energy"] for r in part])
            print(
                f"  before any retry, {label}: {int((e > threshold).sum())} of {len(e)} above "
                f"{threshold:g} (they take the retry path); median {np.median(e):.0f}, p90 "
                f"{np.percentile(e, 90):.0f}"
            )
        extra["energy_before"] = [r["energy"] for r in before]
    np.savez(
        OUT / f"fit_lsp_rows{'_world' if args.world else ''}.npz",
        names=[r["name"] for r in rows],
        ms=[r["ms"] for r in rows],
        cpu=[r["cpu"] for r in rows],
        energy=[r["energy"] for r in rows],
        err_px=[r["err_px"] for r in rows],
        height_px=[r["height_px"] for r in rows],
        **extra,
    )
    for name in args.draw:
        for r in rows:
            if Path(r["name"]).stem == name:
                print("drew", draw(model, r, args.data, OUT / "fit_lsp"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
