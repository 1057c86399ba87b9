"""Depth-hypothesis search after the fit: try the other depth sign of the limbs that point
into depth where the lifter's points say so, keep it where the objective drops too.

One view leaves the sign of a limb segment's depth change open: mirrored through the plane
perpendicular to the camera ray at its joint, the segment projects where it did. The fit's
dogleg does not cross from one sign to the other (on the way the segment would pass through
the image plane, where its projection is longest: a reprojection barrier), so the start, the
pose prior and the lifter's points decide the basin. The search visits the other basin:

1. Candidates: each limb segment (``edit_terms.LIMB_SEGMENTS``) whose depth change is at least
   ``TILT`` of its length, and each arm and leg whose two segments both are (``CHAINS``).
   Only those a vote asks for: the fit's 3D evidence (the lifter's points) puts every segment
   on the other side than the fit does (:func:`lifted_depths`), or, given the detector's own
   world landmarks besides, they do by at least ``VOTE_MARGINS["blazepose"]`` of the length,
   or BlazePose's visibility of each segment's near end (on the other side) exceeds its far
   end's by ``VOTE_MARGINS["visibility"]`` (:func:`detector_votes`), or, given the photo's
   own depth-sign votes (``depth_sign.py``; off in the pipeline), they do by
   ``VOTE_MARGINS["image"]``. Without 3D evidence in the fit, none.
2. Mirror the candidate's segments (``refit.mirror_pose``: each moved end stays on its camera
   ray) and evaluate the objective there without refitting; only the ``MAX_REFITS``
   candidates with the lowest such energy go on.
3. Refit each survivor for ``ITERATIONS`` dogleg steps under the last stage's weights, holding
   its new depth signs and those of the other tilted segments (:class:`RayOrderBlock`, the
   artist's "flip depth" hinge of ``edit_terms.DepthOrderBlock`` along each segment's ray:
   far off the image centre both sides of a view can share the sign of the camera's z).
4. Keep a hypothesis whose objective energy (the same weights, without the hold) is below
   (1 − ``MARGIN``) × the current one's (``MARGIN_WITH_DETECTOR`` where the detector's
   landmarks vote); the next candidate starts from what was kept.

The criterion, chosen on the rendered benchmark's tuning half (``docs/fit_depth.md``, "Depth
hypotheses" and "Choosing the depth hypothesis"): a vote *and* a lower energy (at most a
tenth higher where the detector's landmarks vote too). The energy alone kept more wrong flips
than right ones there; each vote asks for about 1 % of the wrong flips (BlazePose's landmarks
without their margin for 9 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dogleg import dogleg
from .edit_terms import DEPTH_MARGIN, LIMB_SEGMENTS, DepthHingeBlock
from .fit_setup import FitProblem
from .joints import J
from .keypoints import BLAZEPOSE33
from .objective import Objective, StageConfig
from .refit import mirror_pose, other_depth
from .rotation import matrix_to_rotvec, rodrigues
from .world_landmarks import WorldLandmarks

#: Segments whose depth change is at least this share of their length are tried.
TILT = 0.3
#: The trunk's lean as a pseudo-segment (pelvis to neck), tried only by :func:`hypotheses`
#: with ``trunk=True`` (the study): on the tuning half even the oracle among its hypotheses
#: gained one limb in 867, so the fit's search leaves it out.
TRUNK = "pelvis"
SEGMENTS: dict[str, str] = {**LIMB_SEGMENTS, TRUNK: "neck"}
#: Arms and legs whose two segments may flip together (the second one mirrored after the first).
CHAINS: tuple[tuple[str, str], ...] = tuple(
    (f"{side}_{upper}", f"{side}_{lower}")
    for side in ("left", "right")
    for upper, lower in (("shoulder", "elbow"), ("hip", "knee"))
)
#: Candidates refitted at most (those whose mirrored start has the lowest energy).
MAX_REFITS = 3
#: Dogleg iterations of a hypothesis's refit.
ITERATIONS = 10
#: A hypothesis is kept when its energy is below (1 − MARGIN) × the current one's, where the
#: lifter votes alone ...
MARGIN = 0.0
#: ... and where the detector's landmarks vote too: it may rise by a tenth (tuning half of the
#: seed-0 renders, limbs backwards over both sources: 170 before, 168 with the votes at
#: either margin, chosen offline at 168 against 169; ``docs/fit_depth.md``, "Choosing the depth
#: hypothesis"). With the lifter alone a tenth was worse there (172).
MARGIN_WITH_DETECTOR = -0.1
#: How far a vote must put each flipped segment on the hypothesis's side: the lifter's and
#: BlazePose's depth change per length, BlazePose's visibility of the near end minus the far
#: end's (chosen with ``MARGIN_WITH_DETECTOR`` on the tuning half of the seed-0 renders,
#: where they asked for 19-48 %, 19-31 % and 6-11 % of the right flips and 1.6 %, 0.7-1.0 %
#: and 0.1-0.5 % of the wrong ones).
VOTE_MARGINS = {"lifter": 0.0, "blazepose": 0.5, "visibility": 0.5, "image": 0.0}
#: Where the image's depth-sign network (``depth_sign.DepthSign.votes``, 2p − 1) asks for a
#: flip by its ``VOTE_MARGINS["image"]``, the energy may rise to (1 − IMAGE_MARGIN) × the
#: current one's (with the margin, chosen on the tuning half of the seed-0 renders from
#: margins 0-0.9 and rises ×1.1-1.5: 99 → 97 limbs backwards from the detector,
#: ``docs/depth_sign.md``; the pipeline does not ask for these votes by default).
IMAGE_MARGIN = -0.1
#: Where BlazePose's own landmarks put each flipped segment on the hypothesis's side by at
#: least ``STRONG_VOTE`` of its length, the energy may rise to (1 − ``STRONG_MARGIN``) × the
#: current one's: a lifter sure of the wrong side otherwise outweighs them in the energy.
#: Measured and not switched on (``STRONG_MARGIN`` None: off): the best setting on the tuning
#: half, 0.8 and −1.0 (energy up to ×2.0), did not hold on the report half
#: (``docs/lifter_gpu.md``, "BlazePose's strong votes against a sure lifter").
STRONG_VOTE = 0.8
STRONG_MARGIN: float | None = None
#: λ of the held depth signs (:class:`RayOrderBlock`; the artist's flip holds with the same).
HOLD_WEIGHT = 2000.0


@dataclass(frozen=True)
class Hypothesis:
    """One depth hypothesis: the segments it flipped (none: the fit as it was), its
    parameters x (n,), its objective energies per term and its joints (24, 3)."""

    segments: tuple[str, ...]
    x: np.ndarray
    energies: dict[str, float]
    joints: np.ndarray
    screen: float = np.nan  # the energy of the mirrored start, before the refit

    @property
    def energy(self) -> float:
        return float(sum(self.energies.values()))


def search_depth(
    problem: FitProblem,
    x: np.ndarray,
    config: StageConfig,
    *,
    margin: float | None = None,
    detected: WorldLandmarks | None = None,
    image: dict[str, float] | None = None,
    image_margin: float | None = None,
    strong_margin: float | None = None,
    occlusion=None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The parameters (n,) after the search from the fit x (n,) under the stage ``config``,
    and the segments it flipped; ``detected``: the detector's own world landmarks when the
    fit's 3D evidence is the lifter's (their signs and visibilities vote too); ``margin``:
    None = ``MARGIN``, or ``MARGIN_WITH_DETECTOR`` with ``detected``; ``image``: the image's
    depth-sign votes ({segment: 2p − 1}, ``depth_sign.DepthSign.votes``), with their own
    ``image_margin`` (None = ``IMAGE_MARGIN``) where they ask for the flip;
    ``strong_margin`` (None = ``STRONG_MARGIN``, itself None: off) where BlazePose's landmarks
    ask for it by ``STRONG_VOTE``; ``occlusion``
    (``occlusion.OcclusionVeto``, optional) may refuse a flip the photo's occlusion
    contradicts."""
    if margin is None:
        margin = MARGIN if detected is None else MARGIN_WITH_DETECTOR
    flipped: tuple[str, ...] = ()
    if not any(block.name == "world" for block in problem.objective.blocks):
        return x, flipped  # the energy alone chose the wrong side as often as the right one
    current = hypothesis(problem, x, config, ())
    votes = {"lifter": lifted_depths(problem, current.joints)}
    if detected is not None:
        points = detected.in_camera(problem.focal, problem.centre)
        votes.update(detector_votes(points, detected.visibility))
    if image is not None:
        votes["image"] = image
    base = current.joints
    # (source, its vote margin, the energy margin where it asks; None: not asked)
    allowances = (
        ("image", VOTE_MARGINS["image"], IMAGE_MARGIN if image_margin is None else image_margin),
        ("blazepose", STRONG_VOTE, STRONG_MARGIN if strong_margin is None else strong_margin),
    )
    for segments in screened(problem, current, config, votes):
        if set(segments) & set(flipped):
            continue
        trial = refitted(problem, current, config, segments)
        allowed = min(
            [margin]
            + [m for source, vote_margin, m in allowances
               if m is not None and _asks(votes.get(source), base, segments, vote_margin)]
        )  # fmt: skip
        if trial.energy < (1.0 - allowed) * current.energy and (
            occlusion is None
            or occlusion.allows(problem.objective.split, current.x, trial.x, segments)
        ):
            current, flipped = trial, flipped + segments
    return current.x, flipped


