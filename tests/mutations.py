"""Check that the tests catch each one-line mutation of the fit's decisions (run by hand).

    .venv/bin/python tests/mutations.py              # every mutation
    .venv/bin/python tests/mutations.py --list       # the table of docs/mutations.md
    .venv/bin/python tests/mutations.py mirror-yaw   # some of them, by name

For each mutation: copy the working tree (tracked and untracked, not ignored files) into a
temporary folder, check that the named tests pass there, apply the one-line edit (the old text
must occur exactly once), run the named tests again and report "caught" (they fail) or
"missed" (they pass). Exit status 1 when any mutation is missed. Not part of CI: it runs the
named tests twice per mutation (about 2 minutes on the development machine).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = "blender_smplify/core"
DECISIONS = "tests/core/test_fit_decisions.py"
WORLD = "tests/core/test_world_landmarks.py"
LIFTER = "tests/core/test_lifter.py"
CONFIDENCE = "tests/core/test_keypoint_confidence.py"
DEPTH = "tests/core/test_depth_search.py"
SIGN = "tests/core/test_depth_sign.py"
TRAINING = "tests/core/test_lifter_training.py"
SAME_DOOR = "tests/core/test_same_person_cli.py"
SAME_BPY = "tests/blender/test_same_person.py"
PANEL = "tests/blender/test_photo_to_avatar.py"
FRAME = "tests/core/test_detector_frame.py"
UNSURE_UNIT = (
    "tests/core/test_fit.py::test_two_unsure_limb_joints_or_missing_ones_are_not_warned_of"
)
BLENDER = "blender_smplify/blender"
KEPT_FOR_REFIT = (
    f"{SAME_BPY}::test_the_detectors_landmarks_are_kept_for_refit_and_old_avatars_still_refit"
)
JOINING = f"{SAME_BPY}::test_a_detected_photo_joining_a_person_keeps_the_detectors_landmarks"
NAN_STEP_TEST = "test_a_non_finite_step_shrinks_to_a_quarter_of_its_length_and_is_not_retried"


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation(
        "camera-keeps-worse-facing",
        f"{CORE}/fit.py",
        "candidates.sort(key=lambda c: c[0])",
        "candidates.sort(key=lambda c: c[0], reverse=True)",
        (f"{DECISIONS}::test_camera_stage_keeps_the_facing_with_the_lower_energy",),
    ),
    Mutation(
        "mirror-yaw-off",
        f"{CORE}/fit.py",
        "MIRROR_YAW = True",
        "MIRROR_YAW = False",
        (f"{DECISIONS}::test_the_mirrored_yaw_start_recovers_the_heading",),
    ),
    Mutation(
        "flip-ambiguity-0",
        f"{CORE}/fit.py",
        "FLIP_AMBIGUITY = 4.0",
        "FLIP_AMBIGUITY = 0",
        (f"{DECISIONS}::test_an_ambiguous_flip_test_is_decided_by_the_first_pose_stage",),
    ),
    Mutation(
        "interpenetration-0",
        f"{CORE}/objective.py",
        "interpenetration: float = 1000.0",
        "interpenetration: float = 0.0",
        (f"{DECISIONS}::test_interpenetration_keeps_the_arm_out_of_the_body",),
    ),
    Mutation(
        "joint-limits-0",
        f"{CORE}/objective.py",
        "joint_limits: float = 300.0",
        "joint_limits: float = 0.0",
        (f"{DECISIONS}::test_joint_limits_keep_the_pose_inside_its_boxes",),
    ),
    Mutation(
        "angle-prior-0",
        f"{CORE}/objective.py",
        "angle_ratio: float = 0.317",
        "angle_ratio: float = 0.0",
        (f"{DECISIONS}::test_angle_prior_bends_elbows_and_knees_the_natural_way",),
    ),
    Mutation(
        "shape-prior-0",
        f"{CORE}/objective.py",
        "shape_prior: tuple[float, ...] = (20.0, 12.0, 10.0, 8.0)",
        "shape_prior: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)",
        (f"{DECISIONS}::test_shape_prior_keeps_the_shape_plausible",),
    ),
    Mutation(
        "pose-prior-0",
        f"{CORE}/objective.py",
        "pose_prior: tuple[float, ...] = (100.0, 60.0, 40.0, 12.0)",
        "pose_prior: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)",
        (f"{DECISIONS}::test_pose_prior_fills_in_what_the_keypoints_do_not_say",),
    ),
    Mutation(
        "dogleg-no-shrink-on-nan",
        f"{CORE}/dogleg.py",
        "            radius = NONFINITE_SHRINK * step",
        "            pass",
        (f"tests/core/test_dogleg.py::{NAN_STEP_TEST}",),
    ),
    Mutation(
        "retry-off",
        f"{CORE}/fit.py",
        "RETRY_JOINT_ENERGY = 200.0",
        'RETRY_JOINT_ENERGY = float("inf")',
        (f"{DECISIONS}::test_a_stuck_fit_is_retried_and_the_retry_wins",),
    ),
    Mutation(
        "world-weight-0",
        f"{CORE}/objective.py",
        "world: float = 70.0",
        "world: float = 0.0",
        (f"{WORLD}::test_world_landmarks_put_limbs_right_in_depth",),
    ),
    Mutation(
        "world-facing-off",
        f"{CORE}/fit.py",
        "WORLD_FACING = 0.3",
        'WORLD_FACING = float("inf")',
        (f"{DECISIONS}::test_the_world_landmarks_decide_an_ambiguous_facing",),
    ),
    Mutation(
        "warn-at-retry-threshold",
        f"{CORE}/fit.py",
        "WARN_JOINT_ENERGY = 500.0",
        "WARN_JOINT_ENERGY = 200.0",
        (
            "tests/core/test_fit.py::"
            "test_one_keypoint_off_is_retried_without_a_warning_two_are_flagged",
        ),
    ),
    Mutation(
        "warn-never",
        f"{CORE}/fit.py",
        "WARN_JOINT_ENERGY = 500.0",
        'WARN_JOINT_ENERGY = float("inf")',
        ("tests/core/test_fit.py::test_keypoints_no_body_can_explain_are_flagged",),
    ),
    Mutation(
        "min-confidence-ignored",
        f"{CORE}/fit_setup.py",
        "confident = np.where(keypoints.confidence >= min_confidence, conf, 0.0)",
        "confident = conf",
        (f"{CONFIDENCE}::test_keypoints_below_min_confidence_get_no_weight",),
    ),
    Mutation(
        "lifter-trust-off",
        f"{CORE}/lifter.py",
        "trust = 1.0 if error_scale is None else lifted.trust(error_scale)",
        "trust = 1.0",
        (f"{LIFTER}::test_lifted_world_weighs_each_point_by_confidence_and_trust",),
    ),
    Mutation(
        "lifter-mirror-error-unswapped",
        f"{CORE}/lifter.py",
        'error = _per_photo(net.get("log_error"), np.exp, MIRROR)',
        'error = _per_photo(net.get("log_error"), np.exp, np.arange(NUM_POINTS))',
        (f"{LIFTER}::test_mirror_average_is_the_mean_with_the_mirrored_photo",),
    ),
    Mutation(
        "lifter-mirror-sign-unswapped",
        f"{CORE}/lifter.py",
        'away = _per_photo(net.get("away_logit"), _sigmoid, SEGMENT_MIRROR)',
        'away = _per_photo(net.get("away_logit"), _sigmoid, np.arange(len(SEGMENT_NAMES)))',
        (f"{LIFTER}::test_depth_sign_probabilities_are_per_segment_and_mirror_averaged",),
    ),
    Mutation(
        "lifter-sign-odds-reversed",
        f"{CORE}/lifter.py",
        "return 1.0 / (1.0 + np.exp(-logit))",
        "return 1.0 / (1.0 + np.exp(logit))",
        (f"{LIFTER}::test_shipped_depth_signs_tell_arms_reaching_toward_the_camera",),
    ),
    Mutation(
        "depth-search-off",
        f"{CORE}/fit.py",
        "    depth_search: bool = True",
        "    depth_search: bool = False",
        (f"{DEPTH}::test_fit_runs_the_search_unless_switched_off",),
    ),
    Mutation(
        "depth-search-no-vote",
        f"{CORE}/depth_search.py",
        "        if votes is not None and not any(",
        "        if False and not any(",
        (f"{DEPTH}::test_with_3d_evidence_the_search_flips_only_where_the_evidence_agrees",),
    ),
    Mutation(
        "depth-search-without-evidence",
        f"{CORE}/depth_search.py",
        '    if not any(block.name == "world" for block in problem.objective.blocks):',
        "    if False:",
        (f"{DEPTH}::test_without_3d_evidence_the_search_leaves_the_fit_alone",),
    ),
    Mutation(
        "depth-hold-not-flipped",
        f"{CORE}/depth_search.py",
        "-np.sign(depth) * np.array([-1.0 if s in flip else 1.0 for s in segments])",
        "-np.sign(depth)",
        (f"{DEPTH}::test_the_ray_hold_jacobian_matches_finite_differences",),
    ),
    Mutation(
        "depth-search-energy-ignored",
        f"{CORE}/depth_search.py",
        "        if trial.energy < (1.0 - allowed) * current.energy and (",
        "        if True and (",
        (f"{DEPTH}::test_a_flip_the_evidence_asks_for_is_kept_only_where_the_energy_drops",),
    ),
    Mutation(
        "depth-search-detector-unheard",
        f"{CORE}/depth_search.py",
        "    if detected is not None:",
        "    if False:",
        (f"{DEPTH}::test_the_detectors_landmarks_vote_where_the_lifter_does_not",),
    ),
    Mutation(
        "depth-search-visibility-reversed",
        f"{CORE}/depth_search.py",
        '        out["visibility"][segment] = float(visibility[a] - visibility[b])',
        '        out["visibility"][segment] = float(visibility[b] - visibility[a])',
        (f"{DEPTH}::test_the_detectors_landmarks_vote_where_the_lifter_does_not",),
    ),
    Mutation(
        "fit-detected-dropped",
        f"{CORE}/fit.py",
        "        detected=detected,",
        "        detected=None,",
        (f"{DEPTH}::test_fit_hands_the_detectors_landmarks_to_the_search",),
    ),
    Mutation(
        "pipeline-detected-dropped",
        f"{CORE}/pipeline.py",
        "        detected = world",
        "        detected = None",
        (
            f"{DEPTH}::test_the_pipeline_hands_the_fit_the_detectors_landmarks_beside_the_"
            "lifted_points",
        ),
    ),
    Mutation(
        "depth-search-image-vote-dropped",
        f"{CORE}/depth_search.py",
        '        votes["image"] = image',
        "        pass",
        (f"{DEPTH}::test_the_images_depth_signs_vote_where_the_lifter_does_not",),
    ),
    Mutation(
        "depth-search-image-margin-ignored",
        f"{CORE}/depth_search.py",
        '        ("image", VOTE_MARGINS["image"], IMAGE_MARGIN if image_margin is None else '
        "image_margin),",
        '        ("image", VOTE_MARGINS["image"], None),',
        (f"{DEPTH}::test_where_the_image_asks_the_energy_may_rise_by_its_margin",),
    ),
    Mutation(
        "fit-image-votes-dropped",
        f"{CORE}/fit.py",
        "        image=image_votes,",
        "        image=None,",
        (f"{DEPTH}::test_fit_hands_the_images_votes_to_the_search",),
    ),
    Mutation(
        "pipeline-image-votes-dropped",
        f"{CORE}/pipeline.py",
        "            image_votes=image_votes,",
        "            image_votes=None,",
        (f"{SIGN}::test_the_pipeline_hands_the_fit_the_photos_votes_when_switched_on",),
    ),
    Mutation(
        "depth-sign-marks-swapped",
        f"{CORE}/depth_sign.py",
        "        for channel, end in enumerate(SEGMENT_ENDS[k]):",
        "        for channel, end in enumerate(SEGMENT_ENDS[k][::-1]):",
        (f"{SIGN}::test_the_crop_turns_each_segment_upright_with_its_marks_on_its_ends",),
    ),
    Mutation(
        "depth-sign-child-up",
        f"{CORE}/depth_sign.py",
        "    axes = np.stack([np.stack([down[:, 1], -down[:, 0]], 1), down], axis=1)",
        "    axes = np.stack([np.stack([down[:, 1], -down[:, 0]], 1), -down], axis=1)",
        (f"{SIGN}::test_the_crop_turns_each_segment_upright_with_its_marks_on_its_ends",),
    ),
    Mutation(
        "depth-sign-no-mirror-average",
        f"{CORE}/depth_sign.py",
        "        both = np.concatenate([crops, crops[:, :, :, ::-1]])",
        "        both = np.concatenate([crops, crops])",
        (f"{SIGN}::test_the_answer_is_the_same_on_a_photo_and_its_mirror_image",),
    ),
    Mutation(
        "depth-sign-visibility-reversed",
        f"{CORE}/depth_sign.py",
        '    vis = [votes["visibility"][segment] for segment in SEGMENT_NAMES]',
        '    vis = [-votes["visibility"][segment] for segment in SEGMENT_NAMES]',
        (f"{SIGN}::test_the_other_sources_scalars_read_each_segments_sign",),
    ),
    Mutation(
        "lifter-chunks-one-seed",
        "tools/lifter_stream.py",
        "    return body_points(poses, np.random.default_rng([seed, 1, index]))",
        "    return body_points(poses, np.random.default_rng([seed, 1, 0]))",
        (f"{TRAINING}::test_bodies_posed_in_parallel_are_the_seeded_chunks_whatever_the_workers",),
    ),
    Mutation(
        "lifter-stream-repeats-a-chunk",
        "tools/lifter_stream.py",
        "                chunk += step",
        "                chunk += 0",
        (f"{TRAINING}::test_view_stream_yields_the_recipe_s_samples_of_seeded_random_bodies",),
    ),
    Mutation(
        "lifter-stream-no-step",
        "tools/train_lifter.py",
        "        opt.step()",
        "        pass",
        (f"{TRAINING}::test_streamed_training_learns_and_stops_after_its_epochs",),
    ),
    Mutation(
        "half-weights-no-cast",
        "tools/export_lifter.py",
        "    graph.node.extend(casts + nodes)",
        "    graph.node.extend(nodes)",
        (f"{TRAINING}::test_weights_stored_as_half_give_the_same_network_in_half_the_file",),
    ),
    Mutation(
        "half-weights-none-stored",
        "tools/export_lifter.py",
        "        if array.dtype != np.float32 or array.size <= HALF_MIN_SIZE:",
        "        if True:",
        (f"{TRAINING}::test_weights_stored_as_half_give_the_same_network_in_half_the_file",),
    ),
    Mutation(
        "pipeline-detected-not-returned",
        f"{CORE}/pipeline.py",
        "        detected,",
        "        None,",
        (f"{SAME_DOOR}::test_each_photos_view_keeps_the_detectors_landmarks_its_fit_got",),
    ),
    Mutation(
        "same-person-door-detected-dropped",
        f"{CORE}/same_person_pipeline.py",
        "            detected=p.detected_world,",
        "            detected=None,",
        (f"{SAME_DOOR}::test_each_photos_view_keeps_the_detectors_landmarks_its_fit_got",),
    ),
    Mutation(
        "avatar-detected-not-kept",
        f"{BLENDER}/same_person.py",
        '"detected": None if detected is None else detected.to_dict(),',
        '"detected": None,',
        (KEPT_FOR_REFIT, JOINING),
    ),
    Mutation(
        "refit-view-detected-dropped",
        f"{BLENDER}/same_person.py",
        "return PhotoView(keypoints, fit.image_size, fit.focal_length, world, mask, detected)",
        "return PhotoView(keypoints, fit.image_size, fit.focal_length, world, mask)",
        (KEPT_FOR_REFIT, JOINING),
    ),
    Mutation(
        "old-avatar-evidence-indexed",
        f"{BLENDER}/inputs.py",
        "None if data.get(name) is None else",
        "None if data[name] is None else",
        (KEPT_FOR_REFIT,),
    ),
    Mutation(
        "scene-detected-not-kept",
        f"{BLENDER}/inputs.py",
        "result.image_size, result.world, result.detected_world",
        "result.image_size, result.world, None",
        (JOINING, f"{PANEL}::test_fit_again_hands_the_fit_the_detectors_landmarks_again"),
    ),
    Mutation(
        "fit-again-lifter-as-detected",
        f"{BLENDER}/inputs.py",
        "return keypoints, world if detected is None else detected",
        "return keypoints, world",
        (f"{PANEL}::test_fit_again_hands_the_fit_the_detectors_landmarks_again",),
    ),
    Mutation(
        "strong-blazepose-vote-ignored",
        f"{CORE}/depth_search.py",
        '        ("blazepose", STRONG_VOTE, STRONG_MARGIN if strong_margin is None else '
        "strong_margin),",
        '        ("blazepose", STRONG_VOTE, None),',
        (f"{DEPTH}::test_where_blazepose_asks_strongly_the_energy_may_rise_by_its_margin",),
    ),
    Mutation(
        "extremities-left-behind",
        f"{CORE}/detector_result.py",
        "    shift = np.where(taken[:, None], m_xy - xy[LIMB_B], 0.0)",
        "    shift = np.zeros_like(m_xy)",
        (
            f"{FRAME}::test_blazeposes_hands_and_feet_move_with_the_wrist_or_ankle_movenet_replaced",
        ),
    ),
    Mutation(
        "extremities-moved-by-unsure-joint",
        f"{CORE}/detector_result.py",
        "    shift = np.where(taken[:, None], m_xy - xy[LIMB_B], 0.0)",
        "    shift = m_xy - xy[LIMB_B]",
        (
            f"{FRAME}::test_blazeposes_hands_and_feet_move_with_the_wrist_or_ankle_movenet_replaced",
        ),
    ),
    Mutation(
        "face-left-behind",
        f"{CORE}/detector_result.py",
        "    move_face(xy, limbs)",
        "    pass",
        (f"{FRAME}::test_blazeposes_face_moves_onto_movenets_by_movenets_scores",),
    ),
    Mutation(
        "face-moved-by-unweighted-mean",
        f"{CORE}/detector_result.py",
        "    xy[FACE_B] += weight @ offsets / weight.sum()",
        "    xy[FACE_B] += offsets.mean(axis=0)",
        (f"{FRAME}::test_blazeposes_face_moves_onto_movenets_by_movenets_scores",),
    ),
    Mutation(
        "face-moved-when-movenet-sees-none",
        f"{CORE}/detector_result.py",
        "    if weight.sum() <= 0.0:",
        "    if False:",
        (f"{FRAME}::test_blazeposes_face_moves_onto_movenets_by_movenets_scores",),
    ),
    Mutation(
        "unsure-warning-dropped",
        f"{CORE}/fit.py",
        "    notes += unsure_warnings(problem.setup.layout, confidence)",
        "    pass",
        ("tests/core/test_fit.py::test_a_fit_names_the_limb_joints_the_detector_is_unsure_of",),
    ),
    Mutation(
        "unsure-counts-missing-joints",
        f"{CORE}/fit_setup.py",
        "if name in layout.names and 0.0 < confidence[layout.index(name)] < UNSURE_CONFIDENCE",
        "if name in layout.names and confidence[layout.index(name)] < UNSURE_CONFIDENCE",
        (UNSURE_UNIT,),
    ),
    Mutation(
        "unsure-at-two-joints",
        f"{CORE}/fit_setup.py",
        "UNSURE_JOINTS = 3",
        "UNSURE_JOINTS = 2",
        (UNSURE_UNIT,),
    ),
)


def copy_tree(dest: Path) -> None:
    """The working tree's tracked and untracked (not ignored) files, and the .venv link."""
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def run_tests(where: Path, tests: tuple[str, ...]) -> bool:
    """True when the tests pass."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(cmd, cwd=where, capture_output=True, check=False).returncode == 0


def check(mutation: Mutation) -> str:
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        where = Path(tmp)
        copy_tree(where)
        if not run_tests(where, mutation.tests):
            return "tests fail unmutated"
        path = where / mutation.path
        text = path.read_text(encoding="utf-8")
        if text.count(mutation.old) != 1:
            return f"old text found {text.count(mutation.old)} times"
        path.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
        return "missed" if run_tests(where, mutation.tests) else "caught"


def markdown_table() -> str:
    rows = [
        "| mutation | file | old text | new text | test that catches it |",
        "|---|---|---|---|---|",
    ]
    for m in MUTATIONS:
        tests = "<br>".join(
            f"`{t.split('::')[-1]}` ({Path(t.split('::')[0]).name})" for t in m.tests
        )
        rows.append(f"| {m.name} | `{m.path}` | `{m.old.strip()}` | `{m.new.strip()}` | {tests} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="mutations to check (default: all)")
    ap.add_argument("--list", action="store_true", help="print the table of mutations and exit")
    args = ap.parse_args(argv)
    if args.list:
        print(markdown_table())
        return 0
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    missed = 0
    print("| mutation | result | seconds |\n|---|---|---|")
    for m in chosen:
        start = time.perf_counter()
        outcome = check(m)
        missed += outcome != "caught"
        print(f"| {m.name} | {outcome} | {time.perf_counter() - start:.0f} |", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
