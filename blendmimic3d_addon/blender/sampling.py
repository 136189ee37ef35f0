"""Sample a take once per frame: the 17 joints of every person, projected into every camera,
with an occlusion code per joint and camera.

Each frame is evaluated once (``scene.frame_set``) for all people and cameras; projections are
batched with numpy; the surfaces for the occlusion rays are read once per frame and shared by
every camera (``raycast.FrameRayCaster``); the rays of BATCH frames are cast and classified
together, on a worker thread while the main thread evaluates the next frames.
"""

import collections
import concurrent.futures
import dataclasses

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.format import dataset_io
from ..core.geometry import camera as cam
from ..core.joints import bm3d_bone_names
from ..core.occlusion import classify as occlusion
from ..core.occlusion.labels import LABEL_DTYPE
from . import raycast, scene_model
from .modal_progress import drain
from .takes import action_folder_name, current_takes, play_take, restore_takes

# Frames whose occlusion rays are cast and classified together: numpy's per-call costs, larger
# than the work of one frame's rays, are shared, while the buffers (PARTS * BATCH copies of the
# scene's vertices) stay small and fixed.
BATCH = 6
# The ray caster's slots in parts of BATCH: the main thread fills one while the worker casts the
# batches in the others, so that a slow batch (the first, after the layout) or a busy spell
# holds up the frames only when the worker is PARTS - 1 batches behind.
PARTS = 3
# Whether batches are labelled on a worker thread (False: on the main thread, in turn with the
# frames; the benchmark compares both).
PIPELINED = True


@dataclasses.dataclass
class SampledTake:
    """One action sampled for all people: 3D (N,P,17,3), and per sampled camera index the 2D
    pixels (N,P,17,2) and occlusion codes (N,P,17)."""

    action: str
    frames: np.ndarray
    positions_3d: np.ndarray
    positions_2d: dict
    types: dict


def blend_name():
    return bpy.data.filepath or "<unsaved scene>"


def camera_specs(scene, cameras):
    """The Blender numbers of each dataset camera (``dataset_io.Cameras.from_blender``'s specs)."""
    render = scene.render
    specs = []
    for obj in cameras:
        data = obj.data
        if data.type != "PERSP":
            raise DatasetError(
                blend_name(), f"{obj.name}: type", "dataset cameras must be perspective"
            )
        specs.append(
            {
                "name": obj.name,
                "matrix_world": np.array(obj.matrix_world),
                "lens_mm": data.lens,
                "sensor_width": data.sensor_width,
                "sensor_height": data.sensor_height,
                "sensor_fit": data.sensor_fit,
                "shift_x": data.shift_x,
                "shift_y": data.shift_y,
                "res_x": render.resolution_x,
                "res_y": render.resolution_y,
                "percentage": render.resolution_percentage,
                "pixel_aspect_x": render.pixel_aspect_x,
                "pixel_aspect_y": render.pixel_aspect_y,
            }
        )
    return specs


def joint_bone_indices(armature):
    """Indices among the armature's pose bones of the 17 joints' bones (Mixamo names)."""
    names = armature.pose.bones.keys()
    try:
        wanted = bm3d_bone_names(names)
    except ValueError as exc:
        raise DatasetError(None, armature.name, str(exc)) from None
    return np.array([names.index(name) for name in wanted])


def world_joints(armature, indices):
    """World positions (17, 3) of the joints: the pose bones' heads through the object's matrix
    (``indices`` from ``joint_bone_indices``). The one way joints are read from the scene."""
    bones = armature.pose.bones
    heads = np.empty(len(bones) * 3, dtype=np.float64)
    bones.foreach_get("head", heads)
    local = heads.reshape(-1, 3)[indices]
    matrix = np.array(armature.matrix_world, dtype=np.float64)
    return local @ matrix[:3, :3].T + matrix[:3, 3]


def current_joints(people):
    """The people's joints (people * 17, 3) at the current frame."""
    return np.concatenate([world_joints(p, joint_bone_indices(p)) for p in people])


