"""Videos of a dataset: ``Videos/<Action>_<i>.mp4`` through every dataset camera for every action,
optional QA videos (``<Action>_<i>.qa.mp4``) with the 2D keypoints drawn over the frames,
coloured by occlusion type, and optional image sequences (``Frames/<Action>_<i>/<k:06d>.png``),
rendered with a preset (``render_presets``). The operator, its settings and the "Videos" panel;
the work itself is in ``video_job``.
"""

import bpy

from ..core.errors import DatasetError
from . import modal_progress, render_presets, scene_model
from .panel import SubPanel, pass_settings
from .registration import classes_and_scene_settings
from .video_job import plan_videos, render_steps

SEQUENCE_ITEMS = (
    ("NONE", "None", "No image sequences"),
    ("PNG", "PNG", "Frames/<Action>_<i>/<k:06d>.png: lossless"),
    ("JPEG", "JPEG", "Frames/<Action>_<i>/<k:06d>.jpg: a tenth of the size"),
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
    preset: bpy.props.EnumProperty(name="Preset", items=render_presets.ITEMS, default="PREVIEW")
    samples: bpy.props.IntProperty(
        name="Samples",
        description="Samples per pixel (Fast, Realistic) or anti-aliasing level (Preview); "
        "0: the preset's default",
        default=0,
        min=0,
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
    write_videos: bpy.props.BoolProperty(
        name="Videos", description="Write Videos/<Action>_<i>.mp4", default=True
    )
    image_sequence: bpy.props.EnumProperty(
        name="Frames",
        description="Also write every frame as an image: frame k of camera i of an action is "
        "Frames/<Action>_<i>/<k:06d>.png (or .jpg)",
        items=SEQUENCE_ITEMS,
        default="NONE",
    )
    overwrite: bpy.props.BoolProperty(
        name="Overwrite", description="Replace videos and frames that already exist", default=False
    )


class BM3D_PG_videos(VideoSettings, bpy.types.PropertyGroup):
    pass


def done_text(plan):
    count = sum(1 for _ in plan.outputs())
    written = [
        f"{count} videos" if plan.write_videos else "",
        f"{count} QA videos" if plan.qa_video else "",
        f"{count} {plan.image_sequence} sequences" if plan.image_sequence != "NONE" else "",
    ]
    notes = "".join(f" ({note})" for note in plan.notes)
    return f"Wrote {' and '.join(w for w in written if w)} to {plan.directory}{notes}"


# --- operator and panel ------------------------------------------------------------------------


class BM3D_OT_render_videos(VideoSettings, bpy.types.Operator):
    """Render Videos/<Action>_<i>.mp4 through every dataset camera for every action"""

    bl_idname = "blendmimic3d.render_videos"
    bl_label = "Render Videos"
    bl_options = {"REGISTER", "UNDO"}

    _timer = None  # set by modal_progress.start while a modal run is on
    _steps = None
    _total = 0
    _done_text = ""
    # One modal render at a time: both would set up, and put back, the same render settings.
    _busy = False

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
        self._done_text = done_text(plan)
        for note in plan.notes:
            self.report({"WARNING"}, note)
        self._steps = render_steps(context.scene, plan)
        return plan

    def _finish(self, context, result, level, message):
        if self._timer is not None:
            modal_progress.end(self, context)
        self.report({level}, message)
        return {result}

    def _advance(self, context):
        """One step; returns None while there is more to do, else the operator's result."""
        try:
            done, message = next(self._steps)
        except StopIteration:
            return self._finish(context, "FINISHED", "INFO", self._done_text)
        except (DatasetError, RuntimeError, OSError, ReferenceError) as exc:
            # ReferenceError: a camera or person deleted while the modal run was going on.
            return self._finish(context, "CANCELLED", "ERROR", str(exc))
        if self._timer is not None:
            modal_progress.update(
                context, done, f"Rendering videos {done}/{self._total}: {message} (Esc to cancel)"
            )
        return None

    def execute(self, context):
        if self._start(context) is None:
            return {"CANCELLED"}
        while True:
            result = self._advance(context)
            if result is not None:
                return result

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        if self._start(context) is None:
            return {"CANCELLED"}
        return modal_progress.start(self, context, self._total)

    def modal(self, context, event):
        if event.type == "ESC":
            self._steps.close()  # removes the staging folder, restores the scene
            return self._finish(context, "CANCELLED", "WARNING", "Cancelled: no video written")
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        return self._advance(context) or {"RUNNING_MODAL"}


class BM3D_PT_videos(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_videos"
    bl_label = "Videos"
    bl_order = 55

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_videos
        layout.prop(settings, "directory")
        layout.prop(settings, "preset")
        for note in render_presets.notes(settings.preset):
            layout.label(text=note, icon="INFO")
        row = layout.row(align=True)
        row.prop(settings, "samples")
        row.prop(settings, "scale")
        row = layout.row(align=True)
        row.prop(settings, "write_videos")
        row.prop(settings, "qa_video")
        row = layout.row(align=True)
        row.prop(settings, "image_sequence")
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
