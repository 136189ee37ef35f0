"""Runs inside a windowed Blender (see test_occlusion_ui.py): builds test_export's scene (two
skinned people, a crate, four cameras), looks through Camera_0, shows the occlusion overlay and
reads the drawn pixels at every joint's projected position; waits for the background budget;
moves the crate away and reads them again; hides the overlay and reads them once more. Writes
what it saw to OUT and the view as drawn to SHOTS/overlay.png.

    blender --factory-startup --enable-event-simulate --python ui_occlusion.py -- REPO OUT SHOTS
"""

import importlib
import sys
import traceback

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness  # noqa: E402

harness = Harness()
seen, finish, then = harness.seen, harness.finish, harness.then
(SHOTS,) = harness.args
sys.path[:0] = [f"{harness.repo}/tests/blender", harness.repo]

import conftest  # noqa: E402  (after the path is set)
import gpu  # noqa: E402
import numpy as np  # noqa: E402
from bpy_extras.view3d_utils import location_3d_to_region_2d  # noqa: E402

state = {}


def view():
    window = bpy.context.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "VIEW_3D"),
               key=lambda a: a.width * a.height)  # fmt: skip
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def build():
    module = next(conftest.addon.__wrapped__())
    seen["extension"] = module
    state["live"] = importlib.import_module(f"{module}.blender.occlusion_live").LIVE
    from test_export import add_cameras, add_occluder, add_person

    window, area, region = view()
    with bpy.context.temp_override(window=window, area=area, region=region):
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        for i in range(2):
            add_person(i, (1.2 * i, 0.3 * i, 0.0))
        add_cameras()
        add_occluder()
    scene = bpy.context.scene
    scene.frame_set(1)
    space = area.spaces.active
    space.region_3d.view_perspective = "CAMERA"
    space.overlay.show_overlays = True
    settings = scene.bm3d_overlay
    settings.camera = 0
    settings.show_strips = False  # the strips would cover the joints near the bottom
    settings.show = True  # the toggle: the handlers and the timer do the rest
    state["handler"] = bpy.types.SpaceView3D.draw_handler_add(read_pixels, (), "WINDOW",
                                                               "POST_PIXEL")  # fmt: skip
    then(shown, 3.0)


def expected_positions():
    """Each joint's pixel in the view's region, and its code from Camera_0."""
    _, _, region = view()
    rv3d = region.data
    live = state["live"]
    points = [location_3d_to_region_2d(region, rv3d, p) for p in live.joints.reshape(-1, 3)]
    return np.array([(p.x, p.y) if p else (np.nan, np.nan) for p in points]), live.types[0].ravel()


def read_pixels():
    """POST_PIXEL, after the overlay: the colour at each joint's projected pixel."""
    if "want" not in state:
        return
    positions = state.pop("want")
    framebuffer = gpu.state.active_framebuffer_get()
    colours = []
    for x, y in positions:
        if not np.isfinite([x, y]).all():
            colours.append(None)
            continue
        pixel = framebuffer.read_color(int(x), int(y), 1, 1, 4, 0, "UBYTE")
        pixel.dimensions = 4
        colours.append(list(pixel)[:3])
    state["read"] = colours
    if "dump" in state:
        width, height = gpu.state.viewport_get()[2:]
        whole = framebuffer.read_color(0, 0, width, height, 4, 0, "UBYTE")
        whole.dimensions = width * height * 4
        save_png(state.pop("dump"), np.array(whole.to_list(), np.float32), width, height)


def save_png(path, rgba, width, height):
    """The view as drawn (bottom row first, 0..255) as an opaque PNG: what docs/ shows."""
    pixels = rgba.reshape(height, width, 4) / 255.0
    pixels[..., 3] = 1.0
    image = bpy.data.images.new("bm3d_view", width, height)
    image.pixels.foreach_set(pixels.ravel())
    image.filepath_raw, image.file_format = path, "PNG"
    image.save()
    bpy.data.images.remove(image)


