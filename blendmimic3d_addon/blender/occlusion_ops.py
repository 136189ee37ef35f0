"""The live occlusion's settings (``scene.bm3d_overlay``) and operators: refresh the overlay,
compute and cancel the budget, jump to a camera's worst frame. The work is in
``occlusion_live``, the viewport drawing in ``occlusion_draw``, the panel in ``ui``."""

import bpy

from . import occlusion_draw, occlusion_live
from .occlusion_live import LIVE
from .registration import classes_and_scene_settings


def _on_show(settings, context):
    if settings.show:
        LIVE.request_overlay()
        if settings.live_budget and (LIVE.budget_stale or not LIVE.budget):
            LIVE.request_budget(0.0)
    else:
        LIVE.cancel_budget()
    occlusion_live._redraw_viewports()


def _on_camera(settings, context):
    occlusion_live._redraw_viewports()


class BM3D_PG_overlay(bpy.types.PropertyGroup):
    show: bpy.props.BoolProperty(
        name="Occlusion Overlay",
        description="Draw every person's joints in the viewport, coloured by their occlusion "
        "label from the chosen dataset camera (the QA video's colours)",
        update=_on_show,
    )
    camera: bpy.props.IntProperty(
        name="Camera", description="Dataset camera whose labels colour the joints",
        min=0, update=_on_camera,
    )  # fmt: skip
    joint_size: bpy.props.FloatProperty(
        name="Joint Size", description="Joint dot size in pixels", default=10.0, min=2.0, max=40.0
    )
    show_strips: bpy.props.BoolProperty(
        name="Timeline Strips", default=True,
        description="Along the bottom of the viewport, one strip per camera: where in the take "
        "joints are hidden and by what",
    )  # fmt: skip
    live_budget: bpy.props.BoolProperty(
        name="Live Budget", default=True,
        description="Recompute the budget in the background whenever the scene changes",
    )  # fmt: skip
    targets: bpy.props.StringProperty(
        name="Targets",
        description="Occlusion targets, e.g. '2: object 20-40; 0: hidden 0-30' (camera: type "
        "percent range; types: visible, self, person, object, out, behind, hidden)",
    )


class BM3D_OT_refresh_occlusion(bpy.types.Operator):
    """Label the current frame for the overlay now"""

    bl_idname = "blendmimic3d.refresh_occlusion"
    bl_label = "Refresh Occlusion"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        LIVE.sampler = None  # read the scene anew
        LIVE.refresh_overlay(context.scene)
        if LIVE.message:
            self.report({"ERROR"}, LIVE.message)
            return {"CANCELLED"}
        return {"FINISHED"}


class BM3D_OT_compute_budget(bpy.types.Operator):
    """Compute the occlusion budget of the primary person's take for every dataset camera (in
    the background, a few frames at a time)"""

    bl_idname = "blendmimic3d.compute_occlusion_budget"
    bl_label = "Compute Budget"
    bl_options = {"REGISTER", "UNDO"}

    background: bpy.props.BoolProperty(
        name="In the Background", default=True,
        description="Compute between UI events (off: now, to the end)",
    )  # fmt: skip

    def execute(self, context):
        if not LIVE.start_budget(context.scene):
            self.report({"ERROR"}, LIVE.budget_message)
            return {"CANCELLED"}
        if not self.background:
            while not LIVE.step_budget(1.0):
                pass
            if LIVE.budget_message:
                self.report({"ERROR"}, LIVE.budget_message)
                return {"CANCELLED"}
            self.report({"INFO"}, f"Occlusion budget of {LIVE.budget_action}: "
                        f"{len(LIVE.budget)} camera(s)")  # fmt: skip
        return {"FINISHED"}


class BM3D_OT_cancel_budget(bpy.types.Operator):
    """Stop computing the occlusion budget"""

    bl_idname = "blendmimic3d.cancel_occlusion_budget"
    bl_label = "Cancel Budget"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return LIVE.job is not None

    def execute(self, context):
        LIVE.cancel_budget()
        self.report({"INFO"}, "Occlusion budget cancelled")
        return {"FINISHED"}


class BM3D_OT_jump_to_worst_frame(bpy.types.Operator):
    """Go to the frame where this camera sees the most hidden joints"""

    bl_idname = "blendmimic3d.jump_to_worst_frame"
    bl_label = "Jump to Most Occlusion"
    bl_options = {"REGISTER", "UNDO"}

    camera: bpy.props.IntProperty(name="Camera", min=0)

    def execute(self, context):
        budget = LIVE.budget.get(self.camera)
        if budget is None:
            self.report({"ERROR"}, f"No occlusion budget for camera {self.camera}: compute it "
                        "first")  # fmt: skip
            return {"CANCELLED"}
        context.scene.frame_set(budget.worst_frame)
        context.scene.bm3d_overlay.camera = self.camera
        return {"FINISHED"}


_CLASSES = (BM3D_PG_overlay, BM3D_OT_refresh_occlusion, BM3D_OT_compute_budget,
            BM3D_OT_cancel_budget, BM3D_OT_jump_to_worst_frame)  # fmt: skip
_register_classes, _unregister_classes = classes_and_scene_settings(
    _CLASSES, bm3d_overlay=BM3D_PG_overlay
)


def register():
    _register_classes()
    occlusion_live.register()
    occlusion_draw.register()


def unregister():
    occlusion_draw.unregister()
    occlusion_live.unregister()
    _unregister_classes()
