"""Operators behind the "COCO Keypoints" panel (in ``ui``): render a subject's frames (with
instance masks and depth from the same render) and write its COCO keypoint files. The work is in
``render_passes`` and ``core.format.coco_dataset``."""

import os

import bpy

from ..core.errors import DatasetError
from ..core.format import coco_dataset
from . import render_presets
from .modal_progress import RenderSteps, refuse_second_run
from .registration import classes_and_scene_settings
from .render_passes import plan_passes, render_steps

_LAYOUT_ITEMS = [
    ("coco", "COCO-17", "COCO's person keypoints (category 1)"),
    ("h36m", "Human3.6M-17", "Human3.6M's joints in 2D (category 2)"),
    ("blendmimic3d", "BlendMimic3D-17", "The dataset's own joints in 2D (category 3)"),
]


class FrameSettings:
    directory: bpy.props.StringProperty(
        name="Subject Folder",
        description="Subject folder of an exported dataset (e.g. //dataset/S1)",
        subtype="DIR_PATH",
    )
    # Masks and depth come from Cycles' passes: the Realistic preset (Cycles) by default.
    preset: bpy.props.EnumProperty(name="Preset", items=render_presets.ITEMS, default="REALISTIC")
    samples: bpy.props.IntProperty(
        name="Samples", description="0: the preset's default", default=0, min=0, max=4096
    )
    scale: bpy.props.IntProperty(
        name="Resolution %", default=100, min=1, max=100, subtype="PERCENTAGE"
    )
    masks: bpy.props.BoolProperty(
        name="Instance Masks",
        description="Masks/<A>_<i>/: 16-bit person ids (Cycles)",
        default=True,
    )
    depth: bpy.props.BoolProperty(
        name="Depth", description="Depth/<A>_<i>/: depth along the camera axis (Cycles)",
        default=False,
    )  # fmt: skip
    depth_format: bpy.props.EnumProperty(
        name="Depth Format",
        items=[("PNG", "PNG 16-bit (mm)", ""), ("EXR", "EXR float (m)", "")],
        default="PNG",
    )
    overwrite: bpy.props.BoolProperty(name="Overwrite", description="Replace existing images")


class CocoSettings:
    directory: bpy.props.StringProperty(
        name="Dataset Folder", description="Dataset root or one subject folder", subtype="DIR_PATH"
    )
    out: bpy.props.StringProperty(
        name="COCO Folder", description="New folder for the JSON files", subtype="DIR_PATH"
    )
    every: bpy.props.IntProperty(name="Every N Frames", default=1, min=1)
    cameras: bpy.props.StringProperty(
        name="Cameras", description="Comma-separated camera indices; empty: every camera"
    )
    split: bpy.props.EnumProperty(
        name="Files",
        items=[("subject", "One per Subject", ""), ("camera", "One per Subject and Camera", "")],
    )
    layouts: bpy.props.EnumProperty(
        name="Categories", items=_LAYOUT_ITEMS, options={"ENUM_FLAG"}, default={"coco"}
    )
    overwrite: bpy.props.BoolProperty(name="Overwrite", description="Replace an existing folder")


class BM3D_PG_frames(FrameSettings, bpy.types.PropertyGroup):
    pass


class BM3D_PG_coco(CocoSettings, bpy.types.PropertyGroup):
    pass


class BM3D_OT_render_frames(FrameSettings, RenderSteps, bpy.types.Operator):
    """Render Frames/<A>_<i>/ of a subject, with instance masks and depth from the same render"""

    bl_idname = "blendmimic3d.render_frames"
    bl_label = "Render Frames"
    bl_options = {"REGISTER", "UNDO"}

    cancel_message = "Cancelled: nothing written"
    progress_label = "Rendering frames"
    _busy = False

    @classmethod
    def poll(cls, context):
        return refuse_second_run(cls, "A frame render")

    def make_steps(self, context):
        plan = plan_passes(context.scene, self)
        self._total = plan.total_steps
        self._done_text = f"Rendered {self._total} frames into {plan.directory}"
        return render_steps(context.scene, plan), self._total


class BM3D_OT_export_coco(CocoSettings, bpy.types.Operator):
    """Write COCO keypoint files (boxes, masks, typed visibility) of a dataset with frames"""

    bl_idname = "blendmimic3d.export_coco"
    bl_label = "Write COCO Files"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        folder = os.path.abspath(bpy.path.abspath(self.directory)) if self.directory else ""
        out = os.path.abspath(bpy.path.abspath(self.out)) if self.out else ""
        try:
            if not folder or not out:
                raise DatasetError(None, "folders", "choose the dataset folder and a COCO folder")
            cameras = coco_dataset.camera_indices(self.cameras) or None
            layouts = [name for name, *_ in _LAYOUT_ITEMS if name in self.layouts]
            paths = coco_dataset.convert(folder, out, self.every, cameras, layouts or ["coco"],
                                         self.split, self.overwrite)  # fmt: skip
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {len(paths)} COCO file(s) to {out}")
        return {"FINISHED"}


_CLASSES = (BM3D_PG_frames, BM3D_PG_coco, BM3D_OT_render_frames, BM3D_OT_export_coco)

register, unregister = classes_and_scene_settings(
    _CLASSES, bm3d_frames=BM3D_PG_frames, bm3d_coco=BM3D_PG_coco
)
