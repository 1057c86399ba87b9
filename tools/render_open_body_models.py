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
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "blender_smplify" / "data"


def shaped(model: dict, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest vertices (V, 3) and joints (24, 3) for shape coefficients ``betas``."""
    dirs = model["shapedirs"][:, :, : len(betas)].astype(np.float64)
    verts = model["v_template"] + dirs @ betas
    return verts, model["J_regressor"] @ verts


def draw(
    ax,
    verts: np.ndarray,
    joints: np.ndarray,
    quads: np.ndarray,
    view: str,
    ylim: tuple[float, float] = (-1.0, 1.1),
) -> None:
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
    ax.add_collection(
        PolyCollection(
            faces[visible][order][:, :, :2],
            facecolors=colour,
            edgecolors="none",
            antialiased=False,
        )
    )
    j = joints[:, axes] * flip
    ax.scatter(j[:, 0], j[:, 1], s=2, c="crimson", zorder=3)
    ax.set_xlim(*((-0.95, 0.95) if view == "front" else (-0.4, 0.4)))
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def facts(data: Path) -> str:
    """Measured facts of the three models as a Markdown table."""
    header = (
        "| model | vertices | triangles (quads) | betas | height at β = 0 "
        "| height at β0 = −2 … +2 | variance explained by the betas | file size |"
    )
    rows = [header, "|---" * 8 + "|"]
    for gender in ("neutral", "female", "male"):
        path = data / f"open_body_{gender}.npz"
        model = dict(np.load(path))
        heights = []
        for b0 in (0.0, -2.0, 2.0):
            verts, _ = shaped(model, np.array([b0]))
            heights.append(verts[:, 1].max() - verts[:, 1].min())
        rows.append(
            f"| {gender} | {len(model['v_template'])} | {len(model['f'])} ({len(model['quads'])}) "
            f"| {model['shapedirs'].shape[2]} | {heights[0]:.3f} m | {heights[1]:.3f} … "
            f"{heights[2]:.3f} m | {100 * model['shape_explained_variance'].sum():.3f} % "
            f"| {path.stat().st_size / 1e6:.2f} MB |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "open_body_models.png")
    parser.add_argument("--facts", action="store_true", help="print the facts table and stop")
    args = parser.parse_args(argv)
    if args.facts:
        print(facts(args.data))
        return
    settings = [("β = 0", np.zeros(3))]
    for k in range(3):
        for s in (-2.0, 2.0):
            b = np.zeros(3)
            b[k] = s
            settings.append((f"β{k} = {s:+.0f}", b))
    genders = ("neutral", "female", "male")
    fig, axes = plt.subplots(
        len(genders),
        2 * len(settings),
        figsize=(3.15 * len(settings), 2.75 * len(genders)),
        gridspec_kw={"width_ratios": [1.9, 0.8] * len(settings), "wspace": 0.02, "hspace": 0.12},
    )
    models = {g: dict(np.load(args.data / f"open_body_{g}.npz")) for g in genders}
    shapes = {(g, c): shaped(models[g], b) for g in genders for c, (_, b) in enumerate(settings)}
    low = min(v[:, 1].min() for v, _ in shapes.values()) - 0.03
    high = max(v[:, 1].max() for v, _ in shapes.values()) + 0.03
    for g, gender in enumerate(genders):
        for c, (label, _) in enumerate(settings):
            verts, joints = shapes[gender, c]
            height = verts[:, 1].max() - verts[:, 1].min()
            for r, view in enumerate(("front", "side")):
                ax = axes[g, 2 * c + r]
                draw(ax, verts, joints, models[gender]["quads"], view, (low, high))
                if r == 0:
                    ax.set_title(f"{gender}, {label}: {height:.2f} m", fontsize=10, loc="left")
    fig.subplots_adjust(left=0.005, right=0.995, top=0.95, bottom=0.01)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)


if __name__ == "__main__":
    main()
