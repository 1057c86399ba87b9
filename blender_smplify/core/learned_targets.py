"""Where detectors' keypoints lie on the SMPL body, learned from renders with exact truth.

Data for the layouts of ``keypoints.py``: per keypoint (left side; the right mirrors x) the
SMPL joint it is attached to, the offset in metres in the rest frame of the frame joint (x the
body's left, y up, z forward), and the frame joint (None: the joint's own). Learned and
checked by ``benchmarks/studies/keypoint_targets.py``; figures in docs/fit.md, "Keypoint
layouts".
"""

from __future__ import annotations

# Where BlazePose's keypoints lie on the body, learned from renders with exact truth
# (``benchmarks/studies/keypoint_targets.py``): the TUNING halves of the rendered benchmark
# (179 detected photos: even index in each of its 15 categories, 2026-11-30) and of the shape
# benchmark (20 people, front and side: 40 photos); detections with confidence ≥ 0.5; offset of
# the left keypoint (the right mirrors x) in the rest frame of ``frame``, fitted by linear
# least squares on the perspective constraints, Tukey-reweighted. Median residual (px) of all
# tuning photos at the old target → at the learned one (detections per keypoint pair):
#   hip 18.3 → 7.1 (436; at the hip joint itself 10.4), shoulder 12.8 → 5.4 (438; joint 5.9),
#   ear 13.1 → 6.7 (438), nose 9.3 → 7.5 (219), mouth 8.8 → 6.5 (438), pinky 10.8 → 8.2 (314),
#   index 8.7 → 7.4 (312), thumb 12.0 → 7.4 (307), foot index 17.0 → 14.4 (373).
# A keypoint moved only where the learned point lowers the residual by ≥ 15 % over all photos
# and ≥ 10 % on each benchmark; eyes (6.8–7.7 px → 6.8–7.2), elbows 5.3 → 5.0, wrists
# 4.5 → 4.1, knees 4.6 → 4.3, ankles 4.7 → 3.9 (shape benchmark only 4.0 → 3.7) and heels
# 11.9 → 11.0 keep their targets. The hips ride on the pelvis (7.1 px; on the thigh 7.6): the
# detector's hip is 13 mm inside the hip joint, 28 mm above it and 9 mm in front, where the
# old ``hip_surface`` landmark was 62 mm outside (the fit then narrowed the body until its
# landmarks met the detector's hips: girths 270–306 mm too small). The shoulders sit 9 mm
# inside the shoulder joints, not on the ``shoulder_surface`` landmarks 47 mm above them.
#: name: (joint, (x, y, z) m, frame joint or None = the joint's own), left side
LEARNED: dict[str, tuple[str, tuple[float, float, float], str | None]] = {
    "nose": ("head", (0.0, 0.013, 0.094), None),
    "left_ear": ("head", (0.050, 0.025, 0.031), None),
    "mouth_left": ("head", (0.018, -0.018, 0.079), None),
    "left_shoulder": ("left_shoulder", (-0.009, 0.001, 0.0), None),
    "left_hip": ("left_hip", (-0.013, 0.028, 0.009), "pelvis"),
    "left_pinky": ("left_hand", (-0.018, -0.010, -0.008), None),
    "left_index": ("left_hand", (-0.015, -0.012, 0.012), None),
    "left_thumb": ("left_hand", (-0.040, -0.020, 0.018), None),
    "left_foot_index": ("left_foot", (-0.013, -0.013, 0.023), None),
}


# MoveNet's own keypoints (its pass before the fusion; ``keypoint_targets.py --movenet``, the
# same tuning photos, score ≥ 0.3): its hips and shoulders are the same as above (hips
# (−14, 28, 9) mm on the pelvis, 18.4 → 7.1 px; shoulders (−9, 1, 0) mm, 12.6 → 5.3 px), its
# nose and ears are not BlazePose's: nose 4.7 → 3.7 px, ears 7.4 → 3.5 px. Its eyes
# (3.6 → 3.5 px) keep the landmarks; its ankles (4.6 → 3.8 px over all photos, 3.8 → 3.4 on
# the shape benchmark: at the rule's 10 %) keep the joints, as BlazePose's fused ones do.
LEARNED_MOVENET: dict[str, tuple[str, tuple[float, float, float], str | None]] = {
    "nose": ("head", (0.0, 0.011, 0.108), None),
    "left_ear": ("head", (0.066, 0.022, 0.004), None),
}
