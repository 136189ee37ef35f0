"""The UI of a long modal operator: a timer that drives it, a progress bar, a status line."""


def start(operator, context, total):
    """Begin the progress bar, add the timer as ``operator._timer`` and the modal handler."""
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
    wm = context.window_manager
    if getattr(operator, "_timer", None) is not None:
        wm.event_timer_remove(operator._timer)
        operator._timer = None
    wm.progress_end()
    context.workspace.status_text_set(None)
