"""Command line: ``python -m blender_smplify fit|build|measure|info ...``.

``fit`` and ``measure`` need only the bpy-free core; ``build`` also needs Blender (the bpy module).
"""

from __future__ import annotations

import argparse
import importlib

#: subcommand modules, each with add_parser(subparsers) setting ``func``; ``build`` lives in the
#: Blender layer (it imports bpy only when it runs, and says so when bpy is missing)
_COMMANDS = ("fit_cli", "blender.build_cli", "measure_cli", "info_cli")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m blender_smplify",
        description="One photo of a person in, a posed, rigged, skinned 3D body out.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f".{name}", __package__).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    from .blender.process_exit import exit_process  # bpy 4.2 can crash on exit: see there

    exit_process(main())
