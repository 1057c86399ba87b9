"""Export an avatar for garment tools: FBX (CLO3D, Marvelous Designer), GLB, OBJ (Browzwear).

The export works on a copy of the avatar in a scene of its own, so the user's objects, the
avatar's rest pose and the scene's selection and frame are never touched:

1. copy the rig and the body (no other modifier than the Armature one), rest it in the chosen
   pose (:mod:`.rest_switch`), bake the shape keys' mix into the mesh (the pose-corrective key
   stays, as the only shape key, when it holds anything);
2. check what garment tools need: at most 70,000 triangles, welded, outward normals, and stand
   the rest body on the origin (the fit's place before a camera is no use in a garment tool);
3. optionally rename the bones (Mixamo; the vertex groups follow);
4. key the rest pose at frame :data:`REST_FRAME` (corrective 0) and the fitted pose at
   :data:`FITTED_FRAME` (corrective 1): the bind pose is the rest, the fit a keyframe;
5. write with Blender's own exporters into a temporary folder beside the target and move the
   files into place only when all of them are written (nothing half-written is left).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from ..core import export_presets
from ..core.errors import SmplifyError
from ..core.joints import SMPL_JOINT_NAMES
from . import build_rig, ik_controls, posing, rest_switch
from .avatar_ops import require_body

REST_FRAME, FITTED_FRAME = 1, 2
#: corrective offsets smaller than this (metres) are dropped instead of exported as a key
NEGLIGIBLE = 1e-6


@dataclass
class ExportResult:
    """What :func:`export_avatar` wrote, and the mesh facts it checked."""

    paths: list[Path]
    triangles: int
    vertices: int
    signed_volume: float
    seconds: float
    skeleton: str
    rest_pose: str
    bones: list[str] = field(default_factory=list)
    #: (4, 4) from the .blend's world to the file's (before its y-up turn): the avatar is moved
    #: to stand on the origin
    placement: np.ndarray = field(default_factory=lambda: np.eye(4))


def export_avatar(
    armature: bpy.types.Object,
    path: str | Path,
    *,
    skeleton: str = "smpl",
    rest_pose: str = export_presets.DEFAULT_REST,
) -> ExportResult:
    """Export the avatar of ``armature`` to ``path`` (.fbx, .glb or .obj; see the module doc).

    Raises SmplifyError for an unknown format, skeleton or rest pose, a folder that does not
    exist or cannot be written, or a mesh garment tools would refuse.
    """
    start = time.perf_counter()
    path = export_presets.check_export(path, skeleton, rest_pose)
    body = _avatar_body(armature)
    folder = path.resolve().parent
    if not folder.is_dir():
        raise SmplifyError(f"cannot export to {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise SmplifyError(f"cannot export to {path}: folder {folder} is not writable")
    with _export_copy(armature, body) as (scene, rig, mesh):
        rest_switch.switch_rest(rig, mesh, rest_pose)
        _bake_shape(mesh)
        facts = check_mesh(mesh)
        placement = _stand_on_origin(rig, mesh)
        if skeleton == "mixamo":
            _rename_bones(rig, export_presets.MIXAMO_NAMES)
        _key_poses(scene, rig, mesh)
        paths = _write(scene, rig, mesh, path.resolve())
        bones = [bone.name for bone in rig.data.bones]
    seconds = time.perf_counter() - start
    return ExportResult(paths, *facts, seconds, skeleton, rest_pose, bones, placement)


def _avatar_body(armature: bpy.types.Object | None) -> bpy.types.Object:
    if armature is None or armature.type != "ARMATURE":
        raise SmplifyError("select an avatar (its rig or body) to export")
    build_rig.check_bones(armature)
    return require_body(armature)


@contextmanager
def _export_copy(
    armature: bpy.types.Object, body: bpy.types.Object
) -> Iterator[tuple[bpy.types.Scene, bpy.types.Object, bpy.types.Object]]:
    """Copies of the rig and body (and their data) in a new scene, current in the context; all
    of it, with the actions keyed on it, is removed afterwards, also after an error."""
    scene = bpy.data.scenes.new("smplify_export")
    rig = armature.copy()
    rig.data = armature.data.copy()
    ik_controls.freeze_pose(armature, rig, (ik_controls.IK_NAME, posing.LIMIT_NAME))
    mesh = body.copy()
    mesh.data = body.data.copy()
    made = [(bpy.data.objects, rig), (bpy.data.objects, mesh)]
    made += [(bpy.data.armatures, rig.data), (bpy.data.meshes, mesh.data)]
    try:
        rig.name, mesh.name = "SMPLify_avatar", "SMPLify_body"
        rig.data.name, mesh.data.name = rig.name, mesh.name
        for obj in (rig, mesh):
            obj.animation_data_clear()
            scene.collection.objects.link(obj)
        if mesh.data.shape_keys is not None:
            mesh.data.shape_keys.animation_data_clear()
        mesh.parent = rig
        skinning = [m for m in mesh.modifiers if m.type == "ARMATURE" and m.object == armature]
        if not skinning:
            raise SmplifyError(f"{body.name}: its Armature modifier was removed; build again")
        for modifier in list(mesh.modifiers):
            if modifier != skinning[0]:
                mesh.modifiers.remove(modifier)
        skinning[0].object = rig
        with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
            yield scene, rig, mesh
    finally:
        actions = [
            owner.animation_data.action
            for owner in (rig, mesh.data.shape_keys)
            if owner is not None and owner.animation_data and owner.animation_data.action
        ]
        for collection, item in made:
            collection.remove(item)
        for action in actions:
            if action.users == 0:
                bpy.data.actions.remove(action)
        bpy.data.scenes.remove(scene)


def _bake_shape(mesh: bpy.types.Object) -> None:
    """The shape keys' mix as the mesh; the corrective key's offsets as its only key if any.

    The keys are edited in place, never cleared: Blender keeps a cleared shape-key block as an
    orphan that makes the next save of the user's file report an error.
    """
    keys = rest_switch.shape_key_coordinates(mesh)
    shape_keys = mesh.data.shape_keys
    reference, blocks = shape_keys.reference_key, shape_keys.key_blocks
    name = build_rig.CORRECTIVE_KEY
    mix = rest_switch.key_mix(mesh, keys, exclude=name)
    offsets = np.zeros_like(mix)
    if name in blocks and not blocks[name].mute:
        block = blocks[name]
        offsets = block.value * (keys[name] - keys[block.relative_key.name])
    keep = {reference.name} | ({name} if np.abs(offsets).max() > NEGLIGIBLE else set())
    for block in reversed(list(blocks)):
        if block.name not in keep:
            mesh.shape_key_remove(block)
    reference.data.foreach_set("co", mix.astype(np.float32).ravel())
    mesh.data.vertices.foreach_set("co", mix.astype(np.float32).ravel())
    if name in keep:
        block = blocks[name]
        block.relative_key, block.slider_min, block.slider_max = reference, 0.0, 1.0
        block.data.foreach_set("co", (mix + offsets).astype(np.float32).ravel())
    mesh.data.update()


def mesh_arrays(mesh: bpy.types.Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V, 3), triangles (T, 3) and polygon sizes (F,) of a mesh."""
    mesh.calc_loop_triangles()
    points = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", points)
    triangles = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", triangles)
    sizes = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("loop_total", sizes)
    return points.reshape(-1, 3).astype(np.float64), triangles.reshape(-1, 3), sizes


