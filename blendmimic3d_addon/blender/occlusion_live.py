"""Live occlusion: the current frame's labels for the viewport overlay, and the take's occlusion
budget computed in the background, both with the export's own labelling code.

The current frame is labelled by ``SceneSampler.label_evaluated_frame`` (the export's batch, ray
caster and classifier) a moment after the frame changes; a change to the scene (people,
occluders, environment, cameras) drops the sampler, so the next labelling reads the scene anew,
and restarts the budget. The budget runs ``SceneSampler.sample_take`` (what the export runs) a
few frames per timer tick, putting the user's frame back after each slice, so the UI stays
responsive. The frame changes it makes itself are not taken for the user's.
"""

import contextlib
import dataclasses
import time

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.occlusion import budget as budget_core
from . import modal_progress
from .sampling import SceneSampler, blend_name
from .takes import played_range, take

# Seconds to wait after the last change to the scene before labelling again (a drag sends many).
SCENE_DEBOUNCE = 0.15
# Seconds of budget work per timer tick: short enough that the UI answers between slices.
SLICE = 0.03


@dataclasses.dataclass
class CameraBudget:
    """One camera's occlusion over the take: type shares (N_TYPES,), strip (B, N_TYPES) over the
    frame bins ``edges`` (frame indices from the take's ``first_frame``), and the scene frame
    with the most hidden joints."""

    shares: np.ndarray
    strip: np.ndarray
    edges: np.ndarray
    first_frame: int
    worst_frame: int


class BudgetJob:
    """The budget of the primary person's current take for every dataset camera, in slices."""

    def __init__(self, scene, depsgraph):
        self.scene = scene
        self.sampler = SceneSampler(scene, depsgraph)
        primary = self.sampler.people[0]
        action = take(primary)[0]
        if action is None:
            raise DatasetError(
                blend_name(), "take", f"{primary.name} plays no action: give it a take first"
            )
        self.action = action.name
        self.cameras = list(range(len(self.sampler.cameras)))
        start, end = played_range(scene, self.action)
        self.total = end - start + 1
        self.done = 0
        self.result = None
        self._steps = self.sampler.sample_take(self.action, self.cameras)

    def step(self, seconds):
        """Work for about ``seconds`` (one frame at least); True once the budget is complete
        (``result``)."""
        until = time.perf_counter() + seconds
        try:
            self.done = next(self._steps)
            while time.perf_counter() < until:
                self.done = next(self._steps)
        except StopIteration as stop:
            self.result = budgets(stop.value)
            self.close()
            return True
        return False

    def run(self):
        while not self.step(1.0):
            pass
        return self.result

    def close(self):
        """End the sampling (its labelling thread too) and put the takes back."""
        if self._steps is not None:
            self._steps.close()
            self._steps = None
            self.sampler.restore()


def budgets(take):
    """{camera index: CameraBudget} of a sampled ``Take``."""
    found = {}
    for camera, types in take.types.items():
        strip, edges = budget_core.strip(types)
        worst = budget_core.worst_frame(types)
        found[camera] = CameraBudget(budget_core.type_shares(types), strip, edges,
                                     int(take.frames[0]), int(take.frames[worst or 0]))  # fmt: skip
    return found


class LiveOcclusion:
    """What the overlay draws and the panel shows, kept up to date by handlers and a timer."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.sampler = None
        self.joints = None  # (P,17,3) world positions at ``frame``
        self.types = {}  # camera index -> (P,17) codes at ``frame``
        self.frame = None
        self.message = ""  # why there is nothing to draw
        self.overlay_due = None  # perf_counter time of the next labelling
        self.budget = {}  # camera index -> CameraBudget
        self.budget_action = ""
        self.budget_message = ""
        self.budget_stale = True
        self.budget_due = None
        self.job = None
        self.version = 0  # bumped whenever the drawn data change
        self._user_frame = None
        self._own = 0

    # --- requests

    def request_overlay(self, delay=0.0):
        due = time.perf_counter() + delay
        self.overlay_due = due if self.overlay_due is None else max(self.overlay_due, due)
        _ensure_timer()

    def request_budget(self, delay=SCENE_DEBOUNCE):
        self.cancel_budget()
        self.budget_due = time.perf_counter() + delay
        _ensure_timer()

    def cancel_budget(self):
        if self.job is not None:
            with self.own_changes():
                self.job.close()
                _back_to(self.job.scene, self._user_frame)
            self.job = None
        self.budget_due = None

    @contextlib.contextmanager
    def own_changes(self):
        """Frame changes made inside are ours, not the user's: the handlers skip them."""
        self._own += 1
        try:
            yield
        finally:
            self._own -= 1

    @property
    def busy(self):
        return self._own > 0

    # --- work

    def refresh_overlay(self, scene):
        """Label the evaluated frame for every dataset camera (the export's code)."""
        self.overlay_due = None
        depsgraph = bpy.context.evaluated_depsgraph_get()
        try:
            if self.sampler is None or self.sampler.scene != scene:
                self.sampler = SceneSampler(scene, depsgraph)
            cameras = range(len(self.sampler.cameras))
            joints, _, types = self.sampler.label_evaluated_frame(cameras)
        except DatasetError as exc:
            self.sampler, self.joints, self.types = None, None, {}
            self.message = exc.reason
        except ReferenceError:  # an object the sampler read was deleted: read the scene anew
            self.sampler = None
            self.request_overlay(SCENE_DEBOUNCE)
            return
        else:
            self.joints, self.types, self.message = joints, types, ""
        self.frame = scene.frame_current
        self.version += 1
        _redraw_viewports()

    def start_budget(self, scene):
        """Begin the budget; False (with ``budget_message``) when the scene has none to give."""
        self.cancel_budget()
        self._user_frame = scene.frame_current
        try:
            with self.own_changes():
                self.job = BudgetJob(scene, bpy.context.evaluated_depsgraph_get())
        except DatasetError as exc:
            self.budget, self.budget_message, self.job = {}, exc.reason, None
            return False
        self.budget_message = ""
        _ensure_timer()
        return True

    def step_budget(self, seconds=SLICE):
        """One slice of the budget; the user's frame is back when it returns."""
        job = self.job
        scene = job.scene
        self._user_frame = scene.frame_current
        with self.own_changes():
            try:
                finished = job.step(seconds)
            except (DatasetError, ReferenceError) as exc:
                self.job = None
                with contextlib.suppress(ReferenceError):  # a person it restores may be gone
                    job.close()
                if isinstance(exc, ReferenceError):  # something it read was deleted: anew
                    self.budget_message = ""
                    self.request_budget()
                else:
                    self.budget_message = exc.reason
                _back_to(scene, self._user_frame)
                return True
            _back_to(scene, self._user_frame)
        if finished:
            self.job = None
            self.budget, self.budget_action = job.result, job.action
            self.budget_stale = False
            self.version += 1
            _redraw_viewports()
        return finished

    @property
    def progress(self):
        """(done, total) frames of the budget being computed, or None."""
        return None if self.job is None else (self.job.done, self.job.total)


