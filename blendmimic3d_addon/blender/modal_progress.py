"""The UI of a long modal operator: a timer that drives it, a progress bar, a status line."""

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
