"""Run in a fresh Python process: install the extension zip into bpy, use it, remove it.

    python install_check.py ZIP MODEL.npz KEYPOINTS.json PHOTO OUT_FOLDER
    blender -b --factory-startup --python-exit-code 1 -P install_check.py -- ZIP ...

Blender's user folders must already point at a temporary folder (BLENDER_USER_RESOURCES).
Prints one JSON line of findings for the test to check; any exception fails the process.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import bpy

MODULE = "bl_ext.user_default.blender_smplify"


def operators_exist() -> bool:
    try:
        bpy.ops.smplify.build.get_rna_type()
        return True
    except (KeyError, AttributeError):
        return False


def main(zip_path: str, model_path: str, keypoints_path: str, photo: str, out: str) -> dict:
    found: dict[str, object] = {}
    result = bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True
    )
    found["install"] = sorted(result)
    found["enabled"] = MODULE in bpy.context.preferences.addons
    found["imported"] = MODULE in sys.modules
    site = Path(bpy.utils.user_resource("EXTENSIONS", path=".local/lib/python3.11/site-packages"))
    found["wheels_installed"] = sorted(p.name for p in site.iterdir() if p.is_dir())
    found["registered"] = operators_exist() and hasattr(bpy.types.Scene, "smplify")

    # The user's own SMPL file (here: a toy model) through the add-on preferences.
    preferences = bpy.context.preferences.addons[MODULE].preferences
    preferences.smpl_neutral_path = model_path
    settings = bpy.context.scene.smplify
    settings.image_path, settings.model_source = photo, "SMPL"
    keypoints = json.loads(Path(keypoints_path).read_text())
    settings.keypoints_json, settings.keypoints_key = json.dumps(keypoints), str(Path(photo))
    steps = {}
    steps["fit"] = bpy.ops.smplify.fit()
    bpy.ops.ed.undo_push(message="before build")
    before = sorted(o.name for o in bpy.data.objects)
    # "EXEC_DEFAULT", True: with the undo push a button press makes (bpy.ops from Python skips
    # it otherwise), so this checks the operator's own UNDO flag
    steps["build"] = bpy.ops.smplify.build("EXEC_DEFAULT", True)
    built = sorted(o.name for o in bpy.data.objects)
    roles = sorted(str(o.get("smplify_role")) for o in bpy.data.objects if o.name not in before)
    bpy.ops.ed.undo()
    found["undo"] = {
        "before": before,
        "built": built,
        "built_roles": roles,
        "after_undo": sorted(o.name for o in bpy.data.objects),
    }
    bpy.ops.ed.redo()
    settings = bpy.context.scene.smplify  # undo reloads the scene: old references dangle
    armature = next(o for o in bpy.data.objects if o.get("smplify_role") == "armature")
    bpy.context.view_layer.objects.active = armature
    steps["rest_pose"] = bpy.ops.smplify.rest_pose()
    steps["fitted_pose"] = bpy.ops.smplify.fitted_pose()
    steps["bones_from_shape"] = bpy.ops.smplify.bones_from_shape()
    export = Path(out) / "fit.json"
    steps["export"] = bpy.ops.smplify.export_parameters(filepath=str(export))
    found["steps"] = {k: sorted(v) for k, v in steps.items()}
    found["exported_keys"] = sorted(json.loads(export.read_text()))
    found["bones"] = len(armature.data.bones)
    found["status"] = settings.status
    # The real thing: the shipped open model and detector, from inside the installed extension.
    settings.model_source = "OPEN"
    steps_open = {"photo_to_avatar": bpy.ops.smplify.photo_to_avatar()}
    found["steps_open"] = {k: sorted(v) for k, v in steps_open.items()}
    found["status_open"] = settings.status

    # Disable and remove: nothing of ours may stay registered, no files left.
    found["disable"] = sorted(bpy.ops.preferences.addon_disable(module=MODULE))
    found["registered_after_disable"] = operators_exist() or hasattr(bpy.types.Scene, "smplify")
    repos = [repo.module for repo in bpy.context.preferences.extensions.repos]
    found["uninstall"] = sorted(
        bpy.ops.extensions.package_uninstall(
            repo_index=repos.index("user_default"), pkg_id="blender_smplify"
        )
    )
    found["enabled_after_remove"] = MODULE in bpy.context.preferences.addons
    user_default = Path(bpy.utils.user_resource("EXTENSIONS", path="user_default"))
    found["left_in_repo"] = sorted(p.name for p in user_default.iterdir() if p.name[0] != ".")
    found["wheels_left"] = sorted(os.listdir(site)) if site.is_dir() else []
    return found


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    print("RESULT " + json.dumps(main(*args[:5])), flush=True)
