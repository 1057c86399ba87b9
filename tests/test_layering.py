"""The bpy boundary is physical: only blender_smplify/blender/ may import bpy or mathutils."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "blender_smplify"
BLENDER_ONLY = {"bpy", "mathutils", "bmesh", "bpy_extras", "gpu"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_nothing_outside_the_blender_layer_imports_bpy():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imported_roots(path) & BLENDER_ONLY)
        for path in PACKAGE.rglob("*.py")
        if "blender" not in path.relative_to(PACKAGE).parts[:-1]
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) >= 8  # the scan really saw the package


def test_package_uses_relative_imports_only():
    absolute = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "blender_smplify" in _imported_roots(path)
    ]
    assert absolute == []


def test_core_imports_without_blender():
    import subprocess
    import sys

    code = (
        "import sys, blender_smplify, blender_smplify.core.body_model, blender_smplify.core.fit_result;"
        "assert 'bpy' not in sys.modules, 'bpy was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)
