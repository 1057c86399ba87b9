"""Renders for the silhouette study: open-model bodies with random β, A-pose, seen from the front.

Until ``benchmarks/shape_accuracy.py`` exists, the silhouette term's effect on the shape is
measured on these (``benchmarks/studies/silhouette_shape.py``). Per photo: gender alternating
female / male, β ~ N(0, I) (10, the widened models), ``rendered_poses.a_pose`` (arms 0.6-1.0 rad
from the body, small noise), a camera 1.2-1.5 m high 3-4 m in front (yaw within ±15°), 50 mm,
the body filling 80 % of a 480 × 640 frame, a random look; ``Renderer.photo`` (needs ``bpy``).

    .venv/bin/python benchmarks/studies/silhouette_render.py [--count 16] [--seed 0]
        [--out benchmarks/out/silhouette_renders]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

DEFAULT_OUT = ROOT / "benchmarks" / "out" / "silhouette_renders"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    from render_people import Renderer
    from render_scene import Shot
    from rendered_poses import PoseSource

    from blender_smplify.core.body_model import BodyModel

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = {g: BodyModel.load(gender=g) for g in ("female", "male")}
    renderer, source = Renderer(threads=args.threads), PoseSource()
    for index in range(args.count):
        name = f"front_{index:03d}"
        if (out / f"{name}.json").exists():
            continue
        rng = np.random.default_rng([args.seed, index])
        gender = ("female", "male")[index % 2]
        betas = rng.normal(size=10)
        pose, _ = source.sample("a_pose", rng)
        shot = Shot(
            yaw=float(np.radians(rng.uniform(-15, 15))),
            height=float(rng.uniform(1.2, 1.5)),
            lens_mm=50.0,
            fill=0.8,
            landscape=False,
            shift=(0.0, 0.0),
            roll=0.0,
        )
        info = renderer.photo(str(out / f"{name}.png"), models[gender], betas, pose, shot, rng=rng)
        info.update(gender=gender, category="a_pose_front")
        (out / f"{name}.json").write_text(json.dumps(info))
        print(f"{name}: {info['render_seconds']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
