"""Pose Refiner in Blender: import 3D predictions as an animated skeleton, refine them with the
bundled GCN, compare both with ground truth, and export the refined poses in the input's layout.

A skeleton is a mesh whose 17 vertices are the joints and whose edges are the bones; the vertex
positions are keyframed, one key per frame; frames the estimator left NaN (any joint) are missing
and the skeleton is keyed hidden there. The exact poses (camera frame, metres, the joint
order the user stated) are kept on the object as custom properties, so refining and exporting
never read them back from the display, which shows them Z-up (camera x, z, -y).
"""

import json
import os

import bpy
import numpy as np
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..core.errors import DatasetError
from ..core.format import dataset_io as dio
from ..core.format.predictions import load_predictions, save_predictions_like
from ..core.geometry.camera import world_to_camera
from ..core.joints import JOINT_SETS, PARENTS_BM3D, convert_joint_order
from ..core.refine import runtime as rf
from ..core.refine.confidence import load_confidence
from . import preferences
from .panel import SubPanel
from .registration import classes_and_scene_settings

# Custom properties of a skeleton object.
KIND = "bm3d_pred_kind"  # "input" or "refined"
POSES = "bm3d_pred_poses"  # flattened (T*17*3) poses, metres, camera frame
ORDER = "bm3d_pred_joint_order"
SOURCE = "bm3d_pred_source"  # the predictions file
SOURCE_KEY = "bm3d_pred_key"  # npz member / dict entry inside it
FRAME_START = "bm3d_pred_frame_start"
REFINED_OF = "bm3d_pred_refined_of"  # on a refined skeleton: its input's object name

PLOT_NAME = "BM3D Refiner Error"
BESIDE = (1.0, 0.0, 0.0)  # where the refined skeleton goes, relative to its input
BEFORE_RGB, AFTER_RGB = (0.85, 0.2, 0.15), (0.1, 0.6, 0.2)

JOINT_ORDER_ITEMS = [
    (
        "h36m",
        "Human3.6M",
        "VideoPose3D, PoseFormerV2 and D3DP write this order (index 1 = right hip)",
    ),
    ("blendmimic3d", "BlendMimic3D", "The published dataset's order (index 1 = left hip)"),
]


# ---- skeleton objects --------------------------------------------------------------------------


def _display(poses):
    """Camera frame (x right, y down, z forward) to Blender's Z-up view: (x, z, -y)."""
    return np.stack([poses[..., 0], poses[..., 2], -poses[..., 1]], axis=-1)


def _channelbag_fcurves(id_data):
    """The F-Curves animating ``id_data`` (slotted actions in 4.4+, the flat list before)."""
    anim = id_data.animation_data
    action = anim.action
    if hasattr(anim, "action_slot"):
        from bpy_extras import anim_utils

        return anim_utils.action_get_channelbag_for_slot(action, anim.action_slot).fcurves
    return action.fcurves


def make_skeleton(context, name, poses, frame_start, props, location=(0.0, 0.0, 0.0)):
    """A new animated skeleton object holding ``poses`` (T,17,3, NaN at missing frames; at least
    one complete frame) and ``props``."""
    missing = rf.missing_frames(poses)
    # Missing frames get bridged vertex keys (finite curves), never seen: the object is hidden.
    shown = _display(rf.fill_missing_frames(np.asarray(poses, dtype=np.float64), missing))
    mesh = bpy.data.meshes.new(name)
    edges = [(j, int(p)) for j, p in enumerate(PARENTS_BM3D) if p >= 0]
    mesh.from_pydata(shown[0].tolist(), edges, [])
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    obj.show_in_front = True
    obj.hide_render = True  # an overlay: never in a render, never an occluder for the labels
    for key, value in props.items():
        obj[key] = value
    obj[POSES] = np.asarray(poses, dtype=np.float64).ravel().tolist()
    obj[FRAME_START] = int(frame_start)
    context.collection.objects.link(obj)
    # One key makes the action, slot and F-Curves; then every frame is written in one go.
    for vertex in mesh.vertices:
        vertex.keyframe_insert("co", frame=frame_start)
    frames = frame_start + np.arange(len(shown), dtype=np.float64)
    for fcurve in _channelbag_fcurves(mesh):
        joint = int(fcurve.data_path.split("[")[1].split("]")[0])
        values = shown[:, joint, fcurve.array_index]
        points = fcurve.keyframe_points
        points.add(len(frames) - len(points))
        points.foreach_set("co", np.column_stack([frames, values]).ravel())
        points.foreach_set("interpolation", [0] * len(points))  # CONSTANT: one pose per frame
        fcurve.update()
    _hide_missing_frames(obj, missing, frame_start, context.scene.frame_current)
    scene = context.scene
    scene.frame_end = max(scene.frame_end, int(frame_start + len(shown) - 1))
    return obj


