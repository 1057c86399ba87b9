"""Optional IK controls for the avatar's arms and legs, switched on and off without moving it.

Switching on gives each forearm and shin bone (SMPL's ``*_elbow`` and ``*_knee`` bones) an IK
constraint over two bones, with a target empty at the wrist or ankle and a pole-target empty in
front of the knee or behind the elbow, both placed from the current pose; the pole angle is
computed so that the solved chain lies in the plane it lies in now (the angle between the chain
root's x axis and the pole direction, both projected across the chain). Switching off writes the
solved pose into the bones (FK) and removes our constraints and empties, so the body stays put.
The empties are children of the armature object and live in the avatar's collection.
"""

from __future__ import annotations

import bpy
from mathutils import Matrix, Vector

from . import build_rig

IK_NAME = "SMPLify IK"
ROLE_TARGET = "ik_target"
ROLE_POLE = "ik_pole"
#: (IK bone, its parent in the chain, joint the target sits on, pole side: +1 front, −1 back)
LIMBS = (
    ("left_elbow", "left_shoulder", "left_wrist", -1.0),
    ("right_elbow", "right_shoulder", "right_wrist", -1.0),
    ("left_knee", "left_hip", "left_ankle", 1.0),
    ("right_knee", "right_hip", "right_ankle", 1.0),
)
POLE_DISTANCE = 0.4  # m from the middle joint


def ik_enabled(armature: bpy.types.Object) -> bool:
    return any(armature.pose.bones[bone].constraints.get(IK_NAME) for bone, *_ in LIMBS)


def enable_ik(armature: bpy.types.Object) -> list[bpy.types.Object]:
    """Add the IK constraints and their target and pole empties; returns the empties.

    Nothing moves: the targets sit where the wrists and ankles are, the poles in the plane of
    each limb, and each pole angle keeps the chain's twist.
    """
    build_rig.check_bones(armature)
    if ik_enabled(armature):
        return _our_empties(armature)
    bpy.context.view_layer.update()
    collection = armature.users_collection[0]
    empties = []
    for bone_name, parent_name, end_name, side in LIMBS:
        bone, parent = armature.pose.bones[bone_name], armature.pose.bones[parent_name]
        end = armature.pose.bones[end_name].head
        target = _empty(f"{armature.name} IK {end_name}", ROLE_TARGET, armature, collection)
        target.location = end  # armature space (parented with an identity inverse)
        pole_at = _pole_position(parent, bone, side)
        pole = _empty(f"{armature.name} pole {bone_name}", ROLE_POLE, armature, collection)
        pole.location = pole_at
        constraint = bone.constraints.new("IK")
        constraint.name = IK_NAME
        constraint.target = target
        constraint.pole_target = pole
        constraint.chain_count = 2
        constraint.use_tail = True
        constraint.use_stretch = False
        constraint.pole_angle = _pole_angle(parent, bone, pole_at)
        empties += [target, pole]
    return empties


def disable_ik(armature: bpy.types.Object) -> None:
    """Back to FK: the solved pose goes into the bones, our constraints and empties go away."""
    chain = [name for bone, parent, *_ in LIMBS for name in (parent, bone)]
    solved = visual_basis(armature, chain)
    for bone, *_ in LIMBS:
        constraint = armature.pose.bones[bone].constraints.get(IK_NAME)
        if constraint is not None:
            armature.pose.bones[bone].constraints.remove(constraint)
    set_basis(armature, solved)
    for empty in _our_empties(armature):
        bpy.data.objects.remove(empty)


def visual_basis(armature: bpy.types.Object, names: list[str] | None = None) -> dict[str, Matrix]:
    """The bones' local (basis) matrices of the pose as shown, constraints included."""
    bpy.context.view_layer.update()
    bones = armature.pose.bones
    return {
        name: armature.convert_space(
            pose_bone=bones[name], matrix=bones[name].matrix, from_space="POSE", to_space="LOCAL"
        )
        for name in (names if names is not None else [bone.name for bone in bones])
    }


def set_basis(armature: bpy.types.Object, basis: dict[str, Matrix]) -> None:
    """Pose bones by local matrices (rotation as quaternion, location; scale left alone)."""
    for name, matrix in basis.items():
        pose_bone = armature.pose.bones[name]
        pose_bone.rotation_mode = "QUATERNION"
        pose_bone.rotation_quaternion = matrix.to_quaternion()
        pose_bone.location = matrix.translation


def freeze_pose(source: bpy.types.Object, copy: bpy.types.Object, constraints: tuple) -> None:
    """Give ``copy`` (a copy of the rig ``source``) the pose ``source`` shows, with the named
    constraints (ours: IK, joint limits) removed from it: an exported copy then holds the pose
    the user sees, without IK targets left in the user's scene."""
    basis = visual_basis(source)
    for pose_bone in copy.pose.bones:
        for constraint in [c for c in pose_bone.constraints if c.name in constraints]:
            pose_bone.constraints.remove(constraint)
    set_basis(copy, basis)


def _our_empties(armature: bpy.types.Object) -> list[bpy.types.Object]:
    return [
        child
        for child in armature.children
        if child.type == "EMPTY" and child.get(build_rig.ROLE_PROP) in (ROLE_TARGET, ROLE_POLE)
    ]


def _empty(name: str, role: str, armature, collection) -> bpy.types.Object:
    empty = bpy.data.objects.new(name, None)
    empty.empty_display_type = "SPHERE" if role == ROLE_TARGET else "PLAIN_AXES"
    empty.empty_display_size = 0.05 if role == ROLE_TARGET else 0.03
    empty.show_in_front = True
    empty[build_rig.ROLE_PROP] = role
    empty[build_rig.KEY_PROP] = armature.get(build_rig.KEY_PROP, "")
    collection.objects.link(empty)
    empty.parent = armature
    return empty


def _pole_position(parent: bpy.types.PoseBone, bone: bpy.types.PoseBone, side: float) -> Vector:
    """Pole (armature space): from the middle joint away from the chain's line, on the side the
    joint points to (a straight limb: along the upper bone's z, the body's front in rest)."""
    root, middle, end = parent.head, bone.head, bone.tail
    line = (end - root).normalized()
    out = (middle - root) - line * (middle - root).dot(line)
    if out.length < 1e-3:  # straight: the bend goes about the bones' x axes (z forward)
        out = parent.z_axis * side
    return middle + out.normalized() * POLE_DISTANCE


def _pole_angle(parent: bpy.types.PoseBone, bone: bpy.types.PoseBone, pole: Vector) -> float:
    """The pole angle that keeps the chain's current twist.

    Blender's IK turns the chain root's x axis towards the pole (seen across the root bone) and
    then by the pole angle; so the angle is the signed angle, about the root bone, from the pole
    direction (the normal of the plane of chain and pole, turned a quarter about the root bone)
    to the root's x axis as it is now.
    """
    along = parent.tail - parent.head
    normal = (bone.tail - parent.head).cross(pole - parent.head)
    towards_pole = normal.cross(along)
    angle = towards_pole.angle(parent.x_axis)
    return -angle if towards_pole.cross(parent.x_axis).dot(along) < 0 else angle
