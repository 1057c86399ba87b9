"""Train the 2D→3D lifter (``onnx_models/lifter_blazepose33.onnx``) on the mocap training data.

Usage (build time only; torch in a private venv, see ``tools/requirements-lifter.txt``)::

    PYTHONPATH=. /tmp/venvs/lift/bin/python -m tools.train_lifter [--cache /tmp/lift]

The defaults are the shipped model's first run (60 epochs, 10.6 min on one shared core; the
first run reads and caches the mocap, about 45 s); the shipped file is that network continued
(``--init`` it ``--lr 1e-4 --decay-to 0.13 --minutes 15 --nll-weight 0 --sign-weight 0.1``,
``onnx_models/lifter_blazepose33.md``). Training stops after ``--max-epochs`` (seeded, so the
same data give the same network) or, on a slow machine, after ``--minutes`` (not seeded; nor is
``--decay-to``, whose rate follows the clock).

Steps:

1. Poses: SMPL poses of the CMU trials not in ``HELD_OUT_TRIALS`` (the cgspeed copies of
   ``DUPLICATE_TRIALS`` dropped) and the HDM05 training clips, cleaned as for the pose prior
   (``clean_poses``); held-out poses (``load_held_out_cases``) only for the report. Optionally
   widened (off by default; measured, not used for the shipped file, ``docs/fit_apose_chair.md``):
   ``--straighten P`` straightens a share of the knees and elbows (``straightened``),
   ``--abduct P`` raises a share of the arms sideways (``abducted``).
2. Samples: each pose (its own global orientation kept; 30 % of the bodies also tilted by up to
   100°) posed with the open body models (neutral, female or male, β ~ N(0, I)),
   its blazepose33 points (the fit's own ``FitSetup`` kinematics: joints, surface landmarks),
   seen by a random camera (yaw 360°, pitch ±30°, roll ±10°, distance 2–8 m, focal
   24–70 mm-equivalent, the person anywhere in frame), 2D noise of 1–2 % of the body height
   (or, with ``--noise``, like the detector's: its hip and shoulder offset, per-keypoint spread
   and outliers as ``benchmarks/studies/lifter_confidence.py noise`` measures them), up to
   20 % of the points dropped, mirrored half of the time; with ``--empirical``, a share of the
   views gets instead the detector's own errors and dropped points on the rendered
   benchmark's tuning half, a whole render's set at a time (``lifter_confidence.py
   residuals``, ``tools/lifter_noise.py``'s ``empirical_noise``). The network's input and
   output are those of :mod:`blender_smplify.core.lifter` (``normalise``): the rays through the
   points in the frame of the virtual camera looking at the hips, centred and scaled.
3. Network: Martinez et al. (2017), "A simple yet effective baseline for 3d human pose
   estimation": linear → 2 residual blocks of two linear–BN–ReLU–dropout layers → linear (the
   points, then each point's log expected error); trained with Adam on the mean per-point
   distance plus ``--nll-weight`` × the errors' likelihood (``point_loss``), exported to ONNX
   (outputs ``points`` and ``log_error``; BN folded, fp32) and checked against onnxruntime.
   ``--baseline FILE.onnx`` measures another network on the same held-out views.
   With ``--sign-weight W`` > 0 a third output, ``away_logit``: for each of the 8 limb segments
   the log-odds that its child end lies farther along the line of sight than its parent,
   trained by W × binary cross-entropy on the true sign (``tools/lifter_signs.py``); with
   ``--init FILE.onnx --signs-only``, only those 8 rows, on a trained network's frozen features.

Seeded: the same data and seed give the same network.

On a machine with a GPU, ``--workers N --device cuda`` poses the bodies and makes each chunk of
views in N processes while the GPU trains (``tools/lifter_stream.py``; not bit-for-bit
repeatable), and ``--state-out`` keeps the torch weights for ``tools/export_lifter.py``. The
shipped file was trained so on a lent H200 (``onnx_models/lifter_blazepose33.md``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.lifter import (
    HIPS as LIFTED_HIPS,
)
from blender_smplify.core.lifter import (
    INPUT_SIZE,
    LAYOUT,
    MIRROR,
    OUTPUT_SIZE,
    SEGMENT_ENDS,
    mirror_points,
    network_input,
    to_camera,
)
from blender_smplify.core.lifter import (
    NUM_POINTS as NUM,
)
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues
from tools.lifter_noise import apply_torso_bias, detector_noise, empirical_noise
from tools.lifter_signs import (
    load_onnx_weights,
    sign_loss,
    sign_report,
    sign_targets,
    train_sign_rows,
)
from tools.lifter_stream import posed_in_parallel, train_streamed
from tools.pose_prior_data import (
    DUPLICATE_TRIALS,
    HELD_OUT_TRIALS,
    clean_poses,
    load_hdm05_poses,
    load_held_out_cases,
    load_smpl_poses,
)

logger = logging.getLogger("train_lifter")
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "onnx_models" / "lifter_blazepose33.onnx"
GENDERS = ("neutral", "female", "male")
LAYOUT_INDEX = {n: i for i, n in enumerate(LAYOUT.names)}
#: Share of the training bodies tilted away from the mocap's own orientation.
TILTED = 0.3
#: SMPL joints whose bend ``--straighten`` takes out: the knees and elbows.
BENDING_JOINTS = (4, 5, 18, 19)
#: SMPL shoulder joints that ``--abduct`` raises, and the sign of a raise about the body's
#: forward axis (the left arm lies along +x at rest, the right along −x).
SHOULDERS = ((16, 1.0), (17, -1.0))
#: The most ``--abduct`` raises an arm (degrees).
MAX_ABDUCTION = 45.0


# ---- 1. poses --------------------------------------------------------------------------------


def training_poses() -> np.ndarray:
    """(N, 72) cleaned poses of the CMU training trials and the HDM05 training clips."""
    drop = {cgs for _, cgs in DUPLICATE_TRIALS} | set(HELD_OUT_TRIALS)
    cmu = load_smpl_poses()
    parts = [clean_poses(t, p) for t, p in cmu.items() if t not in drop]
    hdm = load_hdm05_poses(split="train")
    parts += [clean_poses(n, p) for n, p in hdm.items()]
    logger.info("training poses: %d CMU trials, %d HDM05 clips", len(parts) - len(hdm), len(hdm))
    return np.concatenate(parts)


def cached_poses(cache: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Training poses (N, 72) and held-out poses by category, read from or written to cache."""
    path = cache / "poses.npz"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        train = training_poses()
        held = load_held_out_cases()
        np.savez(path, train=train, **{"held:" + k: v for k, v in held.items()})
    data = np.load(path)
    held = {k.removeprefix("held:"): data[k] for k in data.files if k.startswith("held:")}
    return data["train"], held


