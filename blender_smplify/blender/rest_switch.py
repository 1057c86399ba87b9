"""Switch an avatar's rest pose (T-pose, A-pose, arms down) without moving its posed body.

The steps (the math is in :mod:`..core.rest_pose`):

1. the posed body as it is now, from the shape-key mix and the bones' skinning transforms;
2. the Basis and every shape key re-expressed in the new rest by linear blend skinning, each with
   the joints of its own shape (beta keys: J_template + J_dirs e_i; other keys: J_template);
3. the bones re-bound at the new rest joints, and the pose compensated so every bone's skinning
   transform still carries its rest geometry onto the same posed place;
4. where skinning weights blend, skinning does not compose, so the posed body of step 3 differs
   from step 1 (up to 19 mm for the A-pose, 44 mm for arms down, on the open model in a random
   pose): the pose-corrective shape key takes that difference, solved per vertex, so the posed
   body is unchanged. With that key at 0 (the Rest pose button) the body is exactly SMPL's body in
   the new rest pose.
"""

from __future__ import annotations

import bmesh
import bpy
import numpy as np
from scipy import sparse

from ..core.axes import SMPL_TO_BLENDER
from ..core.errors import SmplifyError
from ..core.joints import SMPL_JOINT_NAMES
from ..core.rest_pose import (
    apply,
    blend,
    change_rest,
    check_rest_pose,
    posed_joints,
    rest_rotations,
    rest_transforms,
    solve_rest,
    unposed_joints,
)
from . import build_rig

S = SMPL_TO_BLENDER


def rest_name(armature: bpy.types.Object) -> str:
    """The avatar's rest pose name (``t`` unless switched)."""
    return str(armature.get(build_rig.REST_PROP, "t"))


def switch_rest(armature: bpy.types.Object, body: bpy.types.Object, name: str) -> float:
    """Rest the avatar in pose ``name`` (``t``, ``a``, ``down``); the posed body stays put.

    Returns the largest correction (metres) the pose-corrective key took (step 4 above).
    """
    check_rest_pose(name)
    build_rig.check_bones(armature)
    old = rest_name(armature)
    if old == name:
        return 0.0
    old_rest, new_rest = rest_rotations(old), rest_rotations(name)
    bpy.context.view_layer.update()
    weights = skin_weights(body)
    keys = shape_key_coordinates(body)
    # 1. the posed body now
    posed = apply(blend(weights, skinning_transforms(armature, body)), key_mix(body, keys))
    rotations, _ = build_rig.current_pose(armature, np.zeros(3))
    root = armature.pose.bones[SMPL_JOINT_NAMES[0]]
    root_location = root.location.copy()
    # 2. the body and its shape keys in the new rest (SMPL frame for the math)
    for key_name, co in keys.items():
        joints = key_joints(armature, key_name)
        keys[key_name] = change_rest(co @ S, weights, joints, old_rest, new_rest) @ S.T
    # 3. bones at the new rest joints, pose compensated
    heads = np.array([armature.data.bones[j].head_local for j in SMPL_JOINT_NAMES]) @ S
    joints = unposed_joints(heads, old_rest)
    build_rig.set_rest_bones(armature, posed_joints(joints, new_rest) @ S.T)
    armature[build_rig.REST_PROP] = name
    build_rig.set_pose(armature, rotations)
    root.location = root_location
    bpy.context.view_layer.update()
    # 4. the posed body's rest under the new binding; the corrective key takes the difference
    rest = solve_rest(blend(weights, skinning_transforms(armature, body)), posed)
    return _write_keys(body, keys, rest)


def refresh_corrective(
    armature: bpy.types.Object, body: bpy.types.Object, t_offsets: np.ndarray | None = None
) -> float:
    """Recompute the corrective key of a rig resting in A or arms down for its current pose, so
    the body is the one a T-pose rig shows in that pose (after Edit on the photo or any pose
    change; a T-pose rig needs none of this).

    The T-pose rig's skinning transform of bone k is this rig's composed with the bone's rest
    change, S_k U_k(P); the T-pose body is this rig's shape keys moved back to the T-pose.
    ``t_offsets`` (V, 3), armature frame: pose blend shapes to add on the T-pose body (SMPL
    files that have them). Returns the largest change of the corrective offsets (metres).
    """
    name = rest_name(armature)
    if name == "t":
        raise SmplifyError(f"{armature.name} rests in the T-pose: it needs no rest corrective")
    rest = rest_rotations(name)
    bpy.context.view_layer.update()
    weights = skin_weights(body)
    keys = shape_key_coordinates(body)
    skinning = skinning_transforms(armature, body)
    heads = np.array([armature.data.bones[j].head_local for j in SMPL_JOINT_NAMES]) @ S
    to_rest = rest_transforms(rest, unposed_joints(heads, rest))  # SMPL frame
    to_rest = np.concatenate([S @ to_rest[:, :, :3] @ S.T, (to_rest[:, :, 3] @ S.T)[..., None]], 2)
    t_pose_skinning = skinning[:, :, :3] @ to_rest  # S_k U_k: rotation and translation parts
    t_pose_skinning[:, :, 3] += skinning[:, :, 3]
    t_pose_keys = {
        key: change_rest(co @ S, weights, key_joints(armature, key), rest, rest_rotations("t"))
        @ S.T
        for key, co in keys.items()
        if key != build_rig.CORRECTIVE_KEY
    }
    t_pose_body = key_mix(body, t_pose_keys, exclude=build_rig.CORRECTIVE_KEY)
    if t_offsets is not None:
        t_pose_body = t_pose_body + t_offsets
    posed = apply(blend(weights, t_pose_skinning), t_pose_body)
    return _write_keys(body, keys, solve_rest(blend(weights, skinning), posed))


