"""Runs inside a windowed Blender (see test_import_ui.py): adds two mannequins and lays them out,
imports a folder of Mixamo FBX files as the panel's button does (file browser, then a modal run
with a progress bar), starts a second import and presses Esc half-way, imports a single file (no
modal run), then undoes once per step, writing what it saw to a JSON file.

    blender --factory-startup --enable-event-simulate --python ui_import.py \
        -- REPO OUT FULL PART ONE
"""

import os
import sys
import time

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness, press_escape  # noqa: E402

harness = Harness()
seen, finish, guarded, then = harness.seen, harness.finish, harness.guarded, harness.then
# Folders: one imported to the end, one whose import Esc cancels, one with a single file.
FULL, PART, ONE = harness.args

import conftest  # noqa: E402  (after the path is set)

# The status bar's text cannot be read back from Python: record what the operator sets while the
# real WorkSpace.status_text_set (a Python method of bpy_types) still runs.
statuses = []
real_status_text_set = bpy.types.WorkSpace.status_text_set


def recording_status_text_set(workspace, text):
    statuses.append(text if text is None or isinstance(text, str) else "<draw function>")
    return real_status_text_set(workspace, text)


bpy.types.WorkSpace.status_text_set = recording_status_text_set


def window():
    return bpy.context.window_manager.windows[0]


def view3d():
    area = next(a for a in window().screen.areas if a.type == "VIEW_3D")
    return area, next(r for r in area.regions if r.type == "WINDOW")


def context_override():
    area, region = view3d()
    return bpy.context.temp_override(window=window(), area=area, region=region)


def state():
    persons = sorted(
        (o for o in bpy.context.scene.objects if o.get("bm3d_role") == "person"),
        key=lambda o: o.name,
    )
    return {
        "people": [p.name for p in persons],
        "locations": [[round(v, 4) for v in p.location] for p in persons],
        "objects": sorted(o.name for o in bpy.data.objects),
        "actions": sorted(a.name for a in bpy.data.actions),
        "armatures": len(bpy.data.armatures),
        "meshes": len(bpy.data.meshes),
        "materials": len(bpy.data.materials),
        "fps": bpy.context.scene.render.fps,
        "frames": [bpy.context.scene.frame_start, bpy.context.scene.frame_end],
    }


IMPORT_MODAL = "BLENDMIMIC3D_OT_import_mixamo"


def modal_operators():
    return [op.bl_idname for op in window().modal_operators]


def build():
    seen["extension"] = next(conftest.addon.__wrapped__())
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    bpy.ops.ed.undo_push(message="empty scene")
    seen["empty"] = state()
    calls = (
        ("mannequin_walk", "add_mannequin", {"action": "Walk"}),
        ("mannequin_wave", "add_mannequin", {"action": "Wave"}),
        ("layout", "layout_people", {"preset": "CIRCLE", "spacing": 1.6}),
    )
    with context_override():
        for name, op_name, kwargs in calls:
            seen[name] = list(getattr(bpy.ops.blendmimic3d, op_name)(**kwargs))
            # A script's call is nested, so Blender leaves the undo push to the caller; a panel
            # button pushes one step per UNDO operator, as done here.
            bpy.ops.ed.undo_push(message=op_name)
            seen[f"after_{name}"] = state()
    open_browser(FULL, "full")


def open_browser(folder, run):
    """The panel's button: invoke opens the file browser on the folder."""
    names = sorted(os.listdir(folder))
    with context_override():
        seen[f"{run}_invoke"] = list(
            bpy.ops.blendmimic3d.import_mixamo(
                "INVOKE_DEFAULT", directory=folder + os.sep, files=[{"name": n} for n in names]
            )
        )
    # The browser lists the folder in a background job; selecting before the list is read
    # crashes Blender 4.3 (seen on a loaded machine after 1 s), so wait well past it.
    then(lambda: press_import(run), 4.0)


def file_browser():
    for win in bpy.context.window_manager.windows:
        for area in win.screen.areas:
            if area.type == "FILE_BROWSER":
                region = next(r for r in area.regions if r.type == "WINDOW")
                return win, area, region
    return None


def press_import(run):
    """The user selects every file and presses Import: the browser executes the operator."""
    found = file_browser()
    seen[f"{run}_browser"] = found is not None
    if found is None:
        finish(f"{run}: no file browser opened")
        return
    win, area, region = found
    with bpy.context.temp_override(window=win, area=area, region=region):
        seen[f"{run}_browser_steps"] = [
            list(bpy.ops.file.select_all(action="SELECT")),
            list(bpy.ops.file.execute()),
        ]
    statuses.clear()
    seen[f"{run}_counts"] = [len(state()["people"])]
    seen[f"{run}_modal"] = modal_operators()
    then({"full": watch_full, "part": watch_part, "one": watch_one}[run], 0.05)


def note_count(run):
    counts = seen[f"{run}_counts"]
    count = len(state()["people"])
    if count != counts[-1]:
        counts.append(count)
    return count


def waiting(run, seconds=120):
    """True while the run has had less than ``seconds``; past them, the test fails clearly."""
    started = started_at.setdefault(run, time.monotonic())
    if time.monotonic() - started < seconds:
        return True
    finish(f"{run}: no end after {seconds} s (people seen: {seen[f'{run}_counts']})")
    return False


started_at = {}
# The watchers look on every pass of the event loop (interval 0), so they see the scene between
# any two steps of the modal import, however fast a step is.


def watch_full():
    note_count("full")
    if IMPORT_MODAL in modal_operators():
        return 0.0 if waiting("full") else None
    seen["full_statuses"] = list(statuses)
    seen["after_full"] = state()
    then(lambda: open_browser(PART, "part"), 0.5)
    return None


def watch_part():
    count = note_count("part")
    if count < len(seen["after_full"]["people"]) + 2:
        return 0.0 if waiting("part") else None
    seen["people_at_escape"] = count
    seen["modal_at_escape"] = modal_operators()
    seen["second_import_allowed_meanwhile"] = bpy.ops.blendmimic3d.import_mixamo.poll()
    press_escape(window(), view3d()[0])
    then(after_escape, 1.0)
    return None


def after_escape():
    seen["part_statuses"] = list(statuses)
    seen["after_escape"] = state()
    seen["modal_after_escape"] = modal_operators()
    seen["import_allowed_after_escape"] = bpy.ops.blendmimic3d.import_mixamo.poll()
    then(lambda: open_browser(ONE, "one"), 0.5)


def watch_one():
    if note_count("one") == len(seen["after_escape"]["people"]):
        return 0.0 if waiting("one") else None
    seen["one_statuses"] = list(statuses)
    seen["after_one"] = state()
    seen["undos"] = []
    then(press_undo, 0.5)
    return None


def press_undo(steps=[5]):  # noqa: B006
    """One undo step per timer tick, as a user's Ctrl+Z (a simulated Ctrl+Z does not reach the
    window's keymap in Blender 4.3, so the operator it maps to is called over the 3D Viewport)."""
    if not steps[0]:
        finish()
        return
    steps[0] -= 1
    with context_override():
        if not bpy.ops.ed.undo.poll():
            finish(f"cannot undo with {steps[0] + 1} steps to go")
            return
        bpy.ops.ed.undo()
    then(record_undo, 0.5)


def record_undo():
    seen["undos"].append(state())
    press_undo()


then(build, 1.0)
