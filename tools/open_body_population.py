"""The population of MakeHuman phenotypes behind the open body models' shape spaces.

Per sex, four macro parameters are drawn jointly: weight, muscle, proportions and breast size
(MakeHuman's ``cupsize``). Each has a Beta marginal scaled to its range :data:`HIGH` (from 0),
set by its mean μ (as a share of the range) and its concentration κ (a = μκ, b = (1 − μ)κ;
κ = 2 with μ = 0.5 is uniform), and they are tied by a Gaussian copula: weight and muscle with
correlation ρ_wm, weight and breast size with ρ_wc. The other parameters are drawn
independently: age 25–70 years uniformly, gender near the sex's end, breast firmness
N(0.5, 0.2), a Dirichlet(1, 1, 1) mix of the three ethnic base shapes; stature is set per body
afterwards (``calibrate_heights`` in the build).

The numbers in :data:`POPULATION` come from ``tools/calibrate_open_body_population.py``, which
fits them so that bodies drawn with β ~ N(0, I) from the built models match ANSUR II, widened
toward the general public's heavier tail (``blender_smplify/data/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, ndtr, ndtri

from tools.makehuman_shapes import Phenotype

#: the parameters drawn jointly, in this order
JOINT = ("weight", "muscle", "proportions", "cupsize")
#: Upper end of each one's range (all start at 0). MakeHuman's sliders stop at 1, and its
#: heaviest body (weight 1, "150 % of normal") is only about the ANSUR II average (women about
#: 68 kg, waist 85 cm): weights above 1 extrapolate its max-weight targets linearly (the mesh is
#: ``average + w' · (max − average)`` with w' = 2 · weight − 1), as the heavier half of the
#: public needs. 1.75 is the heaviest sampled body, w' = 2.5.
HIGH = np.array([1.75, 1.0, 1.0, 1.0])


@dataclass(frozen=True)
class Population:
    """Sampling distribution of one sex: Beta means and concentrations of :data:`JOINT`, the
    copula correlations weight–muscle and weight–breast size, and stature (mean, SD) in metres
    as MakeHuman's A-pose mesh measures it (top of the head to the sole)."""

    mean: tuple[float, float, float, float]
    concentration: tuple[float, float, float, float]
    rho_weight_muscle: float
    rho_weight_cupsize: float
    stature: tuple[float, float]

    def correlation(self) -> np.ndarray:
        """(4, 4) copula correlation matrix of :data:`JOINT`."""
        R = np.eye(4)
        R[0, 1] = R[1, 0] = self.rho_weight_muscle
        R[0, 3] = R[3, 0] = self.rho_weight_cupsize
        return R

    def beta_ab(self) -> tuple[np.ndarray, np.ndarray]:
        mean, kappa = np.asarray(self.mean), np.asarray(self.concentration)
        return mean * kappa, (1.0 - mean) * kappa

    def draw(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """(count, 4) values of :data:`JOINT`: correlated normals → uniforms → Beta quantiles."""
        from scipy.stats import beta

        z = rng.standard_normal((count, 4)) @ np.linalg.cholesky(self.correlation()).T
        a, b = self.beta_ab()
        u = np.clip(ndtr(z), 1e-12, 1.0 - 1e-12)
        return HIGH * np.clip(beta.ppf(u, a, b), 0.0, 1.0)

    def log_density(self, values: np.ndarray) -> np.ndarray:
        """(n,) log density of values (n, 4) of :data:`JOINT` (Beta marginals × copula), up to
        a constant."""
        a, b = self.beta_ab()
        x = np.clip(values / HIGH, 1e-9, 1.0 - 1e-9)
        marginal = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - betaln(a, b)
        from scipy.stats import beta

        z = ndtri(np.clip(beta.cdf(x, a, b), 1e-12, 1.0 - 1e-12))
        R = self.correlation()
        quad = np.einsum("ni,ij,nj->n", z, np.linalg.inv(R) - np.eye(4), z)
        return marginal.sum(axis=1) - 0.5 * quad - 0.5 * np.log(np.linalg.det(R))


#: Calibrated per sex by tools/calibrate_open_body_population.py (3 rounds, pool of 1,500 per
#: sex), except stature: a trial build measured 1,619 ± 69 mm (women) and 1,750 ± 66 mm (men)
#: against ANSUR II's 1,628 ± 64 and 1,756 ± 69, so its mean was raised by that gap and its SD
#: scaled to about 1.1 × ANSUR's. (The pool's estimate was off: 4 of its 1,500 bodies per sex
#: grew to 2.3–2.5 m, heavy ones whose min-height targets do not shorten them; calibrate_heights
#: now leaves those at the neutral height.)
POPULATION = {
    "female": Population(
        mean=(0.6964, 0.5224, 0.2123, 0.5387),
        concentration=(3.436, 9.355, 2.355, 1.100),
        rho_weight_muscle=-0.0235,
        rho_weight_cupsize=0.0465,
        stature=(1.6294, 0.0738),
    ),
    "male": Population(
        mean=(0.5404, 0.5238, 0.4999, 0.9079),
        concentration=(3.042, 6.578, 1.005, 7.307),
        rho_weight_muscle=-0.1913,
        rho_weight_cupsize=-0.0520,
        stature=(1.7490, 0.0793),
    ),
}


def clip(x: float) -> float:
    """``x`` clipped to MakeHuman's macro range [0, 1]."""
    return float(np.clip(x, 0.0, 1.0))


def phenotypes_from(rng: np.random.Generator, sex: str, joint: np.ndarray) -> list[Phenotype]:
    """Phenotypes of one sex with the given :data:`JOINT` values (n, 4); the independent
    parameters are drawn here, in a fixed order per body."""
    out = []
    for weight, muscle, proportions, cupsize in joint:
        lean = min(abs(rng.normal(0.0, 0.08)), 0.25)  # how far from the sex's extreme
        years = rng.uniform(25.0, 70.0)
        out.append(
            Phenotype(
                gender=lean if sex == "female" else 1.0 - lean,
                age=0.5 + (years - 25.0) / 65.0 * 0.5,
                muscle=float(muscle),
                weight=float(weight),
                height=0.5,  # set by calibrate_heights
                proportions=float(proportions),
                cupsize=float(cupsize),
                firmness=clip(rng.normal(0.5, 0.2)),
                race=tuple(rng.dirichlet((1.0, 1.0, 1.0))),
            )
        )
    return out


def sample_phenotypes(
    rng: np.random.Generator, sex: str, count: int, population: Population | None = None
) -> list[Phenotype]:
    """``count`` adult phenotypes of one sex from its :data:`POPULATION` entry."""
    population = population or POPULATION[sex]
    return phenotypes_from(rng, sex, population.draw(rng, count))
