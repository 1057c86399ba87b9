"""FitResult: what a fit returns, as plain data that the Blender layer and exports consume."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .dogleg import Status

#: FitResult.status values (the solver's :class:`~.dogleg.Status`; a fit ends in one of these)
STATUS_CONVERGED = Status.CONVERGED
STATUS_MAX_ITERATIONS = Status.MAX_ITERATIONS
STATUS_CANCELLED = Status.CANCELLED


@dataclass(frozen=True)
class FitDiagnostics:
    """How the fit reached its result: the camera stage's flip test, the starts, the retries.

    Attributes
    ----------
    camera_energies : camera-stage energy per facing tried, in ``fit.FACING_NAMES`` order
        (one entry when the flip test is off; None for a facing whose energy was not finite).
    camera_facing : the facing with the lower camera-stage energy ("toward" or "away").
    facing_from_landmarks : BlazePose's world landmarks decided the facing the annealed stages
        started from (their torso faced the camera or away clearly: ``fit.WORLD_FACING``),
        whatever the camera-stage energies said.
    ambiguous : the two energies were within ``fit.FLIP_AMBIGUITY``, so both facings started
        the annealed stages and the first of them decided.
    facing : the facing of the start the result came from.
    mirrored_yaw : the result came from the start with the camera solution's yaw mirrored.
    retried : the annealed result explained the keypoints badly, so the fit was re-run.
    retry_start : the retry start that gave the result ("other facing", "prior component k"),
        or None when no retry improved on the first result.
    """

    camera_energies: tuple[float | None, ...] = ()
    camera_facing: str = ""
    facing_from_landmarks: bool = False
    ambiguous: bool = False
    facing: str = ""
    mirrored_yaw: bool = False
    retried: bool = False
    retry_start: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> FitDiagnostics:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["camera_energies"] = tuple(known.get("camera_energies", ()))
        return cls(**known)


@dataclass(frozen=True)
class FitResult:
    """Result of fitting a body model to 2D keypoints.

    Attributes
    ----------
    betas : (B,) shape coefficients.
    pose : (72,) axis-angle, joint 0 the global orientation (SMPL convention).
    transl : (3,) translation in metres. The fit works in the camera frame of OpenCV
        (camera at the origin, x right, y down, z forward), as SMPLify does: an upright
        person facing the camera has a global orientation near a half turn about x.
    focal_length : pixels.
    principal_point : (2,) pixels (cx, cy).
    image_size : (width, height) in pixels.
    joints_3d : (24, 3) posed joints in the camera frame, metres.
    energy : final energy per term, e.g. {"joints": ..., "pose_prior": ...}.
    iterations : solver iterations over all stages.
    stage_seconds : wall time of each stage, in order.
    status : Status.CONVERGED, MAX_ITERATIONS (the last stage stopped at its limit) or
        CANCELLED (by the callback); an int in JSON.
    gender : gender of the body model used.
    warnings : human-readable notes such as "legs not visible".
    diagnostics : how the camera stage and the retries went (None when not known, e.g. a
        result read back from an older file).
    """

    betas: np.ndarray
    pose: np.ndarray
    transl: np.ndarray
    focal_length: float
    principal_point: np.ndarray
    image_size: tuple[int, int]
    joints_3d: np.ndarray
    energy: dict[str, float] = field(default_factory=dict)
    iterations: int = 0
    stage_seconds: tuple[float, ...] = ()
    status: Status = Status.CONVERGED
    gender: str = "neutral"
    warnings: tuple[str, ...] = ()
    diagnostics: FitDiagnostics | None = None

    @property
    def total_energy(self) -> float:
        return float(sum(self.energy.values()))

    @property
    def seconds(self) -> float:
        return float(sum(self.stage_seconds))

    @property
    def status_message(self) -> str:
        """The status as a sentence ("converged: ...", "cancelled", ...)."""
        return Status(self.status).message

    def to_dict(self) -> dict:
        """Parameters under the smplx names, plus camera and joints, as JSON-ready lists."""
        pose = np.asarray(self.pose, dtype=np.float64)
        out = {
            "global_orient": pose[:3].tolist(),
            "body_pose": pose[3:].tolist(),
            "betas": np.asarray(self.betas, dtype=np.float64).tolist(),
            "transl": np.asarray(self.transl, dtype=np.float64).tolist(),
            "gender": self.gender,
            "camera": {
                "focal_length": float(self.focal_length),
                "principal_point": np.asarray(self.principal_point, dtype=np.float64).tolist(),
                "image_size": [int(self.image_size[0]), int(self.image_size[1])],
                "convention": "pinhole at the origin, x right, y down, z forward (OpenCV)",
            },
            "joints_3d": np.asarray(self.joints_3d, dtype=np.float64).tolist(),
            "energy": {k: float(v) for k, v in self.energy.items()},
            "iterations": int(self.iterations),
            "stage_seconds": [float(s) for s in self.stage_seconds],
            "status": int(self.status),
            "warnings": list(self.warnings),
        }
        if self.diagnostics is not None:
            out["diagnostics"] = asdict(self.diagnostics)
            out["diagnostics"]["camera_energies"] = list(self.diagnostics.camera_energies)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FitResult:
        """Inverse of :meth:`to_dict` (energy, timings, warnings, diagnostics when present)."""
        camera = data["camera"]
        return cls(
            betas=np.asarray(data["betas"], dtype=np.float64),
            pose=np.concatenate([data["global_orient"], data["body_pose"]]).astype(np.float64),
            transl=np.asarray(data["transl"], dtype=np.float64),
            focal_length=float(camera["focal_length"]),
            principal_point=np.asarray(camera["principal_point"], dtype=np.float64),
            image_size=(int(camera["image_size"][0]), int(camera["image_size"][1])),
            joints_3d=np.asarray(data.get("joints_3d", np.zeros((24, 3))), dtype=np.float64),
            energy=dict(data.get("energy", {})),
            iterations=int(data.get("iterations", 0)),
            stage_seconds=tuple(data.get("stage_seconds", ())),
            status=Status(int(data.get("status", Status.CONVERGED))),
            gender=str(data.get("gender", "neutral")),
            warnings=tuple(data.get("warnings", ())),
            diagnostics=(
                FitDiagnostics.from_dict(data["diagnostics"])
                if isinstance(data.get("diagnostics"), dict)
                else None
            ),
        )
