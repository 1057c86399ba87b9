"""The lifter's depth-sign head: which way each limb segment points along the line of sight.

For the 8 limb segments parent → child of ``edit_terms.LIMB_SEGMENTS`` (upper arms, forearms,
thighs, shins; ``core.lifter.SEGMENT_ENDS``) the depth of the child beyond the parent along
the ray to the segment's midpoint is Δ = (b − a) · r̂, r̂ = (a + b) / ‖a + b‖ (camera at the
origin; ``benchmarks/depth_metrics.py``'s measure). The head gives one logit per segment,
ℓ = log p / (1 − p) with p the probability that Δ > 0 (the child end farther away), trained by
binary cross-entropy on the true sign only where the segment clearly leaves the image plane,
|Δ| / ‖b − a‖ > ``TRAIN_CLEAR`` (near the plane the sign is a coin toss the photo cannot show).

``tools/train_lifter.py --sign-weight W`` trains it (:func:`sign_loss`); :func:`sign_report`
measures it on held-out views: accuracy where the truth is clear (> 0.3, the benchmark's
threshold), log loss, Brier score and expected calibration error (10 bins of p).
"""

from __future__ import annotations

import numpy as np

from blender_smplify.core.lifter import SEGMENT_ENDS, SEGMENT_MIRROR

#: |Δ| / length above which a segment's true sign trains the head.
TRAIN_CLEAR = 0.1
#: |Δ| / length above which a segment counts in the report (``depth_metrics.CLEAR_DEPTH``).
REPORT_CLEAR = 0.3


def segment_depths(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth Δ (N, 8) of each limb segment along the ray to its midpoint and its length (N, 8),
    of camera-frame points (N, 33, 3) (camera at the origin)."""
    a, b = points[:, SEGMENT_ENDS[:, 0]], points[:, SEGMENT_ENDS[:, 1]]
    ray = a + b
    ray = ray / np.linalg.norm(ray, axis=2, keepdims=True)
    return np.einsum("nkj,nkj->nk", b - a, ray), np.linalg.norm(b - a, axis=2)


def sign_targets(camera: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """(N, 8) float32 training targets of camera-frame points (N, 33, 3): 1 where the child end
    is farther, 0 where nearer, NaN where |Δ| / length ≤ ``TRAIN_CLEAR``; for the samples
    ``mirrored`` (N,) bool (left and right swapped in the input) each segment takes its mirror
    image's sign (mirroring x keeps every depth)."""
    depth, length = segment_depths(camera)
    target = np.where(np.abs(depth) / length > TRAIN_CLEAR, (depth > 0).astype(float), np.nan)
    target[mirrored] = target[mirrored][:, SEGMENT_MIRROR]
    return target.astype(np.float32)


def sign_loss(logit, target):
    """Mean binary cross-entropy of the logits (B, 8) over the targets (B, 8) that are not NaN
    (torch tensors); zero when none is."""
    import torch

    used = ~torch.isnan(target)
    if not bool(used.any()):
        return logit.sum() * 0.0
    return torch.nn.functional.binary_cross_entropy_with_logits(logit[used], target[used])


def sign_report(logit: np.ndarray, camera: np.ndarray, predicted: np.ndarray) -> dict:
    """How well the probabilities p = σ(logit) (N, 8) tell the true signs of the camera-frame
    points (N, 33, 3), where clear (> ``REPORT_CLEAR``): :func:`sign_scores`, and the share the
    predicted points (N, 33, 3) get backwards."""
    depth, length = segment_depths(camera)
    clear = np.abs(depth) / length > REPORT_CLEAR
    p = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)[clear]))
    points_away = (segment_depths(predicted)[0] > 0)[clear]
    report = sign_scores(p, (depth > 0)[clear])
    report["points_wrong_pct"] = 100.0 * float((points_away != (depth > 0)[clear]).mean())
    return report


