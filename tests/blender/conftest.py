"""One bpy session for all Blender tests, with Blender's user folders in a temporary directory.

bpy is imported once per test process (it is slow to start); every test that builds starts from
an empty file. The environment variable must be set before bpy is imported, so that nothing
lands in the user's real Blender configuration.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="smplify_bpy_user_"))
_session_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _session_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the test process with pytest's status before bpy's C exit handlers, which can crash
    once the glTF exporter has run (blender_smplify.blender.process_exit)."""
    if _session_status:
        from blender_smplify.blender.process_exit import exit_process

        exit_process(_session_status[-1])


@pytest.fixture(scope="session")
def bpy_module():
    """The bpy module with the add-on's classes registered (as the extension would)."""
    import bpy

    import blender_smplify

    blender_smplify.register()
    yield bpy
    blender_smplify.unregister()


@pytest.fixture
def empty_scene(bpy_module):
    """A fresh empty file; returns its scene."""
    bpy_module.ops.wm.read_homefile(use_empty=True)
    return bpy_module.context.scene


def make_fit(model, *, seed: int = 1, principal_point=(320.0, 240.0), image_size=(640, 480)):
    """A hand-made FitResult: random pose and shape, upright, 4 m in front of the camera."""
    from blender_smplify.core.fit_result import FitResult

    rng = np.random.default_rng(seed)
    pose = rng.normal(0.0, 0.3, 72)
    pose[:3] = (np.pi + 0.1, 0.2, -0.1)
    betas = rng.normal(0.0, 1.0, min(10, model.num_betas))
    transl = np.array([0.1, 0.3, 4.0])
    _, joints = model.forward(betas, pose, transl)
    return FitResult(
        betas=betas,
        pose=pose,
        transl=transl,
        focal_length=1100.0,
        principal_point=np.asarray(principal_point, dtype=float),
        image_size=image_size,
        joints_3d=joints,
        energy={"joints": 1.0},
        gender="neutral",
    )


def evaluated_joints(bpy, armature) -> np.ndarray:
    """Posed bone heads (24, 3) in world space, through the depsgraph."""
    from blender_smplify.core.joints import SMPL_JOINT_NAMES

    evaluated = armature.evaluated_get(bpy.context.evaluated_depsgraph_get())
    world = np.array(evaluated.matrix_world)
    heads = np.array([evaluated.pose.bones[name].head for name in SMPL_JOINT_NAMES])
    return heads @ world[:3, :3].T + world[:3, 3]
