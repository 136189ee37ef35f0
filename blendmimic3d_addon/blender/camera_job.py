"""The work of the Cameras panel, without its UI (``camera_ops`` holds the operators): rigs from
presets (``rig_scene``), and a fit that frames every joint (``JointSampler``, ``plan_fit``).

``rig_scene`` builds ``Camera_0`` ... from a preset (the published BlendMimic3D geometry,
Human3.6M's calibration or a ring), moved and aimed at the people when there are any. The fit
samples every person's 17 joints over the frames the export writes (each frame is evaluated
once, for all cameras), then changes each camera's lens or distance so that every joint stays
inside its frame with a margin; cameras that cannot are named and left as they were.
"""

import time

import bpy
import numpy as np
from mathutils import Matrix

from ..core.errors import DatasetError
from ..core.format import dataset_io
from ..core.geometry import camera as camera_model
from ..core.geometry import camera_fit, camera_presets
from . import scene_model
from .modal_progress import drain
from .sampling import SceneSampler, camera_specs, current_joints, joint_bone_indices
from .scene_settings import SavedSettings
from .takes import frame_range, play_take, scene_actions

COLLECTION = "BlendMimic3D Cameras"
BLENDER_MIN_LENS_MM = 1.0


# --- joints of the people over the animation -------------------------------------------------


def fit_frames(scene, step=1):
    """``(take, frame)`` pairs to frame: every frame the export will write (each take of the
    primary person's library over its own range), or the scene's range when there is no take."""
    step = max(1, int(step))
    takes = scene_actions(scene)
    if not takes:
        return [(None, f) for f in range(scene.frame_start, scene.frame_end + 1, step)]
    pairs = []
    for take in takes:
        start, end = frame_range(bpy.data.actions[take])
        pairs.extend((take, f) for f in range(start, end + 1, step))
    return pairs


class JointSampler:
    """Samples the people's joints frame by frame, as the export does (one evaluation per frame
    for everyone); ``step`` advances a little so that a modal can show progress.

    ``joints`` is (frames, people * 17, 3) once done. Joints come from the armatures alone, so
    the skinned bodies are hidden while sampling (about 3x faster with three Mixamo people).
    Each person's take, the bodies and the current frame are put back when sampling ends or is
    cancelled.
    """

    def __init__(self, scene, step=1):
        self.scene = scene
        self.base = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
        self.people = self.base.people
        self.frames = fit_frames(scene, step)
        self.joints = np.empty((len(self.frames), 17 * len(self.people), 3))
        self.done_count = 0
        self._take = None
        self._hidden = None  # the bodies' visibility, once the first step hid them
        self._restored = False

    @property
    def done(self):
        return self.done_count >= len(self.frames)

    def step(self, seconds=0.05):
        """Sample frames for about ``seconds`` (at least one); returns the fraction done."""
        end = time.perf_counter() + seconds
        if self._hidden is None:
            self._hidden = SavedSettings()
            bodies = [body for bodies in self.base.bodies for body in bodies]
            self._hidden.set([(body, "hide_viewport", True) for body in bodies])
        while not self.done:
            take, frame = self.frames[self.done_count]
            if take is not None and take != self._take:
                play_take(self.scene, take)
                self._take = take
            self.scene.frame_set(frame)
            self.joints[self.done_count] = self.base.joints().reshape(-1, 3)
            self.done_count += 1
            if time.perf_counter() >= end:
                break
        if self.done:
            self.restore()
        return self.done_count / max(1, len(self.frames))

    def steps(self):
        """Generator: one frame a step, yielding the count of frames done; returns ``joints``.
        Closing it early (Esc) or an error puts the scene back as ``restore`` does."""
        try:
            while not self.done:
                self.step(seconds=0.0)
                yield self.done_count
        finally:
            self.restore()
        return self.joints

    def run(self):
        return drain(self.steps())

    def restore(self):
        """Put back the bodies, every person's take and the current frame (once)."""
        if self._restored:
            return
        self._restored = True
        if self._hidden is not None:
            self._hidden.restore()
        self.base.restore()


