"""Does one "Flip depth" click fix a backwards limb segment without making the others worse?

    .venv/bin/python benchmarks/studies/flip_depth_clicks.py [--cases 100] [--layout blazepose33]
        [--rendered DIR [--limit N]]

Synthetic cases (default): ``fit_synthetic.py``'s held-out mocap poses, cameras, 3 px noise and
10 % dropped keypoints, fitted with the true focal length. ``--rendered DIR``: the photos and
exact truth of ``benchmarks/rendered_3d.py render`` (``<name>.png`` + ``<name>.json`` with
``joints_camera``, ``focal_px``), detected with the shipped detector and fitted here.

A limb segment (upper arm, forearm, thigh, shin) *points* toward or away from the camera when
its true depth difference is at least ``MIN_TILT`` of its length; it is *backwards* when the
fit's depth difference has the other sign. For every backwards segment of every fit, one click:
``core.refit.flip_depth`` on that segment from the fit, with the fit's keypoints. Reported: the
share of clicks that fix the segment, the share that also leave no other pointing segment newly
backwards, and PA-MPJPE (mm) before and after the click.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fit_synthetic as fs  # noqa: E402

from blender_smplify.core.edit_terms import LIMB_SEGMENTS, body_facing  # noqa: E402
from blender_smplify.core.errors import SmplifyError  # noqa: E402
from blender_smplify.core.fit import fit  # noqa: E402
from blender_smplify.core.joints import J  # noqa: E402
from blender_smplify.core.keypoints import Keypoints2D, get_layout  # noqa: E402
from blender_smplify.core.refit import flip_depth  # noqa: E402

#: A segment points toward/away when |Δz| ≥ MIN_TILT × its length (sin 15°).
MIN_TILT = float(np.sin(np.radians(15)))


def depth_signs(joints: np.ndarray) -> dict[str, tuple[float, float]]:
    """{segment: (Δz = z_child − z_joint, tilt |Δz| / length)} of joints (24, 3)."""
    out = {}
    for seg, child in LIMB_SEGMENTS.items():
        v = joints[J[child]] - joints[J[seg]]
        out[seg] = (float(v[2]), abs(v[2]) / np.linalg.norm(v))
    return out


def backwards(fitted: np.ndarray, truth: np.ndarray) -> set[str]:
    """Segments that point toward/away in ``truth`` and the other way in ``fitted``."""
    t, f = depth_signs(truth), depth_signs(fitted)
    return {
        s for s in LIMB_SEGMENTS if t[s][1] >= MIN_TILT and np.sign(f[s][0]) != np.sign(t[s][0])
    }


def synthetic_cases(args):
    """(keypoints, image size, focal, true joints (24, 3)) of fit_synthetic's cases."""
    args.split, args.seed, args.model, args.mocap_dir = "held-out", 0, None, None
    model, _, poses, rng = fs.prepare(args)
    layout = get_layout(args.layout)
    centre = np.array(fs.IMAGE_SIZE) / 2.0
    for kp_points, joints, noise, keep in fs.make_cases(model, layout, poses, rng):
        xy = fs.FOCAL * kp_points[:, :2] / kp_points[:, 2:] + centre + noise
        inside = np.all((xy >= 0) & (xy < np.array(fs.IMAGE_SIZE)), axis=1)
        yield (
            Keypoints2D(layout.name, xy, (keep & inside).astype(float)),
            fs.IMAGE_SIZE,
            fs.FOCAL,
            joints,
            "",
        )


def rendered_cases(folder: Path, limit: int | None):
    """The same from rendered photos: detected keypoints, the render's focal and truth."""
    from blender_smplify.core.image_io import load_image
    from blender_smplify.core.pipeline import detector

    det = detector(threads=2)
    for truth_file in sorted(folder.glob("*.json"))[:limit]:
        truth = json.loads(truth_file.read_text())
        image = load_image(truth_file.with_suffix(".png"))
        try:
            keypoints = det.detect(image).keypoints
        except SmplifyError:
            continue
        yield (
            keypoints,
            tuple(truth["image_size"]),
            truth["focal_px"],
            np.asarray(truth["joints_camera"]),
            truth_file.stem,
        )