class SceneSampler:
    """Everything the export reads from the scene, checked once up front."""

    def __init__(self, scene, depsgraph):
        self.scene = scene
        self.people = scene_model.people(scene)
        if not self.people:
            raise DatasetError(
                blend_name(), "people", "no person in the scene (add a Mixamo character first)"
            )
        self.cameras = scene_model.dataset_cameras(scene)
        if not self.cameras:
            raise DatasetError(
                blend_name(), "cameras", "no dataset camera in the scene (rig the cameras first)"
            )
        self.joint_indices = []
        for arm in self.people:
            try:
                self.joint_indices.append(joint_bone_indices(arm))
            except DatasetError as exc:
                raise DatasetError(blend_name(), f"{arm.name}: bones", exc.reason) from None
        self.bodies = raycast.people_bodies(scene)
        self.depsgraph = depsgraph
        self.camera_specs = camera_specs(scene, self.cameras)
        self.camera_set = dataset_io.Cameras.from_blender(self.camera_specs)
        self._saved = current_takes(scene)
        self._saved_frame = scene.frame_current
        self.caster = None
        self.face_points = None  # a face_points.FaceSampler when the export writes face points

    def restore(self):
        """Put back every person's take and the current frame."""
        restore_takes(self._saved)
        self.scene.frame_set(self._saved_frame)

    def joints(self):
        """World positions (P,17,3) of the people's joints at the evaluated frame."""
        out = np.empty((len(self.people), 17, 3))
        for p, (arm, indices) in enumerate(zip(self.people, self.joint_indices, strict=True)):
            out[p] = world_joints(arm.evaluated_get(self.depsgraph), indices)
        return out

    def sample_take(self, action_name, camera_indices, labels=True, frames=None, counted_from=0):
        """Generator over the frames of one take (all, or the given ``frames``); yields the count
        of frames done (plus ``counted_from``) after each frame, returns a ``SampledTake``."""
        start, end = play_take(self.scene, action_name)
        frames = np.arange(start, end + 1) if frames is None else np.asarray(frames, dtype=int)
        cams = self.camera_set
        camera_indices = list(camera_indices)
        P = cams.P[camera_indices]
        RT = cams.RT[camera_indices]
        n, people = len(frames), len(self.people)
        positions_3d = np.empty((n, people, 17, 3))
        positions_2d = np.empty((len(camera_indices), n, people, 17, 2))
        types = np.zeros((len(camera_indices), n, people, 17), dtype=LABEL_DTYPE)
        batch = _LabelBatch(self, RT, positions_3d, positions_2d, types)
        if self.face_points is not None:
            self.face_points.begin_take(n, camera_indices)
        try:
            for i, frame in enumerate(frames):
                self.scene.frame_set(int(frame))
                joints = self.joints()
                positions_3d[i] = joints
                if self.face_points is not None:
                    self.face_points.read_frame(i)
                if camera_indices:
                    positions_2d[:, i] = cam.project(joints, P)
                    if labels:
                        batch.add(i)
                yield counted_from + i + 1
            batch.finish()
        finally:
            batch.close()  # also on a cancel (the generator closed) or an error
        return SampledTake(
            action_folder_name(action_name),
            frames,
            positions_3d,
            {c: positions_2d[k] for k, c in enumerate(camera_indices)},
            {c: types[k] for k, c in enumerate(camera_indices)},
        )

    def label_evaluated_frame(self, camera_indices):
        """The evaluated frame as it stands, labelled as ``sample_take`` labels a frame (the same
        batch, caster and classifier), without setting a take or a frame: joints (P,17,3), and
        per camera index the pixels (P,17,2) and codes (P,17). The live overlay uses this."""
        camera_indices = list(camera_indices)
        positions_3d = self.joints()[None]
        positions_2d = cam.project(positions_3d[0], self.camera_set.P[camera_indices])[:, None]
        types = np.zeros(positions_2d.shape[:-1], dtype=LABEL_DTYPE)
        batch = _LabelBatch(self, self.camera_set.RT[camera_indices], positions_3d, positions_2d,
                            types)  # fmt: skip
        try:
            batch.add(0)
            batch.finish()
        finally:
            batch.close()
        pixels = {c: positions_2d[k, 0] for k, c in enumerate(camera_indices)}
        return positions_3d[0], pixels, {c: types[k, 0] for k, c in enumerate(camera_indices)}

    def whole_take(self, action_name, camera_indices, labels=True, frames=None):
        """``sample_take`` run to its end in one go: the ``SampledTake``."""
        return drain(self.sample_take(action_name, camera_indices, labels, frames))

    def ray_caster(self):
        """The ray caster, created (reading the evaluated frame) on first use."""
        if self.caster is None:
            self.caster = raycast.FrameRayCaster(
                self.scene, self.depsgraph, self.bodies, capacity=PARTS * BATCH
            )
            return self.caster, False
        return self.caster, self.caster.begin_frame(self.depsgraph)