# --- cameras in Blender -------------------------------------------------------------------


def camera_intrinsics(cam_obj, scene):
    """K of a camera and its image size (width, height), exactly as the export computes them."""
    cameras = dataset_io.Cameras.from_blender(camera_specs(scene, [cam_obj]))
    return cameras.K[0], tuple(int(v) for v in cameras.res[0])


def _lens_and_shift(cam_obj, scene, focal_px, principal):
    """Blender lens (mm) and shift giving ``focal_px`` and ``principal`` for this scene.

    K is linear in the lens and in the shifts, so two evaluations of the camera model give the
    inverse without repeating Blender's sensor-fit rules here.
    """
    spec = camera_specs(scene, [cam_obj])[0]
    del spec["name"], spec["matrix_world"]
    base = camera_model.intrinsics_from_blender(**{**spec, "lens_mm": 1.0, "shift_x": 0.0,
                                                   "shift_y": 0.0})  # fmt: skip
    shifted = camera_model.intrinsics_from_blender(**{**spec, "lens_mm": 1.0, "shift_x": 1.0,
                                                      "shift_y": 1.0})  # fmt: skip
    lens = focal_px / base[0, 0]
    shift_x = (principal[0] - base[0, 2]) / (shifted[0, 2] - base[0, 2])
    shift_y = (principal[1] - base[1, 2]) / (shifted[1, 2] - base[1, 2])
    return lens, shift_x, shift_y


def _world_matrix(location, rotation):
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = location
    return Matrix(matrix.tolist())


def linked_collection(scene, name):
    """The collection ``name``, made and linked under the scene's master collection if needed."""
    coll = bpy.data.collections.get(name)
    if coll is None:
        coll = bpy.data.collections.new(name)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    return coll


def _check_names(scene, count):
    """Names Camera_0.. must be free (or ours): else Blender would add suffixes the exporter
    and the published layout do not expect."""
    ours = set(scene_model.dataset_cameras(scene))
    for i in range(count):
        other = bpy.data.objects.get(f"Camera_{i}")
        if other is not None and other not in ours:
            raise DatasetError(
                None, other.name, "this name is taken by an object that is not a dataset camera; "
                "rename it, then rig again",
            )  # fmt: skip


def remove_dataset_cameras(scene):
    for obj in scene_model.dataset_cameras(scene):
        data = obj.data
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            bpy.data.cameras.remove(data)


def build_rig(scene, rig, set_resolution=True):
    """Replace the scene's dataset cameras by ``rig``'s; returns the new camera objects."""
    _check_names(scene, len(rig.cameras))
    was_active = scene.camera in scene_model.dataset_cameras(scene) or scene.camera is None
    remove_dataset_cameras(scene)
    if set_resolution:
        render = scene.render
        render.resolution_x, render.resolution_y = rig.resolution
        render.resolution_percentage = 100
        render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    coll = linked_collection(scene, COLLECTION)
    created = []
    for i, spec in enumerate(rig.cameras):
        data = bpy.data.cameras.new(f"Camera_{i}")
        data.sensor_fit, data.sensor_width = "AUTO", 36.0
        obj = bpy.data.objects.new(f"Camera_{i}", data)
        data.lens, data.shift_x, data.shift_y = _lens_and_shift(
            obj, scene, spec.focal_px, spec.principal
        )
        coll.objects.link(obj)
        obj.matrix_world = _world_matrix(spec.location, spec.rotation)
        scene_model.set_role(obj, scene_model.CAMERA, **{scene_model.CAMERA_INDEX: i})
        created.append(obj)
    if was_active and created:
        scene.camera = created[0]
    return created


