"""Model bodies vs the ANSUR II survey: stature, chest, waist and hip girth per sex.

    python benchmarks/measurements_ansur.py [--bodies 2000] [--ansur ../shared/data/anthropometry]

For each sex, draws bodies β ~ N(0, I) from the open model of that sex, measures them with
``BodyMeasurer`` and prints, next to ANSUR II (Gordon et al. 2014; the survey's CSV files, see
their SOURCES.md), the mean, SD and 2–98 % range of each measurement (mm), then the correlations
between them. The ANSUR correlations printed here are the constants in
``tests/core/test_measurements.py``. ANSUR's waist is taken at the navel (omphalion), so it is
compared with ``waist_girth_omphalion``; ANSUR's chest with the girth at the bust points.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from blender_smplify.core.body_model import BodyModel  # noqa: E402
from blender_smplify.core.measurements import BodyMeasurer  # noqa: E402

#: ours -> ANSUR II column (both mm after conversion)
COLUMNS = {
    "stature": "stature",
    "chest_girth": "chestcircumference",
    "waist_girth_omphalion": "waistcircumference",
    "hip_girth": "buttockcircumference",
}
FILES = {"female": "ANSUR_II_FEMALE_Public.csv", "male": "ANSUR_II_MALE_Public.csv"}
DEFAULT_ANSUR = Path(__file__).resolve().parent.parent.parent / "shared/data/anthropometry"


def read_ansur(folder: Path, sex: str) -> np.ndarray:
    """(n, 4) ANSUR II values in mm, columns in COLUMNS order."""
    with open(folder / FILES[sex], encoding="latin-1", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([[float(r[c]) for c in COLUMNS.values()] for r in rows])


def measure_bodies(sex: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 4) model measurements in mm for bodies β ~ N(0, I)."""
    model = BodyModel.load(gender=sex)
    measurer = BodyMeasurer(model)
    out = np.empty((n, len(COLUMNS)))
    for i, betas in enumerate(rng.standard_normal((n, model.num_betas))):
        values = measurer.measure(betas).values
        out[i] = [values[name] * 1000.0 for name in COLUMNS]
    return out


def summary_rows(sex: str, model: np.ndarray, survey: np.ndarray) -> list[str]:
    rows = []
    for k, name in enumerate(COLUMNS):
        m, s = model[:, k], survey[:, k]
        rows.append(
            f"| {sex} | {name} | {m.mean():.0f} | {s.mean():.0f} | {m.std(ddof=1):.0f} | "
            f"{s.std(ddof=1):.0f} | {m.std(ddof=1) / s.std(ddof=1):.2f} | "
            f"{np.percentile(m, 2):.0f}–{np.percentile(m, 98):.0f} | "
            f"{np.percentile(s, 2):.0f}–{np.percentile(s, 98):.0f} |"
        )
    return rows


def correlation_rows(sex: str, model: np.ndarray, survey: np.ndarray) -> list[str]:
    names = list(COLUMNS)
    cm, cs = np.corrcoef(model.T), np.corrcoef(survey.T)
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            rows.append(f"| {sex} | {names[i]} – {names[j]} | {cm[i, j]:+.2f} | {cs[i, j]:+.2f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--ansur", type=Path, default=DEFAULT_ANSUR)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    summary, correlations = [], []
    for sex in ("female", "male"):
        survey = read_ansur(args.ansur, sex)
        t0 = time.perf_counter()
        model = measure_bodies(sex, args.bodies, rng)
        seconds = time.perf_counter() - t0
        print(f"{sex}: {args.bodies} bodies measured in {seconds:.1f} s; ANSUR n = {len(survey)}")
        summary += summary_rows(sex, model, survey)
        correlations += correlation_rows(sex, model, survey)
    print("\n| sex | measurement | model mean | ANSUR mean | model SD | ANSUR SD | SD ratio "
          "| model 2–98 % | ANSUR 2–98 % |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(summary))
    print("\n| sex | pair | model r | ANSUR II r |\n|---|---|---|---|")
    print("\n".join(correlations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
