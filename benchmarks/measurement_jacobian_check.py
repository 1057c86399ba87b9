"""Figures for docs/measurements.md: the measurement Jacobian and shape from measurements.

    python benchmarks/measurement_jacobian_check.py [--bodies 10]

1. The analytic Jacobian (``core/measurement_jacobian.py``) against central differences of
   ``BodyMeasurer.measure`` (step 1e-5 in β): the worst relative row error
   ‖J_row − fd_row‖ / ‖fd_row‖ over all 36 measurements and the bodies; the girth rows' error
   of a Jacobian that holds the cut planes still (what leaving out their motion would cost);
   time per call against a plain ``measure`` (medians, the same run).
2. Shape from measurements (``core/shape_from_measurements.py``): bodies β ~ N(0, I) (16
   components, seeds 0 … bodies − 1) asked for their own measurements, from the mean body:
   worst |residual| over the asked measurements and bodies, the bodies missed by more than
   5 mm, solve time and iterations.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blender_smplify.core.body_model import BodyModel  # noqa: E402
from blender_smplify.core.measurement_jacobian import MeasurementJacobian  # noqa: E402
from blender_smplify.core.measurements import MEASUREMENT_NAMES  # noqa: E402
from blender_smplify.core.shape_from_measurements import shape_from_measurements  # noqa: E402

KEY = ("stature", "chest_girth", "waist_girth", "hip_girth")
TWELVE = KEY + (
    "neck_girth",
    "left_thigh_girth",
    "left_calf_girth",
    "left_upper_arm_girth",
    "shoulder_width",
    "left_arm_length",
    "crotch_height",
    "back_length",
)
SUBSETS = {"4 (stature, chest, waist, hip)": KEY, "12": TWELVE, "all 36": MEASUREMENT_NAMES}
STEP = 1e-5


def jacobian_figures(jacobian: MeasurementJacobian, bodies: int) -> dict:
    measurer = jacobian.measurer
    worst, still_errors, plain, timed = 0.0, [], [], []
    original = jacobian._plane_derivatives

    def still(cut, dirs):
        dp, dn = original(cut, dirs)
        return np.zeros_like(dp), np.zeros_like(dn)

    for seed in range(bodies):
        betas = np.random.default_rng(seed).standard_normal(jacobian.model.num_betas)
        start = time.perf_counter()
        measurer.measure(betas)
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        _, J = jacobian(betas)
        timed.append(time.perf_counter() - start)
        fd = np.zeros_like(J)
        for k in range(len(betas)):
            step = np.zeros(len(betas))
            step[k] = STEP
            up, down = measurer.measure(betas + step).values, measurer.measure(betas - step).values
            fd[:, k] = [(up[n] - down[n]) / (2 * STEP) for n in MEASUREMENT_NAMES]
        scale = np.linalg.norm(fd, axis=1)
        worst = max(worst, float(np.max(np.linalg.norm(J - fd, axis=1) / scale)))
        jacobian._plane_derivatives = still
        _, J_still = jacobian(betas)
        jacobian._plane_derivatives = original
        girths = [i for i, n in enumerate(MEASUREMENT_NAMES) if n.endswith("_girth")]
        still_errors.extend(np.linalg.norm(J_still - fd, axis=1)[girths] / scale[girths])
    return {
        "worst relative error": worst,
        "planes held still: girth rows' median error": float(np.median(still_errors)),
        "max": float(np.max(still_errors)),
        "measure ms": 1e3 * np.median(plain),
        "measure + Jacobian ms": 1e3 * np.median(timed),
    }


def shape_figures(jacobian: MeasurementJacobian, bodies: int) -> dict:
    out = {}
    for label, names in SUBSETS.items():
        worst, seconds, iterations, misses = [], [], [], []
        for seed in range(bodies):
            truth = np.random.default_rng(seed).standard_normal(jacobian.model.num_betas)
            own = jacobian.measurer.measure(truth).values
            result = shape_from_measurements(jacobian, {n: own[n] for n in names})
            worst.append(result.max_abs_residual)
            if result.max_abs_residual > 0.005:
                misses.append(seed)
            seconds.append(result.seconds)
            iterations.append(result.iterations)
        others = [w for w in worst if w <= 0.005] or [np.nan]
        out[label] = (
            1e3 * max(worst),
            misses,
            1e3 * max(others),
            np.median(seconds),
            np.median(iterations),
            max(iterations),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=10)
    args = parser.parse_args()
    for gender in ("female", "male"):
        jacobian = MeasurementJacobian(BodyModel.load(gender=gender))
        figures = jacobian_figures(jacobian, args.bodies)
        print(f"{gender}: Jacobian " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()))
        for label, (mm, misses, rest, s, it, most) in shape_figures(jacobian, args.bodies).items():
            print(
                f"{gender}: {label}: worst residual {mm:.2f} mm; bodies over 5 mm: {misses}, "
                f"the others within {rest:.2f} mm; solve {s:.2f} s (median), "
                f"iterations median {it:.0f}, max {most}"
            )


if __name__ == "__main__":
    main()
