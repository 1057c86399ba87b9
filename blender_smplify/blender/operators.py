"""Panel buttons: Detect, Fit, Build and Photo to avatar. Thin glue over ``core.pipeline``,
entered through :func:`.inputs.fit_job` (the door ``fit`` and ``build`` take too)."""

from __future__ import annotations

import time

import bpy

from ..core import pipeline
from ..core.errors import SmplifyError
from . import build_rig, edit_ops, inputs
from .jobs import ModalJobOperator, running_job


def _object_mode(context) -> bool:
    return context.mode == "OBJECT" and getattr(context.scene, "smplify", None) is not None


class SMPLIFY_OT_detect(ModalJobOperator, bpy.types.Operator):
    """Detect the person's 2D joints in the photo (in the background; Esc cancels)"""

    bl_idname = "smplify.detect"
    bl_label = "Detect"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    def prepare(self, context):
        run = inputs.resolve(context)
        image = run.pixels()
        self._run = run

        def work(progress):
            start = time.perf_counter()
            progress(0.1, "detecting joints")
            keypoints, world = pipeline.detect(image, run.image_path, run.threads)
            return keypoints, world, (image.shape[1], image.shape[0]), time.perf_counter() - start

        return work

    def finish(self, context, result):
        keypoints, world, size, seconds = result
        settings = context.scene.smplify
        inputs.store_keypoints(settings, self._run.key, keypoints, size, world)
        found = int((keypoints.confidence > 0.5).sum())
        settings.status = f"{found}/{len(keypoints.confidence)} joints found in {seconds:.2f} s"
        settings.progress = 1.0
        return {"FINISHED"}


class _FitJob(ModalJobOperator):
    """Shared by Fit and Photo to avatar: detect (unless done) and fit in a worker thread."""

    use_stored_keypoints = True

    def prepare(self, context):
        run = inputs.resolve(context)
        keypoints, world = inputs.stored_keypoints(context.scene.smplify, run.key)
        if not self.use_stored_keypoints:
            keypoints, world = None, None
        work = inputs.fit_job(run, keypoints, world)
        self._run, self._model = run, inputs.model_for(run)
        # a Blender image of a photo file is built from the file, upright (as for Build)
        self._image_name = run.image.name if run.image_path is None else None
        return work

    def finish(self, context, result):
        settings = context.scene.smplify
        inputs.store_result(settings, self._run.key, result, self._run.model_path)
        settings.progress = 1.0
        return {"FINISHED"}


class SMPLIFY_OT_fit(_FitJob, bpy.types.Operator):
    """Fit the body model to the detected joints (detects first when needed); Esc cancels"""

    bl_idname = "smplify.fit"
    bl_label = "Fit"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)


class SMPLIFY_OT_build(bpy.types.Operator):
    """Build (or update) the avatar of the last fit: camera, rig and skinned body"""

    bl_idname = "smplify.build"
    bl_label = "Build"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    @classmethod
    def poll(cls, context):
        return _object_mode(context)

    def execute(self, context):
        settings = context.scene.smplify
        try:
            run = inputs.resolve(context)
            fit = inputs.stored_fit(settings, run.key)
            if fit is None:
                raise SmplifyError(f"no fit for {run.label} yet: press Fit first")
            # the model the fit was made with, whatever the panel's gender and model say now
            run.gender, run.model_path = fit.gender, settings.fit_model or None
            # a Blender image of a photo file: the file, upright as the fit saw it (the image
            # itself when it needs no turning, since load_photo reuses loaded images)
            image = run.image if run.image_path is None else None
            avatar = build_rig.build(
                fit, inputs.model_for(run), image_path=run.image_path, image=image
            )
            _show_keypoints(avatar, inputs.stored_keypoints(settings, run.key)[0])
        except SmplifyError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        return {"FINISHED"}


class SMPLIFY_OT_photo_to_avatar(_FitJob, bpy.types.Operator):
    """Detect, fit and build in one go; Esc cancels and leaves the scene as it was"""

    bl_idname = "smplify.photo_to_avatar"
    bl_label = "Photo to avatar"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)
    use_stored_keypoints = False

    @classmethod
    def poll(cls, context):
        return _object_mode(context)

    def finish(self, context, result):
        super().finish(context, result)
        if context.mode != "OBJECT":  # the user went on editing while the job ran
            message = "fitted: press Build in Object mode to make the avatar"
            context.scene.smplify.status = f"{message} ({context.scene.smplify.status})"
            self.report({"WARNING"}, message)
            return {"FINISHED"}
        # the image is looked up again: the user may have changed data while the job ran
        image = bpy.data.images.get(self._image_name) if self._image_name else None
        avatar = build_rig.build(
            result.fit, self._model, image_path=self._run.image_path, image=image
        )
        _show_keypoints(avatar, result.keypoints)
        return {"FINISHED"}


def _show_keypoints(avatar: build_rig.Avatar, keypoints) -> None:
    """The fitted keypoints as draggable markers on the avatar's camera (Edit on the photo)."""
    if keypoints is not None:
        edit_ops.edit_keypoints(avatar.armature, keypoints)


class SMPLIFY_OT_cancel(bpy.types.Operator):
    """Stop the detection or fit that is running; the scene stays as it was (same as Esc)"""

    bl_idname = "smplify.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return running_job() is not None

    def execute(self, context):
        running_job().cancel()
        return {"FINISHED"}


classes = (
    SMPLIFY_OT_detect,
    SMPLIFY_OT_fit,
    SMPLIFY_OT_build,
    SMPLIFY_OT_photo_to_avatar,
    SMPLIFY_OT_cancel,
)
register, unregister = bpy.utils.register_classes_factory(classes)
