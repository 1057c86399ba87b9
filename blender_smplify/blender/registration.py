"""register()/unregister() of the whole Blender layer, in dependency order and its mirror."""

from __future__ import annotations

from . import (
    avatar_ops,
    cli_command,
    edit_ops,
    measure_ui,
    operators,
    panels,
    preferences,
    properties,
    same_person,
)

_modules = (
    preferences,
    properties,
    operators,
    avatar_ops,
    edit_ops,
    same_person,
    panels,
    measure_ui,
    cli_command,
)


def register() -> None:
    for module in _modules:
        module.register()


def unregister() -> None:
    for module in reversed(_modules):
        module.unregister()
