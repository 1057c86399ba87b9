"""Build-time tool: train the depth-sign network (``core/depth_sign.py``) and export it to ONNX.

Reads the crops of ``tools/depth_sign_data.py`` (one or more files), holds out a share of the
photos, first fits the network's linear path on the scalars alone (logistic regression on the
other sources' signs, then frozen), then trains the CNN path by binary cross-entropy on the
true sign of each limb segment's depth change (segments clearly out of the image plane,
|Δ| / length > 0.3, weigh 1, those nearer the plane ``--near-weight``), each segment once per
epoch in one of its versions (as detected, jittered, exact keypoints), with the photo's
left-right mirror (the crop flipped horizontally: a mirror keeps every Δ) and colour jitter as
augmentation; keeps the epoch with the lowest held-out log loss and writes the ONNX file
(inputs ``crops`` (N, 8, 64, 64) float32 and ``scalars`` (N, 8) float32, output
``away_logit`` (N,)) and a JSON report beside it (settings, the linear path, loss per epoch,
held-out figures, the ONNX-vs-torch check).

    /tmp/torchvenv/bin/python tools/train_depth_sign.py --data crops.npz [more.npz]
        --out onnx_models/depth_sign.onnx [--minutes 12] [--threads 2] [--seed 0]

Needs torch and onnx (build time only; the add-on runs the file with onnxruntime).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

from depth_metrics import sign_figures  # noqa: E402

CLEAR = 0.3
#: The RGB channels of the input (the crop's, then the context crop's); 3, 4 are the marks.
RGB = [0, 1, 2, 5, 6, 7]


class DepthSignNet(nn.Module):
    """Four 3 × 3 convolution stages (the first with stride 2), 64 × 64 → 4 × 4, then with the
    segment's scalars two linear layers to one logit, plus a linear function of the scalars
    alone (a logistic regression on the other sources, fitted first and frozen: the image path
    learns corrections to it, :func:`fit_direct`)."""

    def __init__(self, width: int = 16, scalars: int = 8, hidden: int = 64):
        super().__init__()
        w = width

        def stage(cin, cout, stride=1, pool=True):
            layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                      nn.ReLU(inplace=True)]  # fmt: skip
            return layers + ([nn.MaxPool2d(2)] if pool else [])

        self.features = nn.Sequential(
            *stage(8, w, 2, pool=False), *stage(w, 2 * w), *stage(2 * w, 4 * w),
            *stage(4 * w, 4 * w),
        )  # fmt: skip
        self.head = nn.Sequential(
            nn.Linear(4 * w * 16 + scalars, hidden), nn.ReLU(inplace=True), nn.Dropout(0.3),
            nn.Linear(hidden, 1),
        )  # fmt: skip

        self.direct = nn.Linear(scalars, 1)  # the scalars' own logistic regression

    def forward(self, crops, scalars):
        f = self.features(crops).flatten(1)
        return (self.head(torch.cat([f, scalars], 1)) + self.direct(scalars)).squeeze(1)


def load(paths: list[Path]) -> dict:
    """The crop files concatenated, photo indices made unique across files."""
    parts = [dict(np.load(p)) for p in paths]
    offset, photos = 0, []
    for part in parts:
        photos.append(part["photo"].astype(np.int64) + offset)
        offset += len(part["names"])
    keys = ("crops", "scalars", "tilt", "segment", "version")
    data = {k: np.concatenate([part[k] for part in parts]) for k in keys}
    data["photo"] = np.concatenate(photos)
    data["photos"] = offset
    return data


def as_input(crops_u8: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
    """uint8 crops (B, 8, S, S) as the network reads them (RGB − ½, marks in [0, 1]); with
    ``rng`` colour-jittered (brightness, per-channel gain, contrast) and half of them mirrored."""
    x = crops_u8.float() / 255.0
    if rng is not None:
        b = len(x)
        rgb = x[:, RGB]
        gain = 1 + 0.25 * (torch.rand(b, 1, 1, 1, generator=rng) - 0.5) * 2
        tint = (1 + 0.08 * (torch.rand(b, 3, 1, 1, generator=rng) - 0.5) * 2).repeat(1, 2, 1, 1)
        mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
        contrast = 1 + 0.25 * (torch.rand(b, 1, 1, 1, generator=rng) - 0.5) * 2
        rgb = ((rgb - mean) * contrast + mean) * gain * tint
        x[:, RGB] = rgb.clamp(0, 1)
        flip = torch.rand(b, generator=rng) < 0.5
        x[flip] = x[flip].flip(3)
    x[:, RGB] -= 0.5
    return x


def evaluate(net, data, rows, batch=512) -> dict:
    """Held-out figures on the segments of ``rows`` as detected (version 0), each crop and its
    mirror averaged as at run time: share wrong, log loss and ECE on the clear ones."""
    rows = rows[data["version"][rows] == 0]
    net.eval()
    probs = []
    with torch.no_grad():
        for k in range(0, len(rows), batch):
            r = rows[k : k + batch]
            x = as_input(torch.from_numpy(data["crops"][r]))
            s = torch.from_numpy(data["scalars"][r])
            p = (torch.sigmoid(net(x, s)) + torch.sigmoid(net(x.flip(3), s))) / 2
            probs.append(p.numpy())
    p = np.concatenate(probs) if probs else np.zeros(0)
    tilt = data["tilt"][rows]
    clear = np.abs(tilt) > CLEAR
    return {"clear": int(clear.sum()), **sign_figures(p[clear], tilt[clear] > 0)}


def train(args) -> int:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    data = load(args.data)
    if args.image_only:  # the other sources' scalars zeroed: what the photo alone tells
        data["scalars"][:, 5:] = 0.0
    held = rng.random(data["photos"]) < args.held_out
    train_rows = np.flatnonzero(~held[data["photo"]])
    val_rows = np.flatnonzero(held[data["photo"]])
    tilt = data["tilt"]
    weight = np.where(np.abs(tilt) > CLEAR, 1.0, args.near_weight).astype(np.float32)
    net = DepthSignNet(args.width)
    direct = fit_direct(net, data, train_rows, weight)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=args.lr,
                            weight_decay=1e-4)  # fmt: skip
    groups = data["photo"][train_rows] * 8 + data["segment"][train_rows]
    steps_per_epoch = max(1, len(np.unique(groups)) // args.batch)
    gen = torch.Generator().manual_seed(args.seed)
    history, start, epoch = [], time.perf_counter(), 0
    best = {"epoch": 0, "held_out": evaluate(net, data, val_rows), "state": copy_state(net)}
    direct["held_out"] = best["held_out"]  # the scalars alone, before the photo's path
    print(json.dumps({"epoch": 0, "direct": direct}), flush=True)
    total_steps = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=total_steps)
    while epoch < args.epochs and (time.perf_counter() - start) / 60 < args.minutes:
        net.train()
        order = one_version_each(train_rows, groups, rng)
        losses = []
        for k in range(steps_per_epoch):
            r = np.sort(order[k * args.batch : (k + 1) * args.batch])
            x = as_input(torch.from_numpy(data["crops"][r]), gen)
            s = torch.from_numpy(data["scalars"][r])
            y = torch.from_numpy((tilt[r] > 0).astype(np.float32))
            w = torch.from_numpy(weight[r])
            loss = (nn.functional.binary_cross_entropy_with_logits(net(x, s), y, reduction="none")
                    * w).sum() / w.sum()  # fmt: skip
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        epoch += 1
        held_out = evaluate(net, data, val_rows)
        history.append({"epoch": epoch, "train_bce": float(np.mean(losses)), "held_out": held_out,
                        "minutes": (time.perf_counter() - start) / 60})  # fmt: skip
        print(json.dumps(history[-1]), flush=True)
        if held_out["log_loss"] < best["held_out"]["log_loss"]:
            best = {"epoch": epoch, "held_out": held_out, "state": copy_state(net)}
    net.load_state_dict(best["state"])
    net.eval()
    check = export(net, data, val_rows, args.out)
    report = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "photos": int(data["photos"]), "held_out_photos": int(held.sum()),
        "train_crops": int(len(train_rows)), "direct": direct, "history": history,
        "kept_epoch": best["epoch"], "kept_held_out": best["held_out"], "onnx_check": check,
        "sha256": hashlib.sha256(args.out.read_bytes()).hexdigest(),
        "bytes": args.out.stat().st_size, "torch": torch.__version__,
    }  # fmt: skip
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out} ({report['bytes'] / 1e6:.2f} MB), ONNX check {check}")
    return 0


def copy_state(net) -> dict:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def fit_direct(net, data, rows, weight, lam: float = 1e-3) -> dict:
    """Fit the network's linear path on the scalars alone (L2 logistic regression, L-BFGS, on
    the segments as detected) and freeze it; zero the image path's last layer, so that training
    starts from that regression and the photo only corrects it. Returns the coefficients."""
    rows = rows[data["version"][rows] == 0]
    s = torch.from_numpy(data["scalars"][rows])
    y = torch.from_numpy((data["tilt"][rows] > 0).astype(np.float32))
    w = torch.from_numpy(weight[rows])
    layer = net.direct
    opt = torch.optim.LBFGS(layer.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logit = layer(s).squeeze(1)
        loss = (nn.functional.binary_cross_entropy_with_logits(logit, y, reduction="none")
                * w).sum() / w.sum() + lam * (layer.weight**2).sum()  # fmt: skip
        loss.backward()
        return loss

    opt.step(closure)
    bce = float(closure().detach())
    for p in layer.parameters():
        p.requires_grad_(False)
    last = net.head[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return {"weight": layer.weight.detach().numpy().ravel().round(4).tolist(),
            "bias": float(layer.bias.detach()), "bce": bce}  # fmt: skip


def one_version_each(rows: np.ndarray, groups: np.ndarray, rng) -> np.ndarray:
    """``rows`` shuffled, one of each segment's versions (as detected, jittered, exact) drawn
    at random: an epoch sees each segment once."""
    shuffled = rng.permutation(len(rows))
    _, first = np.unique(groups[shuffled], return_index=True)
    return rng.permutation(rows[shuffled[first]])


class Exported(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, crops, scalars):
        return self.net(crops, scalars)


def export(net, data, rows, out: Path) -> dict:
    """Write the ONNX file and compare onnxruntime with torch on up to 256 held-out crops."""
    import onnxruntime as ort

    rows = rows[:256] if len(rows) else np.arange(min(256, len(data["tilt"])))
    x = as_input(torch.from_numpy(data["crops"][rows]))
    s = torch.from_numpy(data["scalars"][rows])
    net.eval()
    with torch.no_grad():
        ref = net(x, s).numpy()
    torch.onnx.export(Exported(net).eval(), (x, s), str(out), input_names=["crops", "scalars"],
                      output_names=["away_logit"], opset_version=17, dynamo=False,
                      dynamic_axes={"crops": {0: "n"}, "scalars": {0: "n"},
                                    "away_logit": {0: "n"}})  # fmt: skip
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (got,) = sess.run(["away_logit"], {"crops": x.numpy(), "scalars": s.numpy()})
    return {"crops": int(len(rows)), "max_abs_logit_diff": float(np.abs(got - ref).max())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--minutes", type=float, default=12.0, help="stop after the epoch past this")
    p.add_argument("--near-weight", type=float, default=0.3)
    p.add_argument("--held-out", type=float, default=0.1, help="share of photos held out")
    p.add_argument(
        "--image-only",
        action="store_true",
        help="zero the other sources' scalars (a measurement of the photo alone; "
        "run it with evidence(0.5, 0, 0), as depth_sign_eval.py --image-only does)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return train(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
