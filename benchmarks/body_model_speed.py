"""Time the body model: joints-only forward + Jacobian (what the fit calls) and the full mesh.

Usage: python benchmarks/body_model_speed.py [--repeats 2000] [--model PATH]
Prints medians over repeated calls for the open default model (when shipped) and for a synthetic
SMPL-format model of about 10k vertices with dense pose blend shapes (the official SMPL case).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from blender_smplify.core.body_model import BodyModel  # noqa: E402
from blender_smplify.core.errors import ModelFileError  # noqa: E402
from toy_model import make_toy_model  # noqa: E402


def median_ms(call, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def bench(name: str, model: BodyModel, repeats: int) -> list[str]:
    rng = np.random.default_rng(0)
    betas, pose, transl = rng.normal(size=10), rng.normal(0, 0.3, 72), np.array([0, 0, 4.0])
    landmarks = model.landmark_names[:8]
    rows = [
        ("posed_points: 24 joints + Jacobian", lambda: model.posed_points(betas, pose, transl)),
        (f"posed_points: 24 joints + {len(landmarks)} landmarks + Jacobian",
         lambda: model.posed_points(betas, pose, transl, landmarks=landmarks)),
        ("posed_points: 24 joints, no Jacobian",
         lambda: model.posed_points(betas, pose, transl, jacobian=False)),
        (f"forward: full mesh ({model.num_vertices} vertices)",
         lambda: model.forward(betas, pose, transl)),
    ]  # fmt: skip
    return [f"| {name} | {label} | {median_ms(call, repeats if 'mesh' not in label else max(repeats // 10, 50)):.3f} |" for label, call in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--model", type=Path, default=None, help="an SMPL .pkl/.npz to time too")
    args = parser.parse_args()
    models = [("synthetic 10k, posedirs", make_toy_model(verts_per_joint=420))]
    try:
        models.insert(0, ("open neutral", BodyModel.load()))
    except ModelFileError as error:
        print(f"(open model skipped: {error})")
    if args.model:
        models.append((args.model.name, BodyModel.load(args.model)))
    print("| model | operation | median ms |")
    print("|---|---|---|")
    for name, model in models:
        print("\n".join(bench(name, model, args.repeats)))


if __name__ == "__main__":
    main()
