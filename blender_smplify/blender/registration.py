"""register()/unregister() of the whole Blender layer, in dependency order and its mirror."""

from __future__ import annotations

from . import (
    avatar_ops,
    cli_command,
    cloth_ready,
    edit_ops,
    garment_ops,
    operators,
    panels,
    posing_ops,
    preferences,
    properties,
)

#: garment_ops after panels: its sub-panel's parent must be registered first
_modules = (
    preferences,
    properties,
    operators,
    avatar_ops,
    edit_ops,
    cloth_ready,
    panels,
    garment_ops,
    posing_ops,  # its sub-panel after the main panels
    cli_command,
)


def register() -> None:
    for module in _modules:
        module.register()


def unregister() -> None:
    for module in reversed(_modules):
        module.unregister()