def study(model, cases) -> list[dict]:
    rows = []
    for keypoints, size, focal, truth, name in cases:
        try:
            result = fit(model, keypoints, size, focal)
        except SmplifyError:
            continue
        wrong = backwards(result.joints_3d, truth)
        pa_before = 1e3 * fs.procrustes_error(result.joints_3d, truth)
        facing_ok = body_facing(result.joints_3d) == body_facing(truth)
        for seg in sorted(wrong):
            t = time.perf_counter()
            clicked, _ = flip_depth(result, keypoints, seg, model=model)
            now_wrong = backwards(clicked.joints_3d, truth)
            rows.append(
                {
                    "segment": seg,
                    "fixed": seg not in now_wrong,
                    "others_worse": bool(now_wrong - wrong),
                    "pa_before": pa_before,
                    "pa_after": 1e3 * fs.procrustes_error(clicked.joints_3d, truth),
                    "ms": 1e3 * (time.perf_counter() - t),
                    "wrong_before": len(wrong),
                    "name": name,
                    "facing_ok": facing_ok,
                }
            )
        rows.append({"fit": True, "any_wrong": bool(wrong)})
    return rows


def report(rows: list[dict], label: str) -> None:
    fits = [r for r in rows if r.get("fit")]
    clicks = [r for r in rows if not r.get("fit")]
    print(
        f"{label}: {len(fits)} fits, {sum(r['any_wrong'] for r in fits)} with a backwards "
        f"limb segment, {len(clicks)} backwards segments (one click each)"
    )
    if not clicks:
        return
    fixed = np.mean([r["fixed"] for r in clicks])
    clean = np.mean([r["fixed"] and not r["others_worse"] for r in clicks])
    before = np.array([r["pa_before"] for r in clicks])
    after = np.array([r["pa_after"] for r in clicks])
    print(
        f"  fixed by one click: {100 * fixed:.0f} %; fixed with no other segment newly "
        f"backwards: {100 * clean:.0f} %"
    )
    print(
        f"  PA-MPJPE (mm) before/after the click: median {np.median(before):.1f} -> "
        f"{np.median(after):.1f}, mean {before.mean():.1f} -> {after.mean():.1f}; better in "
        f"{100 * np.mean(after < before):.0f} % of clicks"
    )
    ok = [r for r in clicks if r["fixed"] and not r["others_worse"]]
    if ok:
        b, a = (np.array([r[k] for r in ok]) for k in ("pa_before", "pa_after"))
        print(
            f"  the clean fixes alone: PA-MPJPE median {np.median(b):.1f} -> {np.median(a):.1f}"
            f", mean {b.mean():.1f} -> {a.mean():.1f}; better in {100 * np.mean(a < b):.0f} %"
        )
    for ok_facing in (True, False):
        sub = [r for r in clicks if r["facing_ok"] == ok_facing]
        if sub:
            b, a = (np.array([r[k] for r in sub]) for k in ("pa_before", "pa_after"))
            fixed = 100 * np.mean([r["fixed"] for r in sub])
            print(
                f"  fits facing the {'right' if ok_facing else 'wrong'} way: {len(sub)} clicks, "
                f"fixed {fixed:.0f} %, PA-MPJPE median {np.median(b):.1f} -> "
                f"{np.median(a):.1f}, mean {b.mean():.1f} -> {a.mean():.1f}"
            )
    best = sorted(
        (r for r in clicks if r["fixed"] and not r["others_worse"] and r["name"]),
        key=lambda r: r["pa_after"] - r["pa_before"],
    )[:5]
    for r in best:
        print(f"  e.g. {r['name']} {r['segment']}: {r['pa_before']:.0f} -> {r['pa_after']:.0f} mm")
    print(f"  click (mirror + refit) time: median {np.median([r['ms'] for r in clicks]):.0f} ms")
    for kind in ("shoulder", "elbow", "hip", "knee"):
        sub = [r for r in clicks if r["segment"].endswith(kind)]
        if sub:
            fixed = 100 * np.mean([r["fixed"] for r in sub])
            before = np.median([r["pa_before"] for r in sub])
            after = np.median([r["pa_after"] for r in sub])
            print(
                f"  {kind:>8}: {len(sub):3d} clicks, fixed {fixed:.0f} %, "
                f"PA-MPJPE {before:.1f} -> {after:.1f} mm"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--layout", default="blazepose33")
    parser.add_argument("--rendered", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.rendered is None:
        model = fs.load_model(None)[0]
        rows = study(model, synthetic_cases(args))
        label = f"synthetic ({args.cases} held-out mocap poses, {args.layout})"
    else:
        from blender_smplify.core.pipeline import load_model

        rows = study(load_model("neutral"), rendered_cases(args.rendered, args.limit))
        label = f"rendered photos in {args.rendered} (detected, neutral model)"
    report(rows, label)
    print(f"  ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
