"""Time all body measurements of one body: the median over repeated calls (target ≤ 20 ms).

    python benchmarks/measurements_speed.py [--calls 50] [--gender female]

Each call shapes the body from fresh random betas (β ~ N(0, I)) and takes every measurement
(``BodyMeasurer.measure``). Reported with the time of shaping the vertices alone as a baseline,
and with the process's CPU time, which a busy shared machine inflates less than wall time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from blender_smplify.core.body_model import GENDERS, BodyModel  # noqa: E402
from blender_smplify.core.measurements import MEASUREMENT_NAMES, BodyMeasurer  # noqa: E402


def _median_ms(fn, inputs) -> tuple[float, float, float]:
    """Median and 90th percentile wall time, and median CPU time of this process, in ms."""
    wall, cpu = [], []
    for x in inputs:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(x)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return (
        float(np.median(wall) * 1e3),
        float(np.percentile(wall, 90) * 1e3),
        float(np.median(cpu) * 1e3),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--gender", choices=GENDERS, default=None, help="default: all three")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{len(MEASUREMENT_NAMES)} measurements per call, {args.calls} calls")
    for gender in [args.gender] if args.gender else GENDERS:
        model = BodyModel.load(gender=gender)
        t0 = time.perf_counter()
        measurer = BodyMeasurer(model)
        setup = time.perf_counter() - t0
        betas = rng.standard_normal((args.calls, model.num_betas))
        measurer.measure(betas[0])  # warm-up
        template, shapedirs = model.v_template, model.shapedirs
        shape_ms, _, _ = _median_ms(
            lambda b: template + np.einsum("vkl,l->vk", shapedirs, b),  # noqa: B023 (used here)
            betas,
        )
        median, p90, cpu = _median_ms(measurer.measure, betas)
        print(
            f"{gender:8s} measure: median {median:.1f} ms (90th pct {p90:.1f} ms, "
            f"CPU time median {cpu:.1f} ms); "
            f"shaping alone {shape_ms:.2f} ms; set-up {setup * 1e3:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