def hypotheses(
    problem: FitProblem, x: np.ndarray, config: StageConfig, *, trunk: bool = False
) -> list[Hypothesis]:
    """The fit x (n,) and every candidate refitted from it, unscreened (for the studies);
    with ``trunk`` also the trunk's lean mirrored."""
    base = hypothesis(problem, x, config, ())
    tried = candidates(base.joints, trunk=trunk)
    return [base] + [refitted(problem, base, config, s) for s in tried]


def candidates(joints: np.ndarray, *, trunk: bool = False) -> list[tuple[str, ...]]:
    """The segments (as 1-tuples) and chains of joints (24, 3) that point into depth."""
    tilted = {s for s in SEGMENTS if _tilt(joints, s) >= TILT}
    singles = [(s,) for s in LIMB_SEGMENTS if s in tilted]
    lean = [(TRUNK,)] if trunk and TRUNK in tilted else []
    return singles + [c for c in CHAINS if set(c) <= tilted] + lean


def screened(
    problem: FitProblem, base: Hypothesis, config: StageConfig, votes: dict | None = None
) -> list[tuple]:
    """The candidates worth a refit, lowest mirrored energy first: with ``votes`` ({source:
    {segment: its depth change per length, or how much more visible its near end is}},
    :func:`lifted_depths`, :func:`detector_votes`) only those for which one source puts every
    segment on the other side than the fit does, by its ``VOTE_MARGINS``."""
    scored = []
    for segments in candidates(base.joints):
        if votes is not None and not any(
            _asks(vote, base.joints, segments, VOTE_MARGINS[source])
            for source, vote in votes.items()
        ):
            continue
        x = mirrored(problem, base.x, segments)
        scored.append((_energy(problem.objective, x, config), segments))
    return [s for _, s in sorted(scored)[:MAX_REFITS]]


