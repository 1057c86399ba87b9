"""Study: does BlazePose's visibility tell which limb points the body hides, on the rendered
benchmark (issue 9)? Arms are most of the limb segments the fit puts backwards in depth; one
photo cannot show a segment's depth sign from positions, but it shows occlusion.

    .venv/bin/python benchmarks/studies/occlusion.py detect --cache DIR [--work W]
    .venv/bin/python benchmarks/studies/occlusion.py measure --cache DIR [--work W]
        [--half tuning] [--fits W/shipped_fits.npz]
    .venv/bin/python benchmarks/studies/occlusion.py fits --cache DIR [--work W] [--half tuning]
    .venv/bin/python benchmarks/studies/occlusion.py hypotheses --cache DIR [--half tuning]
    .venv/bin/python benchmarks/studies/occlusion.py judge --cache DIR [--half tuning] [--moved 0]
    .venv/bin/python benchmarks/studies/occlusion.py compare --cache DIR --half report
        [--save W/compare_report.json]

- ``detect``: the detector once more on every render, keeping what ``lifter_confidence.py``'s
  ``W/keypoints.npz`` leaves out: BlazePose's visibility (``Detection.world_visibility``) and
  world landmarks, written to ``W/visibility.npz`` (its own file, so that cache's format stays).
- ``fits``: the shipped fit of every render of ``--half`` from the detector and from exact 2D
  (``lifter_confidence.fit_case``'s setting), keeping the fitted pose, shape and translation
  in ``W/shipped_fits.npz`` (the fitted body, not only its joints).
- ``measure``: each limb keypoint's true occlusion (``core.occlusion.point_occlusion`` on the
  true posed mesh in the camera frame: the first surface along the keypoint's ray belongs to
  another body part), how well 1 − visibility ranks it (AUC, accuracy at 0.5) per group, and,
  given ``--fits``, how many of the fit's backwards arm and leg segments have an end whose
  occlusion in the fitted body contradicts the truth or the visibility.
- ``hypotheses``: every depth hypothesis of the fit without the search, refitted from it
  (``depth_search.hypotheses``), with its parameters, energy, the lifter's vote and its
  measures, in ``W/hypotheses_<half>.npz``.
- ``judge``: the occlusion evidence of each hypothesis (``core.occlusion.evidence``: the
  detector's visibility; the true occlusion as a diagnostic), how it splits the flips that turn
  a segment the right and the wrong way, and criteria with and without it.
- ``compare``: the shipped fit against ``FitOptions(occlusion=True)`` in the same run.

Results: docs/fit_depth.md, "Occlusion as depth evidence".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))
sys.path.insert(2, str(ROOT / "benchmarks" / "studies"))

import depth_metrics as dm  # noqa: E402
import rendered_eval as re_  # noqa: E402
from lifter_confidence import SOURCES, half_of, load_keypoints  # noqa: E402

import blender_smplify.core.occlusion as oc  # noqa: E402


def detect(args) -> int:
    from blender_smplify.core.detector import JointDetector
    from blender_smplify.core.errors import NoPersonFound
    from blender_smplify.core.image_io import load_image

    detector = JointDetector()
    out = {k: [] for k in ("name", "visibility", "world", "xy", "conf")}
    start = time.perf_counter()
    for k, (png, _) in enumerate(re_.load_cases(args.cache, None, None)):
        try:
            d = detector.detect(load_image(png))
            row = (d.world_visibility, d.world, d.keypoints.xy, d.keypoints.confidence)
        except NoPersonFound:
            row = (np.zeros(33), np.full((33, 3), np.nan), np.full((33, 2), np.nan), np.zeros(33))
        for key, value in zip(out, (png.stem, *row)):
            out[key].append(value)
        if (k + 1) % 50 == 0:
            print(f"{k + 1} renders, {time.perf_counter() - start:.0f} s", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    np.savez(args.work / "visibility.npz", **{k: np.array(v) for k, v in out.items()})
    print(f"{len(out['name'])} renders detected in {time.perf_counter() - start:.0f} s")
    return 0


def fits(args) -> int:
    """The shipped fit of each render of ``--half``, from the detector and from exact 2D,
    with the fitted body's parameters (``W/shipped_fits.npz``)."""
    from lifter_confidence import cached_keypoints

    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.fit import fit
    from blender_smplify.core.lifter import Lifter, lifted_world

    lifter = Lifter(None, mirror_average=True)
    model = BodyModel.load(gender="neutral")
    keypoints = load_keypoints(args.work)
    out = {k: [] for k in ("name", "source", "pose", "betas", "transl", "cpu_ms")}
    start = time.perf_counter()
    for png, info in cases(args):
        w, h = info["image_size"]
        for source in SOURCES:
            kp = cached_keypoints(keypoints[png.stem], source)
            if kp is None:
                continue
            c0 = time.process_time()
            world = lifted_world(kp, info["focal_px"], np.array([w / 2, h / 2]), lifter)
            res = fit(model, kp, (w, h), info["focal_px"], world=world)
            row = (png.stem, source, res.pose, res.betas, res.transl)
            for key, value in zip(out, (*row, 1e3 * (time.process_time() - c0))):
                out[key].append(value)
    arrays = {k: np.array(v) for k, v in out.items()}
    np.savez(args.work / f"shipped_fits_{args.half}.npz", **arrays)
    print(f"{len(out['name'])} fits in {time.perf_counter() - start:.0f} s")
    return 0


