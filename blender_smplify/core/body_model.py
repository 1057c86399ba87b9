"""BodyModel: an SMPL-format body model with a full-mesh forward pass and a fast joints-only path.

The joints-only path (:meth:`BodyModel.posed_points`) is what the fit calls hundreds of times: it
poses the 24 joints and a few surface landmarks without skinning the mesh, and returns their
analytic Jacobian with respect to pose, betas and translation (derivation in ``kinematics.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .joints import NUM_JOINTS, SMPL_JOINT_NAMES
from .kinematics import PointKinematics, kinematics_from_model
from .lbs import blend_shapes, depth_levels, lbs
from .model_io import read_model_file

GENDERS = ("neutral", "female", "male")
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def open_model_path(gender: str) -> Path:
    """Path of the shipped open body model for a gender."""
    return DATA_DIR / f"open_body_{gender}.npz"


def _parents_from_kintree(kintree_table: np.ndarray) -> np.ndarray:
    parents = np.asarray(kintree_table, dtype=np.int64)[0].copy()
    parents[0] = -1  # SMPL stores the root's parent as 2**32 − 1
    return parents


class BodyModel:
    """An SMPL-format body model (24 joints) in float64.

    Attributes
    ----------
    v_template : (V, 3) rest vertices, metres, y-up.
    shapedirs : (V, 3, B) shape blend shapes.
    posedirs : (V, 3, 207) pose blend shapes, or None when they are all zero.
    J_regressor : (24, V) dense joint regressor.
    lbs_weights : (V, 24) skinning weights.
    parents : (24,) parent index per joint, −1 for the root.
    faces : (F, 3) triangles; quads : (Q, 4) or None when the file has no quads.
    landmark_names : names of the surface landmarks available to :meth:`posed_points`.
    """

    def __init__(
        self,
        v_template: np.ndarray,
        shapedirs: np.ndarray,
        posedirs: np.ndarray | None,
        J_regressor: np.ndarray,
        lbs_weights: np.ndarray,
        parents: np.ndarray,
        faces: np.ndarray,
        *,
        gender: str = "neutral",
        landmark_names: tuple[str, ...] = (),
        landmark_regressor: np.ndarray | None = None,
        quads: np.ndarray | None = None,
        source: str = "",
    ) -> None:
        self.v_template = np.asarray(v_template, dtype=np.float64)
        self.shapedirs = np.ascontiguousarray(shapedirs, dtype=np.float64)
        self.posedirs = (
            None if posedirs is None else np.ascontiguousarray(posedirs, dtype=np.float64)
        )
        if self.posedirs is not None and not np.any(self.posedirs):
            self.posedirs = None
        self.J_regressor = np.asarray(J_regressor, dtype=np.float64)
        self.lbs_weights = np.asarray(lbs_weights, dtype=np.float64)
        self.parents = np.asarray(parents, dtype=np.int64)
        self.faces = np.asarray(faces, dtype=np.int64)
        self.quads = None if quads is None else np.asarray(quads, dtype=np.int64)
        self.gender = gender
        self.source = source
        self.joint_names = SMPL_JOINT_NAMES
        self.landmark_names = tuple(str(n) for n in landmark_names)
        self._validate(landmark_regressor)
        self._precompute(landmark_regressor)

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, path: str | Path | None = None, gender: str = "neutral") -> BodyModel:
        """Load a model file (SMPL ``.pkl`` or ``.npz``); ``path=None`` is the open default."""
        if gender not in GENDERS:
            raise ModelFileError(f"unknown gender '{gender}': choose one of {', '.join(GENDERS)}")
        if path is None:
            path = open_model_path(gender)
            if not path.is_file():
                raise ModelFileError(
                    f"the open {gender} body model is not available yet ({path} is missing); "
                    "pass the path of an SMPL model file"
                )
        data = read_model_file(path)
        for own in ("gender", "source"):  # a file's metadata must not override the arguments
            data.pop(own, None)
        return cls.from_arrays(**data, gender=gender, source=str(path))

    @classmethod
    def from_arrays(
        cls, *, gender: str = "neutral", source: str = "", **data: object
    ) -> BodyModel:
        """Build a model from SMPL-named arrays (``v_template``, ``shapedirs``, ``posedirs``,
        ``J_regressor``, ``weights``, ``kintree_table``, ``f``; optional ``landmark_names`` with
        ``keypoint_regressor (L, V)``, and ``quads``). Unknown keys are ignored."""
        regressor = data.get("keypoint_regressor")
        if regressor is not None and not hasattr(regressor, "shape"):
            regressor = None
        if regressor is not None and hasattr(regressor, "toarray"):
            regressor = regressor.toarray()
        names = data.get("landmark_names", ())
        return cls(
            v_template=data["v_template"],
            shapedirs=data["shapedirs"],
            posedirs=data.get("posedirs"),
            J_regressor=data["J_regressor"],
            lbs_weights=data["weights"],
            parents=_parents_from_kintree(data["kintree_table"]),
            faces=data["f"],
            gender=gender,
            landmark_names=tuple(np.asarray(names).tolist()) if regressor is not None else (),
            landmark_regressor=regressor,
            quads=data.get("quads"),
            source=source,
        )

    def _validate(self, landmark_regressor: np.ndarray | None) -> None:
        V = self.v_template.shape[0]

        def check(ok: bool, what: str) -> None:
            if not ok:
                raise ModelFileError(f"{self.source or 'body model'}: {what}")

        check(self.v_template.ndim == 2 and self.v_template.shape[1] == 3, "v_template not (V, 3)")
        check(
            self.shapedirs.ndim == 3 and self.shapedirs.shape[:2] == (V, 3),
            "shapedirs not (V, 3, B)",
        )
        check(self.J_regressor.shape == (NUM_JOINTS, V), f"J_regressor not ({NUM_JOINTS}, {V})")
        check(self.lbs_weights.shape == (V, NUM_JOINTS), f"weights not ({V}, {NUM_JOINTS})")
        check(self.parents.shape == (NUM_JOINTS,), f"kintree_table has not {NUM_JOINTS} joints")
        check(all(0 <= p < j for j, p in enumerate(self.parents[1:], 1)), "kintree not a tree")
        check(self.faces.ndim == 2 and self.faces.shape[1] == 3, "f not (F, 3)")
        check(
            self.faces.size == 0 or (self.faces.min() >= 0 and self.faces.max() < V),
            "f out of range",
        )
        if self.posedirs is not None:
            check(self.posedirs.shape == (V, 3, 207), "posedirs not (V, 3, 207)")
        if landmark_regressor is not None:
            shape = np.shape(landmark_regressor)
            check(shape == (len(self.landmark_names), V), "keypoint_regressor not (L, V)")
        for name, array in vars(self).items():
            if isinstance(array, np.ndarray) and array.dtype.kind == "f":
                check(bool(np.all(np.isfinite(array))), f"{name} has non-finite values")

    def _precompute(self, landmark_regressor: np.ndarray | None) -> None:
        # Rest joints are linear in betas: J(β) = J_template + J_dirs β
        self.J_template = self.J_regressor @ self.v_template
        # J_dirs[j, k, l] = sum_v J_regressor[j, v] * shapedirs[v, k, l]
        self.J_dirs = np.einsum("jv,vkl->jkl", self.J_regressor, self.shapedirs)
        self._levels = depth_levels(self.parents)
        # Landmarks: m[l, k] = Σ_v a[l, v] w[v, k]; M[l, k] = Σ_v a[l, v] w[v, k] v_rest[v]
        L = len(self.landmark_names)
        reg = (
            np.zeros((L, self.num_vertices)) if landmark_regressor is None else landmark_regressor
        )
        reg = np.asarray(reg, dtype=np.float64)
        used = np.flatnonzero(np.any(reg != 0, axis=0))
        aw = reg[:, used, None] * self.lbs_weights[None, used, :]  # (L, U, 24)
        self._landmark_m = aw.sum(axis=1)
        self._landmark_M0 = np.einsum("luk,ua->lka", aw, self.v_template[used])
        self._landmark_Mdirs = np.einsum("luk,uab->lkab", aw, self.shapedirs[used])
        self._landmark_index = {name: i for i, name in enumerate(self.landmark_names)}
        self._kinematics: dict[tuple[int, tuple[str, ...]], PointKinematics] = {}

    # ------------------------------------------------------------------ properties
    @property
    def num_betas(self) -> int:
        return self.shapedirs.shape[2]

    @property
    def num_vertices(self) -> int:
        return self.v_template.shape[0]

    def _betas(self, betas: np.ndarray | None) -> np.ndarray:
        betas = np.zeros(0) if betas is None else np.asarray(betas, dtype=np.float64).ravel()
        if len(betas) > self.num_betas:
            raise ValueError(f"{len(betas)} betas given, the model has {self.num_betas}")
        return betas

    @staticmethod
    def _pose(pose: np.ndarray | None) -> np.ndarray:
        if pose is None:
            return np.zeros((NUM_JOINTS, 3))
        pose = np.asarray(pose, dtype=np.float64)
        if pose.size != NUM_JOINTS * 3:
            raise ValueError(f"pose must have {NUM_JOINTS * 3} numbers, got {pose.size}")
        return pose.reshape(NUM_JOINTS, 3)

    # ------------------------------------------------------------------ evaluation
    def rest_joints(self, betas: np.ndarray | None = None) -> np.ndarray:
        """Rest (T-pose) joints (24, 3) of the shaped body."""
        betas = self._betas(betas)
        return self.J_template + self.J_dirs[:, :, : len(betas)] @ betas

    def shaped_vertices(self, betas: np.ndarray | None = None) -> np.ndarray:
        """Rest vertices (V, 3) of the shaped body."""
        betas = self._betas(betas)
        return self.v_template + blend_shapes(betas, self.shapedirs)

    def forward(
        self, betas: np.ndarray | None, pose: np.ndarray | None, transl: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posed mesh: vertices (V, 3) and joints (24, 3), metres, model axes.

        betas: (b,) with b ≤ num_betas; pose: (72,) axis-angle, joint 0 global; transl: (3,).
        """
        vertices, joints = lbs(
            self._betas(betas),
            self._pose(pose),
            self.v_template,
            self.shapedirs,
            self.posedirs,
            self.J_regressor,
            self.parents,
            self.lbs_weights,
            self._levels,
        )
        if transl is not None:
            offset = np.asarray(transl, dtype=np.float64).reshape(1, 3)
            vertices, joints = vertices + offset, joints + offset
        return vertices, joints

    def posed_points(
        self,
        betas: np.ndarray | None,
        pose: np.ndarray | None,
        transl: np.ndarray | None = None,
        *,
        landmarks: tuple[str, ...] = (),
        jacobian: bool = True,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Posed joints and surface landmarks without skinning the mesh (no pose blend shapes).

        Returns
        -------
        points : (24 + L, 3) the joints, then the landmarks in the order asked for.
        jac : (24 + L, 3, 72 + b + 3) ∂points/∂[pose, betas, transl], or None.
        """
        betas = self._betas(betas)
        transl = np.zeros(3) if transl is None else np.asarray(transl, dtype=np.float64)
        return self.kinematics(len(betas), tuple(landmarks)).evaluate(
            self._pose(pose), betas, transl, jacobian=jacobian
        )

    def kinematics(self, num_betas: int, landmarks: tuple[str, ...] = ()) -> PointKinematics:
        """The joints-and-landmarks evaluator behind :meth:`posed_points` (cached per set)."""
        key = (num_betas, landmarks)
        if key not in self._kinematics:
            self._kinematics[key] = kinematics_from_model(self, num_betas, landmarks)
        return self._kinematics[key]

    def landmark_sums(
        self, names: tuple[str, ...] | list[str], num_betas: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Named landmarks in skinning form: m (L, 24) = Σ_v a_lv w_vk, the rest positions
        Σ_v a_lv w_vk v_v (L, 24, 3) and their shape directions (L, 24, 3, num_betas)."""
        index = [self._landmark_lookup(name) for name in names]
        return (
            self._landmark_m[index],
            self._landmark_M0[index],
            self._landmark_Mdirs[index][..., :num_betas],
        )

    def _landmark_lookup(self, name: str) -> int:
        try:
            return self._landmark_index[name]
        except KeyError:
            raise ModelFileError(
                f"{self.source or 'body model'} has no surface landmark '{name}' "
                f"(it has: {', '.join(self.landmark_names) or 'none'})"
            ) from None