def _asks(vote: dict | None, joints: np.ndarray, segments: tuple, margin: float) -> bool:
    """Whether a source's ``vote`` puts each segment on the other side than joints (24, 3)
    have it, by more than ``margin``."""
    return vote is not None and all(
        s in vote and -vote[s] * np.sign(_depth(joints, s)) > margin for s in segments
    )


def detector_votes(points: np.ndarray, visibility: np.ndarray) -> dict[str, dict[str, float]]:
    """The detector's own votes on each limb segment's depth sign, positive where its child
    end is the farther: BlazePose's world landmarks (33, 3; camera frame, hip-centred) give
    the depth change per length along the optical axis ("blazepose"), its visibilities (33,)
    the parent end's minus the child end's ("visibility": a far end is hidden more often)."""
    out: dict[str, dict[str, float]] = {"blazepose": {}, "visibility": {}}
    for segment, child in LIMB_SEGMENTS.items():
        a, b = BLAZEPOSE33.index(segment), BLAZEPOSE33.index(child)
        v = points[b] - points[a]
        if np.isfinite(v).all() and np.linalg.norm(v) > 1e-9:
            out["blazepose"][segment] = float(v[2] / np.linalg.norm(v))
        out["visibility"][segment] = float(visibility[a] - visibility[b])
    return out


