"""The frames of a dataset as image files, and per camera and frame an instance mask and a depth
image from the same render, so that they line up pixel for pixel (docs/COCO.md).

For subject folder S, action A, camera i and frame k (0-based within the take):
``S/Frames/<A>_<i>/<k:06d>.png`` (8-bit RGB), ``S/Masks/<A>_<i>/<k:06d>.png`` (16-bit: 0
background, person p -> p + 1, from Cycles' object index pass) and ``S/Depth/<A>_<i>/<k:06d>.png``
(16-bit millimetres along the camera axis, 0 where nothing is hit or beyond 65.535 m) or
``.exr`` (metres, float32; nothing hit: 0). One render per frame: the frame is saved as PNG,
then the same render result as an uncompressed multilayer EXR whose passes are read in numpy
(``core.format.exr_channels``). Everything goes to a staging folder first and is moved into
place at the end: a cancel or an error leaves the subject folder as it was.
"""

import contextlib
import dataclasses
import os
import shutil
import tempfile

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.format import coco_dataset, exr_channels, png16
from . import render_presets, scene_model, video_frames, video_job

DEPTH_FORMATS = ("PNG", "EXR")
_NOTHING_HIT = 1e9  # Cycles' depth where a pixel sees no surface is 1e10


@dataclasses.dataclass
class PassPlan:
    directory: str
    preset: str
    samples: int
    scale: int
    masks: bool
    depth: bool
    depth_format: str
    cameras: list
    takes: list

    def outputs(self):
        """(take, camera index, [(kind, extension)]) of every image sequence."""
        kinds = [(coco_dataset.FRAMES, "png")]
        if self.masks:
            kinds.append((coco_dataset.MASKS, "png"))
        if self.depth:
            kinds.append((coco_dataset.DEPTH, self.depth_format.lower()))
        for take in self.takes:
            for index in range(len(self.cameras)):
                yield take, index, kinds

    @property
    def total_steps(self):
        return sum(len(t.frames) for t in self.takes) * len(self.cameras)


def plan_passes(scene, settings):
    """Check everything before anything is changed; a DatasetError names what is wrong."""
    directory = video_job.subject_directory(
        settings, "choose the subject folder of an exported dataset"
    )
    engine = render_presets.PRESETS[settings.preset].engine
    if (settings.masks or settings.depth) and engine != "CYCLES":
        raise DatasetError(None, "preset", "masks and depth come from Cycles' passes: "
                           "choose Realistic (Cycles)")  # fmt: skip
    if settings.depth_format not in DEPTH_FORMATS:
        raise DatasetError(None, "depth_format", f"{settings.depth_format!r}: PNG or EXR")
    cameras, takes = video_job.cameras_and_takes(scene, directory)
    plan = PassPlan(
        directory, settings.preset, settings.samples, settings.scale, settings.masks,
        settings.depth, settings.depth_format, cameras, takes,
    )  # fmt: skip
    for take, index, kinds in plan.outputs():
        for kind, _ in kinds:
            folder = os.path.join(directory, kind, coco_dataset.take_folder(take.folder, index))
            if os.path.exists(folder) and not settings.overwrite:
                raise DatasetError(folder, None, "already exists; allow overwrite")
    return plan


@contextlib.contextmanager
def _passes_enabled(scene, people):
    """Depth and object index passes on, each person's body meshes indexed p + 1 and every
    other object 0, uncompressed EXR; all put back afterwards."""
    layer = scene.view_layers[0]
    saved_layer = (layer.use_pass_z, layer.use_pass_object_index)
    saved_index = {obj: obj.pass_index for obj in scene.objects}
    image = scene.render.image_settings
    saved_exr = image.exr_codec
    try:
        layer.use_pass_z = layer.use_pass_object_index = True
        for obj in scene.objects:
            obj.pass_index = 0
        for p, arm in enumerate(people):
            for body in scene_model.body_meshes(arm, scene):
                body.pass_index = p + 1
        yield layer
    finally:
        layer.use_pass_z, layer.use_pass_object_index = saved_layer
        for obj, index in saved_index.items():
            if obj.pass_index != index:
                obj.pass_index = index
        image.exr_codec = saved_exr


