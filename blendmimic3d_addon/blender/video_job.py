"""The work of render_videos, without its UI: what to render (``plan_videos``), and rendering
it step by step (``render_steps``), so that the operator can run it modal or all at once.

Frames are rendered to PNG in a staging folder inside the dataset folder and encoded there; the
finished videos are renamed into ``Videos/`` only when every one of them is done, so a cancel or an
error leaves ``Videos/`` as it was. The scene's render settings, camera, frame and actions are put
back afterwards.
"""

import contextlib
import dataclasses
import os
import shutil
import tempfile

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.format import dataset_io, manifest
from ..core.geometry import camera as camera_model
from ..core.joints import PARENTS_BM3D
from ..core.occlusion import qa_overlay
from ..core.render import frame_check
from . import render_presets, scene_model, video_frames
from .compat import set_image_format
from .scene_settings import changed
from .takes import Take, applied_take, scene_takes

VIDEOS_DIR = "Videos"
FRAMES_DIR = "Frames"
SEQUENCE_FORMATS = {"PNG": ".png", "JPEG": ".jpg"}


def video_name(action, camera_index):
    return f"{action}_{camera_index}.mp4"


def qa_video_name(action, camera_index):
    """The QA video beside the plain one: same action and camera, ``.qa`` before ``.mp4``."""
    return f"{action}_{camera_index}.qa.mp4"


def frames_folder(action, camera_index):
    """``Frames/<Action>_<i>``: frame k (0-based within the take) is ``<k:06d>.png`` (or .jpg)."""
    return os.path.join(FRAMES_DIR, f"{action}_{camera_index}")


def frame_file(index, file_format="PNG"):
    return f"{index:06d}{SEQUENCE_FORMATS[file_format]}"


@dataclasses.dataclass
class VideoPlan:
    directory: str
    preset: str
    samples: int
    scale: int
    qa_video: bool
    cameras: list
    takes: list
    write_videos: bool = True
    image_sequence: str = "NONE"  # or a SEQUENCE_FORMATS key
    notes: list = dataclasses.field(default_factory=list)  # shown once before rendering

    def outputs(self):
        """(take, camera index, relative paths of the video, the QA video and the frames folder),
        None for those not asked for."""
        for take in self.takes:
            for index in range(len(self.cameras)):
                qa = os.path.join(VIDEOS_DIR, qa_video_name(take.folder, index))
                video = os.path.join(VIDEOS_DIR, video_name(take.folder, index))
                frames = frames_folder(take.folder, index)
                yield (
                    take,
                    index,
                    video if self.write_videos else None,
                    qa if self.qa_video else None,
                    frames if self.image_sequence != "NONE" else None,
                )

    @property
    def total_steps(self):
        per_frame = 2 if self.qa_video else 1
        return sum(len(t.frames) for t in self.takes) * len(self.cameras) * per_frame


def subject_directory(settings, unset_reason):
    """The settings' folder, absolute and existing; DatasetError(``unset_reason``) if unset."""
    directory = bpy.path.abspath(settings.directory) if settings.directory else ""
    if not directory:
        raise DatasetError(None, "directory", unset_reason)
    directory = os.path.abspath(directory)
    if not os.path.isdir(directory):
        raise DatasetError(directory, None, "folder does not exist; export the dataset first")
    return directory


def cameras_and_takes(scene, directory):
    """(cameras, takes) to render: as the dataset's manifest lists them, else the scene's."""
    listed = listed_takes(directory)
    if listed is not None:
        cameras, takes = listed
    else:
        cameras, takes = scene_model.dataset_cameras(scene), scene_takes(scene)
    if not cameras:
        raise DatasetError(None, "cameras", "the scene has no dataset cameras (Camera_0, ...)")
    if not takes:
        raise DatasetError(None, "actions", "no person in the scene has an action to render")
    return cameras, takes


def plan_videos(scene, settings):
    """Check everything before anything is changed; a DatasetError names what is wrong."""
    directory = subject_directory(settings, "choose the dataset folder to put the videos in")
    cameras, takes = cameras_and_takes(scene, directory)
    if render_presets.PRESETS[settings.preset].engine != "WORKBENCH" and not (
        render_presets.is_lit(scene)
    ):
        raise DatasetError(None, "preset", render_presets.UNLIT)
    if not (settings.write_videos or settings.qa_video or settings.image_sequence != "NONE"):
        raise DatasetError(None, "output", "choose videos, QA videos or image sequences to write")
    plan = VideoPlan(
        directory=directory,
        preset=settings.preset,
        samples=settings.samples,
        scale=settings.scale,
        qa_video=settings.qa_video,
        cameras=cameras,
        takes=takes,
        write_videos=settings.write_videos,
        image_sequence=settings.image_sequence,
        notes=render_presets.notes(settings.preset),
    )
    for take, index, video, qa, frames in plan.outputs():
        for path in (video, qa, frames):
            if path and os.path.exists(os.path.join(directory, path)) and not settings.overwrite:
                raise DatasetError(
                    os.path.join(directory, path), None, "already exists; allow overwrite"
                )
        if qa:  # fail now, not after an hour of rendering
            dataset_resolution(directory, index)
            qa_keypoints(directory, take, index)
    return plan