class _LabelBatch:
    """Frames of a take waiting for their occlusion labels, labelled BATCH at a time on a worker
    thread. The main thread evaluates frames (``scene.frame_set`` lets other threads run) and
    stores their surfaces in one part of the ray caster's slots while the worker casts the rays
    of the batches in the other parts: the two cores share the work, at most PARTS - 1 batches
    are in flight, and the worker touches numpy arrays only, never Blender data."""

    def __init__(self, sampler, RT, positions_3d, positions_2d, types):
        self.sampler = sampler
        self.RT = RT
        self.centres = cam.camera_centre(RT)
        self.positions_3d, self.positions_2d, self.types = positions_3d, positions_2d, types
        self.frames = []
        self.part = 0  # the part of the slots being filled
        self._worker = None
        self._in_flight = collections.deque()  # futures of the batches cast, oldest first
        self._layout = None  # the caster's layout being made on the worker

    def add(self, i):
        """Keep frame ``i`` (the evaluated one) for labelling."""
        caster, relayout = self.sampler.ray_caster()
        if relayout:
            self.finish()  # the frames kept so far use the old layout
            caster.lay_out()
        if PIPELINED and not caster.laid_out and self._layout is None:
            # Made on the worker while this thread evaluates the first batch's frames, not
            # after it, when this thread would wait for it.
            self._layout = self._pool().submit(lambda: caster.chunks)
        caster.store(self.part * BATCH + len(self.frames))
        self.frames.append(i)
        if len(self.frames) == BATCH:
            self._submit()

    def finish(self):
        """Label the frames still waiting; returns when every frame has its codes. They are
        labelled on this thread while the worker labels the batches in flight (their slots are
        in the other parts): the take's last frames do not wait for a whole batch."""
        layout, self._layout = self._layout, None
        if layout is not None:
            layout.result()  # no two threads make the layout
        frames, self.frames = self.frames, []
        if frames:
            self._label(frames, self.part * BATCH + np.arange(len(frames)))
        while self._in_flight:
            self._wait()

    def close(self):
        """Wait for the batches in flight (their buffers may be freed next), end the worker."""
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
            self._worker = None
        self._in_flight.clear()
        self._layout = None

    def _pool(self):
        if self._worker is None:
            self._worker = concurrent.futures.ThreadPoolExecutor(1, "bm3d-labels")
        return self._worker

    def _submit(self):
        frames, self.frames = self.frames, []
        slots = self.part * BATCH + np.arange(len(frames))
        if not PIPELINED:
            self._label(frames, slots)
            return
        # Behind the layout, if it is still being made: the worker takes them in turn.
        self._in_flight.append(self._pool().submit(self._label, frames, slots))
        self.part = (self.part + 1) % PARTS
        if len(self._in_flight) == PARTS:
            self._wait()  # the oldest batch's part is filled next

    def _wait(self):
        """Wait for the oldest batch in flight; its error, if any, is raised here."""
        self._in_flight.popleft().result()

    def _label(self, frames, slots):
        """Codes of the given frames kept in ``slots``: one ray per (frame, camera, person,
        joint) in view, and per face point when the export writes them, cast together."""
        joints = self.positions_3d[frames]  # (F,P,17,3)
        res = tuple(self.sampler.camera_set.res[0])
        # Frame-major (F,C,P,17): each frame's rays together, so the casting reads one frame's
        # vertices at a time.
        in_front = np.moveaxis(cam.camera_depth(joints, self.RT) > 0, 0, 1)
        in_frame = cam.in_image(np.moveaxis(self.positions_2d[:, frames], 0, 1), *res)
        in_frame &= in_front
        joint_rays = occlusion.point_rays(joints, self.centres, slots, in_frame, in_front)
        faces = self.sampler.face_points
        face_rays = None
        if faces is not None:
            face_rays = faces.rays(frames, slots, self.RT, self.centres, res)
        joint_hits, face_hits = _cast_together(
            self.sampler.caster, joint_rays, face_rays and face_rays[0]
        )
        codes = occlusion.classify(
            occlusion.classify_rays(*joint_hits, *joint_rays.targets_of()), in_frame, in_front
        )
        self.types[:, frames] = np.moveaxis(codes, 1, 0)
        if faces is not None:
            faces.label(frames, face_rays, face_hits)


def _cast_together(caster, *ray_sets):
    """The crossings of each of ``ray_sets`` (``classify.PointRays`` or None), cast in one go:
    a batch's joint and face-point rays share its boxes and numpy's per-call costs."""
    sets = [rays for rays in ray_sets if rays is not None]
    hits = caster.cast(
        np.concatenate([r.starts for r in sets]),
        np.concatenate([r.ends for r in sets]),
        np.concatenate([r.slots for r in sets]),
    )
    out, first = [], 0
    for rays in ray_sets:
        if rays is None:
            out.append(None)
            continue
        among = (hits[0] >= first) & (hits[0] < first + len(rays.starts))
        out.append((hits[0][among] - first, *(h[among] for h in hits[1:])))
        first += len(rays.starts)
    return out