def straightened(poses: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Poses (N, 72) with each knee and elbow (``BENDING_JOINTS``), independently with
    probability ``share``, bent by only 0-15 % of its mocap angle (same axis): the mocap holds
    few straight limbs held away from the body (3 % of its arms are straight, interior angle
    above 160°, and 25-60° from hanging, as in an A-pose), and a lifter trained on it bends
    them (``docs/fit_apose_chair.md``)."""
    out = poses.copy()
    for j in BENDING_JOINTS:
        pick = np.flatnonzero(rng.random(len(out)) < share)
        out[pick, 3 * j : 3 * j + 3] *= rng.uniform(0.0, 0.15, (len(pick), 1))
    return out


def abducted(poses: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Poses (N, 72) with each arm, independently with probability ``share``, raised sideways by
    0-``MAX_ABDUCTION``° (its shoulder turned about the body's forward axis before its own
    rotation): the mocap's arms hang within 25° of the body 60 % of the time, and a lifter
    trained on it pulls arms held apart (A-poses) in toward the body where the view puts that
    apart in depth (``docs/fit_apose_chair.md``)."""
    out = poses.copy()
    for j, sign in SHOULDERS:
        pick = np.flatnonzero(rng.random(len(out)) < share)
        angle = sign * np.radians(rng.uniform(0.0, MAX_ABDUCTION, len(pick)))
        for i, a in zip(pick, angle):
            R = rodrigues(np.array([0.0, 0.0, a])) @ rodrigues(out[i, 3 * j : 3 * j + 3])
            out[i, 3 * j : 3 * j + 3] = matrix_to_rotvec(R)
    return out


# ---- 2. samples ------------------------------------------------------------------------------


def body_points(poses: np.ndarray, rng: np.random.Generator, tilted: float = TILTED) -> np.ndarray:
    """(N, 33, 3) blazepose33 points of each pose in the y-up mocap frame (its own global
    orientation kept: bending, lying), on a random gender's model with β ~ N(0, I); a share
    ``tilted`` of them also tilted by up to 100° about a random horizontal axis (lying, crawling
    and sitting bodies the mocap has few of)."""
    out = np.empty((len(poses), 33, 3))
    genders = rng.integers(0, len(GENDERS), len(poses))
    for g, gender in enumerate(GENDERS):
        setup = get_setup(BodyModel.load(gender=gender), "blazepose33", 10, False)
        for i in np.flatnonzero(genders == g):
            pts, _ = setup.kin.evaluate(poses[i], rng.standard_normal(10), np.zeros(3), False)
            out[i] = pts[setup.point_index]
    tilt = np.flatnonzero(rng.random(len(poses)) < tilted)
    heading = rng.uniform(0, 2 * np.pi, len(tilt))
    axis = np.stack([np.cos(heading), np.zeros(len(tilt)), np.sin(heading)], axis=1)
    rotvec = axis * np.radians(rng.uniform(0, 100, len(tilt)))[:, None]
    R = np.stack([rodrigues(r) for r in rotvec]) if len(tilt) else np.zeros((0, 3, 3))
    out[tilt] = np.einsum("nij,nkj->nki", R, out[tilt])
    return out


def _axis_rotations(angle: np.ndarray, axis: int) -> np.ndarray:
    """(n, 3, 3) rotations by angle (n,) about a coordinate axis."""
    i, j = [k for k in range(3) if k != axis]
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros((len(angle), 3, 3))
    R[:, axis, axis] = 1.0
    R[:, i, i], R[:, i, j], R[:, j, i], R[:, j, j] = c, -s, s, c
    return R


def random_rotation(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3, 3) model-to-camera rotations: OpenCV camera (y down, z forward) looking at a
    y-up body with yaw uniform over 360°, pitch ±30° and roll ±10°."""
    yaw = _axis_rotations(rng.uniform(-np.pi, np.pi, n), 1)
    pitch = _axis_rotations(np.radians(rng.uniform(-30, 30, n)), 0)
    roll = _axis_rotations(np.radians(rng.uniform(-10, 10, n)), 2)
    flip = np.diag([1.0, -1.0, -1.0])  # y-up model facing +z → facing an OpenCV camera
    return roll @ pitch @ flip @ yaw


def random_views(
    points: np.ndarray, rng: np.random.Generator, profile: dict | None = None, empirical=None
):
    """Project model-frame points (N, 33, 3) through random cameras; 2D noise of 1–2 % of the
    body height and 0–20 % of the points dropped, or like the detector's when ``profile`` is
    given (:func:`detector_noise`); with ``empirical`` (:class:`Empirical`), its share of the
    views instead takes the detector's own errors and dropping (:func:`empirical_noise`).

    Returns
    -------
    xy : (N, 33, 2) pixels with noise; conf : (N, 33) 0/1 (dropped points 0);
    focal : (N,) pixels; centre : (N, 2) principal points; camera : (N, 33, 3) exact points in
    the camera frame (metres).
    """
    n = len(points)
    size = np.stack([rng.uniform(600, 1600, n), rng.uniform(600, 1600, n)], axis=1)
    focal_mm = rng.uniform(24, 70, n)
    focal = focal_mm / 43.27 * np.hypot(size[:, 0], size[:, 1])  # 35 mm-equivalent diagonal
    centre = size / 2
    R = random_rotation(n, rng)
    cam = np.einsum("nij,nkj->nki", R, points)
    height = np.ptp(points, axis=1).max(1)  # the body's largest extent
    distance = rng.uniform(2, 8, n)
    # the hips anywhere in the frame (a margin of ~ a third of the body's image size)
    half = size / 2 / focal[:, None]  # tan of the half field of view
    body = (height / distance)[:, None] / 3
    aim = rng.uniform(-1, 1, (n, 2)) * np.maximum(half - body, 0.0)
    cam = cam + (np.concatenate([aim, np.ones((n, 1))], axis=1) * distance[:, None])[:, None]
    xy = cam[:, :, :2] / cam[:, :, 2:] * focal[:, None, None] + centre[:, None]
    if profile is None:
        noise = rng.uniform(0.01, 0.02, n) * height * focal / distance
        xy = xy + rng.standard_normal(xy.shape) * noise[:, None, None] / np.sqrt(2)
    else:
        xy = apply_torso_bias(xy, profile["bias"])
        xy = xy + detector_noise(xy, profile, rng)
    conf = (rng.random((n, 33)) > rng.uniform(0, 0.2, (n, 1))).astype(np.float64)
    if empirical is not None:
        own = np.flatnonzero(rng.random(n) < empirical.share)
        clean = cam[own, :, :2] / cam[own, :, 2:] * focal[own, None, None] + centre[own, None]
        err, kept = empirical_noise(clean, empirical.bank, rng, empirical.correlated)
        xy[own], conf[own] = clean + err, kept
    return xy, conf, focal, centre, cam


@dataclass(frozen=True)
class Empirical:
    """The detector's own errors (``residual_bank``, read from ``--empirical``), given to a
    ``share`` of the training views, a whole render's set at a time when ``correlated``."""

    bank: dict
    share: float
    correlated: bool


def samples(
    points: np.ndarray,
    rng: np.random.Generator,
    mirror: bool = True,
    profile: dict | None = None,
    empirical: Empirical | None = None,
):
    """Network inputs (N, 99) and targets (N, 99) of model-frame points (N, 33, 3) under random
    cameras (2D noise: :func:`random_views`); with ``mirror``, half of them left-right
    mirrored. Also the camera-frame truth (N, 33, 3), R_c (N, 3, 3) and the depth-sign
    targets (N, 8) (``lifter_signs.sign_targets``)."""
    xy, conf, focal, centre, cam = random_views(points, rng, profile, empirical)
    inputs, R = network_input(xy, conf, focal, centre)
    hips = cam[:, list(LIFTED_HIPS)].mean(1, keepdims=True)
    target = np.einsum("nki,nij->nkj", cam - hips, R)  # R_cᵀ (p − hips), row vectors
    flip = np.zeros(len(inputs), dtype=bool)
    if mirror:
        flip = rng.random(len(inputs)) < 0.5
        q = inputs[flip, : 2 * NUM].reshape(-1, NUM, 2)
        inputs[flip, : 2 * NUM] = mirror_points(q).reshape(-1, 2 * NUM)
        inputs[flip, 2 * NUM :] = inputs[flip, 2 * NUM :][:, MIRROR]
        target[flip] = mirror_points(target[flip])
    target = target.reshape(len(target), -1).astype(np.float32)
    return inputs.astype(np.float32), target, cam, R, sign_targets(cam, flip)


# ---- 3. network ------------------------------------------------------------------------------


def build_network(width: int, blocks: int, dropout: float, signs: bool = False):
    """Martinez et al. (2017): linear-BN-ReLU-dropout in, residual blocks, linear out: the 33
    points (99) then the log of each point's expected error (33, :func:`point_loss`), then
    with ``signs`` the 8 limb segments' depth-sign logits (``lifter_signs``)."""
    import torch.nn as nn

    def layer():
        return [nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout)]

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*layer(), *layer())

        def forward(self, x):
            return x + self.body(x)

    return nn.Sequential(
        nn.Linear(INPUT_SIZE, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout),
        *[Residual() for _ in range(blocks)],
        nn.Linear(width, OUTPUT_SIZE + NUM + (len(SEGMENT_ENDS) if signs else 0)),
    )  # fmt: skip


