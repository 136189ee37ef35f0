"""The Pose Refiner's operators and settings: import 3D predictions as an animated skeleton,
refine them with the bundled GCN, compare both with ground truth, and export the refined poses
in the input's layout (the work on skeletons and ground truth is in ``refine_job``).
"""

import json
import os

import bpy
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..core.errors import DatasetError
from ..core.format.predictions import load_predictions, save_predictions_like
from ..core.refine import runtime as rf
from ..core.refine.confidence import load_confidence
from . import preferences
from .modal_progress import ModalSteps, refuse_second_run
from .refine_job import (
    BESIDE,
    FRAME_START,
    KIND,
    ORDER,
    REFINED_OF,
    SOURCE,
    SOURCE_KEY,
    compare,
    dataset_ground_truth,
    input_skeleton,
    make_skeleton,
    refined_skeleton,
    remove_skeleton,
    scene_ground_truth,
    skeleton_poses,
)  # fmt: skip
from .registration import classes_and_scene_settings

JOINT_ORDER_ITEMS = [
    (
        "h36m",
        "Human3.6M",
        "VideoPose3D, PoseFormerV2 and D3DP write this order (index 1 = right hip)",
    ),
    ("blendmimic3d", "BlendMimic3D", "The published dataset's order (index 1 = left hip)"),
]


def joint_order_setting():
    """The joint order of a predictions file: the import's setting, kept in the panel's group."""
    return bpy.props.EnumProperty(name="Joint Order", items=JOINT_ORDER_ITEMS)


class BM3D_OT_import_predictions(bpy.types.Operator, ImportHelper):
    """Import 3D pose predictions (.npy/.npz) as an animated skeleton"""

    bl_idname = "blendmimic3d.import_predictions"
    bl_label = "Import Predictions"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: bpy.props.StringProperty(default="*.npy;*.npz", options={"HIDDEN"})
    key: bpy.props.StringProperty(
        name="Key",
        description="npz member or dict entry (S9/Walking/0) when the file holds several",
    )
    joint_order: joint_order_setting()

    def execute(self, context):
        path = bpy.path.abspath(self.filepath)
        try:
            poses = load_predictions(path, key=self.key or None, allow_missing=True)
            missing = rf.missing_frames(poses)
            if missing.all():
                raise DatasetError(path, self.key or None, "no complete frame (NaN in every one)")
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        name = os.path.splitext(os.path.basename(path))[0]
        props = {KIND: "input", ORDER: self.joint_order, SOURCE: path, SOURCE_KEY: self.key}
        obj = make_skeleton(context, name, poses, context.scene.frame_start, props)
        for other in context.view_layer.objects.selected:
            other.select_set(False)
        obj.select_set(True)
        context.view_layer.objects.active = obj
        settings = context.scene.bm3d_refine
        settings.filepath, settings.joint_order = path, self.joint_order
        message = f"Imported {len(poses)} frames from {os.path.basename(path)}"
        if missing.any():
            message += f"; {int(missing.sum())} missing (NaN), hidden on those frames"
        self.report({"INFO"}, message)
        return {"FINISHED"}


class BM3D_OT_refine_predictions(ModalSteps, bpy.types.Operator):
    """Refine the active predictions skeleton with the bundled GCN; the result goes beside it"""

    bl_idname = "blendmimic3d.refine_predictions"
    bl_label = "Refine Predictions"
    bl_options = {"REGISTER", "UNDO"}

    chunk_frames = 1024  # frames per model call: a progress step (the result does not depend on it)
    cancel_message = "Refining cancelled: nothing was changed"

    @classmethod
    def poll(cls, context):
        return refuse_second_run(cls, "Refining")

    def make_steps(self, context):
        """The refiner's steps over the active skeleton's poses; the ground truth and the
        confidence file are read (and checked) first, so their errors change nothing."""
        source = input_skeleton(context)
        if source is None:
            raise DatasetError(None, None, "Select an imported predictions skeleton first")
        settings = context.scene.bm3d_refine
        poses = skeleton_poses(source)
        self._ground_truth = None
        if settings.ground_truth == "DATASET":
            self._ground_truth = dataset_ground_truth(settings.gt_folder, settings.gt_action,
                                                      settings.gt_camera, len(poses))  # fmt: skip
        elif settings.ground_truth == "SCENE":
            self._ground_truth = scene_ground_truth(context.scene,
                                                    context.evaluated_depsgraph_get(),
                                                    settings.gt_camera, len(poses))  # fmt: skip
        confidence = None
        if settings.confidence_path:  # optional per-joint (T, 17) labels or scores
            confidence = load_confidence(bpy.path.abspath(settings.confidence_path), len(poses))
        prefs = preferences.get(context)
        model = rf.Refiner(threads=prefs.refiner_threads if prefs else 0)
        steps = model.refine_steps(
            poses, source[ORDER], self.chunk_frames, path=source.get(SOURCE),
            confidence=confidence,
        )  # fmt: skip
        self._source_name, self._poses = source.name, poses
        return steps, len(poses)

    def progress(self, value):
        done, total = value
        return done, f"Refining poses: frame {done} of {total}, Esc cancels"

    def finished(self, context, refined):
        source = bpy.data.objects.get(self._source_name)
        if source is None:  # deleted while the modal run went on
            self.report({"ERROR"}, f"{self._source_name}: the predictions skeleton is gone")
            return {"CANCELLED"}
        poses = self._poses
        old = refined_skeleton(source)
        if old is not None:
            remove_skeleton(old)
        props = {KIND: "refined", ORDER: source[ORDER], REFINED_OF: source.name}
        location = tuple(a + b for a, b in zip(source.location, BESIDE, strict=True))
        obj = make_skeleton(
            context, f"{source.name} refined", refined, source[FRAME_START], props, location
        )
        message = f"Refined {len(poses)} frames into {obj.name}"
        missing = int(rf.missing_frames(poses).sum())
        if missing:
            message += f" ({missing} missing frames left empty)"
        report = compare(source, obj, self._ground_truth)
        context.scene.bm3d_refine.results = json.dumps(report)
        if self._ground_truth is not None:
            before, after = report["before"]["mpjpe"], report["after"]["mpjpe"]
            message += f"; MPJPE {before:.1f} -> {after:.1f} mm over {report['frames']} frames"
        self.report({"INFO"}, message)
        return {"FINISHED"}


