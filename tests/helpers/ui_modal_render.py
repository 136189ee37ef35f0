"""Inside a windowed Blender: one scenario for the modal render operators (videos, frames).

It starts the operator as the panel's button does (modal, with a progress bar), presses Esc
half-way, then lets a short run finish and draws the operator's panel, recording what it saw:
``invoke``, ``files_*`` and ``settings_*`` before, during, after Esc and after the short run,
``render_allowed_*`` (poll), ``panel_draws``/``panel_errors``/``panel_parent``.
"""

import os

import bpy
from windowed import Harness, files_under, press_escape, view3d_override


def run(operator, kwargs_of, staging_prefix, panel, prepare_panel, extra_panels=()):
    """``operator``: the name under bpy.ops.blendmimic3d; ``kwargs_of(folder)`` its settings for
    the dataset folder given on the command line (the folder watched); ``staging_prefix``: its
    hidden staging folder's name start; ``panel``: the panel class name to draw;
    ``prepare_panel(scene)``: settings changed before drawing; ``extra_panels`` are drawn too."""
    harness = Harness()
    seen, then = harness.seen, harness.then
    (folder,) = harness.args
    kwargs = kwargs_of(folder)
    op = getattr(bpy.ops.blendmimic3d, operator)

    import conftest  # after Harness has put the tests on sys.path
    from stand_in_people import add_person

    def files():
        return files_under(folder)

    def settings():
        scene = bpy.context.scene
        render, layer = scene.render, scene.view_layers[0]
        camera = scene.camera.name if scene.camera else None
        return [render.engine, render.filepath, render.resolution_percentage, camera,
                layer.use_pass_z, layer.use_pass_object_index]  # fmt: skip

    def build():
        seen["extension"] = next(conftest.addon.__wrapped__())
        scene = bpy.context.scene
        scene.frame_start, scene.frame_end = 1, 400  # long enough for Esc to land mid-render
        add_person(scene, 0, location=(2.0, 5.0, 0.0), walk=(1.0, 0.0))
        with view3d_override():
            bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
            # The stand-in has no body: a room gives every camera something to see (a video
            # of one colour is an error).
            bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM")
            seen["before"] = settings()
            seen["files_before"] = files()
            seen["invoke"] = list(op("INVOKE_DEFAULT", **kwargs))
        then(escape, 2.0)

    def escape():
        seen["files_during"] = files()
        seen["settings_during"] = settings()
        seen["render_allowed_during"] = op.poll()
        window = bpy.context.window_manager.windows[0]
        press_escape(window, next(a for a in window.screen.areas if a.type == "VIEW_3D"))
        then(after_escape, 1.0)

    def after_escape():
        seen["files_after_escape"] = files()
        seen["settings_after_escape"] = settings()
        seen["render_allowed_after_escape"] = op.poll()
        action = bpy.data.objects["StandIn_0"].animation_data.action
        action.use_frame_range = True
        action.frame_start, action.frame_end = 1, 3
        with view3d_override():
            seen["invoke_short"] = list(op("INVOKE_DEFAULT", **kwargs))
        then(wait_for_the_run, 1.0)

    polls = [0]

    def wait_for_the_run():
        polls[0] += 1
        if not any(n.startswith(staging_prefix) for n in os.listdir(folder)) or polls[0] > 60:
            seen["files_after_run"] = files()
            seen["settings_after_run"] = settings()
            prepare_panel(bpy.context.scene)
            harness.draw_panel_then_finish(panel, *extra_panels)
            return None
        return 0.5

    then(build, 1.0)
