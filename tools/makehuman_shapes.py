"""MakeHuman's macro shape space and its T-pose, as NumPy.

MakeHuman builds a body as ``base + Σ_k c_k(φ) · target_k`` where φ are the macro parameters
(gender, age, muscle, weight, height, proportions, breast cup size and firmness, and a race
mix), each in [0, 1], and c_k is a product of piecewise-linear weights, one per parameter the
target combines (MakeHuman's ``macro.json``: e.g. ``universal-female-young-maxmuscle-minweight``
weighs ``(1 − gender) · young(age) · max(muscle) · min(weight)``). The neutral value of
height, proportions, cup size and firmness (0.5) has no target.

The base mesh stands in an A-pose. :func:`t_pose` turns the arms and legs of a shaped mesh with
the default rig's skinning weights: each arm is raised in the frontal plane until the upper arm,
forearm and hand point straight out sideways, and each leg is turned about the hip until the
hip-to-ankle line is vertical.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from tools.makehuman_source import MakeHumanData, bone_positions

GENDERS = ("female", "male")
AGES = ("young", "old")  # adults 25–90 years: MakeHuman's age 0.5 → 1.0
RACES = ("african", "asian", "caucasian")
LEVELS = ("min", "average", "max")


def _three_level(value: float) -> dict[str, float]:
    """Weights of the min / average / max variants of a parameter in [0, 1] (0.5 = average)."""
    if value < 0.5:
        low = (0.5 - value) / 0.5
        return {"min": low, "average": 1.0 - low}
    high = (value - 0.5) / 0.5
    return {"average": 1.0 - high, "max": high}


def _two_sided(value: float, low_name: str, high_name: str) -> dict[str, float]:
    """Weights of a parameter whose neutral 0.5 has no target (height, proportions)."""
    if value < 0.5:
        return {low_name: (0.5 - value) / 0.5}
    return {high_name: (value - 0.5) / 0.5}


@dataclass
class Phenotype:
    """MakeHuman macro parameters, each in [0, 1] (``weight`` may exceed 1: its max targets are
    then extrapolated linearly); ``age`` is MakeHuman's (0.5 = 25 years, 1.0 = 90 years) and
    ``race`` three non-negative weights summing to 1."""

    gender: float
    age: float
    muscle: float
    weight: float
    height: float
    proportions: float
    cupsize: float
    firmness: float
    race: tuple[float, float, float]


def all_target_names() -> list[str]:
    """Every macro target an adult phenotype can use (some do not exist: neutral combinations)."""
    names = [f"macrodetails/{r}-{g}-{a}" for r, g, a in itertools.product(RACES, GENDERS, AGES)]
    for g, a, m, w in itertools.product(GENDERS, AGES, LEVELS, LEVELS):
        stem = f"{g}-{a}-{m}muscle-{w}weight"
        names.append(f"macrodetails/universal-{stem}")
        names += [f"macrodetails/height/{stem}-{h}height" for h in ("min", "max")]
        names += [f"macrodetails/proportions/{stem}-{p}proportions" for p in ("uncommon", "ideal")]
        names += [f"breast/{stem}-{c}cup-{f}firmness" for c in LEVELS for f in LEVELS]
    return names


def target_weights(p: Phenotype) -> dict[str, float]:
    """Weight of each macro target for one phenotype (MakeHuman's macro modifier rules)."""
    gender = {"female": 1.0 - p.gender, "male": p.gender}
    age = {"young": 1.0 - (p.age - 0.5) / 0.5, "old": (p.age - 0.5) / 0.5}
    muscle, weight = _three_level(p.muscle), _three_level(p.weight)
    height = _two_sided(p.height, "min", "max")
    proportions = _two_sided(p.proportions, "uncommon", "ideal")
    cup, firm = _three_level(p.cupsize), _three_level(p.firmness)
    out: dict[str, float] = {}
    for (g, wg), (a, wa) in itertools.product(gender.items(), age.items()):
        for r, wr in zip(RACES, p.race):
            out[f"macrodetails/{r}-{g}-{a}"] = wr * wg * wa
        for (m, wm), (w, ww) in itertools.product(muscle.items(), weight.items()):
            base = wg * wa * wm * ww
            stem = f"{g}-{a}-{m}muscle-{w}weight"
            out[f"macrodetails/universal-{stem}"] = base
            for h, wh in height.items():
                out[f"macrodetails/height/{stem}-{h}height"] = base * wh
            for q, wq in proportions.items():
                out[f"macrodetails/proportions/{stem}-{q}proportions"] = base * wq
            for (c, wc), (f, wf) in itertools.product(cup.items(), firm.items()):
                out[f"breast/{stem}-{c}cup-{f}firmness"] = base * wc * wf
    return out


class ShapeSpace:
    """Dense matrix of the macro targets: ``mesh(φ) = base + weights(φ) @ targets``."""

    def __init__(self, data: MakeHumanData) -> None:
        self.base = data.vertices.copy()
        names, rows = [], []
        for name in all_target_names():
            target = data.target(name)
            if target is None:
                continue
            dense = np.zeros_like(self.base)
            dense[target[0]] = target[1]
            names.append(name)
            rows.append(dense.ravel().astype(np.float32))
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.targets = np.stack(rows)  # (K, 3N)

    def coefficients(self, phenotypes: list[Phenotype]) -> np.ndarray:
        """(S, K) target weights of S phenotypes."""
        coeffs = np.zeros((len(phenotypes), len(self.names)))
        for s, p in enumerate(phenotypes):
            for name, w in target_weights(p).items():
                if name in self.index:
                    coeffs[s, self.index[name]] += w
        return coeffs

    def meshes(self, phenotypes: list[Phenotype]) -> np.ndarray:
        """(S, N, 3) shaped A-pose meshes (decimetres, all N base-mesh vertices)."""
        flat = self.coefficients(phenotypes).astype(np.float32) @ self.targets
        return self.base[None] + flat.reshape(len(phenotypes), -1, 3).astype(np.float64)


# ---------------------------------------------------------------------------------- T-pose
def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation (3, 3) that turns direction a into direction b."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis, cos = np.cross(a, b), float(a @ b)
    sin = np.linalg.norm(axis)
    if sin < 1e-12:
        return np.eye(3)
    k = axis / sin
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + sin * K + (1 - cos) * K @ K


def _rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class TPoser:
    """Poses shaped MakeHuman meshes from the A-pose into a T-pose with the default rig."""

    def __init__(self, data: MakeHumanData) -> None:
        self.data = data
        self.children: dict[str, list[str]] = {b: [] for b in data.rig}
        for bone, entry in data.rig.items():
            if entry["parent"]:
                self.children[entry["parent"]].append(bone)
        n = len(data.vertices)
        self.bones = list(data.rig)
        self.weights = np.zeros((n, len(self.bones)))
        for j, bone in enumerate(self.bones):
            idx, w = data.bone_weights.get(bone, (np.zeros(0, dtype=np.int64), np.zeros(0)))
            self.weights[idx, j] = w

    def subtree(self, bone: str) -> list[str]:
        out, stack = [], [bone]
        while stack:
            b = stack.pop()
            out.append(b)
            stack.extend(self.children[b])
        return out

    def pose(self, vertices: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """T-pose one shaped mesh.

        Parameters
        ----------
        vertices : (N, 3) shaped A-pose mesh.

        Returns
        -------
        posed : (N, 3) T-posed mesh (every vertex skinned, helpers included).
        points : bone name + ":head"/":tail" -> (3,) T-posed rig point.
        """
        rest = bone_positions(self.data, vertices)
        rot = {b: np.eye(3) for b in self.bones}
        trans = {b: np.zeros(3) for b in self.bones}

        def world(bone: str, point: np.ndarray) -> np.ndarray:
            return rot[bone] @ point + trans[bone]

        def turn(bone: str, R: np.ndarray) -> None:
            """Turn bone and its subtree by R (world frame) about the bone's posed head."""
            pivot = world(bone, rest[bone + ":head"])
            for b in self.subtree(bone):
                rot[b] = R @ rot[b]
                trans[b] = R @ (trans[b] - pivot) + pivot

        def align(bone: str, start: str, end: str, direction: np.ndarray) -> None:
            a = world(bone, rest[end]) - world(bone, rest[start])
            turn(bone, _rotation_between(a, direction))

        for side, sign in ((".L", 1.0), (".R", -1.0)):
            out = np.array([sign, 0.0, 0.0])
            # MakeHuman's own T-pose lifts the clavicle 10° and the scapula 8° before the arm.
            turn("clavicle" + side, _rotation_z(sign * np.radians(10.0)))
            turn("shoulder01" + side, _rotation_z(sign * np.radians(8.0)))
            align(
                "upperarm01" + side,
                "upperarm01" + side + ":head",
                "lowerarm01" + side + ":head",
                out,
            )
            align(
                "lowerarm01" + side, "lowerarm01" + side + ":head", "wrist" + side + ":head", out
            )
            align("wrist" + side, "wrist" + side + ":head", "finger3-1" + side + ":head", out)
            down = np.array([0.0, -1.0, 0.0])
            align(
                "upperleg01" + side, "upperleg01" + side + ":head", "foot" + side + ":head", down
            )

        # Linear blend skinning with the rig's weights: v' = (Σ_b w_b [R_b | t_b]) [v; 1].
        T = np.concatenate(
            [
                np.stack([rot[b] for b in self.bones]),
                np.stack([trans[b] for b in self.bones])[..., None],
            ],
            axis=2,
        )  # (B, 3, 4)
        blended = (self.weights @ T.reshape(len(self.bones), 12)).reshape(-1, 3, 4)
        posed = np.einsum("nij,nj->ni", blended[:, :, :3], vertices) + blended[:, :, 3]
        owner = {}
        for bone in self.bones:
            owner[bone + ":head"] = self.data.rig[bone]["parent"] or bone
            owner[bone + ":tail"] = bone
        points = {k: world(owner[k], p) for k, p in rest.items()}
        return posed, points
