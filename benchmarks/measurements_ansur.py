"""Model bodies vs the ANSUR II survey: stature, chest, waist and hip girth, body mass, per sex.

    python benchmarks/measurements_ansur.py [--bodies 2000] [--ansur ../shared/data/anthropometry]

For each sex, draws bodies β ~ N(0, I) from the open model of that sex, measures them with
``BodyMeasurer`` and prints, next to ANSUR II (Gordon et al. 2014; the survey's CSV files, see
their SOURCES.md), the mean, SD and 2–98 % range of each measurement (mm; body mass in kg), then
the correlations between them. The ANSUR correlations printed here are the constants in
``tests/core/test_measurements.py``. ANSUR's waist is taken at the navel (omphalion), so it is
compared with ``waist_girth_omphalion``; ANSUR's chest with the girth at the bust points. Body mass
is the volume enclosed by the rest-pose mesh times :data:`DENSITY` (ANSUR's ``weightkg`` is in
tenths of a kilogram).
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
    "body_mass": "weightkg",
}
#: ANSUR's units -> ours: mm stay mm, weightkg is in 0.1 kg
SCALE = {"weightkg": 0.1}
#: kg/m³: whole-body density with the lungs' air, about that of water (lean tissue is denser,
#: fat lighter; Siri 1956 puts the body's tissue at 1,060–1,100 without the air)
DENSITY = 1000.0
FILES = {"female": "ANSUR_II_FEMALE_Public.csv", "male": "ANSUR_II_MALE_Public.csv"}
DEFAULT_ANSUR = Path(__file__).resolve().parent.parent.parent / "shared/data/anthropometry"


def read_ansur(folder: Path, sex: str) -> np.ndarray:
    """(n, 5) ANSUR II values (mm; body mass in kg), columns in COLUMNS order."""
    with open(folder / FILES[sex], encoding="latin-1", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([[float(r[c]) * SCALE.get(c, 1.0) for c in COLUMNS.values()] for r in rows])


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume (m³) enclosed by a closed, outward-wound triangle mesh: the sum of the signed
    tetrahedra (origin, a, b, c), Σ a · (b × c) / 6 (divergence theorem).

    Parameters
    ----------
    vertices : (V, 3) metres ; faces : (F, 3) vertex ids, counter-clockwise seen from outside.
    """
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->", a, np.cross(b, c)) / 6.0)


def body_values(measurer: BodyMeasurer, vertices: np.ndarray) -> list[float]:
    """One body's row of COLUMNS (mm; body mass in kg) from its rest vertices (V, 3)."""
    values = measurer.measure_vertices(vertices).values
    mass = DENSITY * mesh_volume(vertices, measurer.model.faces)
    return [values[name] * 1000.0 for name in COLUMNS if name != "body_mass"] + [mass]


def measure_bodies(
    sex: str, n: int, rng: np.random.Generator, folder: Path | None = None
) -> np.ndarray:
    """(n, 5) model measurements (mm; body mass in kg) for bodies β ~ N(0, I) of the shipped
    model of ``sex``, or of ``folder/open_body_<sex>.npz``."""
    path = None if folder is None else folder / f"open_body_{sex}.npz"
    model = BodyModel.load(path, gender=sex)
    measurer = BodyMeasurer(model)
    out = np.empty((n, len(COLUMNS)))
    for i, betas in enumerate(rng.standard_normal((n, model.num_betas))):
        out[i] = body_values(
            measurer, model.v_template + np.einsum("vkl,l->vk", model.shapedirs, betas)
        )
    return out


def summary_rows(sex: str, model: np.ndarray, survey: np.ndarray) -> list[str]:
    rows = []
    for k, name in enumerate(COLUMNS):
        m, s = model[:, k], survey[:, k]
        d = 1 if name == "body_mass" else 0  # decimals: kg to 0.1, mm to 1
        ratio = m.std(ddof=1) / s.std(ddof=1)
        m_lo, m_hi, s_lo, s_hi = (np.percentile(x, q) for x in (m, s) for q in (2, 98))
        # issue 11: SD at least 0.9 × the survey's, 2–98 % range covering the survey's
        verdict = "yes" if ratio >= 0.9 and m_lo <= s_lo and m_hi >= s_hi else "no"
        rows.append(
            f"| {sex} | {name} | {m.mean():.{d}f} | {s.mean():.{d}f} | {m.std(ddof=1):.{d}f} | "
            f"{s.std(ddof=1):.{d}f} | {ratio:.2f} | {m_lo:.{d}f}–{m_hi:.{d}f} | "
            f"{s_lo:.{d}f}–{s_hi:.{d}f} | {verdict} |"
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
    parser.add_argument("--models", type=Path, help="folder of other open_body_<sex>.npz files")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    summary, correlations = [], []
    for sex in ("female", "male"):
        survey = read_ansur(args.ansur, sex)
        t0 = time.perf_counter()
        model = measure_bodies(sex, args.bodies, rng, args.models)
        seconds = time.perf_counter() - t0
        print(f"{sex}: {args.bodies} bodies measured in {seconds:.1f} s; ANSUR n = {len(survey)}")
        summary += summary_rows(sex, model, survey)
        correlations += correlation_rows(sex, model, survey)
    print(
        "\n| sex | measurement | model mean | ANSUR mean | model SD | ANSUR SD | SD ratio "
        "| model 2–98 % | ANSUR 2–98 % | SD ≥ 0.9 and covers |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(summary))
    print("\n| sex | pair | model r | ANSUR II r |\n|---|---|---|---|")
    print("\n".join(correlations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