def check_mesh(mesh: bpy.types.Object) -> tuple[int, int, float]:
    """Triangles, vertices and signed volume of the rest mesh; SmplifyError unless it has at
    most 70,000 triangles, no duplicate vertices and outward normals."""
    points, triangles, sizes = mesh_arrays(mesh.data)
    count = export_presets.triangle_count(sizes)
    if count > export_presets.MAX_TRIANGLES:
        raise SmplifyError(
            f"{mesh.name}: {count:,} triangles, more than the {export_presets.MAX_TRIANGLES:,} "
            "garment tools take: decimate the body first"
        )
    duplicates = export_presets.duplicate_vertices(points)
    if duplicates:
        raise SmplifyError(f"{mesh.name}: {duplicates} vertices not welded (merge by distance)")
    volume = export_presets.signed_volume(points, triangles)
    if volume <= 0:
        raise SmplifyError(f"{mesh.name}: normals point inward (recalculate them outside)")
    return count, len(points), volume


def _stand_on_origin(rig: bpy.types.Object, mesh: bpy.types.Object) -> np.ndarray:
    """Move the rig (the body follows) so that its rest body stands on the origin, as garment
    tools expect: pelvis above it, the lowest point on the floor (z = 0; y = 0 once y is up),
    no rotation (the fit's orientation is the root bone's pose). Returns the (4, 4) transform
    from the old world to the new."""
    points, _, _ = mesh_arrays(mesh.data)  # the rest body in the rig's frame
    pelvis = np.array(rig.data.bones[SMPL_JOINT_NAMES[0]].head_local)
    old = np.array(rig.matrix_world)
    new = np.eye(4)
    new[:3, 3] = (-pelvis[0], -pelvis[1], -points[:, 2].min())
    rig.matrix_world = Matrix(new.tolist())
    return new @ np.linalg.inv(old)