def point_loss(out, target, nll_weight: float):
    """Mean point distance plus ``nll_weight`` × the negative log-likelihood of a Laplace-like
    density of each point's error e given its predicted expected error s = exp(ℓ):
    p(e) ∝ exp(−3‖e‖/s) / s³ (Kendall & Gal 2017, Eq. 8 in 3D), whose minimum over s is at
    s = E‖e‖. The error enters the likelihood detached, so the points learn as without it."""
    err = (out[:, :OUTPUT_SIZE] - target).reshape(-1, NUM, 3).norm(dim=2)
    log_s = out[:, OUTPUT_SIZE : OUTPUT_SIZE + NUM]
    nll = 3.0 * (err.detach() * (-log_s).exp() + log_s)
    return err.mean() + nll_weight * nll.mean(), err.mean()


def train_on_batches(net, opt, x, y, signs, order, args):
    """One Adam step per whole batch of ``args.batch`` samples x (C, 99), targets y (C, 99) and
    depth signs (C, 8) (torch tensors), taken in ``order`` (C,): on the mean point distance
    plus ``args.nll_weight`` × the errors' likelihood (:func:`point_loss`) and
    ``args.sign_weight`` × the sign loss. Returns the summed distance × batch size, a tensor
    on x's device (no synchronisation per step)."""
    import torch

    total = torch.zeros((), device=x.device)
    for b in range(0, len(x) - args.batch + 1, args.batch):
        idx = order[b : b + args.batch]
        out = net(x[idx])
        loss, distance = point_loss(out, y[idx], args.nll_weight)
        if args.sign_weight > 0:
            loss = loss + args.sign_weight * sign_loss(out[:, OUTPUT_SIZE + NUM :], signs[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += distance.detach() * len(idx)
    return total


def train(net, points: np.ndarray, args, rng: np.random.Generator) -> list[dict]:
    """Adam on the mean per-point distance, fresh random views of the training bodies every
    epoch, the learning rate decayed exponentially; stops after ``args.minutes``."""
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    history, start, epoch = [], time.perf_counter(), 0
    while time.perf_counter() - start < 60 * args.minutes and epoch < args.max_epochs:
        x, y, _, _, signs = samples(points, rng, profile=args.profile,
                                    empirical=args.empirical_noise)  # fmt: skip
        x, y, signs = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(signs)
        order = torch.from_numpy(rng.permutation(len(x)))
        net.train()
        total = float(train_on_batches(net, opt, x, y, signs, order, args))
        for group in opt.param_groups:
            if args.decay_to is None:
                group["lr"] *= args.decay
            else:  # the rate falls to decay_to × lr over the time allowed, whatever the load
                spent = min((time.perf_counter() - start) / (60 * args.minutes), 1.0)
                group["lr"] = args.lr * args.decay_to**spent
        epoch += 1
        history.append({"epoch": epoch, "train_mm": 1e3 * total / len(x),
                        "minutes": (time.perf_counter() - start) / 60})  # fmt: skip
        logger.info("epoch %d: %.1f mm (%.1f min)", epoch, history[-1]["train_mm"],
                    history[-1]["minutes"])  # fmt: skip
    return history


#: Each ONNX output's columns of the network's last layer.
OUTPUT_ENDS = {
    "points": (0, OUTPUT_SIZE),
    "log_error": (OUTPUT_SIZE, OUTPUT_SIZE + NUM),
    "away_logit": (OUTPUT_SIZE + NUM, OUTPUT_SIZE + NUM + len(SEGMENT_ENDS)),
}


def export(net, path: Path, signs: bool = False, errors: bool = True) -> float:
    """Write the network to ONNX (eval mode, fp32) and return the largest difference between
    onnxruntime's and torch's outputs on random inputs (:func:`onnx_difference`); without
    ``errors``, no ``log_error`` output (a sign head added to a network trained without the
    error rows)."""
    import torch

    names = ["points"] + (["log_error"] if errors else []) + (["away_logit"] if signs else [])

    class Outputs(torch.nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            out = self.body(x)
            return tuple(out[:, slice(*OUTPUT_ENDS[name])] for name in names)

    wrapped = Outputs(net).eval()  # the wrapper's mode is what the export restores
    dummy = torch.randn(64, INPUT_SIZE)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {name: {0: "n"} for name in ["keypoints", *names]}
    torch.onnx.export(wrapped, (dummy,), str(path), input_names=["keypoints"],
                      output_names=names, dynamic_axes=axes,
                      opset_version=17, dynamo=False)  # fmt: skip
    return onnx_difference(path, net, dummy)


def onnx_difference(path: Path, net, x) -> float:
    """Largest |onnxruntime − torch| over the outputs the ONNX file at ``path`` has (its
    columns of ``net``'s last layer by name, :data:`OUTPUT_ENDS`), on inputs x (N, 99), a torch
    tensor; ``net`` is put in eval mode."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    columns = np.concatenate([np.arange(*OUTPUT_ENDS[name]) for name in names])
    with torch.no_grad():
        expected = net.eval()(x).numpy()[:, columns]
    got = np.concatenate(session.run(None, {"keypoints": x.numpy()}), axis=1)
    return float(np.abs(got - expected).max())


# ---- evaluation ------------------------------------------------------------------------------

LIMB_POINTS = [(f"{s}_{a}", f"{s}_{b}") for s in ("left", "right")
               for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"),
                            ("knee", "ankle"))]  # fmt: skip


def backwards_share(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """(backwards, counted) limb segments over N bodies (N, 33, 3) in the camera frame, as
    ``benchmarks/depth_metrics.py`` counts them (clearly out of the image plane: |Δ|/len > 0.3)."""
    a = [LAYOUT_INDEX[p] for p, _ in LIMB_POINTS]
    b = [LAYOUT_INDEX[q] for _, q in LIMB_POINTS]
    ray = truth[:, a] + truth[:, b]
    ray /= np.linalg.norm(ray, axis=2, keepdims=True)
    d_true = np.einsum("nkj,nkj->nk", truth[:, b] - truth[:, a], ray)
    d_pred = np.einsum("nkj,nkj->nk", pred[:, b] - pred[:, a], ray)
    clear = np.abs(d_true) / np.linalg.norm(truth[:, b] - truth[:, a], axis=2) > 0.3
    return int((clear & (np.sign(d_pred) != np.sign(d_true))).sum()), int(clear.sum())


def evaluate(
    run, points: np.ndarray, rng: np.random.Generator, profile=None, empirical=None
) -> dict:
    """MPJPE (hip-centred, mm, all 33 points and the 12 limb points) and backwards limb
    segments of ``run`` (inputs (N, 99) → points (N, 99) and log expected errors (N, 33) or
    None) on random views of points; with the errors, the rank correlation of predicted and
    true point errors and their mean ratio (1 = calibrated)."""
    from scipy.stats import spearmanr

    x, _, cam, R, _ = samples(points, rng, mirror=False, profile=profile, empirical=empirical)
    hips = cam[:, list(LIFTED_HIPS)].mean(1, keepdims=True)
    out, log_error, away_logit = run(x)
    pred = to_camera(out, R) + hips
    err = np.linalg.norm(pred - cam, axis=2)
    limbs = sorted({LAYOUT_INDEX[n] for pair in LIMB_POINTS for n in pair})
    back, counted = backwards_share(pred, cam)
    report = {"samples": len(x), "mpjpe33_mm": 1e3 * float(err.mean()),
              "mpjpe_limbs_mm": 1e3 * float(err[:, limbs].mean()),
              "median_case_mm": 1e3 * float(np.median(err.mean(1))),
              "backwards": back, "segments": counted,
              "backwards_pct": 100.0 * back / max(counted, 1)}  # fmt: skip
    if log_error is not None:
        used = x[:, 2 * NUM :] > 0
        s = np.exp(log_error)[used]
        report["error_rank_corr"] = float(spearmanr(s, err[used]).statistic)
        report["error_ratio"] = float(err[used].mean() / s.mean())
    if away_logit is not None:
        report["signs"] = sign_report(away_logit, cam, pred)
    return report


def onnx_runner(path: Path):
    """run(x) → (points (N, 99), log errors (N, 33) or None, depth-sign logits (N, 8) or None)
    of an ONNX lifter file."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]

    def run(x):
        out = dict(zip(names, session.run(None, {"keypoints": x})))
        return out[names[0]], out.get("log_error"), out.get("away_logit")

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lift"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bodies", type=int, default=3, help="random bodies per pose")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.25)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--decay", type=float, default=0.93)
    parser.add_argument("--minutes", type=float, default=30.0, help="stop earlier (not seeded)")
    parser.add_argument(
        "--decay-to", type=float, default=None,
        help="instead of --decay: the rate's last share, reached at --minutes (not seeded)",
    )  # fmt: skip
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=0,
        help="make the views in this many processes and train on --device (lifter_stream)",
    )  # fmt: skip
    parser.add_argument("--device", default="cpu", help="torch device for --workers (cuda)")
    parser.add_argument("--chunk", type=int, default=16384, help="bodies per --workers chunk")
    parser.add_argument(
        "--state-out", type=Path, default=None, help="also save the trained torch weights here"
    )
    parser.add_argument(
        "--nll-weight", type=float, default=0.1, help="weight of the expected-error likelihood"
    )
    parser.add_argument(
        "--sign-weight", type=float, default=0.0, help="weight of the depth-sign head (0: none)"
    )
    parser.add_argument(
        "--init", type=Path, default=None, help="start from this trained lifter's weights"
    )
    parser.add_argument(
        "--signs-only", action="store_true",
        help="train only the depth-sign rows on the --init network's frozen features",
    )  # fmt: skip
    parser.add_argument(
        "--noise", type=Path, default=None, help="detector noise profile (detector_noise)"
    )
    parser.add_argument(
        "--empirical", type=Path, default=None, help="the detector's own errors (residual_bank)"
    )
    parser.add_argument(
        "--empirical-share", type=float, default=0.5, help="share of views with --empirical"
    )
    parser.add_argument(
        "--independent", action="store_true", help="--empirical per keypoint, not per render"
    )
    parser.add_argument(
        "--straighten", type=float, default=0.0,
        help="share of knees and elbows straightened in the training poses (straightened)",
    )  # fmt: skip
    parser.add_argument(
        "--abduct", type=float, default=0.0,
        help="share of arms raised sideways in the training poses (abducted)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another lifter measured on the same views"
    )
    args = parser.parse_args(argv)
    args.profile = json.loads(args.noise.read_text()) if args.noise else None
    args.empirical_noise = None
    if args.empirical:
        bank = dict(np.load(args.empirical))
        args.empirical_noise = Empirical(bank, args.empirical_share, not args.independent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    train_poses, held = cached_poses(args.cache)
    poses = np.concatenate([train_poses] * args.bodies)
    if args.straighten > 0:
        poses = straightened(poses, rng, args.straighten)
    if args.abduct > 0:
        poses = abducted(poses, rng, args.abduct)
    t0 = time.perf_counter()
    if args.workers:
        points = posed_in_parallel(poses, args.seed, args.workers)
    else:
        points = body_points(poses, rng)
    logger.info("%d training bodies posed in %.0f s", len(points), time.perf_counter() - t0)
    net = build_network(args.width, args.blocks, args.dropout, signs=args.sign_weight > 0)
    errors = True
    if args.init:
        errors = load_onnx_weights(net, args.init) > OUTPUT_SIZE
    if args.signs_only:
        views = partial(samples, points, profile=args.profile, empirical=args.empirical_noise)
        history = train_sign_rows(net, views, args, rng)
    elif args.workers:
        history = train_streamed(net, points, args, args.device)
    else:
        history = train(net, points, args, rng)
    if args.state_out:
        torch.save(net.state_dict(), args.state_out)
    if not errors:  # the --init network had no error rows: leave none untrained in the file
        with torch.no_grad():
            net[-1].weight[OUTPUT_SIZE : OUTPUT_SIZE + NUM] = 0.0
            net[-1].bias[OUTPUT_SIZE : OUTPUT_SIZE + NUM] = 0.0
    diff = export(net, args.out, signs=args.sign_weight > 0, errors=errors)
    logger.info("onnxruntime vs torch: max |Δ| = %.2e", diff)
    if diff > 1e-4:
        raise SystemExit(f"onnxruntime's output differs from torch's by {diff:.2e}")
    report = {"args": {k: str(v) for k, v in vars(args).items()
                       if k not in ("profile", "empirical_noise")},
              "history": history, "onnx_max_abs_diff": diff,
              "params": int(sum(p.numel() for p in net.parameters())),
              "held_out": None}  # fmt: skip
    held = {name: body_points(pose, np.random.default_rng(999), tilted=0.0)  # as captured
            for name, pose in held.items()}  # fmt: skip
    report["held_out"] = held_out_report(onnx_runner(args.out), held, args)
    if args.baseline:
        report["baseline"] = held_out_report(onnx_runner(args.baseline), held, args)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


def held_out_report(run, held: dict[str, np.ndarray], args) -> dict:
    """evaluate() on each held-out set of bodies (N, 33, 3) under each noise model given: 1–2 %,
    ``--noise``'s profile, and all views with the detector's own errors (``--empirical``,
    whole renders' sets); the same views for every network (the generator restarts)."""
    report = {}
    own = args.empirical_noise and Empirical(args.empirical_noise.bank, 1.0, True)
    noises = (("noise 1-2 %", None, None), ("detector-like", args.profile, None),
              ("detector's own errors", None, own))  # fmt: skip
    for noise_name, profile, empirical in noises:
        if noise_name != "noise 1-2 %" and profile is None and empirical is None:
            continue
        for name, bodies in held.items():
            key = f"{name} ({noise_name})"
            rng = np.random.default_rng(1000 + args.seed)
            report[key] = evaluate(run, bodies, rng, profile, empirical)
            logger.info("%s: %s", key, report[key])
    return report


if __name__ == "__main__":
    raise SystemExit(main())
