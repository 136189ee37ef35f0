"""Runs inside Blender (see screenshot.py): install the zip, open the sidebar on the BlendMimic3D
tab where this Blender lets a script choose it, and write where the sidebar is to a ready file."""

import json
import sys

import bpy

zip_path, ready_path = sys.argv[sys.argv.index("--") + 1 :][:2]
TAB = "BlendMimic3D"


def install():
    bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True
    )


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


def open_tab():
    window = bpy.context.window_manager.windows[0]
    area = max(
        (a for a in window.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height
    )
    build_scene(window, area)
    area.spaces.active.show_region_ui = True
    sidebar = next(r for r in area.regions if r.type == "UI")
    chosen = False
    try:  # writable from Blender 4.4; older ones get a Ctrl+Wheel from screenshot.py
        sidebar.active_panel_category = TAB
        chosen = True
    except (AttributeError, TypeError):
        pass
    area.tag_redraw()
    bpy.app.timers.register(lambda: report(window, sidebar, chosen), first_interval=1.0)


def report(window, sidebar, chosen):
    info = {
        "window_height": window.height,
        "sidebar": [sidebar.x, sidebar.y, sidebar.width, sidebar.height],
        "tab_chosen": chosen,
        "blender": bpy.app.version_string,
    }
    with open(ready_path, "w") as handle:
        json.dump(info, handle)


install()
bpy.app.timers.register(open_tab, first_interval=1.0)
