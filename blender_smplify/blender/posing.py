"""Posing for fit review with Blender's own tools: a pose library and joint-limit constraints.

- Pose library: the garment-review poses of :mod:`..core.review_poses`, stored per avatar as
  pose assets (an Action with one key per bone channel, marked as an asset, so they show in
  Blender's Pose Library and Asset Browser) and applied from that Action. The bones' rest frames
  follow the body's shape, so each avatar gets its own Actions. The root keeps the avatar's place
  and its facing (the turn about the vertical); it is stood upright.
- Joint limits: a Limit Rotation constraint per bone from the fit's joint-limit boxes
  (:data:`..core.priors.JOINT_LIMIT_LOWER`/``UPPER``), which bound the axis-angle components of
  each SMPL joint in the SMPL frame. In a bone's own frame the rotation vector is
  v_local = M v_smpl with M = B_kᵀ S (B_k the bone's rest frame, S = SMPL_TO_BLENDER), so the box
  maps to a turned box; the constraint gets that box's bounding box (exact where the bone lies
  along an SMPL axis, as the limbs and spine do; wider elsewhere). Blender clamps Euler angles,
  which equal the axis-angle components for rotations about one axis and differ a little for
  combined large ones. On a rig resting in another pose (:mod:`.rest_switch`) the poses are
  taken relative to that rest and the boxes shifted by it (see :func:`limit_boxes`).
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from ..core.axes import SMPL_TO_BLENDER
from ..core.errors import SmplifyError
from ..core.joints import SMPL_JOINT_NAMES, SMPL_PARENTS
from ..core.priors import JOINT_LIMIT_LOWER, JOINT_LIMIT_UPPER
from ..core.review_poses import POSE_LABELS, REVIEW_POSES, review_pose
from ..core.rotation import matrix_to_rotvec, rodrigues
from . import build_rig, rig_math

POSE_PROP = "smplify_review_pose"
LIMIT_NAME = "SMPLify joint limit"
ASSET_FRAME = 1.0


# ----------------------------------------------------------------------------------------------
# Pose library


def pose_asset(armature: bpy.types.Object, name: str) -> bpy.types.Action:
    """The avatar's pose asset of review pose ``name`` (made, or updated to its current bones).

    One key per bone channel at frame 1: the rotation quaternions of bones 1..23 (the root is
    left to :func:`apply_review_pose`).
    """
    if name not in REVIEW_POSES:
        raise SmplifyError(f"unknown review pose '{name}' (one of {', '.join(REVIEW_POSES)})")
    build_rig.check_bones(armature)
    rotations = rodrigues(review_pose(name).reshape(24, 3))
    frames = build_rig.bone_frames(armature)
    local = rig_math.local_rotations(rotations, frames, build_rig.rig_rest(armature))
    action = _find_asset(armature, name)
    if action is None:
        action = bpy.data.actions.new(f"{POSE_LABELS[name]} ({armature.name})")
        action[POSE_PROP] = name
        action[build_rig.KEY_PROP] = armature.get(build_rig.KEY_PROP, armature.name)
        action.id_root = "OBJECT"
    for k, joint in enumerate(SMPL_JOINT_NAMES[1:], start=1):
        quaternion = Matrix(local[k].tolist()).to_quaternion()
        path = f'pose.bones["{joint}"].rotation_quaternion'
        for i, value in enumerate(quaternion):
            curve = action.fcurves.find(path, index=i) or action.fcurves.new(
                path, index=i, action_group=joint
            )
            curve.keyframe_points.insert(ASSET_FRAME, value, options={"FAST"})
    if action.asset_data is None:
        action.asset_mark()
        action.asset_data.description = f"SMPLify garment-review pose: {POSE_LABELS[name]}"
    return action


def _find_asset(armature: bpy.types.Object, name: str) -> bpy.types.Action | None:
    key = armature.get(build_rig.KEY_PROP, armature.name)
    for action in bpy.data.actions:
        if action.get(POSE_PROP) == name and action.get(build_rig.KEY_PROP) == key:
            return action
    return None


def pose_library(armature: bpy.types.Object) -> list[bpy.types.Action]:
    """All review poses of the avatar as pose assets."""
    return [pose_asset(armature, name) for name in REVIEW_POSES]


def apply_review_pose(armature: bpy.types.Object, name: str) -> bpy.types.Action:
    """Pose the avatar from its pose asset ``name``, standing upright where it stands, facing as
    it faces now; returns the Action. The pose-corrective key (made for the fitted pose) goes to 0.
    """
    from .avatar_ops import set_corrective

    action = pose_asset(armature, name)
    _stand_upright(armature)
    bones = armature.data.bones
    selected = [bone.name for bone in bones if bone.select]
    for bone in bones:  # the Action then poses every bone, not only the selected ones
        bone.select = False
    try:
        armature.pose.apply_pose_from_action(action, evaluation_time=ASSET_FRAME)
    finally:
        for bone_name in selected:
            bones[bone_name].select = True
    set_corrective(armature, 0.0)
    return action


def _stand_upright(armature: bpy.types.Object) -> None:
    """Turn the root bone so the body's up is the armature's +z, keeping its heading."""
    frames = build_rig.bone_frames(armature)
    root = armature.pose.bones[SMPL_JOINT_NAMES[0]]
    local = np.array(root.matrix_basis.to_3x3().normalized())
    aligned = frames[0] @ local @ frames[0].T  # the root's rotation, armature frame
    front = aligned @ rig_math.FORWARD
    heading = np.arctan2(front[1], front[0]) if np.hypot(front[0], front[1]) > 1e-6 else None
    rest_heading = np.arctan2(rig_math.FORWARD[1], rig_math.FORWARD[0])
    yaw = 0.0 if heading is None else heading - rest_heading
    upright = np.array(Matrix.Rotation(yaw, 3, "Z"))
    root.rotation_mode = "QUATERNION"
    root.rotation_quaternion = Matrix((frames[0].T @ upright @ frames[0]).tolist()).to_quaternion()


# ----------------------------------------------------------------------------------------------
# Joint limits


def limit_boxes(
    bone_frames: np.ndarray, rest: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (24, 3) lower and upper of each bone's local rotation components (radians).

    Parameters
    ----------
    bone_frames : (24, 3, 3) rest frames B_k of the bones (armature frame).
    rest : (24, 3, 3) SMPL rotations P_k of the rig's rest pose (None: SMPL's T-pose).

    Returns the bounding box of M_k ([lower, upper] − p_k) per bone with M_k = B_kᵀ S A_k, where
    p_k is the rest rotation's vector and A_k its parent's global rest rotation (the identity for
    the T-pose); ±inf where the fit sets no limit (the root). A bone rests in P_k, so its local
    rotation is A_k R_k P_kᵀ A_kᵀ, whose vector is A_k (r_k − p_k) when R_k turns about the rest
    rotation's axis (as the rest poses' shoulders do) and close to it otherwise.
    """
    lower = JOINT_LIMIT_LOWER.reshape(24, 3)
    upper = JOINT_LIMIT_UPPER.reshape(24, 3)
    parent_rest = np.broadcast_to(np.eye(3), (24, 3, 3)).copy()
    if rest is not None:
        shift = matrix_to_rotvec(rest)  # (24, 3)
        lower, upper = lower - shift, upper - shift
        parent_rest = _parent_rest(rest)
    mapping = np.swapaxes(bone_frames, 1, 2) @ SMPL_TO_BLENDER @ parent_rest  # (24, 3, 3) M_k
    with np.errstate(invalid="ignore"):  # 0 · inf where a bone has no limit
        low_end = mapping * lower[:, None, :]
        high_end = mapping * upper[:, None, :]
    keep = {"nan": 0.0, "posinf": np.inf, "neginf": -np.inf}
    low = np.nan_to_num(np.minimum(low_end, high_end), **keep).sum(axis=2)
    high = np.nan_to_num(np.maximum(low_end, high_end), **keep).sum(axis=2)
    return low, high


