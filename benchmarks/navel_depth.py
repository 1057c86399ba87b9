"""Navel depth of the open models before and after the fill (``core.navel``), and their
closed-manifold check (``core.mesh_checks``); the figures in docs/garment_posing.md.

    .venv/bin/python benchmarks/navel_depth.py [--bodies 200] [--max-depth-mm 2]

Bodies: β = 0 and ``--bodies`` draws of β ~ N(0, I) per model (seed 0). The fill's region is
built once on each template; the fill strength is chosen per body.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.measurement_landmarks import open_model_landmarks
from blender_smplify.core.mesh_checks import manifold_report
from blender_smplify.core.navel import navel_region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=200)
    parser.add_argument("--max-depth-mm", type=float, default=2.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for gender in ("neutral", "female", "male"):
        model = BodyModel.load(gender=gender)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            report = manifold_report(model.quads, model.num_vertices)
            times.append(time.perf_counter() - start)
        print(f"{gender}: quads {report.summary()}; median {1e3 * np.median(times):.0f} ms")
        print(f"{gender}: triangles {manifold_report(model.faces, model.num_vertices).summary()}")
        navel = open_model_landmarks(model.v_template, gender)["omphalion"]
        region = navel_region(model.v_template, navel, np.array([0.0, 0.0, 1.0]))
        betas = np.vstack([np.zeros(model.num_betas), rng.normal(size=(args.bodies, 16))])
        before, after = [], []
        for beta in betas:
            body = model.shaped_vertices(beta)
            strength = region.strength_for(body, 1e-3 * args.max_depth_mm)
            before.append(region.depth(body))
            after.append(region.depth(region.fill(body, strength)))
        before, after = 1e3 * np.array(before), 1e3 * np.array(after)
        q = np.percentile(before[1:], [50, 90, 100])
        print(
            f"{gender}: navel depth at beta=0 {before[0]:.1f} mm -> {after[0]:.1f} mm; "
            f"{args.bodies} bodies: median {q[0]:.1f}, 90% {q[1]:.1f}, max {q[2]:.1f} mm -> "
            f"max {after[1:].max():.1f} mm ({len(region.inner)} vertices move, "
            f"{len(region.ring)} in the ring)"
        )


if __name__ == "__main__":
    main()
