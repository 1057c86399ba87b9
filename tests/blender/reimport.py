"""Re-import an export in a fresh bpy session with Blender's own importers and write what came
back: ``python reimport.py EXPORT OUT.npz``.

Writes bone names, the posed body's world vertices (V, 3) at the last keyframe of the imported
animation (FBX, GLB: the fitted pose, wherever the importer put it on the timeline; OBJ: the
file's one pose), its triangles (T, 3) and polygon sizes, and the number of
armatures, meshes and shape keys found. Run as its own process so that nothing of the test
session's Blender state (add-on, scene, data) can leak into what the importers see.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import bpy
import numpy as np


def import_file(path: Path) -> None:
    bpy.ops.wm.read_homefile(use_empty=True)
    suffix = path.suffix.lower()
    if suffix == ".fbx":
        bpy.ops.import_scene.fbx(filepath=str(path), use_anim=True, ignore_leaf_bones=False)
    elif suffix == ".glb":
        bpy.ops.import_scene.gltf(
            filepath=str(path), merge_vertices=False, disable_bone_shape=True
        )
    elif suffix == ".obj":
        bpy.ops.wm.obj_import(filepath=str(path), forward_axis="NEGATIVE_Z", up_axis="Y")
    else:
        raise SystemExit(f"unknown format {suffix}")


def main(path: Path, out: Path) -> None:
    import_file(path)
    scene = bpy.context.scene
    armatures = [o for o in scene.objects if o.type == "ARMATURE"]
    meshes = [o for o in scene.objects if o.type == "MESH"]
    ends = [int(round(action.frame_range[1])) for action in bpy.data.actions]
    if ends:
        scene.frame_set(max(ends))
    bpy.context.view_layer.update()
    body = meshes[0]
    evaluated = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    mesh.calc_loop_triangles()
    points = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", points)
    triangles = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", triangles)
    sizes = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("loop_total", sizes)
    world = np.array(evaluated.matrix_world)
    evaluated.to_mesh_clear()
    keys = body.data.shape_keys
    info = {
        "armatures": len(armatures),
        "meshes": len(meshes),
        "bones": [b.name for b in armatures[0].data.bones] if armatures else [],
        "vertex_groups": [g.name for g in body.vertex_groups],
        "shape_keys": [k.name for k in keys.key_blocks] if keys else [],
        "frame": scene.frame_current,
        "actions": [action.name for action in bpy.data.actions],
    }
    np.savez(
        out,
        points=points.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3],
        triangles=triangles.reshape(-1, 3),
        sizes=sizes,
        info=json.dumps(info),
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