def _parent_rest(rest: np.ndarray) -> np.ndarray:
    """Global rest rotation (24, 3, 3) of each joint's parent (the identity for the root)."""
    global_rest = np.array(rest, dtype=np.float64)
    for k in range(1, 24):  # parents come before their children
        global_rest[k] = global_rest[SMPL_PARENTS[k]] @ rest[k]
    parent = np.broadcast_to(np.eye(3), rest.shape).copy()
    parent[1:] = global_rest[SMPL_PARENTS[1:]]
    return parent


def add_joint_limits(armature: bpy.types.Object) -> int:
    """Give each limited bone a Limit Rotation constraint (local space) from the fit's limits;
    returns how many bones got one. Existing ones of ours are updated, not duplicated."""
    build_rig.check_bones(armature)
    low, high = limit_boxes(build_rig.bone_frames(armature), build_rig.rig_rest(armature))
    count = 0
    for k, joint in enumerate(SMPL_JOINT_NAMES):
        if not np.all(np.isfinite(low[k]) & np.isfinite(high[k])):
            continue
        bone = armature.pose.bones[joint]
        constraint = bone.constraints.get(LIMIT_NAME) or bone.constraints.new("LIMIT_ROTATION")
        constraint.name = LIMIT_NAME
        constraint.owner_space = "LOCAL"
        constraint.euler_order = "XYZ"
        constraint.use_transform_limit = True  # rotating by hand stops at the limit too
        for axis, lo, hi in zip("xyz", low[k], high[k]):
            setattr(constraint, f"use_limit_{axis}", True)
            setattr(constraint, f"min_{axis}", float(lo))
            setattr(constraint, f"max_{axis}", float(hi))
        count += 1
    return count


def remove_joint_limits(armature: bpy.types.Object) -> int:
    """Remove our Limit Rotation constraints (only ours); returns how many."""
    removed = 0
    for bone in armature.pose.bones:
        constraint = bone.constraints.get(LIMIT_NAME)
        if constraint is not None:
            bone.constraints.remove(constraint)
            removed += 1
    return removed


def has_joint_limits(armature: bpy.types.Object) -> bool:
    return any(bone.constraints.get(LIMIT_NAME) for bone in armature.pose.bones)
