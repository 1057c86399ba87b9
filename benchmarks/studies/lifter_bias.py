"""Study: where the lifter's 3D points lean toward its training motion, per rendered category.

The lifter (``core/lifter.py``) is a regression from 2D to 3D trained on mocap
(``tools/train_lifter.py``); where one view leaves a limb's depth open it answers with what
the mocap holds most often. This measures, per category of the rendered benchmark, the lifted
points against the exact 3D truth (no fit involved), and the same quantities on the lifter's
training poses:

- the bend at the elbows and knees: interior angle (180° = straight) of the truth and of the
  lifted points, 3D, and that of the keypoints in 2D;
- each upper arm's angle from hanging (0° along the trunk pointing down, 90° held out
  sideways or forward), truth and lifted, in each body's own trunk frame;
- limb segments whose lifted depth sign (``depth_metrics.segment_depths`` along the ray to the
  truth's midpoint, the lifted points placed on the true hips) is wrong where the truth is
  clearly in depth.

    .venv/bin/python benchmarks/studies/lifter_bias.py renders --cache DIR --work W \
        [--lifter X.onnx] [--source truth|detector]
    .venv/bin/python benchmarks/studies/lifter_bias.py training

``W/keypoints.npz`` is ``lifter_confidence.py detect``'s cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import depth_metrics as dm  # noqa: E402

from blender_smplify.core.joints import J  # noqa: E402
from blender_smplify.core.keypoints import BLAZEPOSE33  # noqa: E402

BP = {n: i for i, n in enumerate(BLAZEPOSE33.names)}
LIMBS = tuple((side, chain) for side in ("left", "right")
              for chain in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle")))  # fmt: skip


def interior(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Interior angle at b of a-b-c (degrees, 180 = straight), 2D or 3D."""
    u, v = b - a, c - b
    cos = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
    return 180.0 - float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def from_hanging(shoulder, elbow, hips, shoulders) -> float:
    """Angle (degrees) of shoulder → elbow from the trunk's downward direction."""
    down = hips - shoulders
    u = elbow - shoulder
    cos = u @ down / (np.linalg.norm(u) * np.linalg.norm(down))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def smpl_measures(joints: np.ndarray) -> dict:
    """Bends and upper arms' angles from hanging of SMPL joints (24, 3)."""
    hips = 0.5 * (joints[J["left_hip"]] + joints[J["right_hip"]])
    shoulders = 0.5 * (joints[J["left_shoulder"]] + joints[J["right_shoulder"]])
    out = {"arm_bend": [], "leg_bend": [], "arm_out": []}
    for side, (a, b, c) in LIMBS:
        p = [joints[J[f"{side}_{n}"]] for n in (a, b, c)]
        out["arm_bend" if a == "shoulder" else "leg_bend"].append(interior(*p))
        if a == "shoulder":
            out["arm_out"].append(from_hanging(p[0], p[1], hips, shoulders))
    return out


def lifted_measures(points: np.ndarray, xy: np.ndarray) -> dict:
    """The same of blazepose33 points (33, 3), and the keypoints' 2D bends (33, 2)."""
    hips = 0.5 * (points[BP["left_hip"]] + points[BP["right_hip"]])
    shoulders = 0.5 * (points[BP["left_shoulder"]] + points[BP["right_shoulder"]])
    out = {"arm_bend": [], "leg_bend": [], "arm_out": [], "arm_bend_2d": [], "leg_bend_2d": []}
    for side, (a, b, c) in LIMBS:
        idx = [BP[f"{side}_{n}"] for n in (a, b, c)]
        kind = "arm" if a == "shoulder" else "leg"
        out[f"{kind}_bend"].append(interior(*points[idx]))
        out[f"{kind}_bend_2d"].append(interior(*xy[idx]))
        if a == "shoulder":
            out["arm_out"].append(from_hanging(points[idx[0]], points[idx[1]], hips, shoulders))
    return out


