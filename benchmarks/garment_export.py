"""Figures and pictures of the rest-pose switch and the exports for garment tools.

    python benchmarks/garment_export.py [--repeats 5] [--photo PHOTO] [--pictures docs]

On the sample photo's avatar (open model, its fitted shape keys and pose):

* rest switch: wall time of each switch (T -> A -> arms down -> T, median over the repeats) and
  how far the posed body moved (max over vertices, through the depsgraph);
* export: wall time per format (median), triangles, then each file re-imported in a fresh bpy
  process by Blender's own importers (``tests/blender/reimport.py``): max distance of the posed
  vertices from the .blend's (moved as the export stands the body on the origin); the GLB files
  through the Khronos glTF validator when ``python3.11 dev.py test`` has installed it
  (``.tools/``);
* pictures (``--pictures``): ``garment_rest_poses.png`` (the three rests above, the same posed
  body below) and ``garment_export_reimport.png`` (the .blend, the FBX, GLB and OBJ re-imported),
  rendered with ``blender.render.render_orbit``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"
REIMPORT = ROOT / "tests" / "blender" / "reimport.py"
VALIDATOR = ROOT / ".tools" / "node_modules" / "gltf-validator"
TILE = (540, 600)  # wide enough for the T-pose's arms
EXPORTS = (("avatar.fbx", "mixamo"), ("avatar.glb", "smpl"), ("avatar.obj", "smpl"))


def posed_vertices(bpy, body) -> np.ndarray:
    evaluated = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    evaluated.to_mesh_clear()
    world = np.array(evaluated.matrix_world)
    return co.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3]


def measure_switch(bpy, avatar, repeats: int) -> dict:
    from blender_smplify.blender.rest_switch import switch_rest

    before = posed_vertices(bpy, avatar.body)
    times: dict[str, list[float]] = {}
    moved = 0.0
    for _ in range(repeats):
        for name in ("a", "down", "t"):
            start = time.perf_counter()
            switch_rest(avatar.armature, avatar.body, name)
            times.setdefault(name, []).append(time.perf_counter() - start)
            moved = max(moved, float(np.abs(posed_vertices(bpy, avatar.body) - before).max()))
    return {
        "switch_ms_median": {k: round(1000 * statistics.median(v), 1) for k, v in times.items()},
        "posed_body_moved_mm_max": round(1000 * moved, 5),
    }


def measure_exports(bpy, avatar, folder: Path, repeats: int) -> dict:
    from blender_smplify.blender.export import export_avatar

    reference = posed_vertices(bpy, avatar.body)
    figures = {}
    for name, skeleton in EXPORTS:
        seconds = []
        for _ in range(repeats):
            result = export_avatar(avatar.armature, folder / name, skeleton=skeleton)
            seconds.append(result.seconds)
        points = reimport(result.paths[-1], folder)
        placed = reference @ result.placement[:3, :3].T + result.placement[:3, 3]
        figures[name] = {
            "skeleton": skeleton,
            "export_s_median": round(statistics.median(seconds), 2),
            "triangles": result.triangles,
            "vertices": result.vertices,
            "reimport_max_mm": round(
                1000 * float(np.linalg.norm(points - placed, axis=1).max()), 4
            ),
            "files": [p.name for p in result.paths],
        }
        if name.endswith(".glb"):
            figures[name]["validator"] = validate(result.paths[0])
    return figures


def reimport(path: Path, folder: Path) -> np.ndarray:
    out = folder / f"{path.name}.npz"
    subprocess.run([sys.executable, str(REIMPORT), str(path), str(out)], check=True)
    return np.load(out)["points"]


def validate(path: Path) -> dict | str:
    node = shutil.which("node")
    if node is None or not VALIDATOR.is_dir():
        return "not installed (python3.11 dev.py test installs it)"
    script = ROOT / "tests" / "blender" / "gltf_validate.cjs"
    run = subprocess.run(
        [node, str(script), str(VALIDATOR), str(path)], capture_output=True, text=True
    )
    report = json.loads(run.stdout)
    return {k: report[k] for k in ("validatorVersion", "numErrors", "numWarnings", "numInfos")}


def rest_pose_picture(bpy, avatar, out: Path, folder: Path) -> None:
    from blender_smplify.blender import build_rig
    from blender_smplify.blender.avatar_ops import set_corrective, stored_fit
    from blender_smplify.blender.render import render_orbit
    from blender_smplify.blender.rest_switch import switch_rest
    from blender_smplify.core.rotation import rodrigues

    fitted = rodrigues(np.asarray(stored_fit(avatar.armature).pose).reshape(24, 3))
    rows: list[list[Path]] = [[], []]
    for name in ("t", "a", "down"):
        switch_rest(avatar.armature, avatar.body, name)
        build_rig.set_pose(avatar.armature, None, rest=True)
        set_corrective(avatar.armature, 0.0)
        rows[0].append(render_orbit(avatar, folder / f"rest_{name}.png", size=TILE))
        build_rig.set_pose(avatar.armature, fitted)
        set_corrective(avatar.armature, 1.0)
        rows[1].append(render_orbit(avatar, folder / f"posed_{name}.png", size=TILE))
    labels = [
        ["rest: T-pose", "rest: A-pose", "rest: arms down"],
        ["fitted pose, T rest", "fitted pose, A rest", "fitted pose, arms-down rest"],
    ]
    compose(rows, labels, out)


def reimport_picture(bpy, avatar, files: dict[str, Path], out: Path, folder: Path) -> None:
    from blender_smplify.blender.render import render_orbit

    panels = [render_orbit(avatar, folder / "blend.png", size=TILE)]
    labels = ["in Blender (.blend)"]
    for name, label in (
        ("avatar.fbx", "FBX (Mixamo names) re-imported"),
        ("avatar.glb", "GLB re-imported"),
        ("avatar.obj", "OBJ, rest file (A-pose)"),
    ):
        path = files[name][-1] if name != "avatar.obj" else files[name][0]
        imported = import_for_render(bpy, path)
        panels.append(render_orbit(imported, folder / f"{name}.png", size=TILE))
        labels.append(label)
    compose([panels], [labels], out)


def import_for_render(bpy, path: Path) -> SimpleNamespace:
    sys.path.insert(0, str(REIMPORT.parent))
    import reimport as reimport_module

    reimport_module.import_file(path)
    scene = bpy.context.scene
    scene.world = bpy.data.worlds.new("grey")
    scene.world.color = (0.05, 0.05, 0.05)
    ends = [int(round(action.frame_range[1])) for action in bpy.data.actions]
    if ends:
        scene.frame_set(max(ends))
    mesh = max((o for o in scene.objects if o.type == "MESH"), key=lambda o: len(o.data.vertices))
    rigs = [o for o in scene.objects if o.type == "ARMATURE"]
    if rigs:
        return SimpleNamespace(body=mesh, armature=rigs[0])
    from mathutils import Matrix  # no rig (OBJ): the body faces -y like a built rig's

    return SimpleNamespace(body=mesh, armature=SimpleNamespace(matrix_world=Matrix()))


def compose(rows: list[list[Path]], labels: list[list[str]], out: Path) -> None:
    """One sheet of the rendered tiles, each under a white strip with its label."""
    from PIL import Image, ImageDraw, ImageFont

    tiles = [[Image.open(p).convert("RGB") for p in row] for row in rows]
    width, height = tiles[0][0].size
    strip = 30
    sheet = Image.new("RGB", (width * len(tiles[0]), (height + strip) * len(tiles)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=18)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            top = r * (height + strip)
            sheet.paste(tile, (c * width, top + strip))
            draw.text((c * width + 10, top + 5), labels[r][c], fill=(0, 0, 0), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--photo", type=Path, default=SAMPLE)
    parser.add_argument("--pictures", type=Path, help="folder for the two pictures")
    args = parser.parse_args(argv)

    import bpy

    from blender_smplify.blender.pipeline import new_file, photo_to_avatar

    new_file()
    bpy.context.scene.world = bpy.data.worlds.new("grey")  # the renders' background
    bpy.context.scene.world.color = (0.05, 0.05, 0.05)
    avatar = photo_to_avatar(args.photo).avatar
    figures = measure_switch(bpy, avatar, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures["exports"] = measure_exports(bpy, avatar, folder, args.repeats)
        print(json.dumps(figures, indent=1))
        if args.pictures:
            files = {
                name: [folder / f for f in figures["exports"][name]["files"]]
                for name, _ in EXPORTS
            }
            rest_pose_picture(bpy, avatar, args.pictures / "garment_rest_poses.png", folder)
            reimport_picture(
                bpy, avatar, files, args.pictures / "garment_export_reimport.png", folder
            )
    return 0


if __name__ == "__main__":
    from blender_smplify.blender.process_exit import exit_process

    exit_process(main())
