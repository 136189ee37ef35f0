"""The "Occlusion" panel: the live overlay's toggle and camera, the per-camera occlusion budget
with its targets, and the operators behind them (compute, cancel, jump to the worst frame,
refresh). The work is in ``occlusion_live``, the drawing in ``occlusion_draw``."""

import bpy

from ..core.occlusion import budget as budget_core
from ..core.occlusion.labels import LABEL_NAMES, N_TYPES, OcclusionType
from . import occlusion_draw, occlusion_live, panel_hints, scene_model
from .occlusion_live import LIVE
from .panel import SubPanel
from .registration import classes_and_scene_settings

_SHORT = {"visible": "visible", "self": "self", "other_person": "person", "object": "object",
          "out_of_frame": "out", "behind_camera": "behind"}  # fmt: skip


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
    bl_options = {"REGISTER"}

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
    bl_options = {"REGISTER"}

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
    bl_options = {"REGISTER"}

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


def shares_text(shares):
    """('hidden 23 %', 'object 12, self 9, out 2'): the total, then the types above zero,
    largest first (two lines: one would be cut short at the sidebar's default width)."""
    hidden = budget_core.hidden_share(shares, budget_core.HIDDEN)
    parts = sorted(((shares[c], _SHORT[LABEL_NAMES[c]]) for c in range(N_TYPES)
                    if c != OcclusionType.VISIBLE and shares[c] > 0), reverse=True)  # fmt: skip
    detail = ", ".join(f"{name} {share * 100:.0f}" for share, name in parts)
    return f"hidden {hidden * 100:.0f} %", detail


class BM3D_PT_occlusion(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_occlusion"
    bl_label = "Occlusion"
    bl_order = 45

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        settings = scene.bm3d_overlay
        cameras = scene_model.dataset_cameras(scene)
        panel_hints.draw(layout, scene, ("people", "cameras"))
        row = layout.row(align=True)
        row.prop(settings, "show", toggle=True, icon="HIDE_OFF" if settings.show else "HIDE_ON")
        row.operator(BM3D_OT_refresh_occlusion.bl_idname, text="", icon="FILE_REFRESH")
        split = layout.split(factor=0.45)
        split.prop(settings, "camera")
        name = cameras[settings.camera].name if settings.camera < len(cameras) else "none"
        split.label(text=name, icon="CAMERA_DATA")
        if settings.show and LIVE.message:
            layout.label(text=LIVE.message, icon="ERROR")
        elif settings.show and settings.camera in LIVE.types:
            total, detail = shares_text(budget_core.type_shares(LIVE.types[settings.camera][None]))
            layout.label(text=f"Frame {LIVE.frame}: {total}")
            if detail:
                layout.label(text=f"    {detail}")
        draw_budget(layout, settings, cameras)


def draw_budget(layout, settings, cameras):
    """The budget box: progress, each camera's shares and jump button, targets met or not."""
    box = layout.box()
    row = box.row(align=True)
    row.label(text="Budget" + (f" of {LIVE.budget_action}" if LIVE.budget_action else ""))
    row.prop(settings, "live_budget", text="Live")
    progress = LIVE.progress
    if progress is not None:
        row = box.row(align=True)
        done, total = progress
        row.progress(factor=done / max(total, 1), text=f"Frame {done} of {total}")
        row.operator(BM3D_OT_cancel_budget.bl_idname, text="", icon="X")
    else:
        box.operator(BM3D_OT_compute_budget.bl_idname, icon="PLAY")
    if LIVE.budget_message:
        box.label(text=LIVE.budget_message, icon="ERROR")
    try:
        targets = budget_core.parse_targets(settings.targets, len(cameras))
        target_error = None
    except ValueError as exc:
        targets, target_error = [], str(exc)
    if not LIVE.budget and progress is None and not LIVE.budget_message:
        box.label(text="Compute it to see each camera's share", icon="INFO")
    for camera, budget in sorted(LIVE.budget.items()):
        name = cameras[camera].name if camera < len(cameras) else f"Camera {camera}"
        total, detail = shares_text(budget.shares)
        row = box.row(align=True)
        row.label(text=f"{name}: {total}")
        op = row.operator(BM3D_OT_jump_to_worst_frame.bl_idname, text="", icon="NEXT_KEYFRAME")
        op.camera = camera
        if detail:
            box.label(text=f"    {detail}")
        for target in (t for t in targets if t.camera == camera):
            met = target.met(budget.shares)
            share = budget_core.hidden_share(budget.shares, target.code) * 100
            box.label(text=f"  {target.type_name} {share:.0f} % in "
                      f"{target.low * 100:g}-{target.high * 100:g}",
                      icon="CHECKMARK" if met else "CANCEL")  # fmt: skip
    if LIVE.budget_stale and LIVE.budget:
        box.label(text="The scene changed since", icon="TIME")
    box.prop(settings, "targets", text="", icon="TRACKER")
    if target_error:
        box.label(text=target_error, icon="ERROR")


def draw_overlay_popover(self, context):
    """A line in the viewport's Overlays popover, where artists look for overlays."""
    settings = getattr(context.scene, "bm3d_overlay", None)
    if settings is not None:
        row = self.layout.row(align=True)
        row.prop(settings, "show", text="BlendMimic3D Occlusion")
        row.prop(settings, "camera", text="")


_CLASSES = (BM3D_PG_overlay, BM3D_OT_refresh_occlusion, BM3D_OT_compute_budget,
            BM3D_OT_cancel_budget, BM3D_OT_jump_to_worst_frame, BM3D_PT_occlusion)  # fmt: skip
_register_classes, _unregister_classes = classes_and_scene_settings(
    _CLASSES, bm3d_overlay=BM3D_PG_overlay
)


def register():
    _register_classes()
    occlusion_live.register()
    occlusion_draw.register()
    bpy.types.VIEW3D_PT_overlay.append(draw_overlay_popover)


def unregister():
    bpy.types.VIEW3D_PT_overlay.remove(draw_overlay_popover)
    occlusion_draw.unregister()
    occlusion_live.unregister()
    _unregister_classes()