def make_rig(scene, settings, target=None):
    """The preset's rig; moved onto and aimed at ``target`` (3,) when given."""
    if settings["preset"] == "RING":
        resolution = (scene.render.resolution_x, scene.render.resolution_y)
        aim = target if target is not None else (0.0, 0.0, 1.0)
        return camera_presets.ring(
            settings["count"], settings["radius"], settings["height"], settings["focal_px"],
            resolution, target=aim,
        )  # fmt: skip
    rig = camera_presets.preset(settings["preset"])
    if target is not None:
        rig = camera_presets.aimed(camera_presets.moved(rig, target[:2]), target)
    return rig


def rig_scene(scene, settings):
    """Replace the dataset cameras by the preset's, centred on the people when asked and when
    there are any; returns ``(cameras, people)``. A person without the Mixamo joints is refused
    before any camera is replaced."""
    people = scene_model.people(scene)
    for person in people:
        joint_bone_indices(person)
    target = None
    if people and settings.get("follow_people", True):
        target = camera_fit.frame_centre(current_joints(people))
    rig = make_rig(scene, settings, target)
    cameras = build_rig(scene, rig, set_resolution=settings["preset"] != "RING")
    return cameras, people


# --- the fit -------------------------------------------------------------------------------


def plan_fit(scene, cameras, joints, mode, margin, aim):
    """What to change on each camera so that it frames ``joints`` (N, 3) in world space.

    Returns ``(changes, failures)``: changes are ``(camera, matrix_world, lens)``, failures
    ``(camera, reason)``. Nothing in the scene is modified here.
    """
    target = camera_fit.frame_centre(joints)
    changes, failures = [], []
    for cam in cameras:
        matrix = np.array(cam.matrix_world, dtype=np.float64)
        matrix[:3, :3] /= np.linalg.norm(matrix[:3, :3], axis=0)
        location = matrix[:3, 3].copy()
        if aim:
            try:
                matrix[:3, :3] = camera_presets.look_at(location, target)
            except DatasetError as exc:
                failures.append((cam, exc.reason))
                continue
        k, (width, height) = camera_intrinsics(cam, scene)
        rt = camera_model.extrinsics_from_world_matrix(matrix)
        points = camera_model.world_to_camera(joints, rt)[0]
        principal, aspect = (k[0, 2], k[1, 2]), k[0, 0] / k[1, 1]
        lens = cam.data.lens
        if mode == "FOCAL":
            result = camera_fit.fit_focal(points, width, height, principal, margin, aspect)
            if result.ok:
                lens = cam.data.lens * result.value / k[0, 0]
                if lens < BLENDER_MIN_LENS_MM:
                    result = camera_fit.Fit(False, 0.0, "it would need a lens under 1 mm")
        else:
            result = camera_fit.fit_distance(
                points, width, height, principal, k[0, 0], margin, aspect
            )
            if result.ok:
                matrix[:3, 3] = location + result.value * matrix[:3, 2]  # back along local +z
        if result.ok:
            changes.append((cam, Matrix(matrix.tolist()), lens))
        else:
            failures.append((cam, result.reason))
    return changes, failures


def apply_fit(changes):
    for cam, matrix, lens in changes:
        cam.matrix_world = matrix
        cam.data.lens = lens


def fit_message(changes, failures, frames, people):
    fitted = ", ".join(cam.name for cam, *_ in changes) or "none"
    text = f"Fitted {fitted} over {frames} frames of {people} people"
    if failures:
        text += "; cannot fit " + "; ".join(f"{cam.name}: {why}" for cam, why in failures)
    return text


def fit_now(scene, cameras, mode, margin, step, aim):
    """Sample and fit in one go (scripts, tests, rig_cameras.execute); returns the plan."""
    sampler = JointSampler(scene, step)
    joints = sampler.run().reshape(-1, 3)
    changes, failures = plan_fit(scene, cameras, joints, mode, margin, aim)
    apply_fit(changes)
    return changes, failures, len(sampler.frames), len(sampler.people)
