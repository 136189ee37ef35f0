"""Inside Blender: the scene that shows every section of the BlendMimic3D tab, and every panel
opened. Shared by the docs' screenshots (screenshot_in_blender.py) and the sidebar's windowed
test (tests/helpers/ui_sidebar.py), so that the pictures show what the test checked."""

import sys

import bpy
import numpy as np


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