def sign_scores(p: np.ndarray, away: np.ndarray) -> dict:
    """Probabilities p (n,) that segments point away against the truth ``away`` (n,) bool:
    share wrong (p on the wrong side of 0.5), log loss, Brier score, expected calibration error
    (|mean p − share away| over 10 bins of p, weighted by the bins' counts), the share of sure
    answers (p < 0.1 or > 0.9) and of those the share wrong, and per bin (by its lower edge)
    the share away and the count."""
    q = np.clip(p, 1e-7, 1 - 1e-7)
    bins = np.minimum((p * 10).astype(int), 9)
    used = [k for k in range(10) if (bins == k).any()]
    per_bin = {k: (float(away[bins == k].mean()), int((bins == k).sum())) for k in used}
    ece = sum(abs(p[bins == k].mean() - share) * n for k, (share, n) in per_bin.items())
    sure = (p < 0.1) | (p > 0.9)
    wrong = (p > 0.5) != away
    return {"segments": len(p), "head_wrong_pct": 100.0 * float(wrong.mean()),
            "log_loss": float(-np.where(away, np.log(q), np.log(1 - q)).mean()),
            "brier": float(((p - away) ** 2).mean()), "ece": float(ece / max(len(p), 1)),
            "sure_pct": 100.0 * float(sure.mean()),
            "sure_wrong_pct": 100.0 * float(wrong[sure].mean()) if sure.any() else float("nan"),
            "bins": {f"{k / 10:.1f}": v for k, v in per_bin.items()}}  # fmt: skip


def load_onnx_weights(net, path) -> int:
    """Copy a trained lifter's weights (``train_lifter.export``'s ONNX file: initializers named
    as the torch parameters, under the export wrapper's ``body.`` or not, stored as float16 by
    ``export_lifter.store_weights_as_half`` or not) into ``net`` of the
    same width; rows of the final layer beyond the file's (a sign head or error rows it lacks)
    stay as they are. Returns the number of the final layer's rows copied."""
    import onnx
    import torch
    from onnx import numpy_helper

    weights = {i.name.removeprefix("body.").removesuffix("_float16"):
               numpy_helper.to_array(i).astype(np.float32)
               for i in onnx.load(str(path)).graph.initializer}  # fmt: skip
    state = net.state_dict()
    for name, value in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        w = torch.from_numpy(weights[name].copy())
        if w.shape[1:] != value.shape[1:] or len(w) > len(value):
            raise ValueError(f"{path}: {name} is {tuple(w.shape)}, the network's {value.shape}")
        value[: len(w)] = w
    net.load_state_dict(state)
    return len(w)  # the final layer's bias, last in the state


def train_sign_rows(net, make_samples, args, rng: np.random.Generator) -> list[dict]:
    """The depth-sign rows of the final layer (its last 8 outputs) trained alone on the frozen
    network's last features (eval mode: no dropout, batch norm's running statistics): logistic
    regression by Adam on :func:`sign_loss`, fresh views every epoch
    (``make_samples(rng)`` → train_lifter.samples' tuple), the learning rate × ``args.decay``
    per epoch, until ``args.max_epochs`` or ``args.minutes``. The other weights stay."""
    import time

    import torch

    trunk, last = net[:-1].eval(), net[-1]
    head = torch.nn.Linear(last.in_features, len(SEGMENT_ENDS))
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    opt = torch.optim.Adam(head.parameters(), lr=args.lr)
    history, start, epoch = [], time.perf_counter(), 0
    while time.perf_counter() - start < 60 * args.minutes and epoch < args.max_epochs:
        x, _, _, _, signs = make_samples(rng)
        with torch.no_grad():
            feats = torch.cat([trunk(torch.from_numpy(x[b : b + 8192]))
                               for b in range(0, len(x), 8192)])  # fmt: skip
        signs, order = torch.from_numpy(signs), torch.from_numpy(rng.permutation(len(x)))
        total = 0.0
        for b in range(0, len(x) - args.batch + 1, args.batch):
            idx = order[b : b + args.batch]
            loss = sign_loss(head(feats[idx]), signs[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        for group in opt.param_groups:
            group["lr"] *= args.decay
        epoch += 1
        history.append({"epoch": epoch, "sign_bce": total / len(x),
                        "minutes": (time.perf_counter() - start) / 60})  # fmt: skip
        print(f"sign rows, epoch {epoch}: BCE {history[-1]['sign_bce']:.4f}", flush=True)
    with torch.no_grad():
        last.weight[-len(SEGMENT_ENDS) :] = head.weight
        last.bias[-len(SEGMENT_ENDS) :] = head.bias
    return history
