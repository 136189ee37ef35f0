"""Videos of a dataset: ``Videos/<Action>_<i>.mp4`` through every dataset camera for every action,
and optional QA videos (``<Action>_<i>.qa.mp4``) with the 2D keypoints drawn over the frames,
coloured by occlusion type. The operator and its settings; the work itself is in ``video_job``.
"""

import bpy

from . import render_presets
from .modal_progress import RenderSteps, refuse_second_run
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


def video_settings():
    """What to render; shared by the panel's property group and the operator."""
    P = bpy.props
    return {
        "directory": P.StringProperty(
            name="Dataset Folder",
            description="Subject folder of an exported dataset; videos go into its Videos folder",
            subtype="DIR_PATH",
        ),
        "preset": P.EnumProperty(name="Preset", items=render_presets.ITEMS, default="PREVIEW"),
        "samples": P.IntProperty(
            name="Samples",
            description="Samples per pixel (Fast, Realistic) or anti-aliasing level (Preview); "
            "0: the preset's default",
            default=0, min=0, max=4096,
        ),
        "scale": P.IntProperty(
            name="Resolution %",
            description="Video size as a share of the dataset's resolution",
            default=100, min=1, max=100, subtype="PERCENTAGE",
        ),
        "qa_video": P.BoolProperty(
            name="QA Videos",
            description="Also write Videos/<Action>_<i>.qa.mp4 with the 2D keypoints drawn over "
            "the frames, coloured by occlusion type",
            default=False,
        ),
        "write_videos": P.BoolProperty(
            name="Videos", description="Write Videos/<Action>_<i>.mp4", default=True
        ),
        "image_sequence": P.EnumProperty(
            name="Frames",
            description="Also write every frame as an image: frame k of camera i of an action "
            "is Frames/<Action>_<i>/<k:06d>.png (or .jpg)",
            items=SEQUENCE_ITEMS, default="NONE",
        ),
        "overwrite": P.BoolProperty(
            name="Overwrite", description="Replace videos and frames that already exist",
            default=False,
        ),
    }  # fmt: skip


def done_text(plan):
    count = sum(1 for _ in plan.outputs())
    written = [
        f"{count} videos" if plan.write_videos else "",
        f"{count} QA videos" if plan.qa_video else "",
        f"{count} {plan.image_sequence} sequences" if plan.image_sequence != "NONE" else "",
    ]
    notes = "".join(f" ({note})" for note in plan.notes)
    return f"Wrote {' and '.join(w for w in written if w)} to {plan.directory}{notes}"


class BM3D_PG_videos(bpy.types.PropertyGroup):
    """The Videos panel's settings (``scene.bm3d_videos``)."""

    __annotations__ = video_settings()


class BM3D_OT_render_videos(RenderSteps, bpy.types.Operator):
    """Render Videos/<Action>_<i>.mp4 through every dataset camera for every action"""

    bl_idname = "blendmimic3d.render_videos"
    bl_label = "Render Videos"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = video_settings()

    cancel_message = "Cancelled: no video written"
    progress_label = "Rendering videos"
    # One modal render at a time: both would set up, and put back, the same render settings.
    _busy = False

    @classmethod
    def poll(cls, context):
        return refuse_second_run(cls, "A video render")

    def make_steps(self, context):
        plan = plan_videos(context.scene, self)
        self._total = plan.total_steps
        self._done_text = done_text(plan)
        for note in plan.notes:
            self.report({"WARNING"}, note)
        return render_steps(context.scene, plan), self._total


CLASSES = (BM3D_PG_videos, BM3D_OT_render_videos)
register, unregister = classes_and_scene_settings(CLASSES, bm3d_videos=BM3D_PG_videos)