def sample(name, after):
    """Ask the next redraw for the pixels at the joints, then continue with ``after``."""
    positions, codes = expected_positions()
    seen[name] = {"frame": state["live"].frame, "positions": positions.tolist(),
                  "codes": codes.tolist()}  # fmt: skip
    read_at(positions, name, after)


def read_at(positions, name, after):
    """The pixels at ``positions`` (region pixels) as the next redraw leaves them, into
    ``seen[name]["pixels"]``; then ``after``."""
    state["want"] = positions
    seen.setdefault(name, {})
    view()[1].tag_redraw()

    def collect():
        if "read" not in state:
            return 0.2
        seen[name]["pixels"] = state.pop("read")
        after()
        return None

    then(collect, 0.3)


def strips_shown(on, name, after):
    """Camera 0's strip (bottom left, drawn when the budget exists) shown or not: the pixels
    along its bottom row."""
    bpy.context.scene.bm3d_overlay.show_strips = on
    if on:
        state["dump"] = f"{SHOTS}/overlay.png"  # the view with the strips, for docs/
    read_at(np.array([(x, 6.5) for x in range(30, 220, 8)]), name, after)


def wait_for_budget(after, older=None, polls=[0]):  # noqa: B006  (a counter between calls)
    """Poll until the background budget is complete (and is not ``older``), then ``after``."""
    live = state["live"]
    polls[0] += 1
    if live.budget and live.budget is not older and live.job is None or polls[0] > 300:
        after()
        return None
    return 0.2


def shown():
    sample("shown", lambda: then(lambda: wait_for_budget(budget_before_move), 0.1))


def budget_before_move():
    live = state["live"]
    seen["budget_cameras"] = sorted(live.budget)
    seen["object_share_before"] = float(live.budget[0].shares[3])
    seen["strip_camera_0"] = live.budget[0].strip.tolist()

    def panel_then_move():
        draw_panel()
        then(moved, 1.0)

    strips_shown(True, "strip_on", lambda: strips_shown(False, "strip_off", panel_then_move))


drawn = {"ok": 0, "errors": []}


PANELS = ("BM3D_PT_occlusion", "BM3D_PT_export", "BM3D_PT_occluders")


def draw_panel_in_header(self, context):
    """The panels' own draw code (Occlusion; Export with its checkbox lists, one camera
    unticked; Occluders with default sizes), run in the 3D Viewport's header (always drawn)."""
    for name in PANELS:
        try:
            bpy.types.Panel.bl_rna_get_subclass_py(name).draw(self, context)
            drawn["ok"] += 1
        except Exception:
            drawn["errors"].append(traceback.format_exc())


def draw_panel():
    """Draw the panel with the budget and targets (one met, one not) for a moment."""
    bpy.context.scene.bm3d_overlay.targets = "0: object 5-20; 1: hidden 90-100"
    bpy.context.scene.bm3d_export.cameras = "0,1,3"
    bpy.types.VIEW3D_HT_header.append(draw_panel_in_header)
    polls = [0]

    def remove():
        polls[0] += 1
        if not (drawn["ok"] or drawn["errors"]) and polls[0] < 50:
            for area in bpy.context.window_manager.windows[0].screen.areas:
                area.tag_redraw()
            return 0.2
        bpy.types.VIEW3D_HT_header.remove(draw_panel_in_header)
        seen["panel_draws"], seen["panel_errors"] = drawn["ok"], drawn["errors"]
        return None

    bpy.app.timers.register(harness.guarded(remove), first_interval=0.2)


def moved():
    state["older"] = state["live"].budget
    bpy.context.scene.objects["Crate"].location.z -= 5.0  # as a user's drag ends
    then(lambda: sample("after_move", budget_after_move), 2.0)


def budget_after_move():
    then(lambda: wait_for_budget(hidden, state["older"]), 0.1)


def hidden():
    live = state["live"]
    seen["budget_after_move"] = sorted(live.budget)
    seen["object_share_after"] = float(live.budget[0].shares[3])
    bpy.context.scene.bm3d_overlay.show = False
    view()[1].tag_redraw()
    then(lambda: sample("after_hide", done), 0.5)


def done():
    finish()


then(build, 1.0)
