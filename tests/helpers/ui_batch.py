"""Runs inside a windowed Blender (see test_batch_ui.py): previews a recipe's subject into a new
scene the window then shows, starts Generate Locally as the panel's button does (modal, with a
progress bar), presses Esc while the child exports, then lets a run finish and draws the Batch
panel, writing what it saw to a JSON file.

    blender --factory-startup --enable-event-simulate --python ui_batch.py -- REPO OUT RECIPE DIR
"""

import os
import sys

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness, files_under, press_escape, view3d_override  # noqa: E402

harness = Harness()
seen, finish, guarded, then = harness.seen, harness.finish, harness.guarded, harness.then
RECIPE, OUT = harness.args

import conftest  # noqa: E402  (after the path is set)


def files():
    return files_under(OUT)


def operator_class():
    return bpy.types.Operator.bl_rna_get_subclass_py("BLENDMIMIC3D_OT_batch_generate")


def build():
    seen["extension"] = next(conftest.addon.__wrapped__())
    seen["scene_before"] = bpy.context.window.scene.name if bpy.context.window else None
    with view3d_override():
        seen["preview"] = list(bpy.ops.blendmimic3d.batch_preview(recipe=RECIPE, subject_index=1))
        seen["window_scene"] = bpy.context.window.scene.name
        seen["invoke"] = list(
            bpy.ops.blendmimic3d.batch_generate(
                "INVOKE_DEFAULT", recipe=RECIPE, directory=OUT, subjects="S1"
            )
        )
    then(wait_for_export, 0.5)


def wait_for_export(polls=[0]):  # noqa: B006  (a counter kept between timer calls)
    polls[0] += 1
    staging = os.path.join(OUT, ".work")
    if (os.path.isdir(staging) and os.listdir(staging)) or polls[0] > 600:
        seen["files_during"] = files()
        seen["allowed_during"] = bpy.ops.blendmimic3d.batch_generate.poll()
        window = bpy.context.window_manager.windows[0]
        area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
        press_escape(window, area)
        then(after_escape, 2.0)
        return None
    return 0.1


def after_escape():
    seen["files_after_escape"] = [f for f in files() if not f.startswith(".work")]
    seen["allowed_after_escape"] = bpy.ops.blendmimic3d.batch_generate.poll()
    with view3d_override():
        seen["invoke_again"] = list(
            bpy.ops.blendmimic3d.batch_generate(
                "INVOKE_DEFAULT", recipe=RECIPE, directory=OUT, subjects="S1"
            )
        )
    then(wait_for_run, 1.0)


def wait_for_run(polls=[0]):  # noqa: B006
    polls[0] += 1
    if bpy.ops.blendmimic3d.batch_generate.poll() or polls[0] > 300:
        seen["files_after_run"] = files()
        harness.draw_panel_then_finish("BM3D_PT_batch")
        return None
    return 0.5


then(build, 1.0)