def _hide_missing_frames(obj, missing, frame_start, frame_now):
    """Key the skeleton hidden in viewports on its missing frames. Hidden rather than holding the
    last pose: a held pose would pass for an estimate the estimator never made, and a gap in the
    playback shows the user where the detections dropped out."""
    if not missing.any():
        return
    obj.keyframe_insert("hide_viewport", frame=frame_start)
    changes = np.flatnonzero(np.diff(missing.astype(np.int8))) + 1  # first frame of each run
    at = np.concatenate([[0], changes])
    (fcurve,) = _channelbag_fcurves(obj)
    points = fcurve.keyframe_points
    points.add(len(at) - len(points))
    points.foreach_set("co", np.column_stack([frame_start + at, missing[at]]).ravel())
    points.foreach_set("interpolation", [0] * len(points))
    fcurve.update()
    # Shown right now as the keys say, before the next frame change evaluates them.
    obj.hide_viewport = bool(missing[np.clip(frame_now - frame_start, 0, len(missing) - 1)])


def skeleton_poses(obj):
    """The (T,17,3) poses a skeleton object holds, in its joint order, NaN where missing."""
    return np.array(obj[POSES], dtype=np.float64).reshape(-1, 17, 3)


def remove_skeleton(obj):
    mesh = obj.data
    # The poses (mesh) and the hiding (object) may share one slotted action: remove it once.
    actions = {i.animation_data.action for i in (mesh, obj) if i.animation_data} - {None}
    bpy.data.objects.remove(obj)
    if mesh.users == 0:
        bpy.data.meshes.remove(mesh)
    for action in actions:
        if action.users == 0:
            bpy.data.actions.remove(action)


def input_skeleton(context):
    """The predictions skeleton the user means: the active one, or the input of an active
    refined one; None when the active object is no skeleton."""
    obj = context.active_object
    if obj is None or KIND not in obj:
        return None
    if obj[KIND] == "refined":
        return bpy.data.objects.get(obj.get(REFINED_OF, ""))
    return obj


def refined_skeleton(source):
    for obj in bpy.data.objects:
        if obj.get(KIND) == "refined" and obj.get(REFINED_OF) == source.name:
            return obj
    return None


# ---- ground truth ------------------------------------------------------------------------------


def dataset_ground_truth(settings, n_frames):
    """(poses (T,17,3) BlendMimic3D order, camera frame, root-relative; visible (T,17)) of the
    chosen subject folder, action and camera; DatasetError if it does not fit the predictions."""
    folder = bpy.path.abspath(settings.gt_folder)
    if not settings.gt_folder:
        raise DatasetError(None, "ground truth", "choose a subject folder (e.g. .../S1)")
    subjects = dio.subject_dirs(folder)
    if len(subjects) != 1:
        raise DatasetError(folder, None, "holds several subjects; choose one subject folder")
    subject_dir = subjects[0]
    if settings.gt_action not in dio.action_names(subject_dir):
        names = ", ".join(dio.action_names(subject_dir))
        raise DatasetError(subject_dir, "action", f"no action {settings.gt_action!r} ({names})")
    cameras = dio.read_cameras(subject_dir)
    cam = settings.gt_camera
    if not 0 <= cam < len(cameras):
        raise DatasetError(subject_dir, "camera", f"{cam} out of range 0..{len(cameras) - 1}")
    world = dio.read_positions_3d(subject_dir, settings.gt_action)
    if len(world) != n_frames:
        raise DatasetError(
            dio.positions_3d_path(subject_dir, settings.gt_action),
            "positions_3d",
            f"{len(world)} frames where the predictions have {n_frames}",
        )
    in_cam = world_to_camera(world, cameras.RT[cam : cam + 1])[0]
    visible = dio.read_occlusions(subject_dir, settings.gt_action)[cam]
    return in_cam - in_cam[:, :1], visible


