"""Runs inside a windowed Blender (see test_videos_ui.py): render_videos from the Videos panel's
button, Esc half-way, a short run, the Videos panel drawn (ui_modal_render's scenario).

    blender --factory-startup --enable-event-simulate --python ui_videos.py -- REPO OUT DATASET
"""

import sys

sys.path.insert(0, __file__.rpartition("/")[0])
import ui_modal_render  # noqa: E402


def settings(folder):
    return {"directory": folder, "scale": 10, "overwrite": True}


def show_qa_legend(scene):
    scene.bm3d_videos.qa_video = True  # the panel then shows the QA legend


# The looks' panels (Environment & Lighting, Appearance) are drawn with the Videos panel.
ui_modal_render.run("render_videos", settings, ".videos.", "BM3D_PT_videos", show_qa_legend,
                    extra_panels=("BM3D_PT_environment", "BM3D_PT_appearance"))  # fmt: skip