def _rename_bones(rig: bpy.types.Object, names: dict[str, str]) -> None:
    """Rename the bones; Blender renames the body's vertex groups with them."""
    for old in SMPL_JOINT_NAMES:
        rig.data.bones[old].name = names[old]


def _key_poses(scene: bpy.types.Scene, rig: bpy.types.Object, mesh: bpy.types.Object) -> None:
    """Rest pose (identity, corrective 0) at REST_FRAME, the current pose at FITTED_FRAME."""
    bones = rig.pose.bones
    posed = {b.name: (b.rotation_quaternion.copy(), b.location.copy()) for b in bones}
    blocks = mesh.data.shape_keys.key_blocks if mesh.data.shape_keys else {}
    corrective = blocks.get(build_rig.CORRECTIVE_KEY)
    for frame, rest in ((REST_FRAME, True), (FITTED_FRAME, False)):
        for bone in bones:
            bone.rotation_mode = "QUATERNION"
            rotation, location = posed[bone.name]
            bone.rotation_quaternion = (1, 0, 0, 0) if rest else rotation
            bone.location = (0, 0, 0) if rest else location
            bone.keyframe_insert("rotation_quaternion", frame=frame)
            bone.keyframe_insert("location", frame=frame)
        if corrective is not None:
            corrective.value = 0.0 if rest else 1.0
            corrective.keyframe_insert("value", frame=frame)
    for action in (rig.animation_data.action,) + (
        (mesh.data.shape_keys.animation_data.action,) if corrective is not None else ()
    ):
        action.name = "SMPLify_fit"
        for curve in action.fcurves:
            for point in curve.keyframe_points:
                point.interpolation = "LINEAR"
    scene.frame_start, scene.frame_end = REST_FRAME, FITTED_FRAME
    scene.frame_set(FITTED_FRAME)


def _write(
    scene: bpy.types.Scene, rig: bpy.types.Object, mesh: bpy.types.Object, path: Path
) -> list[Path]:
    """Write the export into a temporary folder beside ``path``, then move the files in; if a
    move fails, the files already moved are removed again."""
    targets = export_presets.output_files(path)
    for target in targets:
        if target.is_dir():
            raise SmplifyError(f"cannot export to {path}: {target} is a folder")
    try:
        folder = Path(tempfile.mkdtemp(prefix=".smplify_export_", dir=path.parent))
    except OSError as error:
        raise SmplifyError(f"cannot export to {path}: {error.strerror}") from None
    moved: list[Path] = []
    try:
        staged = [folder / target.name for target in targets]
        for obj in (rig, mesh):
            obj.select_set(True)
        writer = {".fbx": _write_fbx, ".glb": _write_glb, ".obj": _write_obj}
        with bpy.context.temp_override(
            selected_objects=[rig, mesh], active_object=rig, object=rig
        ):
            writer[path.suffix.lower()](scene, staged)
        for source in staged:
            if not source.is_file():
                raise SmplifyError(f"cannot export to {path}: Blender's exporter wrote nothing")
        for source, target in zip(staged, targets):
            os.replace(source, target)
            moved.append(target)
    except OSError as error:
        for target in moved:
            target.unlink()
        raise SmplifyError(f"cannot export to {path}: {error.strerror or error}") from None
    finally:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
    return targets


