"""An operator that runs a job's step generator: all at once (``execute``, background mode) or
modal from a button (``invoke``: progress bar, status line, Esc cancels). Shared by the video and
frame renders.

The operator sets ``_steps`` (a generator yielding ``(done, message)``), ``_total`` and
``_done_text`` in its ``_start(context)``, which returns something false after reporting an error.
"""

from ..core.errors import DatasetError
from . import modal_progress


class SteppedRun:
    _timer = None  # set by modal_progress.start while a modal run is on
    _steps = None
    _total = 0
    _done_text = ""
    _progress_label = "Rendering"
    _cancelled_text = "Cancelled: nothing written"

    def _finish(self, context, result, level, message):
        if self._timer is not None:
            modal_progress.end(self, context)
        self.report({level}, message)
        return {result}

    def _advance(self, context):
        """One step; returns None while there is more to do, else the operator's result."""
        try:
            done, message = next(self._steps)
        except StopIteration:
            return self._finish(context, "FINISHED", "INFO", self._done_text)
        except (DatasetError, RuntimeError, OSError, ReferenceError) as exc:
            # ReferenceError: a camera or person deleted while the modal run was going on.
            return self._finish(context, "CANCELLED", "ERROR", str(exc))
        if self._timer is not None:
            text = f"{self._progress_label} {done}/{self._total}: {message} (Esc to cancel)"
            modal_progress.update(context, done, text)
        return None

    def execute(self, context):
        if not self._start(context):
            return {"CANCELLED"}
        while True:
            result = self._advance(context)
            if result is not None:
                return result

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        if not self._start(context):
            return {"CANCELLED"}
        return modal_progress.start(self, context, self._total)

    def modal(self, context, event):
        if event.type == "ESC":
            self._steps.close()  # removes the staging folder, restores the scene
            return self._finish(context, "CANCELLED", "WARNING", self._cancelled_text)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        return self._advance(context) or {"RUNNING_MODAL"}

    def cancel(self, context):
        """Blender ends the run itself (a file loaded, the window closed): as Esc does."""
        if self._steps is not None:
            self._steps.close()
        modal_progress.end(self, context)
