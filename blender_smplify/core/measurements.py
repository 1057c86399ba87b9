"""Body measurements of a shaped body in its rest pose, after ISO 8559-1 (apparel sizing).

Each measurement is defined by named landmarks (vertex ids, ``measurement_landmarks.py``) and
the model's regressed joints, so it follows the body through every shape:

- **girths** cut the mesh with a plane through landmarks (:mod:`.mesh_sections`): horizontal for
  the head and trunk, perpendicular to the bone for the neck and limbs. Of the cut's loops the one
  around the part's axis is kept (a limb girth goes round one limb only; a trunk cut never
  includes an arm). ``tape="hull"``: the perimeter of the loop's convex hull, a tape stretched
  over hollows (between the breasts, the spine's groove, the gluteal cleft); ``tape="contour"``:
  the loop's own length, a tape lying on the skin all round.
- **heights** are vertical distances from a landmark to the floor (the lowest vertex, the sole).
- **lengths** are straight or broken lines through landmarks, or, for the back length, the
  back's midline profile.

The names are ISO 8559-1:2017's terms (clause numbers are not given: the standard's text was not
at hand; ANSUR II's names are noted where they differ). Values are in metres. All measurements
of one body take about 5 ms of CPU time (``benchmarks/measurements_speed.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from .body_model import GENDERS, open_model_path
from .errors import SmplifyError
from .joints import J, mirror_joint_name
from .measurement_landmarks import find_landmarks, landmark_names, open_model_landmarks
from .mesh_sections import MeshEdges, Sections, plane_sections

UP = ("up",)
TRUNK = ("pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar", "neck")


@dataclass(frozen=True)
class Girth:
    """A girth: a plane cut through landmarks, the loop around ``centre``'s axis.

    Attributes
    ----------
    name : output name; iso : ISO 8559-1's term; description : where the tape goes.
    through : landmarks whose mean is a point of the plane.
    normal : ("up",) horizontal plane; ("bone", a, b) perpendicular to joint a → joint b;
        ("sagittal",) the plane x = const (only for the back length's profile).
    centre : joints or landmarks whose mean, projected onto the plane, lies inside the wanted
        loop (at the waist halfway between the spine's joint and the front: the joint alone
        can lie behind the back of a slim body; not at the chest or hip, where the midpoint
        can fall between the breasts or buttocks).
    region : joints whose skinned faces may carry the loop (faces of other parts are not cut).
    tape : "hull" (convex-hull perimeter) or "contour" (the loop's length).
    below : the plane passes this far (metres) below the landmarks' mean.
    """

    name: str
    iso: str
    through: tuple[str, ...]
    normal: tuple[str, ...]
    centre: tuple[str, ...]
    region: tuple[str, ...]
    tape: str
    description: str = ""
    below: float = 0.0


@dataclass(frozen=True)
class Length:
    """A height or length. kind: "height" (landmark to floor), "stature", "line" (broken line
    through landmarks), "line_to_floor" (broken line, then straight down), "back" (the back's
    midline profile between two landmarks' heights)."""

    name: str
    iso: str
    kind: str
    landmarks: tuple[str, ...] = ()
    description: str = ""


def _mirror(spec: Girth | Length) -> Girth | Length:
    """The right side's twin of a left measurement."""
    if isinstance(spec, Girth):
        return Girth(
            mirror_joint_name(spec.name),
            spec.iso,
            tuple(mirror_joint_name(n) for n in spec.through),
            tuple(mirror_joint_name(n) for n in spec.normal),
            tuple(mirror_joint_name(n) for n in spec.centre),
            tuple(mirror_joint_name(n) for n in spec.region),
            spec.tape,
            spec.description,
            spec.below,
        )
    return Length(
        mirror_joint_name(spec.name),
        spec.iso,
        spec.kind,
        tuple(mirror_joint_name(n) for n in spec.landmarks),
        spec.description,
    )


_LEG = ("left_hip", "left_knee")
_SHANK = ("left_knee", "left_ankle")
_FOREARM = ("left_elbow", "left_wrist")
_TRUNK_GIRTHS = (
    Girth(
        "head_girth",
        "head girth",
        ("glabella",),
        UP,
        ("head", "glabella"),
        ("head", "neck"),
        "hull",
        "horizontal, just above the eyebrows, round the back of the head",
    ),
    Girth(
        "neck_girth",
        "neck girth",
        ("neck_front",),
        ("bone", "neck", "head"),
        ("neck", "head"),
        ("neck", "head", "spine3"),
        "contour",
        "perpendicular to the neck's axis, below the Adam's apple",
    ),
    Girth(
        "chest_girth",
        "chest girth (men) / bust girth (women)",
        ("left_bust_point", "right_bust_point"),
        UP,
        ("spine3",),
        TRUNK,
        "hull",
        "horizontal at the bust points (nipples); ANSUR II: chestcircumference",
    ),
    Girth(
        "underbust_girth",
        "underbust girth",
        ("left_underbust",),
        UP,
        ("spine2", "left_underbust"),
        TRUNK,
        "hull",
        "horizontal just below the breasts",
    ),
    Girth(
        "waist_girth",
        "waist girth",
        ("natural_waist",),
        UP,
        ("spine1", "natural_waist"),
        TRUNK,
        "hull",
        "horizontal at the natural waist, the trunk's narrowest girth between the "
        "ribs and the hips",
    ),
    Girth(
        "waist_girth_omphalion",
        "waist girth (at the omphalion)",
        ("omphalion",),
        UP,
        ("spine1", "omphalion"),
        TRUNK + ("left_hip", "right_hip"),
        "hull",
        "horizontal at the navel; ANSUR II: waistcircumference",
    ),
    Girth(
        "hip_girth",
        "hip girth",
        ("left_buttock", "right_buttock"),
        UP,
        ("pelvis",),
        TRUNK + ("left_hip", "right_hip"),
        "hull",
        "horizontal at the buttocks' greatest protrusion; ANSUR II: buttockcircumference",
    ),
)
_LEFT_GIRTHS = (
    Girth(
        "left_thigh_girth",
        "thigh girth",
        ("crotch",),
        ("bone", *_LEG),
        ("left_knee",),
        ("pelvis", *_LEG),
        "hull",
        "highest thigh girth, 2 cm below the crotch",
        below=0.02,
    ),
    Girth(
        "left_mid_thigh_girth",
        "mid-thigh girth",
        ("left_mid_thigh",),
        ("bone", *_LEG),
        ("left_knee",),
        _LEG,
        "contour",
        "midway between the crotch and the knee",
    ),
    Girth(
        "left_knee_girth",
        "knee girth",
        ("left_patella",),
        ("bone", "left_hip", "left_ankle"),
        ("left_knee",),
        (*_LEG, "left_ankle"),
        "contour",
        "over the middle of the kneecap",
    ),
    Girth(
        "left_calf_girth",
        "calf girth",
        ("left_calf",),
        ("bone", *_SHANK),
        ("left_ankle",),
        _SHANK,
        "contour",
        "the calf's largest girth",
    ),
    Girth(
        "left_ankle_girth",
        "ankle girth",
        ("left_ankle_min",),
        ("bone", *_SHANK),
        ("left_ankle",),
        (*_SHANK, "left_foot"),
        "contour",
        "the leg's smallest girth above the ankle bones",
    ),
    Girth(
        "left_upper_arm_girth",
        "upper arm girth",
        ("left_acromion", "left_olecranon"),
        ("bone", "left_shoulder", "left_elbow"),
        ("left_elbow",),
        ("left_collar", "left_shoulder", "left_elbow"),
        "contour",
        "midway between the shoulder point and the elbow, perpendicular to the arm",
    ),
    Girth(
        "left_elbow_girth",
        "elbow girth",
        ("left_olecranon",),
        ("bone", *_FOREARM),
        ("left_elbow",),
        ("left_shoulder", *_FOREARM),
        "contour",
        "over the elbow's tip",
    ),
    Girth(
        "left_wrist_girth",
        "wrist girth",
        ("left_ulnar_styloid",),
        ("bone", *_FOREARM),
        ("left_wrist",),
        (*_FOREARM, "left_hand"),
        "contour",
        "over the wrist bone",
    ),
)
_LENGTHS = (
    Length("stature", "stature", "stature", (), "top of the head to the floor"),
    Length("cervical_height", "cervical height", "height", ("cervicale",)),
    Length("waist_height", "waist height", "height", ("natural_waist",)),
    Length("hip_height", "hip height", "height", ("left_buttock",)),
    Length(
        "crotch_height",
        "crotch height = inside leg length",
        "height",
        ("crotch",),
        "crotch to the floor (ANSUR II: crotchheight)",
    ),
    Length("knee_height", "knee height", "height", ("left_patella",)),
    Length(
        "ankle_height",
        "ankle height",
        "height",
        ("left_lateral_malleolus",),
        "outer ankle bone to the floor",
    ),
    Length(
        "shoulder_width",
        "shoulder width",
        "line",
        ("left_acromion", "right_acromion"),
        "straight between the two shoulder points (acromions); ANSUR II: biacromialbreadth",
    ),
    Length(
        "back_length",
        "back waist length",
        "back",
        ("cervicale", "natural_waist"),
        "7th cervical vertebra down the back's midline to the waist level",
    ),
)
_LEFT_LENGTHS = (
    Length(
        "left_arm_length",
        "arm length",
        "line",
        ("left_acromion", "left_olecranon", "left_ulnar_styloid"),
        "shoulder point over the elbow to the wrist bone",
    ),
    Length(
        "left_outside_leg_length",
        "outside leg length",
        "line_to_floor",
        ("left_waist_side", "left_hip_side"),
        "waist at the side over the hip, then down",
    ),
)
GIRTHS: tuple[Girth, ...] = _TRUNK_GIRTHS + _LEFT_GIRTHS + tuple(_mirror(g) for g in _LEFT_GIRTHS)
LENGTHS: tuple[Length, ...] = _LENGTHS + _LEFT_LENGTHS + tuple(_mirror(s) for s in _LEFT_LENGTHS)
#: Every measurement's name, in output order.
MEASUREMENT_NAMES: tuple[str, ...] = tuple(s.name for s in LENGTHS + GIRTHS)
#: name -> "ISO 8559-1 term: how it is taken (tape)".
DESCRIPTIONS: dict[str, str] = {
    **{s.name: f"ISO 8559-1 {s.iso}: {s.description}".rstrip(": ") for s in LENGTHS},
    **{g.name: f"ISO 8559-1 {g.iso}: {g.description} ({g.tape})" for g in GIRTHS},
}
BAND = 0.08  # m: faces farther than this from a cut's plane on the template are never cut


@dataclass(frozen=True)
class Measurements:
    """One body's measurements.

    values : name -> metres, in :data:`MEASUREMENT_NAMES` order; NaN where a cut found no loop.
    loops : girth name -> (s, 2, 3) the kept loop's segments (for drawing), back_length's
        profile under "back_length".
    """

    values: dict[str, float]
    loops: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Cut:
    """The cut planes of one body and their kept loops.

    joints : (24, 3) the body's regressed joints; points, normals : (M, 3) each plane's point and
    unit normal (the girths in :data:`GIRTHS` order, then the back's midline section);
    sections : the kept loops, ``segment_edges`` in the model's vertex ids.
    """

    joints: np.ndarray
    points: np.ndarray
    normals: np.ndarray
    sections: Sections


class BodyMeasurer:
    """Measures shaped bodies of one model in the rest pose.

    Parameters
    ----------
    model : a BodyModel (rest T-pose, y up).
    landmarks : name -> vertex id; default: the stored ids for the open models, otherwise
        :func:`find_landmarks` on the model's template (a one-off 0.1–1 s).
    """

    def __init__(self, model, landmarks: dict[str, int] | None = None) -> None:
        self.model = model
        if landmarks is None:
            if _is_open_model(model):
                landmarks = open_model_landmarks(model.v_template, model.gender)
            else:
                landmarks = find_landmarks(model.v_template, model.faces, model.J_template)
        missing = [n for n in landmark_names() if n not in landmarks]
        if missing:
            raise SmplifyError(f"landmarks missing: {', '.join(missing)}")
        self.landmarks = {n: int(landmarks[n]) for n in landmark_names()}
        if max(self.landmarks.values()) >= model.num_vertices:
            raise SmplifyError("a landmark vertex id is out of range for this model")
        self._regressor = csr_matrix(model.J_regressor)  # sparse: no threaded BLAS call
        self._cuts = list(GIRTHS) + [_BACK_CUT]
        self._hull = np.array([cut.tape == "hull" for cut in self._cuts])
        self._prepare_faces(model.v_template, model.J_template)

    @property
    def cuts(self) -> tuple[Girth, ...]:
        """The cut planes: :data:`GIRTHS`, then the back's midline section."""
        return tuple(self._cuts)

    def _prepare_faces(self, vertices: np.ndarray, joints: np.ndarray) -> None:
        """Faces each cut may meet: its region's faces within BAND of its plane on the template."""
        dominant = np.argmax(self.model.lbs_weights, axis=1)
        points, normals, _ = self._planes(vertices, joints)
        dist = np.abs(vertices @ normals.T - np.einsum("mk,mk->m", points, normals))
        chunks, planes = [], []
        for m, cut in enumerate(self._cuts):
            in_region = np.isin(dominant, [J[n] for n in cut.region])
            near = (dist[:, m] < BAND) & in_region
            ids = np.flatnonzero(near[self.model.faces].any(axis=1))
            chunks.append(ids)
            planes.append(np.full(len(ids), m))
        cut_faces = np.concatenate(chunks)
        self._cut_plane = np.concatenate(planes)
        # the cuts only ever see this sub-mesh: its faces and vertices, renumbered
        used_faces, self._cut_faces = np.unique(cut_faces, return_inverse=True)
        self._used_vertices, local = np.unique(self.model.faces[used_faces], return_inverse=True)
        self._faces = local.reshape(-1, 3)
        self._edges = MeshEdges.of(self._faces)

    def _named(self, vertices: np.ndarray, joints: np.ndarray, name: str) -> np.ndarray:
        """A joint's or a landmark's position (3,)."""
        return joints[J[name]] if name in J else vertices[self.landmarks[name]]

    def _point(self, vertices: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        return vertices[[self.landmarks[n] for n in names]].mean(axis=0)

    def _planes(self, vertices: np.ndarray, joints: np.ndarray):
        """points (M, 3), unit normals (M, 3) and axis centres (M, 3) of every cut."""
        M = len(self._cuts)
        points, normals, centres = np.zeros((M, 3)), np.zeros((M, 3)), np.zeros((M, 3))
        for m, cut in enumerate(self._cuts):
            points[m] = self._point(vertices, cut.through) - (0.0, cut.below, 0.0)
            kind = cut.normal[0]
            if kind == "up":
                normals[m] = (0.0, 1.0, 0.0)
            elif kind == "bone":
                normals[m] = joints[J[cut.normal[2]]] - joints[J[cut.normal[1]]]
            elif kind == "sagittal":
                normals[m] = (1.0, 0.0, 0.0)
            centres[m] = np.mean([self._named(vertices, joints, n) for n in cut.centre], axis=0)
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        centres -= np.einsum("mk,mk->m", centres - points, normals)[:, None] * normals
        return points, normals, centres

    def measure(self, betas: np.ndarray | None = None) -> Measurements:
        """Measurements of the body with shape ``betas`` (b,) in the rest pose."""
        betas = np.zeros(0) if betas is None else np.asarray(betas, dtype=np.float64).ravel()
        if len(betas) > self.model.num_betas:
            raise SmplifyError(f"{len(betas)} betas given, the model has {self.model.num_betas}")
        # v = v_template + Σ_l shapedirs[:, :, l] β_l (einsum: see plane_sections step 1)
        offsets = np.einsum("vkl,l->vk", self.model.shapedirs[:, :, : len(betas)], betas)
        return self.measure_vertices(self.model.v_template + offsets)

    def measure_vertices(self, vertices: np.ndarray) -> Measurements:
        """Measurements of rest-pose vertices (V, 3) of this model's mesh (y up, metres)."""
        vertices = np.asarray(vertices, dtype=np.float64)
        if vertices.shape != (self.model.num_vertices, 3):
            raise SmplifyError(
                f"vertices must be ({self.model.num_vertices}, 3), got {vertices.shape}"
            )
        cut = self.cut(vertices)
        values, loops = {}, {}
        sections = cut.sections
        for m, girth in enumerate(GIRTHS):
            chosen = sections.hull_perimeter if girth.tape == "hull" else sections.contour_length
            values[girth.name] = float(chosen[m])
            loops[girth.name] = sections.loop(m)
        floor = float(vertices[:, 1].min())
        for spec in LENGTHS:
            values[spec.name], profile = self._length(spec, vertices, cut, floor)
            if profile is not None:
                loops[spec.name] = profile
        return Measurements({n: values[n] for n in MEASUREMENT_NAMES}, loops)

    def cut(self, vertices: np.ndarray) -> Cut:
        """Every girth's plane and kept loop on rest-pose vertices (V, 3), plus the back's
        midline section (the last plane)."""
        joints = self._regressor @ vertices
        points, normals, centres = self._planes(vertices, joints)
        sections = plane_sections(
            vertices[self._used_vertices],
            self._faces,
            self._edges,
            self._cut_faces,
            self._cut_plane,
            points,
            normals,
            centres,
            self._hull,
        )
        # the sub-mesh's vertex ids back to the model's
        sections = replace(sections, segment_edges=self._used_vertices[sections.segment_edges])
        return Cut(joints, points, normals, sections)

    def _length(self, spec: Length, vertices, cut: Cut, floor: float):
        pts = vertices[[self.landmarks[n] for n in spec.landmarks]]
        if spec.kind == "stature":
            return float(vertices[:, 1].max() - floor), None
        if spec.kind == "height":
            return float(pts[0, 1] - floor), None
        path = float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)))
        if spec.kind == "line":
            return path, None
        if spec.kind == "line_to_floor":
            return path + float(pts[-1, 1] - floor), None
        segments = cut.sections.loop(len(self._cuts) - 1)
        keep = back_profile_segments(segments, cut.joints, pts[1, 1], pts[0, 1])
        profile = clip_heights(segments[keep], pts[1, 1], pts[0, 1])
        return float(np.sum(np.linalg.norm(profile[:, 1] - profile[:, 0], axis=1))), profile


def _is_open_model(model) -> bool:
    """Whether ``model`` was loaded from one of the shipped open model files."""
    if model.gender not in GENDERS or not model.source:
        return False
    path = Path(model.source)
    return path.is_file() and path.resolve() == open_model_path(model.gender).resolve()


_BACK_CUT = Girth(
    "back_profile", "", ("cervicale",), ("sagittal",), ("spine2",), TRUNK + ("head",), "contour"
)


def back_profile_segments(
    segments: np.ndarray, joints: np.ndarray, low: float, high: float
) -> np.ndarray:
    """Which segments (s, 2, 3) of a midline section lie behind the spine's joints and reach
    into the heights [low, high]: a mask (s,)."""
    axis = [J[n] for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "head")]
    mid = segments.mean(axis=1)
    behind = mid[:, 2] < np.interp(mid[:, 1], joints[axis, 1], joints[axis, 2])
    y0, y1 = segments[:, 0, 1], segments[:, 1, 1]
    return behind & (np.maximum(y0, y1) > low) & (np.minimum(y0, y1) < high)


def clip_heights(segments: np.ndarray, low: float, high: float) -> np.ndarray:
    """Segments (s, 2, 3) with each end outside the heights [low, high] moved along its segment
    onto the bound."""
    seg = segments.copy()
    for end in (0, 1):
        other = 1 - end
        for bound, outside in ((low, seg[:, end, 1] < low), (high, seg[:, end, 1] > high)):
            t = (bound - seg[outside, other, 1]) / (seg[outside, end, 1] - seg[outside, other, 1])
            seg[outside, end] = seg[outside, other] + t[:, None] * (
                seg[outside, end] - seg[outside, other]
            )
    return seg
