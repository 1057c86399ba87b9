"""Time the Blender side: building the avatar scene, and the whole photo-to-avatar flow.

    python benchmarks/blender_build.py [--repeats 7] [--photo PHOTO] [--gender neutral]

Runs in the bpy module after Blender has started (its start-up is reported apart). Each timed
run starts from an empty file. Prints the first (cold: model file read, detector session
created) and the median of the warm runs, wall clock and this process's CPU time (which other
processes on a busy machine disturb much less; the flow's detector may use several threads):

* build: ``build_rig.build`` for a fit of the open model (camera, rig, skinned mesh, keys);
* flow: ``pipeline.photo_to_avatar`` on the photo (image, detection, fit, build), no render;
* render: the preview render (Workbench) and composite, for information.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"


def timed(function, repeats: int, setup=None) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each of ``repeats`` calls, ``setup`` untimed before each."""
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def report(name: str, times: list[tuple[float, float]]) -> None:
    warm = [1000 * wall for wall, _ in times[1:] or times]
    cpu = statistics.median(1000 * c for _, c in times[1:] or times)
    print(
        f"{name:8s} cold {times[0][0] * 1000:7.0f} ms   warm median {statistics.median(warm):7.0f}"
        f" ms   (min {min(warm):.0f}, max {max(warm):.0f}, n={len(warm)}; CPU {cpu:.0f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--photo", type=Path, default=SAMPLE)
    parser.add_argument("--gender", default="neutral")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    import bpy

    print(f"bpy import (Blender start-up): {(time.perf_counter() - start) * 1000:.0f} ms")
    from blender_smplify.blender import build_rig, pipeline

    def fresh():
        bpy.ops.wm.read_homefile(use_empty=True)

    fresh()
    flow = timed(
        lambda: pipeline.photo_to_avatar(args.photo, gender=args.gender), args.repeats, fresh
    )
    report("flow", flow)
    result = pipeline.photo_to_avatar(args.photo, gender=args.gender)
    print(
        "flow stages (last run): "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.seconds.items())
    )
    model = pipeline.load_model(args.gender)
    print(
        f"model: {model.num_vertices} vertices, {len(model.faces)} triangles, "
        f"{model.num_betas} betas; fit: {result.status}"
    )
    build = timed(
        lambda: build_rig.build(result.fit, model, image_path=args.photo), args.repeats, fresh
    )
    report("build", build)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "preview.png"
        fresh()
        avatar = build_rig.build(result.fit, model, image_path=args.photo)
        from blender_smplify.blender.render import render_preview

        render = timed(lambda: render_preview(avatar, out), max(2, args.repeats // 2))
    report("render", render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
