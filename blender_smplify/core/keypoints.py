"""Keypoints2D and keypoint layouts: what each detector's keypoints are on the body model.

A layout is data: it names its keypoints in order and maps each to a target on the body model,

- an SMPL joint (``joint``),
- a point rigidly attached to a joint (``joint`` + ``offset``, metres in the rest frame of
  ``frame``, by default the joint's own: x the body's left, y up, z forward), or
- a surface landmark of the body model (``landmark``, regressed from a few vertices by the
  model's ``keypoint_regressor``); when a model has no such landmark (an official SMPL file) the
  target falls back to the rigid point at ``offset`` from ``joint``.

Where a detector's keypoint lies on the body is measured, not assumed: BlazePose's (and the
fused MoveNet limb joints') targets below were learned from renders with exact truth
(``benchmarks/studies/keypoint_targets.py``; the numbers in ``learned_targets.py``). Its hips
lie close to SMPL's hip joints (13 mm inside, 28 mm above), not on the skin's outline as the
``*_hip_surface`` landmarks (62 mm outside) that the layout used before; its shoulders 9 mm
inside SMPL's shoulder joints. The landmarks' fallback offsets were measured on the open body
model as the rest-pose offset of each landmark from its joint
(``benchmarks/studies/landmark_offsets.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import KeypointsError
from .joints import SMPL_JOINT_NAMES
from .learned_targets import LEARNED, LEARNED_MOVENET


@dataclass(frozen=True)
class KeypointTarget:
    """Where one keypoint lies on the body model.

    Attributes
    ----------
    joint : SMPL joint name: the target itself when ``landmark`` is None and ``offset`` zero,
        else the joint the offset is attached to.
    landmark : surface landmark name of the body model, or None.
    offset : (3,) offset from ``joint`` in metres, in the rest frame of ``frame``: with a
        ``landmark``, the fallback used when the model lacks it; without one, the target (a
        point rigidly attached to the joint, for every model).
    weight : relative weight of the keypoint in the reprojection term (0 = unused).
    frame : SMPL joint whose rotation turns ``offset`` (None: ``joint``'s own), e.g. the pelvis
        for a point on the pelvis placed from the hip joint.
    """

    joint: str
    landmark: str | None = None
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    weight: float = 1.0
    frame: str | None = None


@dataclass(frozen=True)
class KeypointLayout:
    """An ordered set of named keypoints and their targets on the body model.

    Attributes
    ----------
    name : layout name ("smpl24", "blazepose33", "coco17").
    names : (K,) keypoint names.
    targets : (K,) KeypointTarget per keypoint.
    torso : keypoint names of left shoulder, right shoulder, left hip, right hip (initialisation).
    """

    name: str
    names: tuple[str, ...]
    targets: tuple[KeypointTarget, ...]
    torso: tuple[str, str, str, str]

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def weights(self) -> np.ndarray:
        """(K,) per-keypoint weights."""
        return np.array([t.weight for t in self.targets])


def _t(
    joint: str,
    landmark: str | None = None,
    offset=(0.0, 0.0, 0.0),
    weight: float = 1.0,
    frame: str | None = None,
):
    return KeypointTarget(joint, landmark, tuple(float(v) for v in offset), weight, frame)


# Fallback offsets (m, rest frame of the joint): each landmark's rest position minus its joint's
# on the open body model at β = 0 (left side; the right side mirrors x). Measured with
# ``benchmarks/studies/landmark_offsets.py``.
_FACE = {
    "nose": ("head", (0.0, 0.003, 0.119)),
    "left_eye": ("head", (0.029, 0.044, 0.09)),
    "right_eye": ("head", (-0.029, 0.044, 0.09)),
    "left_eye_inner": ("head", (0.014, 0.04, 0.077)),
    "right_eye_inner": ("head", (-0.014, 0.04, 0.077)),
    "left_eye_outer": ("head", (0.047, 0.04, 0.083)),
    "right_eye_outer": ("head", (-0.047, 0.04, 0.083)),
    "left_ear": ("head", (0.083, 0.037, -0.009)),
    "right_ear": ("head", (-0.083, 0.037, -0.009)),
    "mouth_left": ("head", (0.016, -0.029, 0.101)),
    "mouth_right": ("head", (-0.016, -0.029, 0.101)),
}
_SIDE = {
    "shoulder_surface": ("shoulder", (0.01, 0.047, 0.001)),
    "hip_surface": ("hip", (0.062, 0.0, 0.004)),
    "heel": ("ankle", (0.001, -0.055, -0.049)),
    "big_toe": ("foot", (-0.033, -0.009, 0.058)),
    "small_toe": ("foot", (0.009, -0.017, 0.038)),
    "index_knuckle": ("hand", (-0.002, 0.001, 0.024)),
    "pinky_knuckle": ("hand", (-0.016, -0.001, -0.037)),
    "thumb_knuckle": ("hand", (-0.057, -0.028, 0.052)),
}


def _mirror(offset):
    return (-offset[0], offset[1], offset[2])


def _learned(name: str, weight: float = 1.0, table=None) -> KeypointTarget:
    """Learned target of keypoint ``name`` in ``table`` (default ``LEARNED``, BlazePose's;
    ``learned_targets.py``); a right one mirrors its left twin."""
    twin = name.replace("right", "left")
    joint, off, frame = (table or LEARNED)[twin]
    if twin == name:
        return _t(joint, None, off, weight, frame)
    frame = frame and frame.replace("left", "right")
    return _t(joint.replace("left", "right"), None, _mirror(off), weight, frame)


def _landmark(name: str, weight: float = 1.0) -> KeypointTarget:
    """Target of a named model landmark with its fallback joint and offset."""
    if name in _FACE:
        joint, off = _FACE[name]
        return _t(joint, name, off, weight)
    side, rest = name.split("_", 1)
    joint, off = _SIDE[rest]
    return _t(f"{side}_{joint}", name, off if side == "left" else _mirror(off), weight)


def _blazepose33() -> KeypointLayout:
    names, targets = [], []

    def add(name, target):
        names.append(name), targets.append(target)

    add("nose", _learned("nose"))
    for side in ("left", "right"):  # eye corners: small details of one rigid head, half weight
        add(f"{side}_eye_inner", _landmark(f"{side}_eye_inner", 0.5))
        add(f"{side}_eye", _landmark(f"{side}_eye"))
        add(f"{side}_eye_outer", _landmark(f"{side}_eye_outer", 0.5))
    add("left_ear", _learned("left_ear"))
    add("right_ear", _learned("right_ear"))
    add("mouth_left", _learned("mouth_left", 0.5))
    add("mouth_right", _learned("mouth_right", 0.5))
    # the targets learned from renders (LEARNED), the joints, and the heel landmark
    for part, landmark in (
        ("shoulder", "learned"),
        ("elbow", None),
        ("wrist", None),
        ("pinky", "learned"),
        ("index", "learned"),
        ("thumb", "learned"),
        ("hip", "learned"),
        ("knee", None),
        ("ankle", None),
        ("heel", "heel"),
        ("foot_index", "learned"),
    ):
        for side in ("left", "right"):
            weight = 0.5 if part in ("pinky", "index", "thumb") else 1.0
            if landmark is None:
                add(f"{side}_{part}", _t(f"{side}_{part}"))
            elif landmark == "learned":
                add(f"{side}_{part}", _learned(f"{side}_{part}", weight))
            else:
                add(f"{side}_{part}", _landmark(f"{side}_{landmark}", weight))
    return KeypointLayout(
        "blazepose33",
        tuple(names),
        tuple(targets),
        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    )


def _coco17() -> KeypointLayout:
    names = ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]
    targets = [_landmark(n) if "eye" in n else _learned(n, table=LEARNED_MOVENET) for n in names]
    # MoveNet's shoulders and hips are those the learned targets were fitted to: the project's
    # detector puts MoveNet's twelve limb joints in place of BlazePose's where it is confident
    for part, learned in (
        ("shoulder", True),
        ("elbow", False),
        ("wrist", False),
        ("hip", True),
        ("knee", False),
        ("ankle", False),
    ):
        for side in ("left", "right"):
            names.append(f"{side}_{part}")
            targets.append(_learned(f"{side}_{part}") if learned else _t(f"{side}_{part}"))
    return KeypointLayout(
        "coco17",
        tuple(names),
        tuple(targets),
        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    )


SMPL24 = KeypointLayout(
    "smpl24",
    SMPL_JOINT_NAMES,
    tuple(_t(n) for n in SMPL_JOINT_NAMES),
    ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
)
BLAZEPOSE33 = _blazepose33()
COCO17 = _coco17()

# fmt: off
LIMB_JOINTS = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# fmt: on
"""The twelve limb joints, named alike in every layout: those MoveNet refines, the LSP
benchmark scores and the unsure-joints warning names."""

#: Registered layouts by name.
LAYOUTS: dict[str, KeypointLayout] = {lay.name: lay for lay in (SMPL24, BLAZEPOSE33, COCO17)}


def get_layout(name: str) -> KeypointLayout:
    """The layout called ``name``; KeypointsError naming the known ones otherwise."""
    try:
        return LAYOUTS[name]
    except KeyError:
        known = ", ".join(sorted(LAYOUTS))
        raise KeypointsError(f"unknown keypoint layout {name!r} (known: {known})") from None


@dataclass(frozen=True)
class Keypoints2D:
    """Detected or user-given 2D keypoints.

    Attributes
    ----------
    layout : name of a registered layout ("smpl24", "blazepose33", ...).
    xy : (K, 2) pixel coordinates in the original image (x right, y down).
    confidence : (K,) in [0, 1]; 0 means missing.
    """

    layout: str
    xy: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        try:
            xy = np.asarray(self.xy, dtype=np.float64)
            confidence = np.asarray(self.confidence, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise KeypointsError(f"keypoints are not numeric arrays: {exc}") from None
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise KeypointsError(f"keypoints xy must have shape (K, 2), got {xy.shape}")
        if confidence.shape != (xy.shape[0],):
            raise KeypointsError(
                f"confidence must have shape ({xy.shape[0]},), got {confidence.shape}"
            )
        if self.layout in LAYOUTS and len(LAYOUTS[self.layout]) != xy.shape[0]:
            raise KeypointsError(
                f"layout {self.layout!r} has {len(LAYOUTS[self.layout])} keypoints, "
                f"got {xy.shape[0]}"
            )
        confidence = np.where(np.isfinite(confidence), np.clip(confidence, 0.0, 1.0), 0.0)
        missing = ~np.all(np.isfinite(xy), axis=1)
        confidence = np.where(missing, 0.0, confidence)
        xy = np.where(missing[:, None], 0.0, xy)
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "confidence", confidence)

    @property
    def layout_spec(self) -> KeypointLayout:
        """The registered :class:`KeypointLayout` (KeypointsError when unknown)."""
        return get_layout(self.layout)

    def to_dict(self, image_size: tuple[int, int] | None = None) -> dict:
        """JSON-ready ``{"layout", "names", "xy", "confidence"[, "image_size"]}``."""
        out = {
            "layout": self.layout,
            "xy": self.xy.tolist(),
            "confidence": self.confidence.tolist(),
        }
        if self.layout in LAYOUTS:
            out["names"] = list(LAYOUTS[self.layout].names)
        if image_size is not None:
            out["image_size"] = [int(image_size[0]), int(image_size[1])]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> tuple[Keypoints2D, tuple[int, int] | None]:
        """Keypoints and image size (or None) from :meth:`to_dict`'s form: the one reader.

        ``{"layout": name, "xy": [[x, y], ...], "confidence": [c, ...], "image_size": [w, h],
        "names": [...]}``; only "layout" and "xy" are needed. Without "confidence" every
        keypoint counts as seen; a null coordinate or confidence marks a keypoint missing.
        "names", when present, must be the layout's names in its order.

        Raises
        ------
        KeypointsError
            An unknown layout, the wrong number of keypoints, a value that is not a number,
            a confidence outside [0, 1], names out of order or a bad image size.
        """
        if not isinstance(data, dict) or "xy" not in data or "layout" not in data:
            raise KeypointsError('keypoints JSON needs "layout" and "xy"')
        if not isinstance(data["layout"], str):
            raise KeypointsError(f"layout must be a name, got {data['layout']!r}")
        layout = get_layout(data["layout"])
        xy = _numbers(data["xy"], "xy", pairs=True)
        confidence = data.get("confidence")
        confidence = np.ones(len(xy)) if confidence is None else _numbers(confidence, "confidence")
        for what, array in (("xy", xy), ("confidence", confidence)):
            if len(array) != len(layout):
                raise KeypointsError(
                    f"layout {layout.name!r} has {len(layout)} keypoints, {what} has {len(array)}"
                )
        outside = ~np.isnan(confidence) & ((confidence < 0) | (confidence > 1))
        if outside.any():
            raise KeypointsError(
                f"confidence must be in [0, 1] (or null), got {confidence[outside][0]:g}"
            )
        names = data.get("names")
        if names is not None and names != list(layout.names):
            raise KeypointsError(f'"names" are not the {layout.name} keypoints in their order')
        return cls(layout.name, xy, np.nan_to_num(confidence, nan=0.0)), _image_size(data)


def _numbers(values, what: str, *, pairs: bool = False) -> np.ndarray:
    """A JSON list of numbers, or of [x, y] pairs, as float64 (K,) or (K, 2); null is NaN.

    Raises KeypointsError for anything else: strings, booleans, ragged or missing rows.
    """
    expected = "(K, 2): a list of [x, y]" if pairs else "(K,): a list of numbers"
    if not isinstance(values, list) or (pairs and not all(isinstance(r, list) for r in values)):
        raise KeypointsError(f"keypoints {what} must have shape {expected}, got {values!r:.60}")
    flat = [v for row in values for v in row] if pairs else values
    bad = [v for v in flat if v is not None and not _is_number(v)]
    if bad:
        raise KeypointsError(f"keypoints {what} must hold numbers (or null), got {bad[0]!r:.40}")
    if pairs:
        values = [[np.nan if v is None else v for v in row] for row in values]
    else:
        values = [np.nan if v is None else v for v in values]
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError as exc:  # a JSON integer of 400 digits
        raise KeypointsError(f"keypoints {what} are not numeric arrays: {exc}") from None
    except ValueError:  # ragged rows
        raise KeypointsError(f"keypoints {what} must have shape {expected}") from None
    if array.shape[1:] != ((2,) if pairs else ()):
        raise KeypointsError(f"keypoints {what} must have shape {expected}, got {array.shape}")
    return array


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _image_size(data: dict) -> tuple[int, int] | None:
    size = data.get("image_size")
    if size is None:
        return None
    try:
        size = (int(size[0]), int(size[1]))
    except (TypeError, ValueError, IndexError, KeyError, OverflowError):  # NaN, inf, {}
        raise KeypointsError(f"image_size must be [width, height], got {size!r}") from None
    if size[0] <= 0 or size[1] <= 0:
        raise KeypointsError(f"image_size must be positive, got {list(size)}")
    return size


def read_keypoints(path: str | Path) -> tuple[Keypoints2D, tuple[int, int] | None]:
    """Keypoints and image size (or None) from a JSON file in :meth:`Keypoints2D.to_dict`'s form.

    UTF-8 with or without a byte-order mark (as Windows tools save). Every error is a
    KeypointsError whose message starts with the file's name.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise KeypointsError(f"{path}: keypoints file not found") from None
    except IsADirectoryError:
        raise KeypointsError(f"{path}: not a keypoints file but a folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeypointsError(f"{path}: cannot read the keypoints file ({exc})") from None
    try:
        return Keypoints2D.from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise KeypointsError(f"{path}: not a keypoints JSON file ({exc})") from None
    except KeypointsError as exc:
        raise KeypointsError(f"{path}: {exc}") from None
