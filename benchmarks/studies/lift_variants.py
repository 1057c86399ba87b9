"""Study: cheap changes to the lifted points and to the bones the fit reads from them (issue 9).

Each variant is fitted on the rendered benchmark from the detector's and from the exact 2D
keypoints (``lifter_confidence.fit_case``, the fit as shipped otherwise):

- ``--ensemble FILE``: the mean of the shipped lifter's points and another network's;
- ``--jitter SIGMA N``: the mean of the lifts of the keypoints and of N copies moved by
  N(0, SIGMA) of the body's 2D size (a test-time augmentation);
- ``--blend A``: the lifter's points moved a share A × visibility toward BlazePose's own world
  landmarks (camera frame, hip-centred);
- ``--bones GROUP ...``: the fit's bone-direction term (``world_landmarks.BONES``) also on the
  bones of ``EXTRA_BONES``' groups (hands, feet, head).

    .venv/bin/python benchmarks/studies/lift_variants.py --work W [--half tuning]
        [--ensemble OTHER.onnx] [--jitter 0.01 8] [--blend 0.25] [--bones hands feet]

``W`` holds ``keypoints.npz`` (``lifter_confidence.py detect``) and ``bp_world.npz``
(``depth_world_cache.py``). A network stored with float16 weights must be converted to
float32 first (onnxruntime does not run its Gemm nodes on float16 initialisers).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))
sys.path.insert(2, str(ROOT / "benchmarks/studies"))

import lifter_confidence as lc  # noqa: E402
import rendered_eval as re_  # noqa: E402
from lift_needed import hip_centred  # noqa: E402

#: Bones beyond the limbs, torso lines and hips that ``--bones`` adds, by group.
EXTRA_BONES = {
    "hands": (("left_wrist", "left_index"), ("left_wrist", "left_pinky"),
              ("right_wrist", "right_index"), ("right_wrist", "right_pinky")),
    "feet": (("left_ankle", "left_foot_index"), ("left_heel", "left_foot_index"),
             ("right_ankle", "right_foot_index"), ("right_heel", "right_foot_index")),
    "head": (("right_ear", "left_ear"), ("left_shoulder", "left_ear"),
             ("right_shoulder", "right_ear")),
}  # fmt: skip


class MeanLifter:
    """The mean of several lifts of one photo: of other networks (``lifters``) and of the
    keypoints moved by ``jitter`` = (σ as a share of the body's 2D size, copies)."""

    def __init__(self, lifters, jitter=(0.0, 0)):
        self.lifters, (self.sigma, self.copies) = lifters, jitter

    def lift(self, xy, confidence, focal, principal):
        from blender_smplify.core.lifter import LiftedPoints

        xy = np.asarray(xy, dtype=np.float64)
        rng = np.random.default_rng(0)
        seen = xy[np.asarray(confidence) > 0.3]
        size = np.linalg.norm(np.ptp(seen, axis=0)) if len(seen) else 0.0
        inputs = [xy] + [xy + rng.normal(0, self.sigma * size, xy.shape)
                         for _ in range(self.copies)]  # fmt: skip
        lifts = [lifter.lift(q, confidence, focal, principal)
                 for lifter in self.lifters for q in inputs]  # fmt: skip

        def mean(values):
            return None if values[0] is None else np.mean(values, axis=0)

        return LiftedPoints(
            mean([o.points for o in lifts]),
            lifts[0].visibility,
            mean([o.expected_error for o in lifts]),
            mean([o.segment_away_probability for o in lifts]),
        )


class BlendedLifter:
    """The shipped lift moved a share ``alpha`` × visibility toward BlazePose's world
    landmarks of the photo being fitted (``current``, set per render)."""

    def __init__(self, alpha: float):
        from blender_smplify.core.lifter import default_lifter

        self.base, self.alpha, self.current = default_lifter(), alpha, None

    def lift(self, xy, confidence, focal, principal):
        from dataclasses import replace

        out = self.base.lift(xy, confidence, focal, principal)
        if self.current is None:
            return out
        principal = np.asarray(principal, dtype=float).reshape(2)
        landmarks = hip_centred(self.current.in_camera(focal, principal))
        share = self.alpha * self.current.visibility[:, None]
        return replace(out, points=(1 - share) * out.points + share * landmarks)


def with_extra_bones(groups: list[str]) -> None:
    """The fit's bone term on ``world_landmarks.BONES`` plus those of ``groups``."""
    from blender_smplify.core import fit_setup, world_landmarks

    bones = world_landmarks.BONES + tuple(b for g in groups for b in EXTRA_BONES[g])
    fit_setup.bone_targets = functools.partial(world_landmarks.bone_targets, bones=bones)


def main(argv=None) -> int:
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.lifter import Lifter, default_lifter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    ap.add_argument("--ensemble", type=Path, default=None, metavar="ONNX")
    ap.add_argument("--jitter", nargs=2, type=float, default=None, metavar=("SIGMA", "N"))
    ap.add_argument("--blend", type=float, default=None, metavar="A")
    ap.add_argument("--bones", nargs="+", choices=sorted(EXTRA_BONES), default=None)
    args = ap.parse_args(argv)
    lifters = {"": default_lifter()}
    variants = {"shipped": ["", {}, {}]}
    if args.ensemble:
        other = Lifter(args.ensemble, mirror_average=True)
        lifters["ensemble"] = MeanLifter([default_lifter(), other])
        variants[f"mean with {args.ensemble.name}"] = ["ensemble", {}, {}]
    if args.jitter:
        lifters["jitter"] = MeanLifter([default_lifter()], (args.jitter[0], int(args.jitter[1])))
        variants[f"jitter {args.jitter[0]} × {int(args.jitter[1])}"] = ["jitter", {}, {}]
    blended = BlendedLifter(args.blend) if args.blend is not None else None
    if blended:
        lifters["blend"] = blended
        variants[f"{args.blend} toward BlazePose"] = ["blend", {}, {}]
    if args.bones:
        with_extra_bones(args.bones)  # every variant's fit, so run it apart from the others
        variants = {f"{name}, bones + {' '.join(args.bones)}": v for name, v in variants.items()}
    model = BodyModel.load(gender="neutral")
    keypoints = lc.load_keypoints(args.work)
    results = []
    for png, info in re_.load_cases(args.cache, None, None):
        if args.half != "all" and lc.half_of(png.stem) != args.half:
            continue
        detected = lc.detected_landmarks(args.work / "bp_world.npz", png.stem, info)
        if blended:
            blended.current = detected
        row = lc.fit_case(info, keypoints[png.stem], variants, lifters, model, lc.SOURCES,
                          detected)  # fmt: skip
        results.append({"name": png.stem, **row})
    print(f"{args.half} half")
    for source in lc.SOURCES:
        print(f"\nfrom {source}: PA-MPJPE 24 median / p90 | backwards | facing right | CPU ms")
        for name in variants:
            rows = [r[source][name] for r in results if r.get(source) is not None]
            print(f"| {name} | {lc.summary(rows)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