def render_steps(scene, plan):
    """Render every frame of ``plan`` once, writing its files; yields (steps done, message).
    Closing the generator early or an error leaves the subject folder untouched."""
    stage = tempfile.mkdtemp(prefix=".passes.", suffix=".staging", dir=plan.directory)
    done = 0
    try:
        with video_job.restored_scene_settings(scene), _passes_enabled(
            scene, scene_model.people(scene)
        ) as layer:  # fmt: skip
            video_job._configure_render(scene, plan)
            for take, index, _kinds in plan.outputs():
                with video_job.applied_take(scene, take):
                    scene.camera = plan.cameras[index]
                    for k, frame in enumerate(take.frames):
                        scene.frame_set(frame)
                        _render_frame(scene, layer, stage, plan, take.folder, index, k)
                        done += 1
                        yield done, f"{take.folder}, camera {index}: frame {frame}"
        _move_into_place(stage, plan)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _render_frame(scene, layer, stage, plan, action, camera, k):
    bpy.ops.render.render(write_still=False, scene=scene.name)
    result = bpy.data.images["Render Result"]
    image = scene.render.image_settings
    frame_path = coco_dataset.image_path(stage, coco_dataset.FRAMES, action, camera, k)
    os.makedirs(os.path.dirname(frame_path), exist_ok=True)
    video_frames.set_image_format(image, "PNG")
    image.color_mode, image.color_depth = "RGB", "8"
    result.save_render(frame_path, scene=scene)
    if not os.path.isfile(frame_path):
        raise DatasetError(frame_path, None, "the render wrote no frame")
    if not (plan.masks or plan.depth):
        return
    exr = os.path.join(stage, "passes.exr")
    _set_multilayer_exr(image)
    image.color_depth, image.exr_codec = "32", "NONE"
    result.save_render(exr, scene=scene)
    try:
        channels = exr_channels.read_channels(exr)
    finally:
        os.remove(exr)
    prefix = f"{layer.name}."
    if plan.masks:
        ids = _channel(channels, [prefix + "IndexOB.X", prefix + "Object Index.X"], exr)
        path = coco_dataset.image_path(stage, coco_dataset.MASKS, action, camera, k)
        png16.write(path, np.rint(ids).astype(np.uint16))
    if plan.depth:
        depth = _channel(channels, [prefix + "Depth.Z"], exr).astype(np.float64)
        depth[~(depth < _NOTHING_HIT)] = 0.0
        ext = plan.depth_format.lower()
        path = coco_dataset.image_path(stage, coco_dataset.DEPTH, action, camera, k, ext)
        if ext == "png":
            millimetres = np.rint(depth * 1000.0)
            millimetres[millimetres > 65535] = 0
            png16.write(path, millimetres.astype(np.uint16))
        else:
            exr_channels.write_single(path, "Z", depth.astype(np.float32))


def _set_multilayer_exr(image):
    """Blender 5.0 has multilayer files as their own media type; 4.x as a file format."""
    if hasattr(image, "media_type"):
        image.media_type = "MULTI_LAYER_IMAGE"
    image.file_format = "OPEN_EXR_MULTILAYER"


def _channel(channels, names, path):
    """The first of ``names`` the file has (passes were renamed in Blender 5: IndexOB ->
    Object Index)."""
    for name in names:
        if name in channels:
            return channels[name]
    raise DatasetError(path, names[0], f"the render has no such pass (has {sorted(channels)})")


def _move_into_place(stage, plan):
    for take, index, kinds in plan.outputs():
        for kind, _ in kinds:
            relative = os.path.join(kind, coco_dataset.take_folder(take.folder, index))
            target = os.path.join(plan.directory, relative)
            if os.path.exists(target):
                shutil.rmtree(target)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(os.path.join(stage, relative), target)
