"""Ending a process that loaded the bpy module, with the exit status it meant.

The bpy 4.2 module can crash with SIGSEGV in its C++ exit handlers after Python has been
finalised: every time once Blender's glTF exporter has run in the process, sometimes without
(gdb: ``PyGILState_Ensure`` from ``bpy_class_free`` in ``SpaceType``'s destructor, under libc's
``__run_exit_handlers``; whether it does depends on the process's memory layout). All output is
written by then, but the exit status becomes 139. :func:`exit_process` runs Python's own exit
functions, flushes the streams and ends the process without the C exit handlers.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn


def exit_process(code: int) -> NoReturn:
    """Exit with ``code``; past Blender's exit handlers if the bpy module is loaded."""
    if "bpy" not in sys.modules:
        sys.exit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
