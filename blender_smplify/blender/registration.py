"""register()/unregister() of the whole Blender layer, in dependency order and its mirror."""

from __future__ import annotations

from . import (
    avatar_ops,
    cli_command,
    cloth_ready,
    edit_ops,
    garment_ops,
    measure_ui,
    operators,
    panels,
    posing_ops,
    preferences,
    properties,
    same_person,
)

#: the sub-panels' modules after panels: a sub-panel's parent must be registered first
_modules = (
    preferences,
    properties,
    operators,
    avatar_ops,
    edit_ops,
    same_person,
    cloth_ready,
    panels,
    measure_ui,
    garment_ops,
    posing_ops,
    cli_command,
)


def register() -> None:
    for module in _modules:
        module.register()


def unregister() -> None:
    for module in reversed(_modules):
        module.unregister()