def _write_fbx(scene: bpy.types.Scene, paths: list[Path]) -> None:
    """FBX 7.4, y up, -z forward, linear skinning, no leaf bones; the rest as bind pose and the
    keyed frames (exactly, no simplification) as one take. Metres stay metres: the unit scale
    goes into the file's UnitScaleFactor (100 cm per unit), no object carries a scale of 100."""
    bpy.ops.export_scene.fbx(
        filepath=str(paths[0]),
        use_selection=True,
        object_types={"ARMATURE", "MESH"},
        use_mesh_modifiers=False,
        mesh_smooth_type="FACE",
        add_leaf_bones=False,
        use_armature_deform_only=True,
        armature_nodetype="NULL",
        primary_bone_axis="Y",
        secondary_bone_axis="X",
        bake_anim=True,
        bake_anim_use_all_bones=True,
        bake_anim_use_nla_strips=False,
        bake_anim_use_all_actions=False,
        bake_anim_force_startend_keying=True,
        bake_anim_step=1.0,
        bake_anim_simplify_factor=0.0,
        axis_forward="-Z",
        axis_up="Y",
        apply_unit_scale=True,
        apply_scale_options="FBX_SCALE_ALL",
    )


def _write_glb(scene: bpy.types.Scene, paths: list[Path]) -> None:
    """Binary glTF 2.0: skin (4 influences, as the SMPL weights have), morph target for the
    corrective, the keyed frames as one animation; no materials or texture coordinates.

    The skinned mesh becomes a root node (glTF ignores a skinned mesh's parents; the validator
    warns about one that has them), kept where it is.
    """
    mesh = next(obj for obj in bpy.context.selected_objects if obj.type == "MESH")
    world = mesh.matrix_world.copy()
    mesh.parent = None
    mesh.matrix_world = world
    bpy.ops.export_scene.gltf(
        filepath=str(paths[0]),
        export_format="GLB",
        use_selection=True,
        export_yup=True,
        export_apply=False,
        export_texcoords=False,
        export_normals=True,
        export_materials="NONE",
        export_skins=True,
        export_def_bones=True,
        export_rest_position_armature=True,
        export_morph=True,
        export_morph_normal=False,
        export_animations=True,
        export_animation_mode="ACTIVE_ACTIONS",  # bones and morph weights: one animation
        export_nla_strips_merged_animation_name="SMPLify_fit",
        export_frame_range=True,
        export_force_sampling=True,
        export_optimize_animation_size=False,
        export_anim_slide_to_zero=False,
    )


def _write_obj(scene: bpy.types.Scene, paths: list[Path]) -> None:
    """Two OBJ files, y up: the body in its rest pose and in the fitted pose."""
    for frame, target in zip((REST_FRAME, FITTED_FRAME), paths):
        scene.frame_set(frame)
        bpy.ops.wm.obj_export(
            filepath=str(target),
            export_selected_objects=True,
            apply_modifiers=True,
            export_eval_mode="DAG_EVAL_VIEWPORT",
            forward_axis="NEGATIVE_Z",
            up_axis="Y",
            export_uv=False,
            export_normals=True,
            export_materials=False,
            export_triangulated_mesh=False,
            export_animation=False,
        )
    scene.frame_set(FITTED_FRAME)