def lifted_depths(problem: FitProblem, joints: np.ndarray) -> dict[str, float] | None:
    """The depth change per length of each limb segment in the fit's 3D evidence (the
    lifter's or BlazePose's world landmarks, their ``WorldLandmarkBlock``), along the ray
    through the segment's midpoint in joints (24, 3); None when the fit has none."""
    block = next((b for b in problem.objective.blocks if b.name == "world"), None)
    if block is None:
        return None
    names, index = problem.setup.layout.names, problem.setup.point_index
    targets = block.targets
    rows = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(targets.parents, targets.children))}
    out = {}
    for segment, child in LIMB_SEGMENTS.items():
        if segment not in names or child not in names:
            continue
        key = (int(index[names.index(segment)]), int(index[names.index(child)]))
        if key in rows:
            ray = joints[J[segment]] + joints[J[child]]
            out[segment] = float(targets.directions[rows[key]] @ ray / np.linalg.norm(ray))
    return out


def mirrored(problem: FitProblem, x: np.ndarray, segments: tuple[str, ...]) -> np.ndarray:
    """x (n,) with the segments' depth signs mirrored, every other limb segment keeping its
    own (``refit.mirror_pose``): an upper arm or thigh turns with its forearm or shin as one
    (the elbow or knee keeps its bend), then the lower one is mirrored back unless it flips too.
    """
    x = x.copy()
    for segment in segments:
        if segment == TRUNK:
            x[:72] = _lean_mirrored(x[:72], joints_of(problem, x))
            continue
        if segment.endswith(("elbow", "knee")):
            if _upper(segment) not in segments:
                x[:72] = mirror_pose(x[:72], joints_of(problem, x), segment, on_rays=True)
            continue
        x[:72] = mirror_pose(x[:72], joints_of(problem, x), segment, with_child=True, on_rays=True)
        lower = LIMB_SEGMENTS[segment]
        if lower not in segments:
            x[:72] = mirror_pose(x[:72], joints_of(problem, x), lower, on_rays=True)
    return x


