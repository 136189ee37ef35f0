"""Runs inside a windowed Blender (see test_export_ui.py): exports a real older dataset, starts a
long export over it as the panel's button does (modal, progress, status line), tries a second
export meanwhile, presses Esc half-way, then lets a short export finish and validates it, writing
what it saw to a JSON file.

    blender --factory-startup --enable-event-simulate --python ui_export.py -- REPO OUT FOLDER
"""

import hashlib
import importlib
import os
import sys
import time

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness, press_escape  # noqa: E402

harness = Harness()
seen, finish, then = harness.seen, harness.finish, harness.then
(FOLDER,) = harness.args  # the dataset folder: the older dataset, then the new one, go here

import conftest  # noqa: E402  (after the path is set)
from stand_in_people import add_person  # noqa: E402

EXPORT_MODAL = "BLENDMIMIC3D_OT_export_dataset"
LONG_FRAMES = 30000  # a take long enough that the export still runs when Esc comes

# The status bar's text cannot be read back from Python (WorkSpace has no property for it):
# record what the operator sets while the real WorkSpace.status_text_set still runs.
statuses = []
real_status_text_set = bpy.types.WorkSpace.status_text_set


def recording_status_text_set(workspace, text):
    statuses.append(text)
    return real_status_text_set(workspace, text)


bpy.types.WorkSpace.status_text_set = recording_status_text_set


def window():
    return bpy.context.window_manager.windows[0]


def area_of(kind):
    return next(a for a in window().screen.areas if a.type == kind)


def override(kind="VIEW_3D"):
    area = area_of(kind)
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window(), area=area, region=region)


def module(name):
    return importlib.import_module(f"{seen['extension']}.{name}")


def tree():
    """Every file (its SHA-256) and folder under FOLDER, hidden staging folders included."""
    found = {}
    for root, dirs, names in os.walk(FOLDER):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), FOLDER)] = "folder"
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, FOLDER)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def scene_state():
    """The current frame and each person's take (action, start offset)."""
    people = module("blender.takes")
    persons = module("blender.scene_model").people(bpy.context.scene)
    takes = {}
    for arm in persons:
        action, offset = people.take(arm)
        takes[arm.name] = [action.name if action else None, offset]
    return {"frame": bpy.context.scene.frame_current, "takes": takes}


def modal_operators():
    return [op.bl_idname for op in window().modal_operators]


def reports():
    """The session's reports as the Info editor lists them, copied through the clipboard (Python
    has no other way to read them; the copy carries no level, and the editor's level filters do
    not apply to it in Blender 4.3)."""
    bpy.context.window_manager.clipboard = ""
    with override("INFO"):
        bpy.ops.info.select_all(action="SELECT")
        bpy.ops.info.report_copy()
    return bpy.context.window_manager.clipboard.splitlines()


def export(how="INVOKE_DEFAULT", **settings):
    """The panel's button (INVOKE_DEFAULT: modal with a window), or a script's call."""
    with override():
        return list(
            bpy.ops.blendmimic3d.export_dataset(
                how, directory=FOLDER, subject="S1", overwrite=True, **settings
            )
        )


def build():
    seen["extension"] = next(conftest.addon.__wrapped__())
    # Where Blender could expose a progress bar or the status line to Python: nowhere, it seems.
    seen["readable_ui_state"] = [
        f"{kind.__name__}.{p.identifier}"
        for kind in (bpy.types.WindowManager, bpy.types.Window, bpy.types.WorkSpace)
        for p in kind.bl_rna.properties
        if "progress" in p.identifier or "status" in p.identifier
    ]
    area_of("DOPESHEET_EDITOR").type = "INFO"  # the timeline becomes an Info log
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 100
    primary = add_person(scene, 0, location=(2.0, 5.0, 0.0), walk=(1.0, 0.0))
    other = add_person(scene, 1, location=(2.5, 4.0, 0.0), walk=(0.0, 1.0))
    with override():
        seen["rig"] = list(bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False))
    # The primary's library: a short take (its current one, started 2 frames late) and a long one.
    short = primary.animation_data.action
    long = short.copy()
    long.name = "Long"
    short.use_frame_range = long.use_frame_range = True
    short.frame_start, short.frame_end = 1, 10
    long.frame_start, long.frame_end = 1, LONG_FRAMES
    people, scene_model = module("blender.takes"), module("blender.scene_model")
    for action in (short, long):
        scene_model.add_person_action(primary, action.name)
    people.set_take(primary, short, 2)
    people.set_take(other, other.animation_data.action, 3)
    # The older dataset: a real export of the short take, plus a file only it has.
    seen["older_export"] = export("EXEC_DEFAULT", actions=short.name)
    with open(os.path.join(FOLDER, "S1", "older_marker.txt"), "w") as handle:
        handle.write("only the older dataset has this file")
    scene.frame_set(7)
    seen["before"] = {"tree": tree(), "scene": scene_state()}
    statuses.clear()
    seen["invoke"] = export()
    seen["modal_after_invoke"] = modal_operators()
    started_at["long"] = time.monotonic()
    then(watch_long, 0.1)