def lifted_signs(points: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """(wrong, clear): limb segments of the lifted points (on the true hips) with the other
    depth sign than the truth, of those the truth shows clearly in depth."""
    from blender_smplify.core.lifter import SEGMENT_ENDS

    placed = points + 0.5 * (truth[J["left_hip"]] + truth[J["right_hip"]])
    a, b = placed[SEGMENT_ENDS[:, 0]], placed[SEGMENT_ENDS[:, 1]]
    ray = (a + b) / np.linalg.norm(a + b, axis=1, keepdims=True)
    lifted = np.einsum("ij,ij->i", b - a, ray)
    depth, length = dm.segment_depths(truth)
    clear = np.abs(depth) / length > dm.CLEAR_DEPTH
    return int((clear & (np.sign(lifted) != np.sign(depth))).sum()), int(clear.sum())


def renders(args) -> int:
    import rendered_eval as re_

    from blender_smplify.core.lifter import Lifter

    lifter = Lifter(args.lifter, mirror_average=True)
    kp = np.load(args.work / "keypoints.npz")
    index = {str(n): k for k, n in enumerate(kp["name"])}
    rows: dict[str, list] = {}
    for png, info in re_.load_cases(args.cache, None, None):
        k = index[png.stem]
        xy, conf = np.nan_to_num(kp[f"{args.source}_xy"][k]), kp[f"{args.source}_conf"][k]
        if conf.max() == 0:
            continue
        truth = np.array(info["joints_camera"])
        w, h = info["image_size"]
        lifted = lifter.lift(xy, np.clip(conf, 0, 1), info["focal_px"], np.array([w / 2, h / 2]))
        rows.setdefault(info["category"], []).append(
            (smpl_measures(truth), lifted_measures(lifted.points, xy),
             lifted_signs(lifted.points, truth))
        )  # fmt: skip
    print(f"lifter {args.lifter or 'shipped'}, from {args.source}; medians, degrees")
    print("| category | elbow truth / lifted / 2D | knee truth / lifted / 2D "
          "| upper arm from hanging truth / lifted | lifted signs wrong |")  # fmt: skip
    print("|---|---|---|---|---|")
    for cat in sorted(rows) + ["all"]:
        got = [r for c, rs in rows.items() if cat in (c, "all") for r in rs]

        def med(i, key, got=got):
            return np.median([v for r in got for v in r[i][key]])

        wrong, clear = np.sum([r[2] for r in got], axis=0)
        print(f"| {cat} | {med(0, 'arm_bend'):.0f} / {med(1, 'arm_bend'):.0f} / "
              f"{med(1, 'arm_bend_2d'):.0f} | {med(0, 'leg_bend'):.0f} / "
              f"{med(1, 'leg_bend'):.0f} / {med(1, 'leg_bend_2d'):.0f} | "
              f"{med(0, 'arm_out'):.0f} / {med(1, 'arm_out'):.0f} | "
              f"{100 * wrong / max(clear, 1):.1f} % ({wrong}/{clear}) |")  # fmt: skip
    return 0


def training(args) -> int:
    """The lifter's training poses (``tools/train_lifter.training_poses``) on the neutral model
    at rest shape, every ``--every``-th pose: the share of arms by angle from hanging, and of
    those the share held straight (elbow interior > 160°)."""
    from blender_smplify.core.body_model import BodyModel
    from tools.train_lifter import training_poses

    poses = training_poses()[:: args.every]
    model = BodyModel.load(gender="neutral")
    arms = []
    for pose in poses:
        pose = pose.copy()
        pose[:3] = 0.0
        joints, _ = model.posed_points(None, pose, None, jacobian=False)
        m = smpl_measures(joints[:24])
        arms += list(zip(m["arm_out"], m["arm_bend"]))
    arms = np.array(arms)
    straight = 100 * (arms[:, 1] > 160).mean()
    print(f"{len(poses)} training poses, {len(arms)} arms; elbow interior median "
          f"{np.median(arms[:, 1]):.0f}°, straight (> 160°) {straight:.1f} %")  # fmt: skip
    print("| upper arm from hanging | share of arms | elbow median | straight (> 160°) |")
    print("|---|---|---|---|")
    for lo, hi in ((0, 25), (25, 60), (60, 90), (90, 180)):
        sel = (arms[:, 0] >= lo) & (arms[:, 0] < hi)
        print(f"| {lo}-{hi}° | {100 * sel.mean():.1f} % | {np.median(arms[sel, 1]):.0f}° | "
              f"{100 * (arms[sel, 1] > 160).mean():.1f} % |")  # fmt: skip
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("renders", "training"))
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lifter_confidence"))
    ap.add_argument("--lifter", default=None, help="ONNX file (default: the shipped lifter)")
    ap.add_argument("--source", choices=("truth", "detector"), default="truth")
    ap.add_argument("--every", type=int, default=5, help="training: every n-th pose")
    args = ap.parse_args(argv)
    return {"renders": renders, "training": training}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
