"""Long work in the UI: every long job is a generator of progress, and ``ModalSteps`` is the one
modal driver for them (a timer, a progress bar, a status line, Esc, errors reported).

A job's generator yields a progress value after each small step and returns its result; closing
it early (Esc) or an error inside it leaves the scene and the files as they were (the job's own
``finally``). Without a window (scripts, background mode) the same generator runs to its end at
once (``drain``).
"""

import time

from ..core.errors import DatasetError


def drain(steps):
    """Run a generator of progress to its end; returns what it returns."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


# Operator classes with a modal run on: background work (the live occlusion) waits for them,
# as they set frames and takes of their own.
RUNNING = set()


def start(operator, context, total):
    """Begin the progress bar, add the timer as ``operator._timer`` and the modal handler; the
    operator's class is busy until ``end`` (``refuse_second_run``)."""
    type(operator)._busy = True
    RUNNING.add(type(operator))
    wm = context.window_manager
    wm.progress_begin(0, max(total, 1))
    operator._timer = wm.event_timer_add(0.01, window=context.window)
    wm.modal_handler_add(operator)
    return {"RUNNING_MODAL"}


def update(context, done, status):
    context.window_manager.progress_update(done)
    context.workspace.status_text_set(status)


def end(operator, context):
    """Remove the timer, the progress bar and the status line (safe to call twice)."""
    type(operator)._busy = False
    RUNNING.discard(type(operator))
    wm = context.window_manager
    if getattr(operator, "_timer", None) is not None:
        wm.event_timer_remove(operator._timer)
        operator._timer = None
    wm.progress_end()
    context.workspace.status_text_set(None)


def refuse_second_run(cls, what):
    """For an operator's ``poll``: False, saying why, while a modal run of ``cls`` goes on."""
    if getattr(cls, "_busy", False):
        cls.poll_message_set(f"{what} is running: wait for it, or press Esc to cancel it")
        return False
    return True


class ModalSteps:
    """Mixin for an operator whose long work is a generator of progress.

    ``execute`` runs it at once (scripts, background); ``invoke`` with a window hands it to
    Blender's event loop, where each timer tick advances it for ``step_seconds`` (at least one
    step), Esc closes it, and an error among ``reported_errors`` is reported as the run's message.
    Subclasses give ``make_steps(context) -> (generator, total steps)`` (a ``DatasetError`` there
    is reported before anything runs), ``progress(value) -> (done, status text)`` and
    ``finished(context, result)``.
    """

    step_seconds = 0.1  # a timer tick's share of the work; 0: one step per tick
    reported_errors = (DatasetError,)
    cancel_message = "Cancelled"

    _steps = None
    _timer = None
    _busy = False  # set on the class while a modal run goes on (refuse_second_run)

    def make_steps(self, context):
        raise NotImplementedError

    def progress(self, value):
        raise NotImplementedError

    def finished(self, context, result):
        raise NotImplementedError

    def escaped(self, context):
        """After Esc closed the work: undo what the work does not undo itself."""

    def execute(self, context):
        made = self._made_steps(context)
        return {"CANCELLED"} if made is None else self.run_steps(context, made[0])

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        made = self._made_steps(context)
        return {"CANCELLED"} if made is None else self.run_modal(context, *made)

    def _made_steps(self, context):
        """``make_steps``' (generator, total), or None once its DatasetError is reported."""
        try:
            return self.make_steps(context)
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return None

    def run_steps(self, context, steps):
        try:
            result = drain(steps)
        except self.reported_errors as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return self.finished(context, result)

    def run_modal(self, context, steps, total):
        self._steps = steps
        return start(self, context, total)

    def modal(self, context, event):
        if event.type == "ESC":
            self._close(context)
            self.escaped(context)
            self.report({"WARNING"}, self.cancel_message)
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        until = time.perf_counter() + self.step_seconds
        try:
            value = next(self._steps)
            while time.perf_counter() < until:
                value = next(self._steps)
        except StopIteration as stop:
            end(self, context)
            return self.finished(context, stop.value)
        except self.reported_errors as exc:
            end(self, context)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except Exception:  # the work has cleaned up; free the UI (and the guard) before it shows
            end(self, context)
            raise
        update(context, *self.progress(value))
        return {"RUNNING_MODAL"}

    def cancel(self, context):
        """Blender ends the run itself (a file loaded, the window closed): the work is closed."""
        self._close(context)

    def _close(self, context):
        if self._steps is not None:
            self._steps.close()
        end(self, context)


class RenderSteps(ModalSteps):
    """``ModalSteps`` for a render job yielding ``(done, message)``: one frame per timer tick (a
    frame takes longer than a tick's share), ``_total`` and ``_done_text`` set by ``make_steps``.
    ReferenceError: a camera or person deleted while the modal run was going on."""

    step_seconds = 0.0
    reported_errors = (DatasetError, RuntimeError, OSError, ReferenceError)
    progress_label = "Rendering"
    _total = 0
    _done_text = ""

    def progress(self, value):
        done, message = value
        return done, f"{self.progress_label} {done}/{self._total}: {message} (Esc to cancel)"

    def finished(self, context, _result):
        self.report({"INFO"}, self._done_text)
        return {"FINISHED"}
