"""Study: does the outline widen clothed real people? LSP development photos fitted as the
pipeline fits them (default focal length, the lifter), without and with the detector's mask,
the fitted bodies measured (``BodyMeasurer``, neutral model), and the photos where the mask
changed the girths most drawn over the photo.

Reads the detections that ``silhouette_lsp.py`` caches (``benchmarks/out/silhouette_lsp.npz``).
Girths are compared as fractions of the fitted stature as well as in cm: one photo without a
known height fixes the body's proportions, not its size.

    .venv/bin/python benchmarks/studies/silhouette_clothing.py [--limit 80] [--draw 4]
        [--out /tmp/silhouette_clothing] [--figure docs/silhouette_clothing.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from blender_smplify.core.camera import focal_from_fov, principal_point  # noqa: E402
from blender_smplify.core.detector_crop import Crop  # noqa: E402
from blender_smplify.core.fit import fit  # noqa: E402
from blender_smplify.core.keypoints import Keypoints2D  # noqa: E402
from blender_smplify.core.lifter import lifted_world  # noqa: E402
from blender_smplify.core.measurements import BodyMeasurer  # noqa: E402
from blender_smplify.core.pipeline import load_model  # noqa: E402
from blender_smplify.core.silhouette import Silhouette, SilhouetteTarget  # noqa: E402

CACHE = ROOT / "benchmarks" / "out" / "silhouette_lsp.npz"
GIRTHS = ("chest_girth", "waist_girth", "hip_girth")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("--draw", type=int, default=4)
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/lsp_dev"))
    parser.add_argument("--out", default="/tmp/silhouette_clothing")
    parser.add_argument("--figure", default="", help="also the drawings side by side, to this PNG")
    args = parser.parse_args(argv)
    d = dict(np.load(CACHE))
    model = load_model("neutral")
    measurer = BodyMeasurer(model)
    rows = []
    for k in range(min(args.limit, len(d["names"]))):
        kp = Keypoints2D("blazepose33", d["xy"][k], d["confidence"][k])
        size = tuple(int(v) for v in d["size"][k])
        focal = focal_from_fov(size)
        world = lifted_world(kp, focal, principal_point(size))
        c = d["crop"][k]
        sil = Silhouette(d["mask"][k], Crop(c[:2], float(c[2]), float(c[3]), 256).crop_to_image())
        fits = {
            key: fit(model, kp, size, focal, world=world, silhouette=s)
            for key, s in (("off", None), ("on", sil))
        }
        sizes = {key: measurer.measure(r.betas).values for key, r in fits.items()}
        rows.append((k, sil, fits, sizes))
    change_cm = np.array([[100 * (s["on"][g] - s["off"][g]) for g in GIRTHS] for *_, s in rows])
    ratio = np.array(
        [
            [
                s["on"][g] / s["on"]["stature"] / (s["off"][g] / s["off"]["stature"]) - 1
                for g in GIRTHS
            ]
            for *_, s in rows
        ]
    )
    print(f"{len(rows)} LSP photos; girth with minus without the mask (chest / waist / hip):")
    for name, q in (("median", 50), ("p10", 10), ("p90", 90)):
        cm = np.nanpercentile(change_cm, q, axis=0)
        pct = 100 * np.nanpercentile(ratio, q, axis=0)
        print(
            f"  {name}: {' / '.join(f'{v:+.1f}' for v in cm)} cm; girth/stature "
            f"{' / '.join(f'{v:+.1f}' for v in pct)} %"
        )
    stature = np.array([[s["off"]["stature"], s["on"]["stature"]] for *_, s in rows])
    print(f"  stature median off / on: {100 * np.median(stature, axis=0)} cm")
    widest = np.argsort(-change_cm[:, 1])[: args.draw // 2]
    narrowest = np.argsort(change_cm[:, 1])[: args.draw - len(widest)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    drawn = []
    for i in [*widest, *narrowest]:
        k, sil, fits, sizes = rows[i]
        name = str(d["names"][k])
        path = out / f"{Path(name).stem}.png"
        draw(Path(args.data) / "images" / name, model, sil, fits, path)
        drawn.append(path)
        print(
            f"  {path}: waist {100 * sizes['off']['waist_girth']:.0f} -> "
            f"{100 * sizes['on']['waist_girth']:.0f} cm, chest "
            f"{100 * sizes['off']['chest_girth']:.0f} -> {100 * sizes['on']['chest_girth']:.0f}"
        )
    if args.figure:
        side_by_side(drawn, Path(args.figure))
    return 0


def side_by_side(paths: list[Path], out: Path, height: int = 360) -> None:
    """The drawings scaled to one height, left to right, in 256 colours."""
    from PIL import Image

    images = [Image.open(p) for p in paths]
    images = [im.resize((round(im.size[0] * height / im.size[1]), height)) for im in images]
    canvas = Image.new("RGB", (sum(im.size[0] for im in images), height), "white")
    x = 0
    for im in images:
        canvas.paste(im, (x, 0))
        x += im.size[0]
    canvas.quantize(256).save(out)


def draw(photo: Path, model, sil: Silhouette, fits: dict, out: Path) -> None:
    """The photo with the mask's outline (white) and the fitted bodies' outlines without
    (red) and with (blue) the silhouette term."""
    from PIL import Image, ImageDraw
    from scipy import ndimage

    image = Image.open(photo).convert("RGB")
    zoom = max(1, 600 // max(image.size))  # LSP photos are small: draw on an enlarged copy
    image = image.resize((image.size[0] * zoom, image.size[1] * zoom), Image.BICUBIC)
    w, h = image.size
    pixels = np.array(image)
    target = SilhouetteTarget(sil, 4000)
    for u, v in (zoom * target.boundary).astype(int):
        if 0 <= v < h and 0 <= u < w:
            pixels[max(v - 1, 0) : v + 1, max(u - 1, 0) : u + 1] = 255
    for key, colour in (("off", (240, 40, 40)), ("on", (60, 110, 255))):
        r = fits[key]
        v, _ = model.forward(r.betas, r.pose, r.transl)
        uv = zoom * (r.focal_length * v[:, :2] / v[:, 2:] + np.asarray(r.principal_point))
        canvas = Image.new("L", (w, h), 0)
        pen = ImageDraw.Draw(canvas)
        for tri in uv[model.faces]:
            pen.polygon([tuple(p) for p in tri], fill=255)
        filled = np.asarray(canvas) > 0
        pixels[filled & ~ndimage.binary_erosion(filled, iterations=2)] = colour
    Image.fromarray(pixels).save(out)


if __name__ == "__main__":
    raise SystemExit(main())
