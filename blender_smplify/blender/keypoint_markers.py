"""The 2D keypoints of an avatar as markers the artist drags in the camera view.

A marker is an empty parented to the avatar's camera, in the plane ``MARKER_DEPTH`` metres in
front of it, so that seen through the camera it sits on its keypoint's pixel: camera-local
coordinates (x, y, z) = ((u − cx) D / f, −(v − cy) D / f, −D) for the pixel (u, v), focal f
and principal point (cx, cy) (a Blender camera looks along −z with +y up). Its local z is
locked, so a drag keeps it in that plane. One marker per keypoint, except the hand, foot and
face landmarks that follow a wrist, ankle or nose (``core.refit.FOLLOWERS``): they move with it.

The keypoints themselves live on the armature (``KEYPOINTS_PROP``, ``Keypoints2D.to_dict``'s
form): :func:`marker_keypoints` reads them with the markers' moves and switches applied, and
:func:`store_keypoints` records them after a refit, so that a marker that differs from the
record is one the artist moved (:func:`markers_moved`). Everything is made in the avatar's
collection and tagged with its key; no other object is touched.
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from ..core.errors import SmplifyError
from ..core.fit_result import FitResult
from ..core.keypoints import Keypoints2D
from ..core.refit import FOLLOWERS, drag_keypoint
from .build_rig import KEY_PROP, ROLE_PROP

#: Distance of the markers' plane in front of the camera (metres).
MARKER_DEPTH = 1.0
#: Marker radius on the photo (pixels).
MARKER_RADIUS_PX = 7.0
#: custom properties: the armature's keypoints; a marker's keypoint name and on/off switch
KEYPOINTS_PROP = "smplify_keypoints"
NAME_PROP = "smplify_keypoint"
ON_PROP = "smplify_keypoint_on"
ROLE = "keypoint"
#: A marker farther than this (pixels) from its recorded keypoint was moved.
MOVED_PX = 1e-3


def leaders(keypoints: Keypoints2D) -> list[str]:
    """Names of the keypoints that get a marker (all but the followers of another)."""
    names = keypoints.layout_spec.names
    follow = {f for lead, fs in FOLLOWERS.items() if lead in names for f in fs}
    return [n for n in names if n not in follow]


def pixels_to_local(xy: np.ndarray, fit: FitResult, depth: float = MARKER_DEPTH) -> np.ndarray:
    """Camera-local points (N, 3) on the marker plane of pixels xy (N, 2)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    d = (xy - np.asarray(fit.principal_point)) * depth / float(fit.focal_length)
    return np.column_stack([d[:, 0], -d[:, 1], np.full(len(xy), -depth)])


def local_to_pixels(local: np.ndarray, fit: FitResult) -> np.ndarray:
    """Pixels (N, 2) of camera-local points (N, 3) (projected through the camera centre)."""
    local = np.asarray(local, dtype=np.float64).reshape(-1, 3)
    scale = float(fit.focal_length) / -local[:, 2]
    return np.column_stack([local[:, 0], -local[:, 1]]) * scale[:, None] + fit.principal_point


def avatar_camera(armature: bpy.types.Object) -> bpy.types.Object:
    key = armature.get(KEY_PROP)
    for obj in bpy.data.objects:
        if obj.get(ROLE_PROP) == "camera" and obj.get(KEY_PROP) == key and obj.type == "CAMERA":
            return obj
    raise SmplifyError(f"{armature.name}: its camera was deleted; build again")


def markers(armature: bpy.types.Object) -> dict[str, bpy.types.Object]:
    """The avatar's markers by keypoint name."""
    key = armature.get(KEY_PROP)
    return {
        o[NAME_PROP]: o
        for o in bpy.data.objects
        if o.get(ROLE_PROP) == ROLE and o.get(KEY_PROP) == key and NAME_PROP in o
    }


def stored_keypoints(armature: bpy.types.Object) -> Keypoints2D:
    """The keypoints recorded on the armature (as of the last refit)."""
    try:
        keypoints, _ = Keypoints2D.from_dict(json.loads(armature[KEYPOINTS_PROP]))
    except (KeyError, ValueError, TypeError):
        raise SmplifyError(
            f"{armature.name} has no keypoints to edit: press Edit keypoints "
            "(after Detect or Fit on its photo)"
        ) from None
    return keypoints


