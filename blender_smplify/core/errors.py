"""Typed errors of blender_smplify: every user-facing failure is a SmplifyError."""

from __future__ import annotations


class SmplifyError(Exception):
    """Base class of all errors this project raises on purpose (bad input, missing files)."""


class ModelFileError(SmplifyError):
    """A body-model or prior file is missing, corrupt, unsafe or not in the expected format."""


class UnsafePickleError(ModelFileError):
    """A pickle asked for a class that a model file never needs (it could run code)."""


class ImageError(SmplifyError):
    """An image file cannot be read: not an image, truncated, too large, unsupported."""


class NoPersonFound(SmplifyError):
    """The detector found no person in the image."""


class KeypointsError(SmplifyError):
    """Keypoints given to the fit are malformed (wrong layout, shapes, values)."""


class FitCancelled(SmplifyError):
    """The fit was stopped by its callback before a usable result existed."""
