"""Videos of a dataset: ``Videos/<Action>_<i>.mp4`` through every dataset camera for every action,
and optional QA videos (``<Action>_<i>.qa.mp4``) with the 2D keypoints drawn over the frames,
coloured by occlusion type. The operator, its settings and the "Videos" panel; the work itself is
in ``video_job``.
"""

import os

import bpy

from ..core.errors import DatasetError
from . import modal_progress, scene_model
from .panel import SubPanel, pass_settings
from .registration import classes_and_scene_settings
from .stepped_run import SteppedRun
from .video_job import VIDEOS_DIR, plan_videos, render_steps

ENGINES = (
    ("WORKBENCH", "Workbench", "Fast solid shading: quick previews and QA"),
    ("EEVEE", "EEVEE", "Real-time engine: lit and shaded, slower to start headless"),
    ("CYCLES", "Cycles", "Path tracer on the CPU: the most realistic and the slowest"),
)

QA_LEGEND = (
    "QA colours: green visible, yellow self-occluded,",
    "orange another person, red an object,",
    "cyan out of frame, magenta occluded (untyped)",
)


class VideoSettings:
    """What to render; shared by the scene's panel settings and the operator."""

    directory: bpy.props.StringProperty(
        name="Dataset Folder",
        description="Subject folder of an exported dataset; videos go into its Videos folder",
        subtype="DIR_PATH",
    )
    engine: bpy.props.EnumProperty(name="Engine", items=ENGINES, default="WORKBENCH")
    samples: bpy.props.IntProperty(
        name="Samples",
        description="Samples per pixel (EEVEE, Cycles) or anti-aliasing level (Workbench)",
        default=16,
        min=1,
        max=4096,
    )
    scale: bpy.props.IntProperty(
        name="Resolution %",
        description="Video size as a share of the dataset's resolution",
        default=100,
        min=1,
        max=100,
        subtype="PERCENTAGE",
    )
    qa_video: bpy.props.BoolProperty(
        name="QA Videos",
        description="Also write Videos/<Action>_<i>.qa.mp4 with the 2D keypoints drawn over "
        "the frames, coloured by occlusion type",
        default=False,
    )
    overwrite: bpy.props.BoolProperty(
        name="Overwrite", description="Replace videos that already exist", default=False
    )


class BM3D_PG_videos(VideoSettings, bpy.types.PropertyGroup):
    pass


# --- operator and panel ------------------------------------------------------------------------


class BM3D_OT_render_videos(VideoSettings, SteppedRun, bpy.types.Operator):
    """Render Videos/<Action>_<i>.mp4 through every dataset camera for every action"""

    bl_idname = "blendmimic3d.render_videos"
    bl_label = "Render Videos"
    bl_options = {"REGISTER", "UNDO"}

    # One modal render at a time: both would set up, and put back, the same render settings.
    _busy = False
    _progress_label = "Rendering videos"
    _cancelled_text = "Cancelled: no video written"

    @classmethod
    def poll(cls, context):
        return modal_progress.refuse_second_run(cls, "A video render")

    def _start(self, context):
        try:
            plan = plan_videos(context.scene, self)
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return None
        self._total = plan.total_steps
        count = sum(1 for _ in plan.outputs())
        qa = f" and {count} QA videos" if plan.qa_video else ""
        self._done_text = f"Wrote {count} videos{qa} to {os.path.join(plan.directory, VIDEOS_DIR)}"
        self._steps = render_steps(context.scene, plan)
        return plan


class BM3D_PT_videos(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_videos"
    bl_label = "Videos"
    bl_order = 55

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_videos
        layout.prop(settings, "directory")
        layout.prop(settings, "engine")
        row = layout.row(align=True)
        row.prop(settings, "samples")
        row.prop(settings, "scale")
        row = layout.row(align=True)
        row.prop(settings, "qa_video")
        row.prop(settings, "overwrite")
        if settings.qa_video:
            legend = layout.column(align=True)
            for line in QA_LEGEND:
                legend.label(text=line)
        count = len(scene_model.dataset_cameras(context.scene))
        layout.label(text=f"{count} dataset camera(s)", icon="CAMERA_DATA")
        op = layout.operator(BM3D_OT_render_videos.bl_idname, icon="RENDER_ANIMATION")
        pass_settings(op, settings, VideoSettings.__annotations__)


_CLASSES = (BM3D_PG_videos, BM3D_OT_render_videos, BM3D_PT_videos)


register, unregister = classes_and_scene_settings(_CLASSES, bm3d_videos=BM3D_PG_videos)
