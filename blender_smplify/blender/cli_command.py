"""``blender -b -c smplify IMAGE... --blend OUT.blend``: the build command inside Blender."""

from __future__ import annotations

import argparse

import bpy

_handle = None


def smplify_command(argv: list[str]) -> int:
    """Parse ``argv`` like ``python -m blender_smplify build`` and run it; returns exit status."""
    from . import build_cli

    parser = argparse.ArgumentParser(
        prog="blender -b -c smplify", description=build_cli.DESCRIPTION
    )
    build_cli.add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return build_cli.run(args)


def register() -> None:
    global _handle
    _handle = bpy.utils.register_cli_command("smplify", smplify_command)


def unregister() -> None:
    global _handle
    if _handle is not None:
        bpy.utils.unregister_cli_command(_handle)
        _handle = None
