"""Runs inside a windowed Blender (see test_videos_ui.py): starts render_videos as the panel's
button does (modal, with a progress bar), presses Esc half-way, then lets a short run finish and
draws the Videos panel, writing what it saw to a JSON file.

    blender --factory-startup --enable-event-simulate --python ui_videos.py -- REPO OUT DATASET
"""

import os
import sys
import traceback

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness  # noqa: E402

harness = Harness()
seen, finish, guarded, then = harness.seen, harness.finish, harness.guarded, harness.then
(DATASET,) = harness.args

import conftest  # noqa: E402  (after the path is set)
from stand_in_people import add_person  # noqa: E402


def context_override():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    return bpy.context.temp_override(window=window, area=area)


def files():
    """Every file and folder under the dataset folder, hidden staging folders included."""
    found = []
    for root, dirs, names in os.walk(DATASET):
        found += [os.path.relpath(os.path.join(root, n), DATASET) for n in dirs + names]
    return sorted(found)


def settings():
    scene = bpy.context.scene
    render = scene.render
    camera = scene.camera.name if scene.camera else None
    return [render.engine, render.filepath, render.resolution_percentage, camera]


def build():
    seen["extension"] = next(conftest.addon.__wrapped__())
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 400  # long enough for Esc to land mid-render
    add_person(scene, 0, location=(2.0, 5.0, 0.0), walk=(1.0, 0.0))
    with context_override():
        bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
        # The stand-in has no body: a room gives every camera something to see (a video of one
        # colour is an error).
        bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM")
        seen["before"] = settings()
        seen["files_before"] = files()
        seen["invoke"] = list(
            bpy.ops.blendmimic3d.render_videos(
                "INVOKE_DEFAULT", directory=DATASET, scale=10, overwrite=True
            )
        )
    then(press_escape, 2.0)


def press_escape():
    seen["files_during"] = files()
    seen["settings_during"] = settings()
    seen["render_allowed_during"] = bpy.ops.blendmimic3d.render_videos.poll()
    window = bpy.context.window_manager.windows[0]
    window.event_simulate(type="ESC", value="PRESS")
    window.event_simulate(type="ESC", value="RELEASE")
    then(after_escape, 1.0)


def after_escape():
    seen["files_after_escape"] = files()
    seen["settings_after_escape"] = settings()
    seen["render_allowed_after_escape"] = bpy.ops.blendmimic3d.render_videos.poll()
    action = bpy.data.objects["StandIn_0"].animation_data.action
    action.use_frame_range = True
    action.frame_start, action.frame_end = 1, 3
    with context_override():
        seen["invoke_short"] = list(
            bpy.ops.blendmimic3d.render_videos(
                "INVOKE_DEFAULT", directory=DATASET, scale=10, overwrite=True
            )
        )
    then(wait_for_videos, 1.0)


def wait_for_videos(polls=[0]):  # noqa: B006  (a counter kept between timer calls)
    polls[0] += 1
    if not any(name.startswith(".videos.") for name in os.listdir(DATASET)) or polls[0] > 60:
        seen["files_after_run"] = files()
        seen["settings_after_run"] = settings()
        bpy.context.scene.bm3d_videos.qa_video = True  # the panel then shows the QA legend
        bpy.types.VIEW3D_HT_header.append(draw_videos_panel)
        for area in bpy.context.window_manager.windows[0].screen.areas:
            area.tag_redraw()
        then(panel_drawn, 1.0)
        return None
    return 0.5


drawn = {"ok": 0, "errors": []}


def draw_videos_panel(self, context):
    """The Videos panel's own draw code, run in the 3D Viewport's header (always drawn), and the
    panels of the looks: Environment & Lighting, Appearance."""
    try:
        for panel in ("BM3D_PT_videos", "BM3D_PT_environment", "BM3D_PT_appearance"):
            bpy.types.Panel.bl_rna_get_subclass_py(panel).draw(self, context)
        drawn["ok"] += 1
    except Exception:
        drawn["errors"].append(traceback.format_exc())


def panel_drawn():
    bpy.types.VIEW3D_HT_header.remove(draw_videos_panel)
    seen["panel_draws"] = drawn["ok"]
    seen["panel_errors"] = drawn["errors"]
    finish()


then(build, 1.0)