def scene_ground_truth(context, settings, n_frames):
    """The same from the scene: the primary person's active action, seen by dataset camera
    ``gt_camera``, with occlusion labels from the exporter's own sampler."""
    from ..core.occlusion.labels import legacy_labels
    from .sampling import SceneSampler, blend_name

    scene = context.scene
    sampler = SceneSampler(scene, context.evaluated_depsgraph_get())
    cam = settings.gt_camera
    if not 0 <= cam < len(sampler.cameras):
        top = len(sampler.cameras) - 1
        raise DatasetError(blend_name(), "camera", f"{cam} out of range 0..{top}")
    person = sampler.people[0]
    action = person.animation_data.action if person.animation_data else None
    if action is None:
        raise DatasetError(blend_name(), f"{person.name}: action", "the person has no action")
    try:
        take = sampler.whole_take(action.name, [cam])
    finally:
        sampler.restore()
    world = take.positions_3d[:, 0]
    if len(world) != n_frames:
        raise DatasetError(
            blend_name(),
            f"{action.name}: frames",
            f"{len(world)} frames where the predictions have {n_frames}",
        )
    in_cam = world_to_camera(world, sampler.camera_set.RT[cam : cam + 1])[0]
    return in_cam - in_cam[:, :1], legacy_labels(take.types[cam][:, 0])


def update_comparison(context, source, refined, ground_truth=None):
    """Store the metrics on the scene: jitter and bone-length spread, and with ``ground_truth``
    ((T,17,3) BlendMimic3D order, visible labels) MPJPE and the rest with the error-over-time
    plot image. Missing frames never count: ``frames`` of ``total`` did."""
    before, after = skeleton_poses(source), skeleton_poses(refined)
    if ground_truth is None:
        counted = ~(rf.missing_frames(before) | rf.missing_frames(after))
        report = {"frames": int(counted.sum()), "total": len(counted), "before": {}, "after": {}}
    else:
        order = source[ORDER]
        report = rf.compare(
            convert_joint_order(before, order, "blendmimic3d"),
            convert_joint_order(after, order, "blendmimic3d"),
            *ground_truth,
        )
    for name, poses in (("before", before), ("after", after)):
        smooth = rf.smoothness(poses)
        report[name].update(jitter_mm=smooth["jitter_mm"], bone_std_mm=smooth["bone_std_mm"])
    report["source"] = source.name
    context.scene.bm3d_refine.results = json.dumps(report)
    image = bpy.data.images.get(PLOT_NAME)
    if ground_truth is None:
        if image is not None:  # no stale plot of an earlier comparison
            bpy.data.images.remove(image)
        return report
    pixels, top = rf.error_plot(
        [(report["before"]["per_frame"], BEFORE_RGB), (report["after"]["per_frame"], AFTER_RGB)]
    )
    if image is None or tuple(image.size) != (pixels.shape[1], pixels.shape[0]):
        if image is not None:
            bpy.data.images.remove(image)
        image = bpy.data.images.new(PLOT_NAME, pixels.shape[1], pixels.shape[0], alpha=True)
    image.pixels.foreach_set(pixels.ravel())
    image.update()
    image["bm3d_plot_top_mm"] = top
    return report


# ---- operators ---------------------------------------------------------------------------------


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
    joint_order: bpy.props.EnumProperty(name="Joint Order", items=JOINT_ORDER_ITEMS)

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


class BM3D_OT_refine_predictions(bpy.types.Operator):
    """Refine the active predictions skeleton with the bundled GCN; the result goes beside it"""

    bl_idname = "blendmimic3d.refine_predictions"
    bl_label = "Refine Predictions"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        source = input_skeleton(context)
        if source is None:
            self.report({"ERROR"}, "Select an imported predictions skeleton first")
            return {"CANCELLED"}
        settings = context.scene.bm3d_refine
        poses = skeleton_poses(source)
        wm = context.window_manager
        try:
            ground_truth = None
            if settings.ground_truth == "DATASET":
                ground_truth = dataset_ground_truth(settings, len(poses))
            elif settings.ground_truth == "SCENE":
                ground_truth = scene_ground_truth(context, settings, len(poses))
            confidence = None
            if settings.confidence_path:  # optional per-joint (T, 17) labels or scores
                path = bpy.path.abspath(settings.confidence_path)
                confidence = load_confidence(path, len(poses))
            prefs = preferences.get(context)
            model = rf.Refiner(threads=prefs.refiner_threads if prefs else 0)
            wm.progress_begin(0, len(poses))
            _status(context, "Refining poses...")
            refined = model.refine(
                poses, source[ORDER], progress=lambda done, _total: wm.progress_update(done),
                path=source.get(SOURCE), confidence=confidence,
            )  # fmt: skip
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        finally:
            wm.progress_end()
            _status(context, None)
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
        report = update_comparison(context, source, obj, ground_truth)
        if ground_truth is not None:
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


