"""Run the smplx package's SMPL class on our arrays: an independent oracle for the forward pass."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

# smplx adds extra joints from fixed SMPL vertex ids; on other meshes point them all at vertex 0.
_EXTRA_VERTEX_NAMES = (
    "nose reye leye rear lear LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel "
    "lthumb lindex lmiddle lring lpinky rthumb rindex rmiddle rring rpinky"
).split()


def write_smplx_pickle(data: dict, path: Path) -> Path:
    """Pickle SMPL-named arrays the way smplx's SMPL class reads them."""
    keys = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
    with open(path, "wb") as handle:
        pickle.dump({k: np.asarray(data[k]) for k in keys}, handle, protocol=2)
    return path


def smplx_forward(pkl_path: Path, betas: np.ndarray, pose: np.ndarray, transl: np.ndarray):
    """Vertices (V, 3) and the 24 joints (24, 3) from smplx.SMPL in float64."""
    import smplx
    import torch

    model = smplx.SMPL(
        model_path=str(pkl_path),
        num_betas=len(betas),
        dtype=torch.float64,
        vertex_ids={name: 0 for name in _EXTRA_VERTEX_NAMES},
    )
    as_tensor = lambda a: torch.tensor(np.asarray(a)[None], dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        output = model(
            betas=as_tensor(betas),
            global_orient=as_tensor(pose[:3]),
            body_pose=as_tensor(pose[3:]),
            transl=as_tensor(transl),
        )
    return output.vertices[0].numpy(), output.joints[0, :24].numpy()
