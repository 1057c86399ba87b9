"""Detection and fitting off Blender's main thread, behind a modal operator with a timer.

The worker thread runs only bpy-free code (``core.pipeline.detect_and_fit``) on plain data read
before it starts; Blender data is written on the main thread once the job is done, so cancelling
(Esc) leaves the scene exactly as it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..core.errors import FitCancelled, SmplifyError

log = logging.getLogger(__name__)

#: the job the modal operator runs (one at a time)
_running: list[Job] = []


class Job:
    """One piece of work in a daemon thread, with progress and cooperative cancelling.

    ``work(progress)`` gets ``progress(fraction, message) -> bool``; False means stop.
    """

    def __init__(self, work: Callable[[Callable[[float, str], bool]], Any]) -> None:
        self._work = work
        self._cancel = threading.Event()
        self.fraction = 0.0
        self.message = "starting"
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="smplify-job", daemon=True)

    def _progress(self, fraction: float, message: str) -> bool:
        self.fraction, self.message = float(fraction), message
        return not self._cancel.is_set()

    def _run(self) -> None:
        try:
            self.result = self._work(self._progress)
        except BaseException as error:  # noqa: BLE001 (handed to the main thread)
            self.error = error

    def start(self) -> Job:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def run_here(self) -> Any:
        """Run synchronously (background mode, scripts); raises what the work raised."""
        self._run()
        if self.error is not None:
            raise self.error
        return self.result


def running_job() -> Job | None:
    """The job now working, if any."""
    return next((job for job in _running if not job.done), None)


class ModalJobOperator:
    """Mixin: ``prepare(context) -> work`` (main thread), ``work`` in a thread, then
    ``finish(context, result)`` on the main thread. ``execute`` runs the same synchronously."""

    _job: Job | None = None
    _timer = None

    @classmethod
    def poll(cls, context):
        return getattr(context.scene, "smplify", None) is not None

    def prepare(self, context) -> Callable:  # pragma: no cover - overridden
        raise NotImplementedError

    def finish(self, context, result) -> set[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def execute(self, context):
        try:
            return self.finish(context, Job(self.prepare(context)).run_here())
        except SmplifyError as error:
            return self._fail(context, error)

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        if running_job() is not None:
            self.report({"WARNING"}, "SMPLify is already working on a photo (Esc cancels it)")
            return {"CANCELLED"}
        try:
            self._job = Job(self.prepare(context)).start()
        except SmplifyError as error:
            return self._fail(context, error)
        _running[:] = [self._job]
        manager = context.window_manager
        self._timer = manager.event_timer_add(0.1, window=context.window)
        manager.modal_handler_add(self)
        manager.progress_begin(0, 100)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job, settings = self._job, context.scene.smplify
        if event.type == "ESC" or job.cancelled:  # Esc, or the panel's Cancel button
            job.cancel()
            self._stop(context)
            settings.status, settings.progress = "cancelled", 0.0
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        context.window_manager.progress_update(int(100 * job.fraction))
        settings.status, settings.progress = job.message, job.fraction
        _redraw(context)
        if not job.done:
            return {"RUNNING_MODAL"}
        self._stop(context)
        if job.error is not None:
            return self._fail(context, job.error)
        try:
            return self.finish(context, job.result)
        except SmplifyError as error:
            return self._fail(context, error)

    def cancel(self, context) -> None:
        """Blender ends the operator itself (a file is opened, the window closes): stop the job
        and drop its timer and progress cursor, which would otherwise stay behind."""
        if self._job is not None:
            self._job.cancel()
        self._stop(context)

    def _stop(self, context) -> None:
        manager = context.window_manager
        if self._timer is not None:
            manager.event_timer_remove(self._timer)
            self._timer = None
        manager.progress_end()

    def _fail(self, context, error: BaseException):
        if not isinstance(error, SmplifyError):
            log.error("SMPLify failed", exc_info=error)
            error = SmplifyError(f"internal error ({type(error).__name__}: {error})")
        settings = context.scene.smplify
        settings.progress = 0.0
        settings.status = "cancelled" if isinstance(error, FitCancelled) else f"error: {error}"
        self.report({"WARNING" if isinstance(error, FitCancelled) else "ERROR"}, str(error))
        return {"CANCELLED"}


def _redraw(context) -> None:
    for area in context.screen.areas if context.screen else ():
        if area.type == "VIEW_3D":
            area.tag_redraw()