def _lean_mirrored(pose: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """The pose (72,) with the trunk's lean mirrored: the root turns by the smallest rotation
    Q taking pelvis → neck onto the neck's other point on its camera ray
    (``refit.other_depth``), the hips keep their world rotation (R_hip' = R_0'ᵀ R_0 R_hip), so
    the legs do not turn."""
    pelvis, neck = joints[J[TRUNK]], joints[J["neck"]]
    v, target = neck - pelvis, other_depth(pelvis, neck) - pelvis
    axis = np.cross(v, target)
    angle = np.arctan2(np.linalg.norm(axis), v @ target)
    Q = rodrigues(axis / max(np.linalg.norm(axis), 1e-12) * angle)
    rotations = rodrigues(np.asarray(pose, dtype=np.float64).reshape(24, 3))
    root = Q @ rotations[0]
    for hip in (J["left_hip"], J["right_hip"]):
        rotations[hip] = root.T @ rotations[0] @ rotations[hip]
    rotations[0] = root
    return matrix_to_rotvec(rotations).ravel()


def refitted(
    problem: FitProblem, base: Hypothesis, config: StageConfig, segments: tuple[str, ...]
) -> Hypothesis:
    """The hypothesis with ``segments`` flipped from ``base``: mirrored, then refitted holding
    the flipped signs and those of the other tilted segments as they were."""
    start = mirrored(problem, base.x, segments)
    held = [s for s in SEGMENTS if s in segments or (s != TRUNK and _tilt(base.joints, s) >= TILT)]
    hold = RayOrderBlock(base.joints, held, flip=segments)
    objective = Objective(
        kinematics=problem.objective.kinematics,
        blocks=problem.objective.blocks + (hold,),
    )
    holding = StageConfig({**config.weights, "depth_order": HOLD_WEIGHT}, config.keypoint_mask)
    n = objective.n
    free = np.r_[0:72, n - 3 : n]

    def embed(y):
        out = start.copy()
        out[free] = y
        return out

    res = dogleg(
        lambda y: objective.normal_equations(embed(y), free, holding),
        start[free],
        max_iterations=ITERATIONS,
        ftol=1e-4,
    )
    screen = _energy(problem.objective, start, config)
    return hypothesis(problem, embed(res.x), config, segments, screen)


class RayOrderBlock(DepthHingeBlock):
    """Held depth signs along fixed rays: ``edit_terms.DepthHingeBlock`` with r̂ the unit ray
    through each segment's midpoint in ``joints`` (the artist's ``DepthOrderBlock`` holds
    along the optical axis instead), each sign held as it is in ``joints``.

    Parameters
    ----------
    joints : (24, 3) the joints whose signs (and rays) are held, camera frame.
    segments : the segments held (``SEGMENTS`` keys); flip : those held the other way.
    """

    def __init__(self, joints: np.ndarray, segments, flip=(), margin: float = DEPTH_MARGIN):
        parents = np.array([J[s] for s in segments], dtype=int)
        children = np.array([J[SEGMENTS[s]] for s in segments], dtype=int)
        mid = joints[parents] + joints[children]
        rays = mid / np.linalg.norm(mid, axis=1, keepdims=True)
        depth = np.einsum("ij,ij->i", joints[children] - joints[parents], rays)
        signs = -np.sign(depth) * np.array([-1.0 if s in flip else 1.0 for s in segments])
        super().__init__(parents, children, rays, signs, margin)


def hypothesis(problem, x, config, segments, screen=np.nan) -> Hypothesis:
    energies = problem.objective.energies(x, config)
    return Hypothesis(tuple(segments), x, energies, joints_of(problem, x), screen)


def joints_of(problem: FitProblem, x: np.ndarray) -> np.ndarray:
    """The posed SMPL joints (24, 3) of x (n,), camera frame."""
    pose, betas, transl = problem.objective.split(x)
    points, _ = problem.setup.kin.evaluate(pose, betas, transl, jacobian=False)
    return points[:24]


def _energy(objective: Objective, x: np.ndarray, config: StageConfig) -> float:
    e = sum(objective.energies(x, config).values())
    return float(e) if np.isfinite(e) else np.inf


def _upper(segment: str) -> str:
    """The upper arm or thigh above a forearm or shin."""
    side, part = segment.split("_", 1)
    return {"elbow": f"{side}_shoulder", "knee": f"{side}_hip"}[part]


def _depth(joints: np.ndarray, segment: str) -> float:
    """Δ / length of a segment of joints (24, 3), Δ its depth change along the camera ray
    through its midpoint (the sign a single view leaves open)."""
    a, b = joints[J[segment]], joints[J[SEGMENTS[segment]]]
    ray = (a + b) / np.linalg.norm(a + b)
    return float((b - a) @ ray / max(np.linalg.norm(b - a), 1e-9))


def _tilt(joints: np.ndarray, segment: str) -> float:
    return abs(_depth(joints, segment))