# --- takes -------------------------------------------------------------------------------------


def listed_takes(directory):
    """(cameras, takes) as the dataset's manifest lists them for this subject, so that the
    videos match the exported files (a subset of cameras or actions, their frame ranges);
    None when the dataset has no manifest entry for it (a legacy folder)."""
    root, subject = os.path.split(directory)
    content = manifest.read_manifest(root)
    if content is None or subject not in content["subjects"]:
        return None
    path = manifest.manifest_path(root)
    entry = content["subjects"][subject]
    cameras = []
    for index, camera in enumerate(entry["cameras"]):
        obj = bpy.data.objects.get(camera["name"])
        if obj is None or obj.type != "CAMERA":
            field = f"subjects.{subject}.cameras[{index}]"
            raise DatasetError(path, field, f"camera {camera['name']!r} is not in this scene")
        cameras.append(obj)
    takes = []
    for folder, action in entry["actions"].items():
        name = action.get("blender_action", folder)
        if name not in bpy.data.actions:
            field = f"subjects.{subject}.actions.{folder}"
            raise DatasetError(path, field, f"action {name!r} is not in this scene")
        takes.append(Take(name, folder, int(action["frame_start"]), int(action["frame_end"])))
    return cameras, takes


# --- QA inputs ---------------------------------------------------------------------------------


def qa_keypoints(directory, take, camera_index):
    """(uv (N, P, J, 2), types (N, P, J)) of the take's people in one camera, from the dataset:
    every person when the take has Persons/ (multi-person), else the primary, with typed codes
    when the dataset has them and the legacy 0/1 labels otherwise."""
    folder = take.folder
    frames = len(take.frames)
    if os.path.isfile(dataset_io.persons_path(directory, folder)):
        persons = dataset_io.read_persons(directory, folder)
        path = dataset_io.persons_path(directory, folder)
        uv = _camera_entry(path, persons.positions_2d_by_cam, camera_index).swapaxes(0, 1)
        types = _camera_entry(path, persons.types_by_cam, camera_index).swapaxes(0, 1)
    else:
        path = dataset_io.positions_2d_path(directory, folder)
        uv = _camera_entry(path, dataset_io.read_positions_2d(directory, folder), camera_index)
        if os.path.isfile(dataset_io.occlusion_types_path(directory, folder)):
            types_by_cam = dataset_io.read_occlusion_types(directory, folder)
            path = dataset_io.occlusion_types_path(directory, folder)
        else:
            legacy = dataset_io.read_occlusions(directory, folder)
            types_by_cam = [qa_overlay.types_from_legacy(labels) for labels in legacy]
            path = dataset_io.occlusions_path(directory, folder)
        types = _camera_entry(path, types_by_cam, camera_index)
        uv, types = uv[:, None], types[:, None]
    if len(uv) != frames or len(types) != frames:
        raise DatasetError(
            path, dataset_io.cam_key(camera_index), f"{len(uv)} frames where the take has {frames}"
        )
    return uv, types


def _camera_entry(path, arrays, camera_index):
    if camera_index >= len(arrays):
        raise DatasetError(path, dataset_io.cam_key(camera_index), "missing camera")
    return np.asarray(arrays[camera_index])


def dataset_resolution(directory, camera_index):
    """(width, height) of the dataset's pixels in one camera, from its Cameras/ files."""
    cameras = dataset_io.read_cameras(directory)
    if camera_index >= len(cameras):
        path = dataset_io.matrices_path(directory, os.path.basename(directory))
        raise DatasetError(path, "K", f"no camera {camera_index} in the dataset")
    return tuple(int(v) for v in cameras.res[camera_index])


# --- rendering ---------------------------------------------------------------------------------


@contextlib.contextmanager
def restored_scene_settings(scene):
    """Put back every setting that rendering the videos changes, in the order they were read."""
    render = scene.render
    targets = [
        (render, ("filepath", "use_file_extension", "resolution_percentage")),
        (render.image_settings, ("media_type", "file_format", "color_mode", "color_depth")),
        (scene, ("camera", "frame_current")),
    ]
    targets += [(owner, (name,)) for owner, name in render_presets.saved_settings(scene)]
    try:
        with changed(kept=targets):
            yield
    finally:
        scene.frame_set(scene.frame_current)


