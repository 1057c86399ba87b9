"""Draw SMPL poses as stick figures (front and side views) to PNG, to look at the pose prior.

Usage (venv with matplotlib)::

    python tools/render_pose_prior.py --samples 12 --out /tmp/prior_samples.png
    python tools/render_pose_prior.py --trial iclone/005_07 --out /tmp/trial.png
    python tools/render_pose_prior.py --trial hdm05/HDM_bd_lieDownFloor_001 --world --out x.png

``--world`` keeps each frame's global orientation (views along the mocap's own z and x axes),
so lying and bending show as such; otherwise every frame is drawn upright facing the viewer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository

from tools.pose_prior_data import (
    DEFAULT_HDM05_DIR,
    DEFAULT_MOCAP_DIR,
    REPO_ROOT,
    list_hdm05_clips,
    load_hdm05_poses,
    load_smpl_poses,
    template_joints,
)
from tools.retarget_bvh import SMPL_JOINT_NAMES, SMPL_PARENTS

J_HEAD = SMPL_JOINT_NAMES.index("head")


def forward_joints(template: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posed joints (N, 24, 3) and global rotations (N, 24, 3, 3) from rest joints and poses."""
    n = len(pose)
    local = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3)
    glob = np.empty_like(local)
    out = np.zeros((n, 24, 3))
    glob[:, 0] = local[:, 0]
    out[:, 0] = template[0]
    for j in range(1, 24):
        p = SMPL_PARENTS[j]
        glob[:, j] = glob[:, p] @ local[:, j]
        out[:, j] = out[:, p] + np.einsum("nab,b->na", glob[:, p], template[j] - template[p])
    return out, glob


def sample_prior(path: Path, count: int, seed: int = 0) -> np.ndarray:
    """Draw body poses (count, 72) from the mixture (global orientation zero)."""
    rng = np.random.default_rng(seed)
    with np.load(path) as data:
        w, mu, cov = data["weights"], data["means"], data["covariances"]
    comp = rng.choice(len(w), size=count, p=w)
    body = np.stack([rng.multivariate_normal(mu[k], cov[k]) for k in comp])
    return np.concatenate([np.zeros((count, 3)), body], axis=1), comp


def draw(joints: np.ndarray, rotations: np.ndarray, titles: list[str], out: Path) -> None:
    """Front (x-y) and side (z-y) stick figures, left side red, a green nose on the head."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(joints)
    cols = min(n, 6)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows * 2, cols, figsize=(2.2 * cols, 4.4 * rows), squeeze=False)
    joints = joints - joints[:, :1]  # pelvis at the origin
    for i, (pts, title) in enumerate(zip(joints, titles, strict=True)):
        for v, (h, label) in enumerate(((0, "front"), (2, "side"))):
            ax = axes[(i // cols) * 2 + v, i % cols]
            for j in range(1, 24):
                p = SMPL_PARENTS[j]
                colour = (
                    "r"
                    if "left" in SMPL_JOINT_NAMES[j]
                    else ("b" if "right" in SMPL_JOINT_NAMES[j] else "k")
                )
                sign = -1.0 if h == 0 else 1.0  # front view: the body's left on the image right
                ax.plot([sign * pts[p, h], sign * pts[j, h]], [pts[p, 1], pts[j, 1]], colour)
            head = J_HEAD
            nose = pts[head] + rotations[i, head] @ np.array([0.0, 0.0, 0.1])
            ax.plot([sign * pts[head, h], sign * nose[h]], [pts[head, 1], nose[1]], "g")
            ax.set_aspect("equal")
            ax.set_xlim(-1, 1)
            ax.set_ylim(-1.1, 0.9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{title} {label}", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--prior", type=Path, default=REPO_ROOT / "blender_smplify" / "data" / "pose_prior.npz"
    )
    parser.add_argument("--samples", type=int, default=0)
    parser.add_argument("--means", action="store_true", help="draw the component means")
    parser.add_argument("--trial", default=None)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--world", action="store_true", help="keep the global orientation")
    parser.add_argument("--mocap-dir", type=Path, default=DEFAULT_MOCAP_DIR)
    parser.add_argument("--hdm05-dir", type=Path, default=DEFAULT_HDM05_DIR)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    template = template_joints()[0]
    if args.trial:
        if args.trial.startswith("hdm05/"):
            activity = list_hdm05_clips(args.hdm05_dir)[args.trial].activity
            clips = load_hdm05_poses(args.hdm05_dir, classes=[activity])
            pose = clips[args.trial]
        else:
            pose = load_smpl_poses(args.mocap_dir, [args.trial])[args.trial]
        idx = np.linspace(0, len(pose) - 1, args.frames).astype(int)
        pose = pose[idx].copy()
        if not args.world:
            pose[:, :3] = 0.0  # upright, facing the viewer in the front view
        titles = [f"{args.trial} f{i}" for i in idx]
    elif args.means:
        with np.load(args.prior) as data:
            mu, w = data["means"], data["weights"]
        pose = np.concatenate([np.zeros((len(mu), 3)), mu], axis=1)
        titles = [f"mean {k} w={w[k]:.2f}" for k in range(len(mu))]
    else:
        pose, comp = sample_prior(args.prior, args.samples)
        titles = [f"sample c{k}" for k in comp]
    joints, rotations = forward_joints(template, pose)
    draw(joints, rotations, titles, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