def store_keypoints(armature: bpy.types.Object, keypoints: Keypoints2D, fit: FitResult) -> None:
    armature[KEYPOINTS_PROP] = json.dumps(keypoints.to_dict(tuple(fit.image_size)))


def make_markers(armature: bpy.types.Object, keypoints: Keypoints2D, fit: FitResult) -> None:
    """Create (or move) one marker per leading keypoint on the avatar's camera, in the avatar's
    collection, and record the keypoints on the armature. A keypoint with confidence 0 gets a
    marker that is switched off."""
    camera = avatar_camera(armature)
    collection = camera.users_collection[0]
    existing = markers(armature)
    names = keypoints.layout_spec.names
    for name in leaders(keypoints):
        k = names.index(name)
        marker = existing.pop(name, None)
        if marker is None:
            marker = bpy.data.objects.new(f"{armature.name}_{name}", None)
            collection.objects.link(marker)
            marker[ROLE_PROP], marker[KEY_PROP], marker[NAME_PROP] = ROLE, armature[KEY_PROP], name
        marker.parent = camera
        marker.matrix_parent_inverse.identity()
        marker.empty_display_type = "SPHERE"
        marker.empty_display_size = MARKER_RADIUS_PX * MARKER_DEPTH / float(fit.focal_length)
        marker.lock_location[2] = True
        marker.location = pixels_to_local(keypoints.xy[k], fit)[0]
        set_marker_on(marker, bool(keypoints.confidence[k] > 0))
    for stale in existing.values():  # a marker of another layout
        bpy.data.objects.remove(stale)
    store_keypoints(armature, keypoints, fit)


def set_marker_on(marker: bpy.types.Object, on: bool) -> None:
    """Switch a marker's keypoint on or off (an off marker is drawn as a small cross)."""
    marker[ON_PROP] = bool(on)
    marker.empty_display_type = "SPHERE" if on else "PLAIN_AXES"
    marker.color = (0.1, 0.9, 0.2, 1.0) if on else (0.9, 0.1, 0.1, 1.0)


def marker_pixels(marker: bpy.types.Object, fit: FitResult) -> np.ndarray:
    """The pixel (2,) a marker sits on."""
    return local_to_pixels(np.array(marker.location), fit)[0]


def marker_keypoints(armature: bpy.types.Object, fit: FitResult) -> Keypoints2D:
    """The recorded keypoints with every marker's move (its followers along) and switch."""
    keypoints = stored_keypoints(armature)
    names = keypoints.layout_spec.names
    confidence = keypoints.confidence.copy()
    for name, marker in markers(armature).items():
        xy = marker_pixels(marker, fit)
        if np.abs(xy - keypoints.xy[names.index(name)]).max() > MOVED_PX:
            keypoints = drag_keypoint(keypoints, name, xy)
            confidence[names.index(name)] = 1.0  # placed by the artist: trust it
        rows = [names.index(n) for n in (name, *FOLLOWERS.get(name, ())) if n in names]
        if not marker.get(ON_PROP, True):
            confidence[rows] = 0.0
        elif confidence[names.index(name)] == 0:  # switched on by the artist: trust it
            confidence[rows] = 1.0
    return Keypoints2D(keypoints.layout, keypoints.xy, confidence)


def markers_moved(armature: bpy.types.Object, fit: FitResult) -> bool:
    """Whether a marker is off its recorded keypoint or its switch differs from the record."""
    try:
        keypoints = stored_keypoints(armature)
    except SmplifyError:
        return False
    names = keypoints.layout_spec.names
    for name, marker in markers(armature).items():
        k = names.index(name)
        on = bool(marker.get(ON_PROP, True))
        if on != bool(keypoints.confidence[k] > 0):
            return True
        if np.abs(marker_pixels(marker, fit) - keypoints.xy[k]).max() > MOVED_PX:
            return True
    return False
