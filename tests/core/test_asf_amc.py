"""The Acclaim ASF/AMC reader (tools/asf_amc.py) and its retargeting to SMPL, on hand-written
files: a 3-bone chain with known angles, and a small HDM05-like body."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from blender_smplify.core.joints import J

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

UNIT = 0.0254 / 0.45  # metres per ASF length unit at ":units length 0.45"


def _asf(bones: list[tuple], hierarchy: list[str]) -> str:
    """ASF text; bones are (name, direction, length, axis angles, dofs)."""
    lines = [
        ":version 1.10",
        ":name test",
        ":units",
        "  mass 1.0",
        "  length 0.45",
        "  angle deg",
        ":documentation",
        "  # für Bonn",
        ":root",
        "   order TX TY TZ RX RY RZ",
        "   axis XYZ",
        "   position 0 0 0",
        "   orientation 0 0 0",
        ":bonedata",
    ]
    for i, (name, direction, length, axis, dofs) in enumerate(bones, start=1):
        lines += [
            "  begin",
            f"     id {i}",
            f"     name {name}",
            "     direction " + " ".join(str(v) for v in direction),
            f"     length {length}",
            "     axis " + " ".join(str(v) for v in axis) + " XYZ",
        ]
        if dofs:
            lines += [
                "    dof " + " ".join(dofs),
                "    limits " + " ".join(["(-180 180)"] * len(dofs)),
            ]
        lines.append("  end")
    return "\n".join(lines + [":hierarchy", "  begin", *hierarchy, "  end"]) + "\n"


def _amc(frames: list[dict[str, list[float]]], bones: list[str]) -> str:
    lines = ["#!OML:ASF X:\\für Bonn\\test.ASF", ":FULLY-SPECIFIED", ":DEGREES"]
    for f, values in enumerate(frames, start=1):
        lines.append(str(f))
        for bone in bones:
            lines.append(bone + " " + " ".join(str(v) for v in values[bone]))
    return "\n".join(lines) + "\n"


CHAIN = [
    ("a", (0, 1, 0), 10.0, (0, 0, 0), ["rx", "ry", "rz"]),
    ("b", (1, 0, 0), 5.0, (0, 0, 90), ["rx"]),
    ("c", (0, 0, 1), 2.0, (0, 0, 0), ["rz"]),
]


@pytest.fixture
def chain(tmp_path):
    (tmp_path / "chain.asf").write_text(_asf(CHAIN, ["root a", "a b", "b c"]), encoding="latin-1")
    zero = {"root": [0.0] * 6, "a": [0.0] * 3, "b": [0.0], "c": [0.0]}
    frames = [
        zero,
        {**zero, "root": [1.0, 2.0, 3.0, 0.0, 90.0, 0.0]},  # moved, turned 90 about y
        {**zero, "b": [90.0]},  # b's x dof turns about its frame's x = world y (axis 0 0 90)
        {**zero, "a": [90.0, 0.0, 90.0]},  # Rz(90) Rx(90): x applied first
        {**zero, "b": [270.0]},  # a hinge past 180: the same rotation as -90
    ]
    (tmp_path / "chain.amc").write_text(_amc(frames, ["root", "a", "b", "c"]), encoding="latin-1")
    return tmp_path


def test_chain_joint_positions_from_known_angles(chain):
    from tools.asf_amc import read_amc, read_asf
    from tools.bvh import forward_kinematics

    skeleton = read_asf(chain / "chain.asf")
    assert skeleton.names == ["root", "a", "b", "c"]
    motion = read_amc(chain / "chain.amc", skeleton)
    assert motion.names == ["root", "a", "b", "c", "c_end"]
    _, pos = forward_kinematics(motion)
    ends = {  # (start of b, start of c, tip of c) in ASF units; a starts at the root
        0: [(0, 10, 0), (5, 10, 0), (5, 10, 2)],
        1: [(0, 10, 0), (0, 10, -5), (2, 10, -5)],
        2: [(0, 10, 0), (0, 10, -5), (2, 10, -5)],
        3: [(0, 0, 10), (0, 5, 10), (2, 5, 10)],
        4: [(0, 10, 0), (0, 10, 5), (-2, 10, 5)],
    }
    root = {1: np.array([1.0, 2.0, 3.0])}
    for f, expected in ends.items():
        origin = root.get(f, np.zeros(3))
        assert np.allclose(pos[f, 0], origin * UNIT), f
        assert np.allclose(pos[f, 1], origin * UNIT), f
        assert np.allclose(pos[f, 2:], (origin + np.array(expected)) * UNIT, atol=1e-12), f


def test_reader_names_the_file_on_bad_input(chain):
    from tools.asf_amc import AsfAmcError, read_amc, read_asf

    skeleton = read_asf(chain / "chain.asf")
    bad = chain / "bad.amc"
    bad.write_text(":DEGREES\n1\nroot 0 0 0 0 0 0\na 1 2\n")  # a has three dofs
    with pytest.raises(AsfAmcError, match=r"bad\.amc, line 4"):
        read_amc(bad, skeleton)
    bad.write_text(":DEGREES\n1\nroot 0 0 0 0 0 0\nelbow 1 2 3\n")
    with pytest.raises(AsfAmcError, match="elbow"):
        read_amc(bad, skeleton)
    broken = chain / "broken.asf"
    broken.write_text(_asf(CHAIN, ["root a", "a b", "b d"]))
    with pytest.raises(AsfAmcError, match="broken.asf.*'d'"):
        read_asf(broken)


def _side(bones: list[tuple], side: str) -> list[tuple]:
    """Left bones as written, right bones mirrored (x negated, axis z and y angles negated)."""
    if side == "l":
        return bones
    out = []
    for name, (x, y, z), length, (ax, ay, az), dofs in bones:
        out.append(("r" + name[1:], (-x, y, z), length, (ax, -ay, -az), dofs))
    return out


LEG = [
    ("lhipjoint", (0.6, -0.8, 0.0), 1.5, (0, 0, 0), []),
    ("lfemur", (0.34202, -0.939693, 0), 7.0, (0, 0, 20), ["rx", "ry", "rz"]),
    ("ltibia", (0.34202, -0.939693, 0), 7.0, (0, 0, 20), ["rx"]),
    ("lfoot", (0.14, -0.37, 0.92), 2.3, (-90, 0, 20), ["rx", "rz"]),
    ("ltoes", (0, 0, 1), 1.1, (-90, 0, 20), ["rx"]),
]
ARM = [
    ("lclavicle", (0.95, 0.24, -0.2), 3.8, (0, 0, 0), ["ry", "rz"]),
    ("lhumerus", (1, 0, 0), 4.8, (180, -30, -90), ["rx", "ry", "rz"]),
    ("lradius", (1, 0, 0), 3.0, (180, -30, -90), ["rx"]),
    ("lwrist", (1, 0, 0), 1.5, (0, 90, 90), ["ry"]),
    ("lhand", (1, 0, 0), 1.3, (0, 90, 90), ["rx", "rz"]),
    ("lfingers", (1, 0, 0), 1.0, (0, 90, 90), ["rx"]),
]
SPINE = [
    (n, (0.02, 1.0, -0.04), 2.2, (0, 0, 0), ["rx", "ry", "rz"])
    for n in ("lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head")
]
HIERARCHY = [
    "root lhipjoint rhipjoint lowerback",
    "lowerback upperback",
    "upperback thorax",
    "thorax lowerneck lclavicle rclavicle",
    "lowerneck upperneck",
    "upperneck head",
] + [
    f"{s}{a} {s}{b}"
    for s in "lr"
    for a, b in (
        ("hipjoint", "femur"),
        ("femur", "tibia"),
        ("tibia", "foot"),
        ("foot", "toes"),
        ("clavicle", "humerus"),
        ("humerus", "radius"),
        ("radius", "wrist"),
        ("wrist", "hand"),
        ("hand", "fingers"),
    )
]


@pytest.fixture
def body(tmp_path):
    """A small HDM05-like body (T-pose, legs spread 20 degrees) and a few frames."""
    bones = SPINE + _side(LEG, "l") + _side(LEG, "r") + _side(ARM, "l") + _side(ARM, "r")
    (tmp_path / "body.asf").write_text(_asf(bones, HIERARCHY))
    zero = {"root": [0.0] * 6} | {b[0]: [0.0] * len(b[4]) for b in bones if b[4]}
    rng = np.random.default_rng(3)
    frames = [
        zero,
        zero | {"ltibia": [30.0]},  # knee bent 30 degrees
        zero | {"root": [0.0, 0.0, 0.0, 0.0, 90.0, 0.0]},  # body turned to face +x
        zero | {"lradius": [50.0]},  # elbow bent 50 degrees
        {k: list(rng.uniform(-40, 40, len(v))) for k, v in zero.items()},
    ]
    (tmp_path / "body.amc").write_text(_amc(frames, list(zero)))
    return tmp_path


def test_acclaim_body_retargets_with_smpl_conventions(body):
    from tools.asf_amc import read_asf_amc
    from tools.bvh import forward_kinematics
    from tools.retarget_bvh import FAMILIES, bone_direction_errors, global_to_pose, retarget

    motion = read_asf_amc(body / "body.asf", body / "body.amc")
    # template: the rest pose with the legs brought together (SMPL's legs hang straight down)
    straight = np.zeros((1, motion.motion.shape[1]))
    for name, sign in (("lfemur", 1.0), ("rfemur", -1.0)):
        col = sum(len(c) for c in motion.channels[: motion.index(name)])
        straight[0, col] = -20.0 * sign  # rz is listed first (channels Z Y X)
    rest = forward_kinematics(motion, straight)[1][0]
    mapping = FAMILIES["acclaim"]["map"]
    template = np.array([rest[motion.index(mapping[n])] for n in J])
    assert np.allclose(template[J["left_knee"], [0, 2]], template[J["left_hip"], [0, 2]])

    pose = global_to_pose(retarget(motion, template=template)).reshape(-1, 24, 3)
    spread = np.radians(20.0)
    assert np.allclose(pose[0, J["left_hip"]], [0, 0, spread], atol=1e-9)  # the ASF rest spread
    assert np.allclose(pose[0, J["right_hip"]], [0, 0, -spread], atol=1e-9)
    # (ankles and feet take a small twist from bringing the legs together in the template)
    legs = ("hip", "ankle", "foot")
    others = [j for n, j in J.items() if not any(n.endswith(part) for part in legs)]
    assert np.allclose(pose[0, others], 0.0, atol=1e-9)
    assert np.allclose(pose[1, J["left_knee"]], [np.radians(30), 0, 0], atol=1e-9)  # +x flexes
    assert np.allclose(pose[2, J["pelvis"]], [0, np.pi / 2, 0], atol=1e-9)
    assert np.allclose(pose[2, 1:], pose[0, 1:], atol=1e-9)
    # the CMU/HDM05 elbow hinge is tilted 30 degrees from -y (forwards flexion) towards +z
    assert np.allclose(
        pose[3, J["left_elbow"]], np.radians(50) * np.array([0, -0.866025, 0.5]), atol=1e-6
    )
    # a random frame: every posed template bone lies along its ASF segment, except the neck:
    # SMPL's one neck bone follows lowerneck, so upperneck's bend moves the head joint
    # (whose rotation follows the ASF head, so the head itself is right)
    errors = bone_direction_errors(
        motion, global_to_pose(retarget(motion, template=template)), template
    )
    assert len(errors) >= 20
    bad = {b: round(float(e[4]), 2) for b, e in errors.items() if e[4] > 1e-4 and b != "neck-head"}
    assert not bad  # degrees


def test_plausible_hinges_drops_knees_bent_backwards():
    from tools.pose_prior_data import plausible_hinges

    pose = np.zeros((4, 72))
    pose[1, 3 * J["left_knee"]] = np.radians(150)  # deep flexion: fine
    pose[2, 3 * J["right_knee"]] = np.radians(-160)  # an HDM05 knee written as 200 degrees
    pose[3, 3 * J["right_elbow"] + 1] = np.radians(-60)  # right elbow bent backwards
    assert plausible_hinges(pose).tolist() == [True, True, False, False]


def test_hdm05_split_holds_out_whole_activities_and_actors(body, tmp_path):
    from tools.pose_prior_data import (
        HDM05_HELD_OUT_ACTORS,
        HDM05_HELD_OUT_CLASSES,
        list_hdm05_clips,
        load_hdm05_poses,
    )

    assert "lieDownFloor" in HDM05_HELD_OUT_CLASSES and "squat1Reps" not in HDM05_HELD_OUT_CLASSES
    assert "mm" in HDM05_HELD_OUT_ACTORS and "bd" not in HDM05_HELD_OUT_ACTORS
    root = tmp_path / "hdm05"
    rows = [
        ("train/7/HDM_bd_lieDownFloor_001_120.amc", "lieDownFloor", "bd"),
        ("train/10/HDM_bd_squat1Reps_001_120.amc", "squat1Reps", "bd"),
        ("test/10/HDM_mm_squat1Reps_002_120.amc", "squat1Reps", "mm"),
    ]
    (root / "asf").mkdir(parents=True)
    lines = ["path,class,actor,take,fps,frames,bytes"]
    for path, activity, actor in rows:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes((body / "body.amc").read_bytes())
        (root / "asf" / f"HDM_{actor}.asf").write_bytes((body / "body.asf").read_bytes())
        lines.append(f"{path},{activity},{actor},001,120,5,0")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")

    clips = list_hdm05_clips(root)
    assert clips["hdm05/HDM_mm_squat1Reps_002"].activity == "squat1Reps"
    train = load_hdm05_poses(root, split="train")
    held = load_hdm05_poses(root, split="held-out")
    assert set(train) == {"hdm05/HDM_bd_squat1Reps_001"}
    assert set(held) == {"hdm05/HDM_bd_lieDownFloor_001", "hdm05/HDM_mm_squat1Reps_002"}
    assert set(load_hdm05_poses(root, classes=["squat1Reps"])) == {
        "hdm05/HDM_bd_squat1Reps_001",
        "hdm05/HDM_mm_squat1Reps_002",
    }
    assert train["hdm05/HDM_bd_squat1Reps_001"].shape == (5, 72)
    with pytest.raises(KeyError, match="sitOnChair"):
        load_hdm05_poses(root, classes=["sitOnChair"])