started_at = {}


def frames_done():
    """The frame count of the last status line the export set (0 before the first)."""
    texts = [t for t in statuses if isinstance(t, str) and t.startswith("Exporting")]
    return int(texts[-1].split("frame ")[1].split(" of")[0]) if texts else 0


def watch_long():
    """Esc once the export is well into the long take (and has run for a second)."""
    if frames_done() < 200 or time.monotonic() - started_at["long"] < 1.0:
        if time.monotonic() - started_at["long"] > 120:
            finish(f"the long export showed no progress in 120 s: {statuses[-3:]}")
            return None
        return 0.1
    seen["during"] = {
        "tree": tree(),
        "statuses": list(statuses),
        "modal": modal_operators(),
        "second_export_allowed": bpy.ops.blendmimic3d.export_dataset.poll(),
    }
    try:
        seen["during"]["second_invoke"] = export()
    except RuntimeError as exc:
        seen["during"]["second_invoke"] = f"RuntimeError: {exc}"
    seen["during"]["modal_after_second"] = modal_operators()
    press_escape(window(), area_of("VIEW_3D"))
    then(after_escape, 1.0)
    return None


def after_escape():
    seen["after_escape"] = {
        "tree": tree(),
        "scene": scene_state(),
        "statuses": list(statuses),
        "modal": modal_operators(),
        "export_allowed": bpy.ops.blendmimic3d.export_dataset.poll(),
        "reports": reports(),
    }
    # A write failing half-way (a full disk, injected into the job): the error ends the run.
    job_class = module("blender.export_job").ExportJob
    real_write_take = job_class._write_take

    def failing_write_take(job, stage, take):
        raise OSError(28, "No space left on device (injected)")

    def after_failure():
        job_class._write_take = real_write_take
        seen["after_failure"] = {
            "tree": tree(),
            "scene": scene_state(),
            "statuses": list(statuses),
            "export_allowed": bpy.ops.blendmimic3d.export_dataset.poll(),
        }
        short_run()

    job_class._write_take = failing_write_take
    statuses.clear()
    seen["invoke_failing"] = export()
    when_export_ends("failing", after_failure)


def short_run():
    """A run to the end: the long take cut to 30 frames."""
    bpy.data.actions["Long"].frame_end = 30
    statuses.clear()
    seen["invoke_short"] = export()
    when_export_ends("short", after_short_run)


def when_export_ends(run, step):
    """Run ``step`` once no export is modal any more (fail the test after 120 s)."""
    started = time.monotonic()

    def watch():
        if EXPORT_MODAL not in modal_operators():
            step()
            return None
        if time.monotonic() - started > 120:
            finish(f"the {run} export did not end in 120 s")
            return None
        return 0.1

    then(watch, 0.1)


def after_short_run():
    report = module("core.validate.dataset").validate_dataset(FOLDER)
    seen["after_run"] = {
        "tree": tree(),
        "scene": scene_state(),
        "statuses": list(statuses),
        "reports": reports(),
        "valid": report.ok,
        "problems": [str(p) for p in report.problems],
        "subjects": report.subjects,
    }
    finish()


then(build, 1.0)
