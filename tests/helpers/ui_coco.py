"""Runs inside a windowed Blender (see test_coco_ui.py): render_frames from the COCO panel's
button, Esc half-way, a short run, the COCO panel drawn (ui_modal_render's scenario).

    blender --factory-startup --enable-event-simulate --python ui_coco.py -- REPO OUT DATASET
"""

import sys

sys.path.insert(0, __file__.rpartition("/")[0])
import ui_modal_render  # noqa: E402


def settings(folder):
    return {"directory": folder, "preset": "REALISTIC", "samples": 1, "scale": 10, "masks": True,
            "depth": True, "overwrite": True}  # fmt: skip


def show_depth_format(scene):
    scene.bm3d_frames.depth = True  # the panel then shows the depth format too


ui_modal_render.run("render_frames", settings, ".passes.", "BM3D_PT_coco", show_depth_format)
