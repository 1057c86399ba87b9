"""Render the open body models to one PNG: each model at β = 0 and at ±2 on the first three
shape components, front and side views (flat-shaded with matplotlib, joints as dots).

Needs numpy and matplotlib (``tools/requirements-build-model.txt``)::

    python tools/render_open_body_models.py --out docs/open_body_models.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "blender_smplify" / "data"


def shaped(model: dict, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest vertices (V, 3) and joints (24, 3) for shape coefficients ``betas``."""
    dirs = model["shapedirs"][:, :, : len(betas)].astype(np.float64)
    verts = model["v_template"] + dirs @ betas
    return verts, model["J_regressor"] @ verts


def draw(ax, verts: np.ndarray, joints: np.ndarray, quads: np.ndarray, view: str) -> None:
    """Flat-shaded orthographic view: ``front`` from +z, ``side`` from −x (the right side)."""
    axes = (0, 1, 2) if view == "front" else (2, 1, 0)
    flip = np.array([1.0, 1.0, 1.0]) if view == "front" else np.array([1.0, 1.0, -1.0])
    p = verts[:, axes] * flip  # a proper rotation: the third coordinate points at the viewer
    faces = p[quads]
    normal = np.cross(faces[:, 2] - faces[:, 0], faces[:, 3] - faces[:, 1])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    visible = normal[:, 2] > 0
    order = np.argsort(faces[visible, :, 2].mean(axis=1))
    light = np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8])
    shade = 0.25 + 0.75 * np.clip(normal[visible] @ light, 0, 1)
    colour = np.clip(shade[order, None] * np.array([0.85, 0.72, 0.62]), 0, 1)
    ax.add_collection(PolyCollection(faces[visible][order][:, :, :2], facecolors=colour,
                                     edgecolors="none", antialiased=False))  # fmt: skip
    j = joints[:, axes] * flip
    ax.scatter(j[:, 0], j[:, 1], s=4, c="crimson", zorder=3)
    ax.set_xlim(-1.0 if view == "front" else -0.5, 1.0 if view == "front" else 0.5)
    ax.set_ylim(-1.25, 1.05)
    ax.set_aspect("equal")
    ax.axis("off")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "open_body_models.png")
    args = parser.parse_args(argv)
    settings = [("β = 0", np.zeros(3))]
    for k in range(3):
        for s in (-2.0, 2.0):
            b = np.zeros(3)
            b[k] = s
            settings.append((f"β{k} = {s:+.0f}", b))
    genders = ("neutral", "female", "male")
    fig, axes = plt.subplots(2 * len(genders), len(settings), figsize=(2.0 * len(settings), 15))
    for g, gender in enumerate(genders):
        model = dict(np.load(args.data / f"open_body_{gender}.npz"))
        quads = model["quads"]
        for c, (label, betas) in enumerate(settings):
            verts, joints = shaped(model, betas)
            height = verts[:, 1].max() - verts[:, 1].min()
            for r, view in enumerate(("front", "side")):
                ax = axes[2 * g + r, c]
                draw(ax, verts, joints, quads, view)
                if r == 0:
                    ax.set_title(f"{gender}: {label}\n{height:.2f} m", fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)


if __name__ == "__main__":
    main()
