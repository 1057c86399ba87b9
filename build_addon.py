"""Build the Blender extension: one zip per platform in dist/, with Blender's own extension tool.

    python build_addon.py                          # all platforms of the manifest
    python build_addon.py --platforms linux-x64    # only some (the manifest is narrowed to them)

Steps: download the wheels the manifest names (unmodified, from PyPI, into ./wheels/, skipped
when already there), stage the package with the manifest next to its ``__init__.py``, the
detector models (``onnx_models/``) and the wheels, then ``validate`` and
``build --split-platforms`` with Blender's extension tool: ``blender --command extension`` when a
``blender`` binary is on PATH, else ``blender_ext.py`` from the installed ``bpy`` module, which
runs with this Python. Exit status 0 on success, 1 on failure.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "blender_smplify"
MANIFEST = ROOT / "blender_manifest.toml"
PYTHON_VERSION = "3.11"  # Blender 4.2's


def wheel_platform(filename: str) -> str:
    """Platform tag of a wheel file name (``any`` for pure-Python wheels)."""
    return Path(filename).stem.split("-")[-1]


def blender_platforms(tag: str) -> set[str]:
    """Blender platforms a wheel platform tag runs on (empty set: all, for ``any``)."""
    if tag == "any":
        return set()
    found = set()
    for part in tag.split("."):
        if part.startswith(("manylinux", "linux")) and part.endswith("x86_64"):
            found.add("linux-x64")
        elif part == "win_amd64":
            found.add("windows-x64")
        elif part.startswith("macosx") and part.endswith(("arm64", "universal2")):
            found.add("macos-arm64")
        if part.startswith("macosx") and part.endswith(("x86_64", "universal2")):
            found.add("macos-x64")
    return found


def wheels_for(wheels: list[str], platforms: list[str]) -> list[str]:
    """The manifest's wheels that some of ``platforms`` need (pure wheels always)."""
    chosen = []
    for wheel in wheels:
        targets = blender_platforms(wheel_platform(wheel))
        if not targets or targets & set(platforms):
            chosen.append(wheel)
    return chosen


def download_wheels(wheels: list[str], folder: Path) -> None:
    """Fetch the named wheel files from PyPI with pip (exact versions), unless present."""
    folder.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        filename = Path(wheel).name
        if (folder / filename).is_file():
            continue
        name, version = filename.split("-")[:2]
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            PYTHON_VERSION,
            "--dest",
            str(folder),
            f"{name}=={version}",
        ]
        # the platform tag pins the build: "any" admits only the pure-Python wheel
        command += ["--platform", wheel_platform(filename).split(".")[-1]]
        print(f"downloading {filename}", flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        if not (folder / filename).is_file():
            raise SystemExit(f"error: pip did not fetch {filename} (got another build?)")


def extension_tool() -> list[str]:
    """Command prefix of Blender's extension tool."""
    blender = shutil.which("blender")
    if blender:
        return [blender, "--factory-startup", "--command", "extension"]
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: neither a blender binary nor the bpy module (pip install bpy)")
    bpy_dir = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(bpy_dir.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise SystemExit(f"error: blender_ext.py not found under {bpy_dir}")
    return [sys.executable, str(found[-1])]


def narrowed_manifest(text: str, platforms: list[str], wheels: list[str]) -> str:
    """The manifest text with ``platforms`` and ``wheels`` replaced by the chosen ones."""
    out, skipping = [], False
    for line in text.splitlines():
        if skipping:
            skipping = not line.strip().startswith("]")
            continue
        if line.startswith("platforms ="):
            line = "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]"
        elif line.startswith("wheels ="):
            out.append("wheels = [")
            out += [f'  "{w}",' for w in wheels]
            line, skipping = "]", not line.rstrip().endswith("]")
        out.append(line)
    return "\n".join(out) + "\n"


def stage(folder: Path, platforms: list[str], wheels: list[str], wheels_dir: Path) -> Path:
    """Lay out the extension's files in ``folder`` (the package is the extension's root)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    shutil.copytree(PACKAGE, folder, ignore=ignore)
    (folder / MANIFEST.name).write_text(narrowed_manifest(MANIFEST.read_text(), platforms, wheels))
    if (ROOT / "onnx_models").is_dir():
        shutil.copytree(ROOT / "onnx_models", folder / "onnx_models", ignore=ignore)
    (folder / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy2(wheels_dir / Path(wheel).name, folder / "wheels" / Path(wheel).name)
    return folder


def build(platforms: list[str] | None, wheels_dir: Path, output_dir: Path) -> list[Path]:
    """Download, stage, validate and build; returns the zips written."""
    manifest = tomllib.loads(MANIFEST.read_text())
    platforms = platforms or list(manifest["platforms"])
    unknown = set(platforms) - set(manifest["platforms"])
    if unknown:
        raise SystemExit(f"error: platforms not in the manifest: {', '.join(sorted(unknown))}")
    wheels = wheels_for(manifest["wheels"], platforms)
    download_wheels(wheels, wheels_dir)
    tool = extension_tool()
    output_dir.mkdir(parents=True, exist_ok=True)
    before = set(output_dir.glob("*.zip"))
    with tempfile.TemporaryDirectory(prefix="smplify_stage_") as tmp:
        source = stage(Path(tmp) / manifest["id"], platforms, wheels, wheels_dir)
        subprocess.run([*tool, "validate", str(source)], check=True)
        subprocess.run(
            [
                *tool,
                "build",
                "--split-platforms",
                "--source-dir",
                str(source),
                "--output-dir",
                str(output_dir),
            ],
            check=True,
        )
    version = manifest["version"]
    return sorted(
        p
        for p in output_dir.glob(f"{manifest['id']}-{version}-*.zip")
        if p not in before or any(p.stem.endswith(x.replace("-", "_")) for x in platforms)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--platforms", nargs="+", metavar="PLATFORM", help="e.g. linux-x64")
    parser.add_argument("--wheels-dir", type=Path, default=ROOT / "wheels")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        zips = build(args.platforms, args.wheels_dir.resolve(), args.output_dir.resolve())
    except subprocess.CalledProcessError as error:
        print(
            f"error: {' '.join(map(str, error.cmd[:3]))}... failed ({error.returncode})",
            file=sys.stderr,
        )
        return 1
    for path in zips:
        print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
