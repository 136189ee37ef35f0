"""Runs inside Blender (see screenshot.py; started with --enable-event-simulate): install the zip,
build the scene WHAT needs, open the sidebar and click its BlendMimic3D tab, or look through
Camera_0 for the overlay; write where to grab to a ready file. For ``panels`` it reads the tab's
pixels as drawn itself and writes them, in columns, to OUT.

    blender --python screenshot_in_blender.py -- ZIP READY WHAT [OUT]
"""

import json
import pathlib
import sys
import tempfile
import traceback

import bpy

zip_path, ready_path, what, *out = sys.argv[sys.argv.index("--") + 1 :]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import screenshot  # noqa: E402  (after the path is set)
import sidebar_scene  # noqa: E402

TAB = sidebar_scene.TAB


def install():
    bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True
    )


def extension_module():
    return next(name for name in sys.modules if name.startswith("bl_ext.")
                and name.endswith(".blendmimic3d"))  # fmt: skip


def build_scene(window, area):
    """What a user makes in the tab: two mannequins, four fitted cameras, an occluder."""
    region = next(r for r in area.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=window, area=area, region=region):
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        bpy.ops.blendmimic3d.add_mannequin(action="Walk")
        bpy.ops.blendmimic3d.add_mannequin(action="Wave")
        bpy.ops.blendmimic3d.layout_people(preset="SIDE_BY_SIDE", spacing=1.2)
        bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=True)
        bpy.ops.blendmimic3d.add_occluder(kind="TABLE", placement="BETWEEN")
        bpy.ops.view3d.view_all(center=True)


def look_through_camera_0(window, area):
    """Camera_0's view at its most occluded frame, the overlay and the strips on."""
    space = area.spaces.active
    space.show_region_ui = False
    space.overlay.show_overlays = True
    space.region_3d.view_perspective = "CAMERA"
    scene = bpy.context.scene
    for obj in scene.objects:  # no selection outlines in the picture
        obj.select_set(False)
    scene.camera = bpy.data.objects["Camera_0"]
    scene.bm3d_overlay.camera, scene.bm3d_overlay.show_strips = 0, True
    region = next(r for r in area.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.blendmimic3d.jump_to_worst_frame(camera=0)
        bpy.ops.view3d.view_center_camera()


def open_tab():
    window = bpy.context.window_manager.windows[0]
    area = max(
        (a for a in window.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height
    )
    module = extension_module()
    if what == "sidebar":
        build_scene(window, area)
    else:
        if what == "panels":
            sidebar_scene.open_every_panel(sys.modules[f"{module}.blender.ui"])
        folder = tempfile.mkdtemp(prefix="bm3d-shot-")
        sidebar_scene.build(window, area, module, folder, refine=what == "panels")
    if what == "overlay":
        look_through_camera_0(window, area)
        crop = [area.x, area.y, area.width, area.height]
        bpy.app.timers.register(lambda: report(window, crop, True), first_interval=3.0)
        return
    area.spaces.active.show_region_ui = True
    if what == "panels":
        sidebar_scene.show_tab(lambda: sidebar_scene.read_sidebar(save_columns, guard), guard)
        return
    sidebar = next(r for r in area.regions if r.type == "UI")
    crop = [sidebar.x, sidebar.y, sidebar.width, sidebar.height]
    sidebar_scene.show_tab(lambda: report(window, crop, True), guard)


def guard(step):
    """A timer step whose error ends the run with its traceback in the ready file."""

    def run():
        try:
            return step()
        except Exception:
            write_ready({"error": traceback.format_exc()})
            return None

    return run


def save_columns(pixels):
    """The tab (bottom row first, 0..1) cut into three columns, written to OUT."""
    rgb = (pixels[::-1, :, :3] * 255).round().astype(np.uint8)
    columns = screenshot.in_columns(rgb)
    rgba = np.ones((*columns.shape[:2], 4), np.float32)
    rgba[..., :3] = columns[::-1] / 255.0
    sidebar_scene.save_png(out[0], rgba)
    write_ready({"blender": bpy.app.version_string, "size": list(columns.shape[1::-1])})


def write_ready(info):
    with open(ready_path, "w") as handle:
        json.dump(info, handle)


def report(window, crop, chosen):
    info = {
        "window_height": window.height,
        "sidebar" if what != "overlay" else "view": crop,
        "tab_chosen": chosen,
        "blender": bpy.app.version_string,
    }
    write_ready(info)


bpy.context.preferences.view.show_splash = False  # read once this script has run: no splash
install()
bpy.app.timers.register(open_tab, first_interval=1.0)
