"""Pose-presence scores on photos with a person and on images without one.

    python benchmarks/detector_presence.py [--data ../shared/data/lsp_dev] [--limit N]

Measures the scores that ``JointDetector.detect`` tests before raising NoPersonFound
(BlazePose's presence, highest over the passes, and MoveNet's mean score on the 12 limb joints)
and the first pass's presence, on images

- with a person: the LSP development photos and the committed sample photo;
- without: the CC0 HDRI photos shipped with Blender (bpy wheel, ``studiolights/world``) cut
  into crops, the committed no-person test images, the sample photo's person-free left strip,
  and synthetic images (noise, gradients, checkerboards, flat colours).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blender_smplify.core.detector import JointDetector
from blender_smplify.core.image_io import load_image


def synthetic_images(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Images that contain no person: noise, gradients, checkerboards, flat colours."""
    out = {}
    for k in range(4):
        out[f"noise{k}"] = rng.integers(0, 256, (240 + 40 * k, 320, 3), dtype=np.uint8)
        smooth = rng.normal(size=(12, 16, 3)).repeat(24, 0).repeat(24, 1)
        out[f"blobs{k}"] = np.clip(128 + 60 * smooth, 0, 255).astype(np.uint8)
    ramp = np.linspace(0, 255, 400)
    out["gradient"] = np.stack(
        np.broadcast_arrays(ramp[None, :], ramp[:, None], 128 + 0 * ramp), axis=2
    ).astype(np.uint8)
    checker = ((np.arange(300)[:, None] // 25 + np.arange(300)[None, :] // 25) % 2) * 255
    out["checker"] = np.repeat(checker[:, :, None], 3, axis=2).astype(np.uint8)
    for name, value in (("black", 0), ("grey", 128), ("white", 255)):
        out[name] = np.full((200, 300, 3), value, np.uint8)
    return out


def photo_negatives() -> dict[str, np.ndarray]:
    """Crops of real photos without a person."""
    out = {}
    for path in sorted((REPO / "tests/data").glob("no_person_*.jpg")):
        out[path.stem] = load_image(path)
    sample = load_image(REPO / "blender_smplify/data/samples/standing_person.jpg")
    out["sample_left_strip"] = sample[:, :140]
    try:
        import bpy

        from blender_smplify.blender.image_io import load_image_bpy

        world = Path(bpy.utils.system_resource("DATAFILES")) / "studiolights/world"
        for exr in sorted(world.glob("*.exr")):
            pano = load_image_bpy(exr)
            for k, x0 in enumerate(range(0, pano.shape[1] - 256, 192)):
                out[f"{exr.stem}{k}"] = pano[128:448, x0 : x0 + 320]
    except ImportError:
        print("bpy not importable: Blender's HDRI photos are left out", file=sys.stderr)
    return out


def scores(detector: JointDetector, images: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 3) per image: first-pass presence, highest presence, MoveNet's mean limb score (on
    the limb joints in the frame), after the second opinions ``detect`` asks for."""
    rows = []
    for image in images.values():
        result = detector.results(image)
        rows.append([result.presences[0], result.score, result.limb_score])
    return np.array(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/lsp_dev")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    detector = JointDetector(threads=2)
    negatives = {**synthetic_images(np.random.default_rng(0)), **photo_negatives()}
    neg = scores(detector, negatives)
    positives = {"sample": load_image(REPO / "blender_smplify/data/samples/standing_person.jpg")}
    if (args.data / "joints.npz").exists():
        names = np.load(args.data / "joints.npz")["image"][: args.limit]
        positives.update({str(n): load_image(args.data / "images" / str(n)) for n in names})
    pos = scores(detector, positives)
    for label, s in (("without a person", neg), ("with a person", pos)):
        print(f"{label}: {len(s)} images")
        for col, what in enumerate(("first-pass presence", "best presence", "limb score")):
            q = np.percentile(s[:, col], [0, 1, 5, 50, 95, 99, 100])
            print(f"  {what:<20s} min/1/5/50/95/99/max % = " + " ".join(f"{v:.3f}" for v in q))
    settings = detector.settings
    alone = settings.presence
    print(
        f"presence >= {alone} alone: false detections {np.sum(neg[:, 1] >= alone)}/{len(neg)}, "
        f"missed people {np.sum(pos[:, 1] < alone)}/{len(pos)}"
    )
    tp, tl = settings.presence_with_limbs, settings.limb_score
    fa = (neg[:, 1] >= tp) & (neg[:, 2] >= tl)
    miss = ~((pos[:, 1] >= tp) & (pos[:, 2] >= tl))
    print(
        f"presence >= {tp} and limb score >= {tl} (the detector's rule): false detections "
        f"{fa.sum()}/{len(neg)} {[n for n, f in zip(negatives, fa) if f]}, missed people "
        f"{miss.sum()}/{len(pos)} {[n for n, m in zip(positives, miss) if m]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
