"""Runs inside a windowed Blender (see test_sidebar_ui.py): opens the sidebar's BlendMimic3D tab
with every panel and sub-panel expanded at the sidebar's default width, in several scene states
(empty; people, occluders, cameras, budget, refined predictions; the other choices of each
setting), grabs the window and looks for truncated text (Blender's ellipsis) in the sidebar;
reads the text every panel draws in the empty scene. Writes what it saw to OUT, the sidebar of
each state to SHOTS/sidebar_<state>.png.

    blender --factory-startup --enable-event-simulate --python ui_sidebar.py -- REPO OUT SHOTS
"""

import sys
import traceback

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness  # noqa: E402

harness = Harness()
seen, finish, then = harness.seen, harness.finish, harness.then
(SHOTS,) = harness.args
sys.path[:0] = [f"{harness.repo}/tests/blender", harness.repo, f"{harness.repo}/tools"]

import conftest  # noqa: E402  (after the path is set)
import ellipsis  # noqa: E402
import numpy as np  # noqa: E402
import sidebar_scene  # noqa: E402

state = {}
areas, sidebar = sidebar_scene.view3d, sidebar_scene.sidebar


def start():
    module = next(conftest.addon.__wrapped__())
    seen["extension"] = module
    ui = sys.modules[f"{module}.blender.ui"]
    state["ui"] = ui
    sidebar_scene.open_every_panel(ui)
    window, area = areas()
    area.spaces.active.show_region_ui = True
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    area.tag_redraw()
    empty = lambda: shoot("empty", lambda: read_panels("empty", build))  # noqa: E731
    sidebar_scene.show_tab(lambda: then(empty, 1.0), harness.guarded)


def shoot(name, after):
    """The sidebar as drawn, kept as SHOTS/sidebar_<name>.png, and the ellipses found in it in
    ``seen[name]``; then ``after``."""

    def found(pixels):
        sidebar_scene.save_png(f"{SHOTS}/sidebar_{name}.png", pixels)
        top_down = pixels[::-1] * 255.0
        seen[name] = {
            "size": [pixels.shape[1], pixels.shape[0]],
            "ellipses": ellipsis.find_ellipses(top_down, ui_scale()),
            "blank_rows_at_bottom": blank_rows_at_bottom(top_down),
        }
        after()

    sidebar_scene.read_sidebar(found, harness.guarded)


def ui_scale():
    return bpy.context.preferences.system.ui_scale


def blank_rows_at_bottom(top_down):
    """Rows under the last panel (all one colour): some, or the sidebar was cut off."""
    width = top_down.shape[1] - int(30 * ui_scale())  # without the tab strip
    rows = top_down[:, :width, :3]
    uniform = (rows.max(axis=1) - rows.min(axis=1)).max(axis=1) < 2
    return int(np.argmin(uniform[::-1])) if not uniform.all() else len(uniform)


class Recording:
    """A layout that draws as the one it wraps and keeps the text of every label drawn."""

    def __init__(self, layout, texts):
        object.__setattr__(self, "_layout", layout)
        object.__setattr__(self, "_texts", texts)

    def __getattr__(self, name):
        attr = getattr(self._layout, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if name == "label":
                self._texts.append(kwargs.get("text", args[0] if args else ""))
            result = attr(*args, **kwargs)
            return (
                Recording(result, self._texts) if isinstance(result, bpy.types.UILayout) else result
            )

        return call

    def __setattr__(self, name, value):
        setattr(self._layout, name, value)


def read_panels(name, after):
    """Each panel's own draw code, run in the viewport's header (always drawn) through a
    recording layout: the lines every panel shows, and any error, in ``seen[name]``."""
    from types import SimpleNamespace

    ui = state["ui"]
    panels = [c for c in ui.CLASSES if issubclass(c, bpy.types.Panel)]
    texts, errors = {}, []

    def draw(header, context):
        for cls in panels:
            if cls.bl_idname in texts:
                continue
            texts[cls.bl_idname] = []
            try:
                cls.draw(SimpleNamespace(layout=Recording(header.layout, texts[cls.bl_idname])),
                         context)  # fmt: skip
            except Exception:
                errors.append(traceback.format_exc())

    bpy.types.VIEW3D_HT_header.append(draw)
    areas()[1].tag_redraw()

    def drawn():
        if not texts:
            areas()[1].tag_redraw()
            return 0.2
        bpy.types.VIEW3D_HT_header.remove(draw)
        seen[name].update(texts=texts, errors=errors)
        after()
        return None

    then(drawn, 0.5)


def build():
    """Every section of every panel shown (tools/sidebar_scene.py, as in docs/panels.png)."""
    window, area = areas()
    sidebar_scene.build(window, area, seen["extension"], SHOTS)
    then(lambda: shoot("full", lambda: read_panels("full", other_choices)), 2.0)


def other_choices():
    """The other branch of every choice that changes what a panel shows."""
    scene = bpy.context.scene
    scene.bm3d_people.preset = "RANDOM"
    scene.bm3d_occluders.placement = "AROUND"
    scene.bm3d_occluders.scenario = "OUT_OF_FRAME"
    scene.bm3d_occluders.width = 1.5
    scene.bm3d_cameras.preset = "RING"
    scene.bm3d_environment.lighting = next(
        item.identifier
        for item in scene.bm3d_environment.bl_rna.properties["lighting"].enum_items
        if item.identifier != "AUTO"
    )
    scene.bm3d_refine.ground_truth = "DATASET"
    scene.bm3d_videos.preset = "REALISTIC"
    scene.bm3d_overlay.targets = "0: objekt 0-10"  # the error line
    then(lambda: shoot("other", lambda: read_panels("other", probe)), 1.0)


class Probe(bpy.types.Panel):
    """A label too long for the sidebar, in the tab: the search must find its ellipsis."""

    bl_idname = "BM3D_PT_truncation_probe"
    bl_label = "Probe"
    bl_space_type, bl_region_type, bl_category = "VIEW_3D", "UI", sidebar_scene.TAB
    bl_order = 1000

    def draw(self, context):
        self.layout.label(text="A label that is much too long for the sidebar's default width")


def probe():
    bpy.utils.register_class(Probe)
    then(lambda: shoot("probe", finish), 1.0)


then(start, 1.0)