def skin_weights(body: bpy.types.Object) -> sparse.csr_matrix:
    """Skinning weights (V, 24), sparse, of the body's SMPL-named vertex groups as stored (one
    pass through the mesh's deform layer)."""
    columns = {
        group.index: SMPL_JOINT_NAMES.index(group.name)
        for group in body.vertex_groups
        if group.name in SMPL_JOINT_NAMES
    }
    weights = np.zeros((len(body.data.vertices), len(SMPL_JOINT_NAMES)))
    mesh = bmesh.new()
    try:
        mesh.from_mesh(body.data)
        layer = mesh.verts.layers.deform.active
        if layer is not None:
            for vertex in mesh.verts:
                for group, value in vertex[layer].items():
                    if group in columns:
                        weights[vertex.index, columns[group]] = value
    finally:
        mesh.free()
    return sparse.csr_matrix(weights)


def skinning_transforms(armature: bpy.types.Object, body: bpy.types.Object) -> np.ndarray:
    """Each bone's skinning transform (24, 3, 4) in the body's own frame, as Blender's armature
    modifier applies it: P^-1 (pose matrix · rest matrix^-1) P, P the body in armature space."""
    to_armature = np.array(armature.matrix_world.inverted() @ body.matrix_world)
    from_armature = np.linalg.inv(to_armature)
    pose_bones, bones = armature.pose.bones, armature.data.bones
    transforms = [
        from_armature
        @ np.array(pose_bones[j].matrix @ bones[j].matrix_local.inverted())
        @ to_armature
        for j in SMPL_JOINT_NAMES
    ]
    return np.array(transforms)[:, :3, :]


def shape_key_coordinates(body: bpy.types.Object) -> dict[str, np.ndarray]:
    """Coordinates (V, 3) of every shape key, by name (Basis first); a body without shape keys
    gets a Basis."""
    if body.data.shape_keys is None:
        body.shape_key_add(name="Basis", from_mix=False)
    keys = body.data.shape_keys
    if not keys.use_relative:
        raise SmplifyError(f"{body.name}: absolute shape keys are not supported")
    found = {}
    for block in keys.key_blocks:
        if block.vertex_group:
            raise SmplifyError(
                f"{body.name}: shape key '{block.name}' is masked by vertex group "
                f"'{block.vertex_group}': clear the mask to switch the rest pose"
            )
        co = np.empty(len(block.data) * 3, dtype=np.float32)
        block.data.foreach_get("co", co)
        found[block.name] = co.reshape(-1, 3).astype(np.float64)
    return found


def key_mix(body: bpy.types.Object, keys: dict[str, np.ndarray], exclude: str = "") -> np.ndarray:
    """The relative shape-key mix (V, 3): reference + Σ value_k (key_k − its relative key)."""
    shape_keys = body.data.shape_keys
    mix = keys[shape_keys.reference_key.name].copy()
    for block in shape_keys.key_blocks:
        if block == shape_keys.reference_key or block.mute or block.name == exclude:
            continue
        mix += block.value * (keys[block.name] - keys[block.relative_key.name])
    return mix


def key_joints(armature: bpy.types.Object, key_name: str) -> np.ndarray:
    """T-pose joints (24, 3) of the shape a key holds: J_template + J_dirs e_i for beta key i,
    J_template (the Basis shape) for any other key."""
    try:
        template = np.asarray(armature["smplify_J_template"], dtype=np.float64).reshape(24, 3)
        dirs = np.asarray(armature["smplify_J_dirs"], dtype=np.float64).reshape(24, 3, -1)
    except (KeyError, ValueError) as error:
        raise SmplifyError(f"{armature.name}: joint data missing ({error}); build again") from None
    for i in range(dirs.shape[2]):
        if key_name == build_rig.BETA_KEY.format(i):
            return template + dirs[:, :, i]
    return template


def _write_keys(body: bpy.types.Object, keys: dict[str, np.ndarray], rest: np.ndarray) -> float:
    """Write the moved keys, with the corrective key holding ``rest`` (V, 3) minus the other
    keys' mix; returns the largest change of the corrective key's offsets (metres)."""
    blocks = body.data.shape_keys.key_blocks
    reference = body.data.shape_keys.reference_key.name
    name = build_rig.CORRECTIVE_KEY
    if name not in blocks:
        block = body.shape_key_add(name=name, from_mix=False)
        block.slider_min, block.slider_max, block.value = 0.0, 1.0, 1.0
        keys[name] = keys[reference].copy()
    corrective = blocks[name]
    if corrective.mute or corrective.value <= 0.0:
        corrective.mute, corrective.value = False, 1.0
    if corrective.relative_key.name != reference:
        corrective.relative_key = blocks[reference]
    old_offsets = keys[name] - keys[reference]
    offsets = (rest - key_mix(body, keys, exclude=name)) / corrective.value
    keys[name] = keys[reference] + offsets
    for block_name, co in keys.items():
        blocks[block_name].data.foreach_set("co", co.astype(np.float32).ravel())
    body.data.vertices.foreach_set("co", keys[reference].astype(np.float32).ravel())
    body.data.update()
    return float(np.max(np.linalg.norm(offsets - old_offsets, axis=1)))
