"""A known height and a second photo: stature and girth errors of the fitted shape.

    .venv/bin/python benchmarks/studies/known_height_views.py [--bodies 12] [--seed 0]

Synthetic cases: per sex (the open female and male models), ``--bodies`` bodies with
β ~ N(0, I), standing in the pose prior's mean pose with every joint perturbed by 0.05 rad,
4 m in front of a 1000 px camera (750 × 1000 image); one photo from the front (yaw within
±0.2 rad) and one from the side (±90°, ±0.2 rad), each with its own perturbed pose. The 24 SMPL
joints are projected and get 3 px Gaussian noise; the fit gets the true focal length.

Reported: median absolute error (mm) of stature, chest, waist and hip girth (BodyMeasurer,
rest pose) for the front photo alone, the front photo with the true height, both photos with
the height (``fit_same_person``) and both without; and the median CPU time of the fits. With
``--silhouette`` each photo also carries the true body's exact outline (the posed mesh
rasterised: a floor for what a detector's mask gives), for the front photo with the height and
both photos with the height.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.fit import fit
from blender_smplify.core.fit_same_person import PhotoView, fit_same_person
from blender_smplify.core.fit_setup import get_setup
from blender_smplify.core.keypoints import Keypoints2D
from blender_smplify.core.measurements import BodyMeasurer
from blender_smplify.core.priors import PosePrior
from blender_smplify.core.rotation import matrix_to_rotvec, rodrigues
from blender_smplify.core.silhouette import Silhouette

NAMES = ("stature", "chest_girth", "waist_girth", "hip_girth")
SIZE, FOCAL, CENTRE = (750, 1000), 1000.0, np.array([375.0, 500.0])
METHODS = ("front", "front + height", "front + side + height", "front + side")
OUTLINE = ("front + height + outline", "front + side + height + outline")


def photo(model, betas, yaw, rng, noise=3.0, outline=False) -> PhotoView:
    """One photo of the body ``betas``: a perturbed standing pose turned by ``yaw``; with
    ``outline`` its exact person mask."""
    pose = np.zeros(72)
    pose[3:] = PosePrior.load().mean_pose + rng.normal(scale=0.05, size=69)
    upright = rodrigues(np.array([np.pi, 0.0, 0.0]))
    pose[:3] = matrix_to_rotvec(upright @ rodrigues(np.array([0.0, yaw, 0.0])))
    kin = get_setup(model, "smpl24", len(betas)).kin
    pts, _ = kin.evaluate(pose, betas, np.array([0.0, 0.1, 4.0]), jacobian=False)
    xy = FOCAL * pts[:24, :2] / pts[:24, 2:] + CENTRE + rng.normal(scale=noise, size=(24, 2))
    mask = None
    if outline:
        vertices, _ = model.forward(betas, pose, np.array([0.0, 0.1, 4.0]))
        mask = Silhouette.from_image_mask(rasterise(model, vertices))
    return PhotoView(Keypoints2D("smpl24", xy, np.ones(24)), SIZE, FOCAL, silhouette=mask)


def rasterise(model, vertices: np.ndarray, samples: int = 5) -> np.ndarray:
    """(H, W) bool person mask: each projected triangle filled by barycentric samples, closed."""
    uv = FOCAL * vertices[:, :2] / vertices[:, 2:] + CENTRE
    tri = uv[model.faces]
    a, b = np.meshgrid(np.linspace(0, 1, samples), np.linspace(0, 1, samples))
    a, b = a[a + b <= 1], b[a + b <= 1]
    pts = tri[:, None, 0] + a[None, :, None] * (tri[:, None, 1] - tri[:, None, 0])
    pts += b[None, :, None] * (tri[:, None, 2] - tri[:, None, 0])
    ij = np.floor(pts.reshape(-1, 2)).astype(int)
    w, h = SIZE
    ok = (ij[:, 0] >= 0) & (ij[:, 0] < w) & (ij[:, 1] >= 0) & (ij[:, 1] < h)
    mask = np.zeros((h, w), bool)
    mask[ij[ok, 1], ij[ok, 0]] = True
    return ndimage.binary_fill_holes(ndimage.binary_closing(mask))


def run_body(model, measurer, rng, outline=False) -> tuple[dict, dict]:
    """Errors (mm, per method and measurement) and times (s) of one body."""
    betas = rng.normal(size=10)
    truth = measurer.measure(betas).values
    side = np.pi / 2 * rng.choice([-1.0, 1.0])
    front_yaw = rng.uniform(-0.2, 0.2)
    state = rng.bit_generator.state  # the outline variant sees the very same keypoints
    views = [photo(model, betas, front_yaw, rng), photo(model, betas, side, rng)]
    height = truth["stature"]

    def errors(b):
        values = measurer.measure(b).values
        return np.array([1000.0 * (values[n] - truth[n]) for n in NAMES])

    alone, t_alone = timed(fit, model, views[0].keypoints, SIZE, FOCAL)
    both, times = fit_both(model, views, height, "")
    unknown = fit_same_person(model, views)
    assert np.array_equal(both.views[0].betas, both.views[1].betas)
    out = {
        METHODS[0]: errors(alone.betas),
        METHODS[1]: errors(both.single[0].betas),
        METHODS[2]: errors(both.betas),
        METHODS[3]: errors(unknown.betas),
    }
    times["one photo"] = t_alone
    if outline:
        rng.bit_generator.state = state
        seen = [photo(model, betas, front_yaw, rng, outline=True)]
        seen.append(photo(model, betas, side, rng, outline=True))
        joint, more = fit_both(model, seen, height, " + outline")
        out[OUTLINE[0]], out[OUTLINE[1]] = errors(joint.single[0].betas), errors(joint.betas)
        times.update(more)
    return out, times


def timed(function, *args, **kwargs):
    """function(...) and the CPU seconds it took."""
    start = time.process_time()
    result = function(*args, **kwargs)
    return result, time.process_time() - start


def fit_both(model, views, height, label: str):
    """Each photo's own fit with the height, then the joint refinement; CPU seconds of one
    photo's fit, of the joint refinement and of all three."""
    single = []
    for view in views:
        result, seconds = timed(
            fit, model, view.keypoints, SIZE, FOCAL, height=height, silhouette=view.silhouette
        )
        single.append((result, seconds))
    joint, t_joint = timed(
        fit_same_person, model, views, height=height, single=[r for r, _ in single]
    )
    times = {
        f"one photo + height{label}": single[0][1],
        f"joint refinement{label}": t_joint,
        f"two photos + height{label}": single[0][1] + single[1][1] + t_joint,
    }
    return joint, times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=12, help="bodies per sex")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--silhouette", action="store_true", help="also with exact outlines")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    errors = {m: [] for m in METHODS + (OUTLINE if args.silhouette else ())}
    times: dict[str, list[float]] = {}
    for gender in ("female", "male"):
        model = BodyModel.load(gender=gender)
        measurer = BodyMeasurer(model)
        for _ in range(args.bodies):
            e, t = run_body(model, measurer, rng, args.silhouette)
            for k, v in e.items():
                errors[k].append(v)
            for k, v in t.items():
                times.setdefault(k, []).append(v)
    print(f"{2 * args.bodies} bodies, median |error| mm:")
    print(f"| {'fit':<24} | " + " | ".join(NAMES) + " |")
    print("|---|" + "---|" * len(NAMES))
    for method, rows in errors.items():
        med = np.median(np.abs(np.array(rows)), axis=0)
        cells = [f"{med[0]:.2f}"] + [f"{x:.1f}" for x in med[1:]]
        print(f"| {method:<24} | " + " | ".join(cells) + " |")
    for method in [m for m in errors if "height" in m]:
        worst = np.abs(np.array(errors[method]))[:, 0].max()
        print(f"{method}: largest stature error {worst:.3f} mm")
    print(
        "median fit CPU time: "
        + ", ".join(f"{k} {1e3 * np.median(v):.0f} ms" for k, v in times.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