class BM3D_OT_export_refined(bpy.types.Operator, ExportHelper):
    """Write the refined poses in the layout, shape and dtype of the imported file"""

    bl_idname = "blendmimic3d.export_refined"
    bl_label = "Export Refined"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".npy"
    filter_glob: bpy.props.StringProperty(default="*.npy;*.npz", options={"HIDDEN"})
    check_extension = None  # keep the extension the user (and the input's layout) chose

    def invoke(self, context, event):
        source = input_skeleton(context)
        if source is not None and not self.filepath:
            stem, ext = os.path.splitext(source.get(SOURCE, "refined.npy"))
            self.filepath = f"{stem}_refined{ext}"
            self.filename_ext = ext
        return ExportHelper.invoke(self, context, event)

    def execute(self, context):
        source = input_skeleton(context)
        refined = refined_skeleton(source) if source is not None else None
        if refined is None:
            self.report({"ERROR"}, "Select a refined predictions skeleton (run Refine first)")
            return {"CANCELLED"}
        path = bpy.path.abspath(self.filepath)
        original = source.get(SOURCE, "")
        if os.path.splitext(path)[1] != os.path.splitext(original)[1]:
            ext = os.path.splitext(original)[1]
            self.report({"ERROR"}, f"{path}: use the input's extension ({ext}) to keep its layout")
            return {"CANCELLED"}
        try:
            _, layout = load_predictions(original, key=source.get(SOURCE_KEY) or None,
                                         with_layout=True, allow_missing=True)  # fmt: skip
            save_predictions_like(layout, skeleton_poses(refined), path)
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {path}")
        return {"FINISHED"}


class BM3D_PG_refine(bpy.types.PropertyGroup):
    """The Pose Refiner panel's settings and last comparison (``scene.bm3d_refine``)."""

    filepath: bpy.props.StringProperty(name="Predictions", subtype="FILE_PATH")
    joint_order: joint_order_setting()
    ground_truth: bpy.props.EnumProperty(
        name="Ground Truth",
        items=[
            ("NONE", "None", "No ground truth: refine only"),
            ("DATASET", "Dataset", "A BlendMimic3D subject folder, action and camera"),
            ("SCENE", "Scene Person", "The primary person's active action, seen by a camera"),
        ],
    )
    confidence_path: bpy.props.StringProperty(
        name="Confidence",
        subtype="FILE_PATH",
        description="Optional per-joint confidence .npy/.npz, (T,17) in [0,1] in the "
        "predictions' joint order (1 visible, 0 occluded)",
    )
    gt_folder: bpy.props.StringProperty(name="Subject Folder", subtype="DIR_PATH")
    gt_action: bpy.props.StringProperty(name="Action")
    gt_camera: bpy.props.IntProperty(name="Camera", min=0, default=0)
    results: bpy.props.StringProperty(options={"HIDDEN"})  # JSON of the last comparison
    show_per_joint: bpy.props.BoolProperty(name="Per Joint", default=False)


CLASSES = (
    BM3D_PG_refine,
    BM3D_OT_import_predictions,
    BM3D_OT_refine_predictions,
    BM3D_OT_export_refined,
)
register, unregister = classes_and_scene_settings(CLASSES, bm3d_refine=BM3D_PG_refine)
