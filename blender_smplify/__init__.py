"""blender_smplify: one photo of a person in, a posed, rigged, skinned SMPL-format body out.

Importing this package never imports bpy, so ``blender_smplify.core`` runs and is tested in a
plain Python process. Blender calls :func:`register`, which loads the Blender layer lazily.
"""

__version__ = "0.1.0"


def register() -> None:
    from .blender import registration

    registration.register()


def unregister() -> None:
    from .blender import registration

    registration.unregister()
