"""The layers' doors open one way: core/ never reaches into blender/, and only blender/ may import
bpy or mathutils. Relative imports (``from ..blender import x``) are resolved before they are
checked, and imports inside functions count as much as those at the top of a module."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "blender_smplify"
BLENDER_ONLY = {"bpy", "mathutils", "bmesh", "bpy_extras", "gpu"}


def _module_name(path: Path) -> str:
    """``blender_smplify.core.fit`` for .../blender_smplify/core/fit.py (packages: no __init__)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, by absolute name, relative imports resolved.

    ``from . import a`` counts as importing ``pkg.a`` (it may be a module) as well as ``pkg``.
    """
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                if len(base) == 0:
                    raise AssertionError(f"{path}: relative import above the package")
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def _sources(folder: str | None = None) -> list[Path]:
    files = sorted((PACKAGE / folder if folder else PACKAGE).rglob("*.py"))
    assert len(files) >= 3, "the scan saw no files"
    return files


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_resolves_relative_imports():
    core = PACKAGE / "core" / "pipeline.py"
    names = imported_modules(core)
    assert "blender_smplify.core.keypoints" in names  # from .keypoints import ...
    blender = imported_modules(PACKAGE / "blender" / "build_cli.py")
    assert "blender_smplify.core.cli_args" in blender  # from ..core.cli_args import ...


def test_core_never_imports_the_blender_layer_or_the_front_ends():
    offenders = {}
    for path in _sources("core"):
        outside = {
            name
            for name in imported_modules(path)
            if _within(name, "blender_smplify") and not _within(name, "blender_smplify.core")
        }
        if outside:
            offenders[str(path.relative_to(PACKAGE))] = sorted(outside)
    assert offenders == {}


def test_nothing_outside_the_blender_layer_imports_bpy():
    offenders = {}
    for path in _sources():
        if "blender" in path.relative_to(PACKAGE).parts[:-1]:
            continue
        roots = {name.split(".")[0] for name in imported_modules(path)}
        if roots & BLENDER_ONLY:
            offenders[str(path.relative_to(PACKAGE))] = sorted(roots & BLENDER_ONLY)
    assert offenders == {}


def test_package_uses_relative_imports_only():
    absolute = []
    for path in _sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(_within(name, "blender_smplify") for name in names):
                absolute.append(str(path.relative_to(PACKAGE)))
    assert absolute == []


def test_core_and_the_command_line_import_without_blender():
    """The core, and every command's parser (build's too: it says when bpy is missing)."""
    code = (
        "import sys, blender_smplify, blender_smplify.core.pipeline;"
        "from blender_smplify.__main__ import make_parser; make_parser();"
        "assert 'bpy' not in sys.modules, 'bpy was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)
