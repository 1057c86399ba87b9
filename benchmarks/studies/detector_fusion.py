"""Ways of combining the detector's candidate passes, scored on both LSP halves.

    python benchmarks/studies/detector_fusion.py CANDIDATES.npz

``CANDIDATES.npz`` is what ``detector_candidates.py`` writes. Prints PCK@0.2 on the 12 limb
joints, tuning half / validation half, for: each candidate alone and with BlazePose's joint
where MoveNet's score is below 0.2; the score threshold from which MoveNet's joint is taken;
a per-joint blend with BlazePose; per-joint and per-image choice of the best-scored
candidate, the mean (test-time augmentation) and the median; and such a choice only for
photos whose limb score is below a threshold.
Choose on the tuning half; the validation half checks the choice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector_lsp import halves  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", type=Path)
    args = parser.parse_args(argv)
    d = np.load(args.candidates, allow_pickle=True)
    truth, parts = d["truth"], halves(d["image"])
    torso = np.linalg.norm(truth[:, 8] - truth[:, 3], axis=1)
    xy = {k[:-3]: d[k] for k in d.files if k.endswith("/xy")}
    score = {k[:-6]: d[k] for k in d.files if k.endswith("/score")}

    def pck(points: np.ndarray) -> str:
        ok = np.linalg.norm(points - truth[:, :12], axis=2) <= 0.2 * torso[:, None]
        return f"{ok[parts['tune']].mean():.4f} / {ok[parts['validate']].mean():.4f}"

    def fused(points: np.ndarray, s: np.ndarray, threshold: float = 0.2) -> np.ndarray:
        return np.where((s >= threshold)[..., None], points, xy["blaze"])

    def choose(keys: tuple[str, ...], per: str) -> tuple[np.ndarray, np.ndarray]:
        pts, s = np.stack([xy[k] for k in keys]), np.stack([score[k] for k in keys])
        if per == "joint":
            pick = s.argmax(0)
            return np.take_along_axis(pts, pick[None, ..., None], 0)[0], s.max(0)
        if per == "image":
            pick, n = s.mean(2).argmax(0), np.arange(s.shape[1])
            return pts[pick, n], s[pick, n]
        if per == "mean":  # test-time augmentation: the average of the passes
            return pts.mean(0), s.mean(0)
        return np.median(pts, 0), np.median(s, 0)

    print("PCK@0.2, tuning / validation half")
    for key in xy:
        extra = f"; with BlazePose below 0.2: {pck(fused(xy[key], score[key]))}"
        print(f"  {key:<11s} {pck(xy[key])}{extra if key.startswith('move') else ''}")
    for threshold in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        taken = fused(xy["move"], score["move"], threshold)
        print(f"  MoveNet's joint from score {threshold}: {pck(taken)}")
    for weight in (0.1, 0.2, 0.3):
        blend = (1 - weight) * xy["move"] + weight * xy["blaze"]
        print(f"  blend with BlazePose, weight {weight}: {pck(fused(blend, score['move']))}")
    limb = score["move"].mean(1)
    sets = [
        ("move", "move_flip"),
        ("move", "move_mask"),
        ("move", "move_flip", "move_mask"),
        ("move", "move_flip", "move_s09", "move_s11", "move_mask"),
    ]
    for keys in sets:
        for per in ("mean", "joint", "image", "median"):
            pts, s = choose(keys, per)
            name = "+".join(keys)
            row = f"  {name} {per}: always {pck(fused(pts, s, 0.0))}"
            for below in (0.6, 0.7):
                doubt = (limb < below)[:, None]
                p = np.where(doubt[..., None], pts, xy["move"])
                q = np.where(doubt, s, score["move"])
                share = doubt[parts["tune"]].mean()
                row += f"; limb score < {below} ({share:.0%}) {pck(fused(p, q, 0.0))}"
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