class Bodies:
    """Posed meshes and keypoint points of the truth and of fits, in the camera frame."""

    def __init__(self):
        from blender_smplify.core.body_model import BodyModel
        from blender_smplify.core.fit_setup import get_setup
        from blender_smplify.core.keypoints import get_layout

        self.models = {g: BodyModel.load(gender=g) for g in ("female", "male", "neutral")}
        self.parts = {g: oc.face_parts(m.lbs_weights, m.faces) for g, m in self.models.items()}
        self.names = get_layout("blazepose33").names
        self.groups = oc.limb_keypoints(self.names)
        self.limbs = np.concatenate(list(self.groups.values()))
        self.owners = [oc.own_parts(self.names[k]) for k in self.limbs]
        self._setup = lambda g, b: get_setup(self.models[g], "blazepose33", b)

    def posed(self, gender, pose, betas, transl):
        """Vertices (V, 3), joints (24, 3) and the limb keypoints' points (L, 3)."""
        model, setup = self.models[gender], self._setup(gender, len(betas))
        vertices, _ = model.forward(np.asarray(betas), np.asarray(pose), np.asarray(transl))
        pts, _ = setup.kin.evaluate(np.asarray(pose), np.asarray(betas), np.asarray(transl),
                                    jacobian=False)  # fmt: skip
        return vertices, pts[:24], pts[setup.point_index][self.limbs]

    def occlusion(self, gender, body, info):
        """(hidden, over) of the limb keypoints (``core.occlusion.mesh_occlusion``)."""
        vertices, _, points = body
        w, h = info["image_size"]
        model, principal = self.models[gender], np.array([w / 2, h / 2])
        return oc.mesh_occlusion(vertices, model.faces, self.parts[gender], points, self.owners,
                                 info["focal_px"], principal)  # fmt: skip

    def truth(self, info):
        return self.posed(info["gender"], info["pose_camera"], info["betas"],
                          info["transl_camera"])  # fmt: skip


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` ranking ``label`` (Mann-Whitney U / n₊n₋)."""
    from scipy.stats import rankdata

    pos, neg = label.sum(), (~label).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - pos * (pos + 1) / 2) / (pos * neg))


def measure(args) -> int:
    """True occlusion of the limb keypoints against BlazePose's visibility, per group; with
    ``--fits``, the occlusion of the fitted body at the ends of its backwards segments."""
    vis = np.load(args.work / "visibility.npz")
    visibility = {str(n): v for n, v in zip(vis["name"], vis["visibility"])}
    found = {str(n): c.max() > 0 for n, c in zip(vis["name"], vis["conf"])}
    keypoints = load_keypoints(args.work)
    bodies = Bodies()
    group_of = np.concatenate([[g] * len(i) for g, i in bodies.groups.items()])
    rows, truths = [], {}
    start = time.perf_counter()
    for png, info in cases(args):
        if not found[png.stem]:
            continue
        body = bodies.truth(info)
        hidden, over = bodies.occlusion(info["gender"], body, info)
        truths[png.stem] = (body, hidden, over)
        inside = keypoints[png.stem]["truth_conf"][bodies.limbs] > 0
        v = visibility[png.stem][bodies.limbs]
        for k in np.flatnonzero(inside):
            rows.append((group_of[k], hidden[k], over[k], v[k], info["category"]))
    print(f"{len(truths)} renders, true occlusion in {time.perf_counter() - start:.0f} s")
    print_visibility_table(rows)
    if args.fits is not None:
        contradictions(args, bodies, truths, visibility, keypoints)
    return 0


def print_visibility_table(rows) -> None:
    group = np.array([r[0] for r in rows])
    hidden = np.array([r[1] for r in rows], bool)
    over = np.array([r[2] for r in rows], bool)
    v = np.array([r[3] for r in rows])
    print("\nBlazePose visibility vs true occlusion (limb keypoints in the frame)")
    print(
        "| group | points | hidden | AUC | accuracy at 0.5 | over another part | hidden there "
        "| AUC there | accuracy there |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for g in list(oc.GROUPS) + ["all"]:
        sel = (group == g) | (g == "all")
        o = sel & over
        acc = np.mean((v[sel] < 0.5) == hidden[sel])
        acc_o = np.mean((v[o] < 0.5) == hidden[o])
        print(f"| {g} | {sel.sum()} | {100 * hidden[sel].mean():.0f} % "
              f"| {auc(1 - v[sel], hidden[sel]):.2f} | {100 * acc:.0f} % | {o.sum()} "
              f"| {100 * hidden[o].mean():.0f} % | {auc(1 - v[o], hidden[o]):.2f} "
              f"| {100 * acc_o:.0f} % |")  # fmt: skip


def contradictions(args, bodies, truths, visibility, keypoints) -> None:
    """Per source: the fit's limb segments, backwards or right, whose child end's occlusion
    in the fitted body contradicts the truth's occlusion or the visibility (< 0.5: hidden)."""
    from depth_metrics import CLEAR_DEPTH, LIMB_SEGMENTS, segment_depths

    from blender_smplify.core.joints import SMPL_JOINT_NAMES

    fits_ = np.load(args.fits)
    limb_names = [bodies.names[k] for k in bodies.limbs]
    below = [[j for j, n in enumerate(limb_names) if _below(n, SMPL_JOINT_NAMES[c])]
             for _, c in LIMB_SEGMENTS]  # fmt: skip
    arm = ["elbow" in SMPL_JOINT_NAMES[c] or "wrist" in SMPL_JOINT_NAMES[c]
           for _, c in LIMB_SEGMENTS]  # fmt: skip
    tally = {}
    for name, source, pose, betas, transl in zip(fits_["name"], fits_["source"], fits_["pose"],
                                                 fits_["betas"], fits_["transl"]):  # fmt: skip
        name, source = str(name), str(source)
        if name not in truths:
            continue
        info = json.loads((args.cache / f"{name}.json").read_text())
        _, t_hidden, t_over = truths[name]
        body = bodies.posed("neutral", pose, betas, transl)
        f_hidden, f_over = bodies.occlusion("neutral", body, info)
        td, tl = segment_depths(np.array(info["joints_camera"]))
        fd, _ = segment_depths(body[1])
        clear = np.abs(td) / tl > CLEAR_DEPTH
        wrong = clear & (np.sign(fd) != np.sign(td))
        inside = keypoints[name]["truth_conf"][bodies.limbs] > 0
        v_hidden = visibility[name][bodies.limbs] < 0.5
        for s in np.flatnonzero(clear):
            j = [k for k in below[s] if inside[k]]
            over = f_over[j] | t_over[j]
            vs_truth = f_hidden[j] != t_hidden[j]
            vs_vis = over & (f_hidden[j] != v_hidden[j])
            key = (source, "arms" if arm[s] else "legs", "backwards" if wrong[s] else "right")
            t = tally.setdefault(key, np.zeros(5, int))
            t += [1, over.any(), vs_truth.any(), vs_vis.any(),
                  (vs_truth & (v_hidden[j] == t_hidden[j])).any()]  # fmt: skip
    print(
        "\nThe fit's clear limb segments: does the occlusion of a limb keypoint at or below "
        "the segment's child end in the fitted body contradict the truth's / the visibility's?"
    )
    print(
        "| source | limbs | fit | segments | a point over another part (fit or truth) "
        "| fit's occlusion ≠ truth's | fit's ≠ visibility's (over) | ≠ truth, visibility "
        "right |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for key in sorted(tally):
        n, o, ct, cv, both = tally[key]
        print(f"| {' | '.join(key)} | {n} | {o} | {ct} | {cv} | {both} |")


def _below(keypoint: str, joint: str) -> bool:
    """Whether limb keypoint ``keypoint`` ("left_pinky") lies at or below SMPL ``joint``
    ("left_elbow") in its limb."""
    side, part = keypoint.split("_", 1)
    jside, jpart = joint.split("_", 1)
    order = {"elbow": 0, "wrist": 1, "pinky": 2, "index": 2, "thumb": 2,
             "knee": 0, "ankle": 1, "heel": 2, "foot_index": 2}  # fmt: skip
    arm = {"elbow", "wrist", "pinky", "index", "thumb"}
    return side == jside and (part in arm) == (jpart in arm) and order[part] >= order[jpart]


def hypotheses(args) -> int:
    """Every depth hypothesis of the fit without the search (``depth_search.hypotheses``),
    from the detector's and the exact keypoints, with its parameters, energy, the lifter's
    vote and its measures, in ``W/hypotheses_<half>.npz`` (``judge`` scores them)."""
    from lifter_confidence import cached_keypoints

    from blender_smplify.core import depth_search as ds
    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.fit import FitOptions, fit
    from blender_smplify.core.fit_setup import prepare
    from blender_smplify.core.lifter import Lifter, lifted_world
    from blender_smplify.core.objective import SmplifyWeights

    lifter = Lifter(None, mirror_average=True)
    model = BodyModel.load(gender="neutral")
    keypoints = load_keypoints(args.work)
    rows, start = [], time.perf_counter()
    weights = SmplifyWeights()
    for k, (png, info) in enumerate(cases(args)):
        w, h = info["image_size"]
        truth = np.array(info["joints_camera"])
        for source in SOURCES:
            kp = cached_keypoints(keypoints[png.stem], source)
            if kp is None:
                continue
            world = lifted_world(kp, info["focal_px"], np.array([w / 2, h / 2]), lifter)
            res = fit(model, kp, (w, h), info["focal_px"], world=world,
                      options=FitOptions(depth_search=False))  # fmt: skip
            problem = prepare(model, kp, (w, h), info["focal_px"], weights, FitOptions(), world)
            x = np.concatenate([res.pose, res.betas, res.transl])
            hyps = ds.hypotheses(problem, x, weights.pose_stage(3))
            votes = ds.lifted_depths(problem, hyps[0].joints) or {}
            for hyp in hyps:
                m = dm.case_metrics(hyp.joints, truth)
                agree = all(s in votes and votes[s] * ds._depth(hyps[0].joints, s) < 0
                            for s in hyp.segments)  # fmt: skip
                rows.append(dict(name=png.stem, source=source, flipped="+".join(hyp.segments),
                                 x=hyp.x, energy=hyp.energy, screen=hyp.screen, agree=agree,
                                 kind=flip_kind(hyp, hyps[0].joints, truth), **m))  # fmt: skip
        if (k + 1) % 20 == 0:
            print(f"{k + 1} renders, {time.perf_counter() - start:.0f} s", flush=True)
    out = {key: np.array([r[key] for r in rows]) for key in rows[0]}
    out["facing_right"] = np.array([-1 if f is None else int(f) for f in out["facing_right"]])
    np.savez(args.work / f"hypotheses_{args.half}.npz", **out)
    print(f"{len(rows)} hypotheses in {time.perf_counter() - start:.0f} s")
    return 0


def judge(args) -> int:
    """Criteria for keeping a depth hypothesis, with and without the occlusion evidence
    (``core.occlusion.evidence`` of the detector's visibility; for exact 2D the detector's
    visibility too, and as a diagnostic the true occlusion as a visibility of 0.05 / 0.95),
    each photo keeping its accepted hypothesis of lowest energy."""
    from blender_smplify.core.fit_setup import get_setup

    hyp = dict(np.load(args.work / f"hypotheses_{args.half}.npz"))
    vis = np.load(args.work / "visibility.npz")
    bodies = Bodies()
    model = bodies.models["neutral"]
    nb = hyp["x"].shape[1] - 75
    setup = get_setup(model, "blazepose33", nb)
    occ = oc.Occluders(model, nb, bodies.names, setup.point_index)
    seen = {str(n): np.where(c > 0, v, 0.0)[occ.limbs]
            for n, v, c in zip(vis["name"], vis["visibility"], vis["conf"])}  # fmt: skip
    limb_names = [bodies.names[k] for k in occ.limbs]
    photos: dict = {}
    for k, key in enumerate(zip(hyp["name"], hyp["source"])):
        photos.setdefault(key, []).append(k)
    ev = np.zeros(len(hyp["x"]))
    ev_true = np.zeros(len(hyp["x"]))
    c0 = time.process_time()
    for (name, _), rows in photos.items():
        base = rows[0]
        assert hyp["flipped"][base] == ""
        info = json.loads((args.cache / f"{name}.json").read_text())
        t_hidden, _ = bodies.occlusion(info["gender"], bodies.truth(info), info)
        oracle = np.where(t_hidden, oc.CLIP, 1 - oc.CLIP)
        judged = [occ.judge(setup.kin, hyp["x"][r][:72], hyp["x"][r][72:-3], hyp["x"][r][-3:])
                  for r in rows]  # fmt: skip
        for r, j in zip(rows, judged):
            flipped = str(hyp["flipped"][r]).split("+") if hyp["flipped"][r] else []
            moved = oc.moved_by(limb_names, flipped) if args.moved else None
            ev[r] = oc.evidence(judged[0], j, seen[str(name)], moved)
            ev_true[r] = oc.evidence(judged[0], j, oracle, moved)
    print(f"evidence of {len(ev)} hypotheses in {time.process_time() - c0:.0f} s CPU")
    flips = hyp["flipped"] != ""
    for source in SOURCES:
        sel = flips & (hyp["source"] == source)
        print(f"\n{source}: flips right / wrong by evidence sign (detector visibility | true)")
        for name, e in (("visibility", ev), ("true occlusion", ev_true)):
            for lo, hi in ((-np.inf, -2), (-2, -0.5), (-0.5, 0.5), (0.5, 2), (2, np.inf)):
                b = sel & (e > lo) & (e <= hi)
                print(f"  {name:15s} ({lo:5}, {hi:5}]: right {np.sum(b & (hyp['kind'] > 0)):4d}"
                      f"  wrong {np.sum(b & (hyp['kind'] < 0)):4d}  unclear "
                      f"{np.sum(b & (hyp['kind'] == 0)):4d}")  # fmt: skip
    rules = criteria()
    for source in SOURCES:
        print(f"\nfrom {source}: PA-MPJPE 24 median / p90 | backwards | flips right / wrong")
        for rule_name, rule in rules.items():
            for evname, e in (("vis", ev), ("true", ev_true)):
                if evname == "true" and not rule_name.startswith(("veto", "add", "either")):
                    continue
                picked = [choose(hyp, rows, e, rule) for (n, s), rows in photos.items()
                          if s == source]  # fmt: skip
                print(f"  {rule_name:14s} {evname:4s} {outcome(hyp, picked)}")
    return 0


def criteria() -> dict:
    """Rules (hyp, row, base row, evidence) -> accept, for ``judge``."""

    def shipped(h, r, b, e):
        return h["agree"][r] and h["energy"][r] < h["energy"][b]

    out = {"none": lambda h, r, b, e: False, "shipped": shipped}
    for tau in (0.5, 1.0, 2.0, 4.0):
        out[f"veto {tau}"] = lambda h, r, b, e, t=tau: shipped(h, r, b, e) and e > -t
        out[f"add {tau}"] = lambda h, r, b, e, t=tau: (
            shipped(h, r, b, e) or (e > t and h["energy"][r] < h["energy"][b])
        )
        out[f"either {tau}"] = lambda h, r, b, e, t=tau: (
            ((h["agree"][r] and e > -t) or e > t) and h["energy"][r] < h["energy"][b]
        )
    return out


def choose(hyp, rows, ev, rule) -> int:
    """The row each photo keeps: its accepted hypothesis of lowest energy, else the fit. Like
    the fit's search, only the MAX_REFITS lowest screened candidates the lifter agrees with are
    refitted, plus (for the rules that read it) any the evidence favours."""
    from blender_smplify.core.depth_search import MAX_REFITS

    base = rows[0]
    agreeing = sorted((r for r in rows[1:] if hyp["agree"][r]), key=lambda r: hyp["screen"][r])
    tried = set(agreeing[:MAX_REFITS]) | {r for r in rows[1:] if not hyp["agree"][r]}
    ok = [r for r in rows[1:] if r in tried and rule(hyp, r, base, ev[r])]
    return min(ok, key=lambda r: hyp["energy"][r]) if ok else base


def outcome(hyp, picked) -> str:
    pa = hyp["pa24"][picked]
    back, seg = hyp["backwards"][picked].sum(), hyp["segments"][picked].sum()
    kind = hyp["kind"][picked]
    return (
        f"{np.median(pa):4.0f} / {np.percentile(pa, 90):4.0f} mm | "
        f"{100 * back / seg:.1f} % ({back}/{seg}) | {np.sum(kind > 0)} / {np.sum(kind < 0)}"
    )


def flip_kind(hyp, base_joints, truth) -> int:
    """+1 when every flipped segment the truth shows clearly now has the truth's depth sign,
    −1 when one of them now has the wrong one, else 0 (and 0 for the unflipped fit)."""
    from blender_smplify.core import depth_search as ds

    kinds = [np.sign(ds._depth(hyp.joints, s)) == np.sign(ds._depth(truth, s))
             for s in hyp.segments if abs(ds._depth(truth, s)) > dm.CLEAR_DEPTH]  # fmt: skip
    return 0 if not kinds else (1 if all(kinds) else -1)


def compare(args) -> int:
    """The shipped fit with and without the depth search's occlusion veto (``FitOptions.
    occlusion``, the detector's visibility for both sources), on ``--half``, in the same run:
    per-category tables as ``lifter_confidence.py`` prints them; ``--save`` keeps the rows."""
    from lifter_confidence import cached_keypoints, print_tables

    from blender_smplify.core.body_model import BodyModel
    from blender_smplify.core.fit import FitOptions, fit
    from blender_smplify.core.lifter import Lifter, lifted_world

    variants = {"shipped": FitOptions(), "occlusion": FitOptions(occlusion=True)}
    lifter = Lifter(None, mirror_average=True)
    model = BodyModel.load(gender="neutral")
    keypoints = load_keypoints(args.work)
    vis = np.load(args.work / "visibility.npz")
    visibility = {str(n): v for n, v in zip(vis["name"], vis["visibility"])}
    results, start = [], time.perf_counter()
    for k, (png, info) in enumerate(cases(args)):
        w, h = info["image_size"]
        truth = np.array(info["joints_camera"])
        row = {"name": png.stem, "category": info["category"]}
        for source in SOURCES:
            kp = cached_keypoints(keypoints[png.stem], source)
            if kp is None:
                row[source] = None
                continue
            row[source] = {}
            for name, options in variants.items():
                c0 = time.process_time()
                world = lifted_world(kp, info["focal_px"], np.array([w / 2, h / 2]), lifter)
                res = fit(model, kp, (w, h), info["focal_px"], world=world, options=options,
                          visibility=visibility[png.stem])  # fmt: skip
                m = dm.case_metrics(np.asarray(res.joints_3d), truth)
                m["cpu_ms"] = 1e3 * (time.process_time() - c0)
                row[source][name] = m
        results.append(row)
        if (k + 1) % 30 == 0:
            print(f"{k + 1} renders, {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{len(results)} renders ({args.half}), {time.perf_counter() - start:.0f} s")
    if args.save:
        args.save.write_text(json.dumps({"variants": list(variants), "rows": results},
                                        default=float))  # fmt: skip
    print_tables(results, list(variants))
    return 0


def cases(args):
    return [(png, info) for png, info in re_.load_cases(args.cache, None, None)
            if args.half == "all" or half_of(png.stem) == args.half]  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("detect", "fits", "measure", "hypotheses", "judge",
                                           "compare"))  # fmt: skip
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/out/rendered_3d/seed0")
    ap.add_argument("--work", type=Path, default=Path("/tmp/occlusion"))
    ap.add_argument("--half", choices=("tuning", "report", "all"), default="tuning")
    ap.add_argument("--fits", type=Path, default=None)
    ap.add_argument("--save", type=Path, default=None)
    ap.add_argument("--moved", type=int, default=1,
                    help="judge: count only the flipped limb's keypoints (0: all)")  # fmt: skip
    args = ap.parse_args(argv)
    steps = {"detect": detect, "fits": fits, "measure": measure, "hypotheses": hypotheses,
             "judge": judge, "compare": compare}  # fmt: skip
    return steps[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
