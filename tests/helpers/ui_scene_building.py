"""Runs inside a windowed Blender (see test_scene_building_ui.py): builds a scene through the
operators as the panel calls them, cancels a modal fit with a simulated Esc, lets another finish,
draws the feature panels, then undoes every step, writing what it saw to a JSON file.

    blender --factory-startup --enable-event-simulate --python ui_scene_building.py -- REPO OUT
"""

import sys
import traceback

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness  # noqa: E402

harness = Harness()
seen, finish, guarded, then = harness.seen, harness.finish, harness.guarded, harness.then

import conftest  # noqa: E402  (after the path is set)
from stand_in_people import add_person  # noqa: E402

steps = []


def context_override():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, area=area, region=region)


def state():
    scene = bpy.context.scene
    cams = sorted(
        (o for o in scene.objects if o.get("bm3d_role") == "camera"), key=lambda o: o.name
    )
    return {
        "cameras": [c.name for c in cams],
        "lenses": [round(c.data.lens, 6) for c in cams],
        "locations": [[round(v, 6) for v in c.matrix_world.translation] for c in cams],
        "occluders": sorted(
            o["bm3d_kind"] for o in scene.objects if o.get("bm3d_role") == "occluder"
        ),
        "frame": scene.frame_current,
    }


def build():
    seen["extension"] = next(conftest.addon.__wrapped__())
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 4000  # long enough for Esc to land mid-fit
    add_person(scene, 0, location=(2.0, 5.0, 0.0), walk=(1.5, 0.5))
    add_person(scene, 1, location=(3.2, 5.0, 0.0), walk=(0.5, 1.0))
    bpy.ops.ed.undo_push(message="people")
    calls = (
        ("rig", "rig_cameras", {"preset": "BLENDMIMIC3D", "fit": False}),
        ("occluder", "add_occluder", {"kind": "TABLE"}),
        ("scenario", "apply_scenario", {"scenario": "OBJECT_OCCLUSION"}),
    )
    with context_override():
        seen["empty"] = state()
        for name, op_name, kwargs in calls:
            op = getattr(bpy.ops.blendmimic3d, op_name)
            seen[name] = list(op(**kwargs))
            # A script's operator call is nested, so Blender leaves the undo push to the caller;
            # a panel button pushes one step per UNDO operator, as done here.
            bpy.ops.ed.undo_push(message=op_name)
            seen[f"after_{name}"] = state()
        seen["fit_invoke"] = list(bpy.ops.blendmimic3d.fit_cameras("INVOKE_DEFAULT"))
    then(press_escape, 0.3)


def press_escape():
    window = bpy.context.window_manager.windows[0]
    seen["frame_during_fit"] = bpy.context.scene.frame_current
    window.event_simulate(type="ESC", value="PRESS")
    window.event_simulate(type="ESC", value="RELEASE")
    then(after_escape, 1.0)


def after_escape():
    seen["after_escape"] = state()
    with context_override():
        seen["fit_again"] = list(bpy.ops.blendmimic3d.fit_cameras("INVOKE_DEFAULT"))
    then(wait_for_fit, 1.0)


def wait_for_fit(polls=[0]):  # noqa: B006  (a counter kept between timer calls)
    current = state()
    polls[0] += 1
    if (
        current["lenses"] == seen["after_scenario"]["lenses"]
        and current["locations"] == seen["after_scenario"]["locations"]
        and polls[0] < 120
    ):
        return 1.0  # still sampling: poll again in a second
    seen["after_fit"] = current
    bpy.types.VIEW3D_HT_header.append(draw_feature_panels)
    then(draw_panels, 0.5)
    return None


PANELS = ("BM3D_PT_cameras", "BM3D_PT_occluders")
# Each variant shows other rows: the ring's settings, placement around a person, out of frame.
VARIANTS = (
    {"preset": "RING", "placement": "AROUND", "scenario": "OUT_OF_FRAME"},
    {"preset": "BLENDMIMIC3D", "placement": "BETWEEN", "scenario": "CAPTURE_ROOM"},
)
drawn = {"ok": [], "errors": []}


def draw_feature_panels(self, context):
    """Runs the feature panels' own draw code in the 3D Viewport's header, which is always
    drawn (the sidebar tab cannot be chosen by a script before Blender 4.4)."""
    scene = context.scene
    variant = f"{scene.bm3d_cameras.preset}/{scene.bm3d_occluders.placement}"
    for name in PANELS:
        try:
            bpy.types.Panel.bl_rna_get_subclass_py(name).draw(self, context)
            drawn["ok"].append(f"{name}:{variant}")
        except Exception:
            drawn["errors"].append(traceback.format_exc())


def draw_panels(variants=list(VARIANTS)):  # noqa: B006
    scene = bpy.context.scene
    if variants:
        variant = variants.pop(0)
        scene.bm3d_cameras.preset = variant["preset"]
        scene.bm3d_occluders.placement = variant["placement"]
        scene.bm3d_occluders.scenario = variant["scenario"]
        for area in bpy.context.window_manager.windows[0].screen.areas:
            area.tag_redraw()
        return 1.0  # let the window redraw with this variant
    bpy.types.VIEW3D_HT_header.remove(draw_feature_panels)
    seen["panels"] = sorted(set(drawn["ok"]))
    seen["panel_errors"] = drawn["errors"]
    then(undo_all, 0.5)
    return None


def undo_all(names=["undo_fit", "undo_scenario", "undo_occluder", "undo_rig"]):  # noqa: B006
    with context_override():
        if not bpy.ops.ed.undo.poll():
            finish(f"cannot undo at {names[0]}")
            return None
        bpy.ops.ed.undo()
    seen[names.pop(0)] = state()
    if names:
        return 0.5  # one undo per timer tick, as a user's Ctrl+Z would be
    then(scenario_from_the_panel, 0.5)
    return None


def scenario_from_the_panel():
    """A scenario on a scene without cameras, invoked as the panel's button does: it rigs the
    cameras at once and leaves their fit to the modal fit_cameras (progress, Esc)."""
    with context_override():
        seen["scenario_invoke"] = list(
            bpy.ops.blendmimic3d.apply_scenario("INVOKE_DEFAULT", scenario="RETAIL_AISLE")
        )
    seen["after_scenario_invoke"] = state()
    then(wait_for_scenario_fit, 1.0)


def wait_for_scenario_fit(polls=[0]):  # noqa: B006
    current = state()
    polls[0] += 1
    if current["locations"] == seen["after_scenario_invoke"]["locations"] and polls[0] < 120:
        return 1.0
    seen["after_scenario_fit"] = current
    finish()
    return None


then(build, 1.0)
