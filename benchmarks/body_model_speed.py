"""Time the body model: joints-only forward + Jacobian (what the fit calls) and the full mesh.

Usage: python benchmarks/body_model_speed.py [--repeats 2000] [--model PATH]
Prints medians over repeated calls for the open default model, for the same model given dense
pose blend shapes (random numbers of the official SMPL files' shape, (V, 3, 207): the cost of
pose correctives does not depend on their values), and for ``--model`` if given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender_smplify.core.body_model import BodyModel, open_model_path
from blender_smplify.core.errors import ModelFileError
from blender_smplify.core.model_io import read_model_file


def with_pose_correctives(path: Path) -> BodyModel:
    """The model in ``path`` with dense random pose blend shapes (V, 3, 207) added."""
    data = read_model_file(path)
    data.pop("gender", None)
    vertices = len(data["v_template"])
    data["posedirs"] = np.random.default_rng(0).normal(0.0, 1e-3, (vertices, 3, 207))
    return BodyModel.from_arrays(**data, source=f"{path.name} + random posedirs")


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
        (
            f"posed_points: 24 joints + {len(landmarks)} landmarks + Jacobian",
            lambda: model.posed_points(betas, pose, transl, landmarks=landmarks),
        ),
        (
            "posed_points: 24 joints, no Jacobian",
            lambda: model.posed_points(betas, pose, transl, jacobian=False),
        ),
        (
            f"forward: full mesh ({model.num_vertices} vertices)",
            lambda: model.forward(betas, pose, transl),
        ),
    ]
    lines = []
    for label, call in rows:
        calls = max(repeats // 10, 50) if "mesh" in label else repeats
        lines.append(f"| {name} | {label} | {median_ms(call, calls):.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--model", type=Path, default=None, help="an SMPL .pkl/.npz to time too")
    args = parser.parse_args()
    try:
        models = [
            ("open neutral", BodyModel.load()),
            ("open neutral + posedirs", with_pose_correctives(open_model_path("neutral"))),
        ]
        if args.model:
            models.append((args.model.name, BodyModel.load(args.model)))
    except ModelFileError as error:
        raise SystemExit(f"error: {error}") from error
    print("| model | operation | median ms |")
    print("|---|---|---|")
    for name, model in models:
        print("\n".join(bench(name, model, args.repeats)))


if __name__ == "__main__":
    main()
