"""Inside Blender: the BlendMimic3D tab with every panel open, a scene that shows every section,
the tab chosen by clicks and its pixels as drawn. Shared by the docs' screenshots
(screenshot_in_blender.py) and the sidebar's windowed test (tests/helpers/ui_sidebar.py), so
that the pictures show what the test checked."""

import sys

import bpy
import gpu
import numpy as np

TAB = "BlendMimic3D"


def view3d():
    """(window, the largest 3D Viewport area)."""
    window = bpy.context.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "VIEW_3D"),
               key=lambda a: a.width * a.height)  # fmt: skip
    return window, area


def sidebar():
    return next(r for r in view3d()[1].regions if r.type == "UI")


def show_tab(after, guard, tries=40):
    """Clicks down the sidebar's tab strip, top down, as a user looks for the tab, until it
    shows; then ``after``. Blender 4.3 takes an assignment to ``active_panel_category`` without
    a word and shows another tab. Needs ``--enable-event-simulate``; ``guard`` wraps a timer
    step (reports its errors)."""
    count = [0]

    def step():
        window, area = view3d()
        region = sidebar()
        if region.active_panel_category == TAB:
            after()
            return None
        count[0] += 1
        if count[0] > tries:
            raise RuntimeError(f"the {TAB} tab never showed ({region.active_panel_category})")
        x, y = region.x + region.width - 8, region.y + region.height - 10 * count[0]
        window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
        window.event_simulate(type="LEFTMOUSE", value="PRESS", x=x, y=y)
        window.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x, y=y)
        area.tag_redraw()
        return 0.3

    bpy.app.timers.register(guard(step), first_interval=0.3)


def read_sidebar(after, guard):
    """The sidebar's pixels as drawn ((H, W, 4) floats, bottom row first) once two redraws
    give the same (panels that opened or grew have settled), to ``after``."""
    reads = []

    def read():  # POST_PIXEL of the sidebar, after its panels
        x, y, width, height = gpu.state.viewport_get()
        buffer = gpu.state.active_framebuffer_get().read_color(x, y, width, height, 4, 0, "UBYTE")
        buffer.dimensions = width * height * 4
        reads.append(np.asarray(buffer, np.float32).reshape(height, width, 4) / 255.0)

    handler = bpy.types.SpaceView3D.draw_handler_add(read, (), "UI", "POST_PIXEL")

    def settled():
        if len(reads) < 2 or not np.array_equal(reads[-1], reads[-2]):
            del reads[:-1]
            view3d()[1].tag_redraw()
            return 0.5
        bpy.types.SpaceView3D.draw_handler_remove(handler, "UI")
        after(reads[-1])
        return None

    view3d()[1].tag_redraw()
    bpy.app.timers.register(guard(settled), first_interval=0.5)


def save_png(path, rgba):
    """(H, W, 4) floats, bottom row first, as an opaque PNG (Blender's own image saving)."""
    height, width = rgba.shape[:2]
    image = bpy.data.images.new("bm3d_shot", width, height)
    rgba = rgba.copy()
    rgba[..., 3] = 1.0
    image.pixels.foreach_set(rgba.ravel())
    image.filepath_raw, image.file_format = path, "PNG"
    image.save()
    bpy.data.images.remove(image)


def open_every_panel(ui):
    """Panels closed by default open like the others (as a user clicking each header gets):
    registered again without DEFAULT_CLOSED, before the sidebar first shows them."""
    panels = [c for c in ui.CLASSES if issubclass(c, bpy.types.Panel)]
    for cls in reversed(panels):
        bpy.utils.unregister_class(cls)
    for cls in panels:
        cls.bl_options = set(getattr(cls, "bl_options", set())) - {"DEFAULT_CLOSED"}
        bpy.utils.register_class(cls)


def build(window, area, module, folder, refine=True):
    """Two mannequins, four fitted cameras, a table between camera 0 and the primary person, a
    capture room, the occlusion budget with two targets and the overlay on, predictions of the
    primary person's walk (written to ``folder``) refined and compared with the scene, the QA
    legend and depth options shown. ``module``: the extension's module name; ``refine``: False
    leaves the predictions out (their skeletons would stand in the overlay's picture)."""
    region = next(r for r in area.regions if r.type == "WINDOW")
    scene = bpy.context.scene
    ops = bpy.ops.blendmimic3d
    with bpy.context.temp_override(window=window, area=area, region=region):
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        ops.add_mannequin(action="Walk")
        ops.add_mannequin(action="Wave")
        ops.layout_people(preset="SIDE_BY_SIDE", spacing=1.2)
        ops.rig_cameras(preset="BLENDMIMIC3D", fit=True)
        ops.add_occluder(kind="TABLE", placement="BETWEEN")
        ops.add_environment(kind="CAPTURE_ROOM")
        scene.bm3d_overlay.targets = "0: object 0-10; 1: hidden 20-40"
        scene.bm3d_overlay.live_budget = False  # no budget restarted while pictures are taken
        ops.compute_occlusion_budget(background=False)
        scene.bm3d_overlay.show = True
        if refine:
            _refine_against_the_scene(ops, module, folder)
    bpy.context.view_layer.objects.active = bpy.data.objects["Mannequin"]  # its action library
    scene.bm3d_people.active_index = 0
    scene.bm3d_videos.qa_video = True
    scene.bm3d_frames.depth = True


def _refine_against_the_scene(ops, module, folder):
    """Predictions: the primary person's take as camera 0 sees it, with noise; refined and
    compared with the scene (the Pose Refiner's results, per joint, and the plot)."""
    refine_job = sys.modules[f"{module}.blender.refine_job"]
    scene = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    start, end = bpy.data.actions["Walk"].frame_range
    truth, _ = refine_job.scene_ground_truth(scene, depsgraph, 0, int(end) - int(start) + 1)
    noisy = truth + np.random.default_rng(0).normal(0, 0.02, truth.shape)
    path = f"{folder}/Walk_predictions.npy"
    np.save(path, noisy.astype(np.float32))
    ops.import_predictions(filepath=path, joint_order="blendmimic3d")
    settings = scene.bm3d_refine
    settings.ground_truth, settings.gt_camera = "SCENE", 0
    ops.refine_predictions()
    settings.show_per_joint = True