def _configure_render(scene, plan):
    render = scene.render
    render_presets.apply(scene, plan.preset, plan.samples)
    render.resolution_percentage = max(1, render.resolution_percentage * plan.scale // 100)
    render.use_file_extension = True
    set_image_format(render.image_settings, "PNG")
    render.image_settings.color_mode = "RGB"
    render.image_settings.color_depth = "8"


def render_steps(scene, plan):
    """Render and encode every video of ``plan``, yielding (steps done, message) as it goes.

    Each frame of a take is evaluated once and rendered through every camera (the cameras of a
    frame share the evaluated scene). Closing the generator early (a cancel) or an exception
    removes the staging folder and leaves ``Videos/`` and ``Frames/`` untouched; the scene is
    restored either way.
    """
    stage = tempfile.mkdtemp(prefix=".videos.", suffix=".staging", dir=plan.directory)
    done = 0
    try:
        with restored_scene_settings(scene):
            _configure_render(scene, plan)
            render = scene.render
            size = camera_model.render_size(
                render.resolution_x, render.resolution_y, render.resolution_percentage
            )
            for take in plan.takes:
                folders = _fresh_folders(stage, len(plan.cameras))
                with applied_take(scene, take):
                    for n, frame in enumerate(take.frames):
                        scene.frame_set(frame)
                        for camera, folder in zip(plan.cameras, folders, strict=True):
                            scene.camera = camera
                            _render_frame(scene, os.path.join(folder, f"{n:06d}.png"), size)
                            done += 1
                            yield done, f"{take.folder}: frame {frame}, {camera.name}"
                for out in plan.outputs():
                    if out[0] is take:
                        finishing = _finish_camera(scene, plan, stage, folders[out[1]], out, size)
                        for message in finishing:
                            done += 1
                            yield done, message
        shutil.rmtree(os.path.join(stage, "frames"), ignore_errors=True)
        _move_into_place(plan, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _fresh_folders(stage, count):
    """Empty staging folders for the rendered frames of each camera."""
    root = os.path.join(stage, "frames")
    shutil.rmtree(root, ignore_errors=True)
    folders = [os.path.join(root, str(index)) for index in range(count)]
    for folder in folders:
        os.makedirs(folder)
    return folders


def _finish_camera(scene, plan, stage, folder, out, size):
    """Check, copy and encode one camera's rendered take; yields a message per QA frame drawn."""
    take, index, video, qa, frames = out
    paths = video_frames.frame_paths(folder)
    check_not_flat(paths, os.path.join(plan.directory, video or qa or frames))
    if frames:
        _write_sequence(paths, os.path.join(stage, frames), plan.image_sequence)
    if video:
        _encode(scene, paths, os.path.join(stage, video))
    if qa:
        for n in _draw_qa(plan, take, index, paths, size):
            yield f"{qa}: overlay of frame {take.frame_start + n}"
        _encode(scene, paths, os.path.join(stage, qa))


def check_not_flat(paths, name):
    """A DatasetError when every frame in ``paths`` is (nearly) one colour. Reads frames only
    until one shows something (usually the first)."""
    colour = None
    for path in paths:
        frame = video_frames.read_frame(path)
        if not frame_check.is_flat(frame):
            return
        colour = colour or frame_check.median_colour(frame)
    raise DatasetError(name, None, frame_check.flat_message(colour))


def _write_sequence(paths, folder, file_format):
    os.makedirs(folder)
    for n, path in enumerate(paths):
        target = os.path.join(folder, frame_file(n, file_format))
        if file_format == "PNG":
            shutil.copyfile(path, target)
        else:
            video_frames.write_frame(target, video_frames.read_frame(path), file_format)


def _move_into_place(plan, stage):
    """Rename every finished output from the staging folder into the dataset folder; a frames
    folder replaces the older one whole."""
    for _take, _index, *paths in plan.outputs():
        for path in paths:
            if not path:
                continue
            target = os.path.join(plan.directory, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(target):  # an older frames folder: out of the way, then removed
                os.replace(target, os.path.join(stage, f"old.{os.path.basename(path)}"))
            os.replace(os.path.join(stage, path), target)


def _render_frame(scene, path, size):
    """Render the current frame to a PNG of even size (``size``: the render's width, height)."""
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True, scene=scene.name)
    if not os.path.isfile(path):
        raise DatasetError(path, None, "the render wrote no frame")
    if size[0] % 2 or size[1] % 2:  # H.264 needs even sizes
        video_frames.write_frame(path, qa_overlay.pad_to_even(video_frames.read_frame(path)))


def _draw_qa(plan, take, index, paths, rendered_size):
    """Draw the keypoints over the rendered frames in place, yielding each frame's number."""
    uv, types = qa_keypoints(plan.directory, take, index)
    # The 2D is in the dataset's pixels; the frames may be smaller (Resolution %), and padded.
    scale = np.divide(rendered_size, dataset_resolution(plan.directory, index))
    for n, path in enumerate(paths):
        frame = video_frames.read_frame(path)
        frame = qa_overlay.draw_keypoints(frame, uv[n] * scale, types[n], PARENTS_BM3D)
        video_frames.write_frame(path, frame)
        yield n


def _encode(scene, paths, out_path):
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    video_frames.encode_mp4(paths, out_path, scene.render.fps, scene.render.fps_base)
    if not os.path.isfile(out_path):
        raise DatasetError(out_path, None, "the movie writer wrote nothing")
