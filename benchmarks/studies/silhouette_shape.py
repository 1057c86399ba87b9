"""Study: does the person mask's silhouette term (``core/silhouette.py``) make the fitted shape
right? Girth errors on renders with exact β (``silhouette_render.py``), with and without the
term, with and without the true stature (``fit(..., height=)``).

Each photo is detected once (cached with its crop mask in ``detections.npz`` beside the
renders), then fitted with the true gender's model and the true focal length in four variants:
joints only, + silhouette, + true height, + true height and silhouette. Reported: median and
90th percentile of |error| in mm of stature and the chest, waist and hip girths
(``BodyMeasurer`` on the fitted vs the true β), fit CPU time, and how often the term made each
girth better.

    .venv/bin/python benchmarks/studies/silhouette_shape.py [--renders DIR] [--limit N]
        [--weight 0.5] [--inside 0.25] [--draw front_000 ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from blender_smplify.core.body_model import BodyModel  # noqa: E402
from blender_smplify.core.detector_crop import Crop  # noqa: E402
from blender_smplify.core.fit import FitOptions, fit  # noqa: E402
from blender_smplify.core.keypoints import Keypoints2D  # noqa: E402
from blender_smplify.core.measurements import BodyMeasurer  # noqa: E402
from blender_smplify.core.objective import SmplifyWeights  # noqa: E402
from blender_smplify.core.silhouette import Silhouette, SilhouetteSettings  # noqa: E402

RENDERS = ROOT / "benchmarks" / "out" / "silhouette_renders"
MEASURES = ("stature", "chest_girth", "waist_girth", "hip_girth")
VARIANTS = ("joints", "joints + silhouette", "height", "height + silhouette")


def detections(folder: Path, names: list[str]) -> dict[str, dict]:
    """name -> keypoints and crop mask, detected once and cached in ``detections.npz``."""
    cache = folder / "detections.npz"
    stored = dict(np.load(cache, allow_pickle=False)) if cache.exists() else {}
    out, missing = {}, []
    for name in names:
        if f"{name}/xy" in stored:
            out[name] = {k.split("/")[1]: v for k, v in stored.items() if k.startswith(name + "/")}
        else:
            missing.append(name)
    if missing:
        from blender_smplify.core.detector import JointDetector
        from blender_smplify.core.image_io import load_image

        det = JointDetector(threads=2)
        for name in missing:
            d = det.detect(load_image(folder / f"{name}.png"))
            out[name] = {
                "xy": d.keypoints.xy,
                "confidence": d.keypoints.confidence,
                "crop_mask": d.crop_mask,
                "crop": np.array([*d.crop.centre, d.crop.side, d.crop.rotation]),
            }
        flat = {f"{n}/{k}": v for n, arrays in out.items() for k, v in arrays.items()}
        np.savez_compressed(cache, **flat)
    return out


def silhouette_of(d: dict, grow_px: float = 0.0) -> Silhouette:
    """The detection's mask; ``grow_px`` > 0 widens it by that many image pixels all round
    (loose clothing, simulated)."""
    c = d["crop"]
    crop = Crop(c[:2], float(c[2]), float(c[3]), d["crop_mask"].shape[0])
    mask = d["crop_mask"]
    if grow_px > 0:
        from scipy import ndimage

        person = mask > 0.5
        grown = ndimage.distance_transform_edt(~person) <= grow_px * crop.size / crop.side
        mask = (person | grown).astype(np.float32)
    return Silhouette(mask, crop.crop_to_image())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", default=str(RENDERS))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--weight", type=float, default=None, help="λs")
    parser.add_argument("--inside", type=float, default=None, help="λ_in (mask outside body)")
    parser.add_argument("--inside-sigma", type=float, default=None, help="σ_in, normalised px")
    parser.add_argument("--points", type=int, nargs=2, default=None, help="surface, boundary")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument(
        "--clothing-cm", type=float, default=0.0, help="widen the mask by this much all round"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--shape-prior", type=float, default=None, help="λβ of the last two stages"
    )
    parser.add_argument("--draw", nargs="*", default=[])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "silhouette_shape"))
    args = parser.parse_args(argv)

    folder = Path(args.renders)
    names = sorted(p.stem for p in folder.glob("front_*.json"))[: args.limit]
    dets = detections(folder, names)
    weights = SmplifyWeights()
    if args.weight is not None:
        weights = replace(weights, silhouette=args.weight)
    if args.shape_prior is not None:
        sp = weights.shape_prior
        weights = replace(weights, shape_prior=(*sp[:2], args.shape_prior, args.shape_prior))
    variants = tuple(args.variants.split(","))
    settings = SilhouetteSettings()
    if args.inside is not None:
        settings = replace(settings, inside_weight=args.inside)
    if args.inside_sigma is not None:
        settings = replace(settings, inside_sigma=args.inside_sigma)
    if args.points:
        settings = replace(settings, surface_points=args.points[0], boundary_points=args.points[1])
    options = FitOptions(silhouette=settings)
    if args.iterations:
        options = replace(options, silhouette_iterations=args.iterations)
    models = {g: BodyModel.load(gender=g) for g in ("female", "male")}
    measurers = {g: BodyMeasurer(m) for g, m in models.items()}
    errors = {v: {m: [] for m in MEASURES} for v in VARIANTS}
    seconds = {v: [] for v in VARIANTS}
    fits = {}
    for name in names:
        info = json.loads((folder / f"{name}.json").read_text())
        g, d = info["gender"], dets[name]
        model, measurer = models[g], measurers[g]
        truth = measurer.measure(np.array(info["betas"])).values
        kp = Keypoints2D("blazepose33", d["xy"], d["confidence"])
        size, focal = tuple(info["image_size"]), info["focal_px"]
        depth = float(np.array(info["joints_camera"])[0, 2])  # the pelvis
        sil = silhouette_of(d, args.clothing_cm / 100.0 * focal / depth)
        line = [name, g]
        for variant in variants:
            kwargs = {"weights": weights, "options": options}
            if "silhouette" in variant:
                kwargs["silhouette"] = sil
            if variant.startswith("height"):
                kwargs["height"] = truth["stature"]
            t0 = time.process_time()
            res = fit(model, kp, size, focal, **kwargs)
            seconds[variant].append(time.process_time() - t0)
            fits[(name, variant)] = res
            got = measurer.measure(res.betas).values
            for m in MEASURES:
                errors[variant][m].append(1000 * (got[m] - truth[m]))
            line.append(
                f"{variant}: waist {1000 * (got['waist_girth'] - truth['waist_girth']):+.0f}"
            )
        print("  ".join(line), flush=True)
    print(f"\n{len(names)} renders from {folder}; λs {weights.silhouette}, {settings}\n")
    print(
        "| variant | "
        + " | ".join(f"{m} mm median / p90" for m in MEASURES)
        + " | CPU ms median |"
    )
    print("|---" * (len(MEASURES) + 2) + "|")
    for v in variants:
        cells = [
            f"{np.median(np.abs(e)):.0f} / {np.percentile(np.abs(e), 90):.0f}"
            for e in (errors[v][m] for m in MEASURES)
        ]
        print(f"| {v} | " + " | ".join(cells) + f" | {1000 * np.median(seconds[v]):.0f} |")
    for base in ("joints", "height"):
        if f"{base} + silhouette" not in variants or base not in variants:
            continue
        better = [
            int(np.sum(np.abs(errors[f"{base} + silhouette"][m]) < np.abs(errors[base][m])))
            for m in MEASURES
        ]
        print(
            f"{base}: the silhouette made it better in "
            + ", ".join(f"{m} {b}/{len(names)}" for m, b in zip(MEASURES, better))
        )
    signed = {v: {m: round(float(np.median(errors[v][m]))) for m in MEASURES} for v in variants}
    print("median signed error mm:", json.dumps(signed))
    out = Path(args.out)
    for name in args.draw:
        out.mkdir(parents=True, exist_ok=True)
        info = json.loads((folder / f"{name}.json").read_text())
        draw(folder / f"{name}.png", info, models[info["gender"]], dets[name], fits, name, out)
    return 0


def draw(png: Path, info: dict, model, d: dict, fits: dict, name: str, out: Path) -> None:
    """Left: the photo with the outlines of the detector's mask (white), the true body (green)
    and the fits with the true height without (red) and with (blue) the silhouette. Right: the
    same three bodies from the camera's right (orthographic, each on the truth's centre)."""
    from PIL import Image, ImageDraw
    from scipy import ndimage

    from blender_smplify.core.silhouette import SilhouetteTarget

    photo = Image.open(png).convert("RGB")
    w, h = photo.size
    f, c = info["focal_px"], np.array([w / 2, h / 2])
    pose_cam, transl_cam = np.array(info["pose_camera"]), np.array(info["transl_camera"])
    true_v, _ = model.forward(np.array(info["betas"]), pose_cam, transl_cam)
    bodies = [(true_v, (40, 220, 40))]
    for variant, colour in (("height", (240, 40, 40)), ("height + silhouette", (60, 110, 255))):
        r = fits[(name, variant)]
        bodies.append((model.forward(r.betas, r.pose, r.transl)[0], colour))

    def outline(points2d: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """(H, W) bool: the boundary pixels of the mesh's filled projection."""
        canvas = Image.new("L", size, 0)
        dr = ImageDraw.Draw(canvas)
        for tri in points2d[model.faces]:
            dr.polygon([tuple(p) for p in tri], fill=255)
        filled = np.asarray(canvas) > 0
        return filled & ~ndimage.binary_erosion(filled, iterations=2)

    pixels = np.array(photo)
    target = SilhouetteTarget(silhouette_of(d), 2000)
    for u, v in target.boundary.astype(int):
        if 0 <= v < h and 0 <= u < w:
            pixels[max(v - 1, 0) : v + 1, max(u - 1, 0) : u + 1] = 255
    side = np.full((h, h, 3), 255, np.uint8)
    centre = true_v.mean(axis=0)
    span = max(np.ptp(true_v[:, 1]), np.ptp(true_v[:, 2])) * 1.2
    for v, colour in bodies:
        pixels[outline(f * v[:, :2] / v[:, 2:] + c, (w, h))] = colour
        v = v - v.mean(axis=0) + centre  # shape, not depth
        zy = np.stack([v[:, 2] - centre[2], v[:, 1] - centre[1]], axis=1) / span * h + h / 2
        side[outline(zy, (h, h))] = colour
    canvas = Image.new("RGB", (w + h, h), "white")
    canvas.paste(Image.fromarray(pixels), (0, 0))
    canvas.paste(Image.fromarray(side), (w, 0))
    ImageDraw.Draw(canvas).text(
        (w + 8, 6),
        "from the right; green truth, red height only, blue + silhouette, white mask",
        fill="black",
    )
    canvas.save(out / f"{name}.png")
    print(f"wrote {out / f'{name}.png'}")


if __name__ == "__main__":
    raise SystemExit(main())