LIVE = LiveOcclusion()


def _back_to(scene, frame):
    if scene.frame_current != frame:
        scene.frame_set(frame)


def _redraw_viewports():
    wm = getattr(bpy.context, "window_manager", None)
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


# --- handlers and the timer


def _settings(scene):
    return getattr(scene, "bm3d_overlay", None)


def _tick():
    """The timer: label the frame when due, then one budget slice; None when nothing is left."""
    scene = bpy.context.scene
    settings = _settings(scene)
    if settings is None:
        return None
    if modal_progress.RUNNING:  # an export or a render sets frames and takes: wait for it
        return 0.5
    now = time.perf_counter()
    if LIVE.overlay_due is not None and now >= LIVE.overlay_due:
        if settings.show:
            LIVE.refresh_overlay(scene)
        else:
            LIVE.overlay_due = None
    if LIVE.job is None and LIVE.budget_due is not None and now >= LIVE.budget_due:
        LIVE.budget_due = None
        LIVE.start_budget(scene)
    elif LIVE.job is not None:
        LIVE.step_budget()
        _redraw_viewports()
    waits = [t - time.perf_counter() for t in (LIVE.overlay_due, LIVE.budget_due) if t]
    if LIVE.job is not None:
        waits.append(0.0)
    return max(min(waits), 0.0) if waits else None


def _ensure_timer():
    if not bpy.app.timers.is_registered(_tick):
        bpy.app.timers.register(_tick, first_interval=0.0)


def _relevant(depsgraph):
    """Whether an update can change labels: an object moved or reshaped, added or deleted, or
    mesh, camera, armature or action data edited (selection and UI changes cannot)."""
    for update in depsgraph.updates:
        data = update.id
        if isinstance(data, bpy.types.Object):
            if update.is_updated_transform or update.is_updated_geometry:
                return True
        elif isinstance(data, (bpy.types.Mesh, bpy.types.Camera, bpy.types.Armature,
                               bpy.types.Action, bpy.types.Collection)):  # fmt: skip
            return True  # (a collection: an object added or deleted)
    return False


@bpy.app.handlers.persistent
def on_frame_change(scene, depsgraph=None):
    settings = _settings(scene)
    if LIVE.busy or settings is None or not settings.show:
        return
    LIVE.request_overlay()


@bpy.app.handlers.persistent
def on_depsgraph_update(scene, depsgraph):
    settings = _settings(scene)
    if LIVE.busy or settings is None or not _relevant(depsgraph):
        return
    LIVE.sampler = None
    LIVE.budget_stale = True
    if settings.show:
        LIVE.request_overlay(SCENE_DEBOUNCE)
        if settings.live_budget:
            LIVE.request_budget()
        else:
            LIVE.cancel_budget()


@bpy.app.handlers.persistent
def on_load(*_args):
    """Another file, or an undo or redo step: nothing computed before holds (Blender has made
    its objects anew, and references to the old ones must not be touched)."""
    LIVE.job = None  # its generator refers to freed data; closing it would touch them
    LIVE.reset()
    scene = bpy.context.scene
    settings = _settings(scene)
    if settings is not None and settings.show:
        LIVE.request_overlay()
        if settings.live_budget:
            LIVE.request_budget(0.0)


_HANDLERS = (
    (bpy.app.handlers.frame_change_post, on_frame_change),
    (bpy.app.handlers.depsgraph_update_post, on_depsgraph_update),
    (bpy.app.handlers.load_post, on_load),
    (bpy.app.handlers.undo_post, on_load),
    (bpy.app.handlers.redo_post, on_load),
)


def register():
    for handlers, handler in _HANDLERS:
        handlers.append(handler)


def unregister():
    for handlers, handler in _HANDLERS:
        if handler in handlers:
            handlers.remove(handler)
    if bpy.app.timers.is_registered(_tick):
        bpy.app.timers.unregister(_tick)
    LIVE.cancel_budget()
    LIVE.reset()
