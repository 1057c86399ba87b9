"""Run the Blender tests inside a Blender binary instead of the bpy module.

    blender -b --factory-startup --python-exit-code 1 -P tests/blender/run_in_blender.py -- \
        tests/blender [pytest options]

Blender's own Python needs pytest (``<blender python> -m pip install pytest``); numpy is
Blender's, scipy and onnxruntime come from the project's requirements or the extension's wheels.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "blender")]

import pytest  # noqa: E402 (after the path set-up, inside Blender's Python)

argv = (
    sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else [str(ROOT / "tests" / "blender")]
)
sys.exit(pytest.main(argv))
