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


class CameraError(SmplifyError):
    """A camera setting is unusable (a focal length that is not a positive number of pixels)."""


class FitCancelled(SmplifyError):
    """The fit was stopped by its callback before a usable result existed."""


def naming(path: object, error: SmplifyError) -> SmplifyError:
    """``error`` with a message that names the file ``path`` once, at its start.

    Errors about a photo that arise where its file is unknown (no person found, too few
    keypoints) get ``"<path>: "`` in front; an error whose message starts with the file already
    (every ImageError) is returned as it is, so an error line never repeats the name.
    """
    if path is None or str(error).startswith(str(path)):
        return error
    named = type(error)(f"{path}: {error}")
    named.__cause__ = error.__cause__
    return named