def _status(context, text):
    if context.workspace is not None:
        context.workspace.status_text_set(text)


# ---- settings and panel ------------------------------------------------------------------------


class BM3D_RefineSettings(bpy.types.PropertyGroup):
    filepath: bpy.props.StringProperty(name="Predictions", subtype="FILE_PATH")
    joint_order: bpy.props.EnumProperty(name="Joint Order", items=JOINT_ORDER_ITEMS)
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


class BM3D_PT_refiner(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_refiner"
    bl_label = "Pose Refiner"
    bl_order = 60
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_refine
        col = layout.column(align=True)
        col.prop(settings, "joint_order")
        op = col.operator(BM3D_OT_import_predictions.bl_idname, icon="IMPORT")
        op.joint_order = settings.joint_order
        layout.prop(settings, "ground_truth")
        if settings.ground_truth == "DATASET":
            box = layout.column(align=True)
            box.prop(settings, "gt_folder")
            box.prop(settings, "gt_action")
            box.prop(settings, "gt_camera")
        elif settings.ground_truth == "SCENE":
            layout.prop(settings, "gt_camera")
        layout.prop(settings, "confidence_path")
        row = layout.row(align=True)
        row.operator(BM3D_OT_refine_predictions.bl_idname, icon="MOD_SMOOTH")
        row.operator(BM3D_OT_export_refined.bl_idname, icon="EXPORT", text="Export")
        if settings.results:
            _draw_results(layout, settings, json.loads(settings.results))


def _draw_results(layout, settings, report):
    box = layout.box()
    frames, total = report["frames"], report.get("total", report["frames"])
    box.label(text=f"{report['source']}: {frames} of {total} frames counted (mm, before -> after)")
    if frames < total:
        box.label(text=f"{total - frames} frames with missing joints left out", icon="INFO")
    before, after = report["before"], report["after"]
    rows = [("Jitter", "jitter_mm"), ("Bone Spread", "bone_std_mm")]
    if "mpjpe" in before:
        rows = [("MPJPE", "mpjpe"), ("P-MPJPE", "p_mpjpe"), *rows]
    if "occluded" in before:
        rows += [("Occluded", "occluded"), ("Visible", "visible"), ("P Occluded", "p_occluded")]
    grid = box.grid_flow(columns=3, align=True)
    for label, key in rows:
        grid.label(text=label)
        grid.label(text=f"{before.get(key, float('nan')):.1f}")
        grid.label(text=f"{after.get(key, float('nan')):.1f}")
    if "occluded_share" in report:
        box.label(text=f"Occluded joints: {100 * report['occluded_share']:.1f} %")
    if "per_joint" not in before:
        return
    box.prop(settings, "show_per_joint")
    if settings.show_per_joint:
        names = JOINT_SETS["blendmimic3d"]
        col = box.grid_flow(columns=3, align=True)
        for name, b, a in zip(names, before["per_joint"], after["per_joint"], strict=True):
            col.label(text=name)
            col.label(text=f"{b:.1f}")
            col.label(text=f"{a:.1f}")
    image = bpy.data.images.get(PLOT_NAME)
    if image is not None:
        top = image.get("bm3d_plot_top_mm", 0.0)
        box.label(text=f"Error over time (0-{top:.0f} mm): red before, green after")
        box.template_icon(icon_value=image.preview_ensure().icon_id, scale=8.0)
        box.label(text=f"Image '{PLOT_NAME}' (open it in an Image Editor)")


_CLASSES = (
    BM3D_RefineSettings,
    BM3D_OT_import_predictions,
    BM3D_OT_refine_predictions,
    BM3D_OT_export_refined,
    BM3D_PT_refiner,
)


register, unregister = classes_and_scene_settings(_CLASSES, bm3d_refine=BM3D_RefineSettings)
