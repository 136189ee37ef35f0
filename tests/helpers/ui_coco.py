"""Runs inside a windowed Blender (see test_coco_ui.py): starts render_frames as the COCO panel's
button does (modal, with a progress bar), presses Esc half-way, then lets a short run finish and
draws the COCO panel, writing what it saw to a JSON file.

    blender --factory-startup --enable-event-simulate --python ui_coco.py -- REPO OUT DATASET
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
    layer = scene.view_layers[0]
    passes = [layer.use_pass_z, layer.use_pass_object_index]
    return [render.engine, render.filepath, render.resolution_percentage, camera, *passes]


RENDER = {
    "directory": DATASET,
    "engine": "CYCLES",
    "samples": 1,
    "scale": 10,
    "masks": True,
    "depth": True,
    "overwrite": True,
}


def build():
    seen["extension"] = next(conftest.addon.__wrapped__())
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 400  # long enough for Esc to land mid-render
    add_person(scene, 0, location=(2.0, 5.0, 0.0), walk=(1.0, 0.0))
    with context_override():
        bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
        seen["before"] = settings()
        seen["files_before"] = files()
        seen["invoke"] = list(bpy.ops.blendmimic3d.render_frames("INVOKE_DEFAULT", **RENDER))
    then(press_escape, 2.0)


def press_escape():
    seen["files_during"] = files()
    seen["settings_during"] = settings()
    seen["render_allowed_during"] = bpy.ops.blendmimic3d.render_frames.poll()
    window = bpy.context.window_manager.windows[0]
    window.event_simulate(type="ESC", value="PRESS")
    window.event_simulate(type="ESC", value="RELEASE")
    then(after_escape, 1.0)


def after_escape():
    seen["files_after_escape"] = files()
    seen["settings_after_escape"] = settings()
    seen["render_allowed_after_escape"] = bpy.ops.blendmimic3d.render_frames.poll()
    action = bpy.data.objects["StandIn_0"].animation_data.action
    action.use_frame_range = True
    action.frame_start, action.frame_end = 1, 3
    with context_override():
        seen["invoke_short"] = list(bpy.ops.blendmimic3d.render_frames("INVOKE_DEFAULT", **RENDER))
    then(wait_for_frames, 1.0)


def wait_for_frames(polls=[0]):  # noqa: B006  (a counter kept between timer calls)
    polls[0] += 1
    if not any(name.startswith(".passes.") for name in os.listdir(DATASET)) or polls[0] > 60:
        seen["files_after_run"] = files()
        seen["settings_after_run"] = settings()
        bpy.context.scene.bm3d_frames.depth = True  # the panel then shows the depth format
        bpy.types.VIEW3D_HT_header.append(draw_coco_panel)
        for area in bpy.context.window_manager.windows[0].screen.areas:
            area.tag_redraw()
        then(panel_drawn, 1.0)
        return None
    return 0.5


drawn = {"ok": 0, "errors": []}


def draw_coco_panel(self, context):
    """The COCO panel's own draw code, run in the 3D Viewport's header (always drawn)."""
    try:
        bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_coco").draw(self, context)
        drawn["ok"] += 1
    except Exception:
        drawn["errors"].append(traceback.format_exc())


def panel_drawn():
    bpy.types.VIEW3D_HT_header.remove(draw_coco_panel)
    panel = bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_coco")
    seen["panel_parent"] = panel.bl_parent_id
    seen["panel_draws"] = drawn["ok"]
    seen["panel_errors"] = drawn["errors"]
    finish()


then(build, 1.0)
