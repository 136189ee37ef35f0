"""Runs inside a windowed Blender (see test_refine_ui.py): Refine Predictions from the panel's
button runs modal, Esc half-way leaves no refined skeleton and the input as it was, then a full
run adds the refined skeleton.

    blender --factory-startup --enable-event-simulate --python ui_refine.py -- REPO OUT NPY
"""

import sys

import bpy

sys.path.insert(0, __file__.rpartition("/")[0])
from windowed import Harness, press_escape, view3d_override  # noqa: E402

harness = Harness()
seen, finish, then = harness.seen, harness.finish, harness.then
(predictions,) = harness.args
op = bpy.ops.blendmimic3d.refine_predictions


def skeletons(kind):
    return sorted(o.name for o in bpy.data.objects if o.get("bm3d_pred_kind") == kind)


def build():
    import conftest  # after Harness has put the tests on sys.path

    seen["extension"] = next(conftest.addon.__wrapped__())
    cls = sys.modules[seen["extension"] + ".blender.refine_ops"].BM3D_OT_refine_predictions

    # small steps, one per timer tick, so that Esc lands in the middle of the run
    cls.chunk_frames, cls.step_seconds = 32, 0.0
    with view3d_override():
        bpy.ops.blendmimic3d.import_predictions(filepath=predictions, joint_order="h36m")
        seen["input_before"] = list(bpy.data.objects[skeletons("input")[0]]["bm3d_pred_poses"])
        seen["invoke"] = list(op("INVOKE_DEFAULT"))
    then(escape, 0.3)


def escape():
    seen["refine_allowed_during"] = op.poll()
    seen["refined_during"] = skeletons("refined")
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    press_escape(window, area)
    then(after_escape, 1.0)


def after_escape():
    seen["refined_after_escape"] = skeletons("refined")
    seen["input_after_escape"] = list(bpy.data.objects[skeletons("input")[0]]["bm3d_pred_poses"])
    seen["refine_allowed_after_escape"] = op.poll()
    with view3d_override():
        seen["invoke_full"] = list(op("INVOKE_DEFAULT"))
    then(wait_for_the_run, 0.5)


polls = [0]


def wait_for_the_run():
    polls[0] += 1
    if skeletons("refined") or polls[0] > 120:
        seen["refined_after_run"] = skeletons("refined")
        finish()
        return None
    return 0.25


then(build, 1.0)
