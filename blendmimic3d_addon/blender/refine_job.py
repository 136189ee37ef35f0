"""The Pose Refiner's work in Blender, without its UI (``refine_ops`` holds the operators): 3D
predictions as animated skeleton objects, ground truth from a dataset or the scene, and the
comparison of both with it.

A skeleton is a mesh whose 17 vertices are the joints and whose edges are the bones; the vertex
positions are keyframed, one key per frame; frames the estimator left NaN (any joint) are missing
and the skeleton is keyed hidden there. The exact poses (camera frame, metres, the joint
order the user stated) are kept on the object as custom properties, so refining and exporting
never read them back from the display, which shows them Z-up (camera x, z, -y).
"""

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.format import dataset_io as dio
from ..core.geometry.camera import world_to_camera
from ..core.joints import PARENTS_BM3D, convert_joint_order
from ..core.occlusion.labels import legacy_labels
from ..core.refine import runtime as rf
from .sampling import SceneSampler, blend_name
from .takes import animated_fcurves

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

# ---- skeleton objects --------------------------------------------------------------------------


def _display(poses):
    """Camera frame (x right, y down, z forward) to Blender's Z-up view: (x, z, -y)."""
    return np.stack([poses[..., 0], poses[..., 2], -poses[..., 1]], axis=-1)


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
    for fcurve in animated_fcurves(mesh):
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
    (fcurve,) = animated_fcurves(obj)
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


def dataset_ground_truth(subject_folder, action, cam, n_frames):
    """(poses (T,17,3) BlendMimic3D order, camera frame, root-relative; visible (T,17)) of the
    chosen subject folder, action and camera; DatasetError if it does not fit the predictions."""
    folder = bpy.path.abspath(subject_folder)
    if not subject_folder:
        raise DatasetError(None, "ground truth", "choose a subject folder (e.g. .../S1)")
    subjects = dio.subject_dirs(folder)
    if len(subjects) != 1:
        raise DatasetError(folder, None, "holds several subjects; choose one subject folder")
    subject_dir = subjects[0]
    if action not in dio.action_names(subject_dir):
        names = ", ".join(dio.action_names(subject_dir))
        raise DatasetError(subject_dir, "action", f"no action {action!r} ({names})")
    cameras = dio.read_cameras(subject_dir)
    if not 0 <= cam < len(cameras):
        raise DatasetError(subject_dir, "camera", f"{cam} out of range 0..{len(cameras) - 1}")
    world = dio.read_positions_3d(subject_dir, action)
    if len(world) != n_frames:
        raise DatasetError(
            dio.positions_3d_path(subject_dir, action),
            "positions_3d",
            f"{len(world)} frames where the predictions have {n_frames}",
        )
    in_cam = world_to_camera(world, cameras.RT[cam : cam + 1])[0]
    visible = dio.read_occlusions(subject_dir, action)[cam]
    return in_cam - in_cam[:, :1], visible


def scene_ground_truth(scene, depsgraph, cam, n_frames):
    """The same from the scene: the primary person's active action, seen by dataset camera
    ``cam``, with occlusion labels from the exporter's own sampler."""
    sampler = SceneSampler(scene, depsgraph)
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


def compare(source, refined, ground_truth=None):
    """The metrics of a refinement: jitter and bone-length spread, and with ``ground_truth``
    ((T,17,3) BlendMimic3D order, visible labels) MPJPE and the rest, with the error-over-time
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
