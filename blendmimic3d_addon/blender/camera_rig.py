"""Dataset cameras: rig presets, aimed at the people, and a fit that frames every joint.

``rig_cameras`` builds ``Camera_0`` ... from a preset (the published BlendMimic3D geometry,
Human3.6M's calibration or a ring), moved and aimed at the people when there are any.
``fit_cameras`` samples every person's 17 joints over the scene's frame range (each frame is
evaluated once, for all cameras), then changes each camera's lens or distance so that every
joint stays inside its frame with a margin; cameras that cannot are named and left as they were.
Sampling thousands of frames is long: invoked from the UI the fit runs modally with progress,
and Esc cancels it before any camera is touched.
"""

import time

import bpy
import numpy as np
from mathutils import Matrix

from ..core.errors import DatasetError
from ..core.format import dataset_io
from ..core.geometry import camera as camera_model
from ..core.geometry import camera_fit, camera_presets
from ..core.joints import bm3d_bone_names
from . import modal_progress, panel_hints, sampling, scene_model
from .panel import SubPanel, pass_settings
from .registration import classes_and_scene_settings

COLLECTION = "BlendMimic3D Cameras"
BLENDER_MIN_LENS_MM = 1.0

PRESET_ITEMS = (
    ("BLENDMIMIC3D", "BlendMimic3D", "The published four corner cameras: 1000 x 1002 px, 835 and "
     "695.8 px focal lengths, 1.75 m high"),
    ("HUMAN36M", "Human3.6M", "Human3.6M's four calibrated cameras (subject S1)"),
    ("RING", "Ring", "N cameras evenly on a circle around the people, at one radius and height"),
)  # fmt: skip
FIT_ITEMS = (
    ("DISTANCE", "Distance", "Keep each lens; move the camera along its view axis"),
    ("FOCAL", "Focal Length", "Keep each camera in place; change its focal length"),
)


def _rig_settings():
    """Settings shared by the scene's property group and the operators (one definition)."""
    P = bpy.props
    return {
        "preset": P.EnumProperty(name="Preset", items=PRESET_ITEMS, default="BLENDMIMIC3D"),
        "count": P.IntProperty(name="Cameras", description="Ring: number of cameras", default=4,
                               min=1, max=64),
        "radius": P.FloatProperty(name="Radius", description="Ring: distance from the people",
                                  default=4.0, min=0.1, soft_max=50.0, unit="LENGTH"),
        "height": P.FloatProperty(name="Height", description="Ring: camera height", default=1.75,
                                  soft_min=0.0, soft_max=20.0, unit="LENGTH"),
        "focal_px": P.FloatProperty(name="Focal (px)", description="Ring: focal length in pixels",
                                    default=835.0, min=1.0, soft_max=10000.0),
        "follow_people": P.BoolProperty(
            name="Centre on People",
            description="Move the rig onto the people and aim every camera at them; off keeps the "
            "preset's own place and orientation",
            default=True,
        ),
        "fit": P.BoolProperty(name="Fit After Rigging", default=True,
                              description="Frame every joint of every person afterwards"),
    }  # fmt: skip


def _fit_settings():
    P = bpy.props
    return {
        "fit_mode": P.EnumProperty(name="Fit By", items=FIT_ITEMS, default="DISTANCE"),
        "margin": P.FloatProperty(
            name="Margin",
            description="Free border on each side, as a fraction of the image size",
            default=0.05, min=0.0, max=0.45, subtype="FACTOR",
        ),
        "frame_step": P.IntProperty(
            name="Frame Step",
            description="Sample every n-th frame of each take (1: every frame)",
            default=1, min=1, max=1000,
        ),
        "aim": P.BoolProperty(name="Aim at People", default=True,
                              description="Turn every camera to the centre of all joints first"),
    }  # fmt: skip


class BM3D_PG_cameras(bpy.types.PropertyGroup):
    __annotations__ = {**_rig_settings(), **_fit_settings()}


# --- joints of the people over the animation -------------------------------------------------


def joint_bone_indices(armature):
    names = armature.pose.bones.keys()
    try:
        wanted = bm3d_bone_names(names)
    except ValueError as exc:
        raise DatasetError(None, armature.name, str(exc)) from None
    return np.array([names.index(name) for name in wanted])


def _world_joints(armature, indices):
    """World positions (17, 3) of the joints: the pose bones' heads through the object's matrix."""
    bones = armature.pose.bones
    heads = np.empty(len(bones) * 3, dtype=np.float64)
    bones.foreach_get("head", heads)
    local = heads.reshape(-1, 3)[indices]
    matrix = np.array(armature.matrix_world, dtype=np.float64)
    return local @ matrix[:3, :3].T + matrix[:3, 3]


def fit_frames(scene, step=1):
    """``(take, frame)`` pairs to frame: every frame the export will write (each take of the
    primary person's library over its own range), or the scene's range when there is no take."""
    step = max(1, int(step))
    takes = sampling.scene_actions(scene)
    if not takes:
        return [(None, f) for f in range(scene.frame_start, scene.frame_end + 1, step)]
    pairs = []
    for take in takes:
        start, end = sampling.frame_range(bpy.data.actions[take])
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
        self.base = sampling.SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
        self.people = self.base.people
        self.frames = fit_frames(scene, step)
        self.joints = np.empty((len(self.frames), 17 * len(self.people), 3))
        self.done_count = 0
        self._take = None
        self._hidden = [
            (body, body.hide_viewport) for bodies in self.base.bodies for body in bodies
        ]
        for body, _ in self._hidden:
            body.hide_viewport = True

    @property
    def done(self):
        return self.done_count >= len(self.frames)

    def step(self, seconds=0.05):
        """Sample frames for about ``seconds`` (at least one); returns the fraction done."""
        end = time.perf_counter() + seconds
        while not self.done:
            take, frame = self.frames[self.done_count]
            if take is not None and take != self._take:
                self.base.set_take(take)
                self._take = take
            self.scene.frame_set(frame)
            self.joints[self.done_count] = self.base.joints().reshape(-1, 3)
            self.done_count += 1
            if time.perf_counter() >= end:
                break
        if self.done:
            self.restore()
        return self.done_count / max(1, len(self.frames))

    def run(self):
        try:
            while not self.done:
                self.step(seconds=1.0)
        except BaseException:
            self.restore()
            raise
        return self.joints

    def restore(self):
        for body, hidden in self._hidden:
            body.hide_viewport = hidden
        self._hidden = []
        self.base.restore()


def current_joints(people):
    """The people's joints (people * 17, 3) at the current frame."""
    return np.concatenate([_world_joints(p, joint_bone_indices(p)) for p in people])


# --- cameras in Blender -------------------------------------------------------------------


def camera_intrinsics(cam_obj, scene):
    """K of a camera and its image size (width, height), exactly as the export computes them."""
    cameras = dataset_io.Cameras.from_blender(sampling.camera_specs(scene, [cam_obj]))
    return cameras.K[0], tuple(int(v) for v in cameras.res[0])


def _lens_and_shift(cam_obj, scene, focal_px, principal):
    """Blender lens (mm) and shift giving ``focal_px`` and ``principal`` for this scene.

    K is linear in the lens and in the shifts, so two evaluations of the camera model give the
    inverse without repeating Blender's sensor-fit rules here.
    """
    spec = sampling.camera_specs(scene, [cam_obj])[0]
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


def _report_fit(op, changes, failures, frames, people):
    message = fit_message(changes, failures, frames, people)
    op.report({"WARNING"} if failures else {"INFO"}, message)


def _settings(op, names):
    return {name: getattr(op, name) for name in names}


class BM3D_OT_rig_cameras(bpy.types.Operator):
    """Replace the dataset cameras with a preset rig, aimed at the people, optionally fitted"""

    bl_idname = "blendmimic3d.rig_cameras"
    bl_label = "Rig Cameras"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = {**_rig_settings(), **_fit_settings()}

    def _rig(self, context):
        return rig_scene(context.scene, _settings(self, _rig_settings()))

    def execute(self, context):
        try:
            cameras, people = self._rig(context)
            if not (self.fit and people):
                self.report({"INFO"}, self._rigged_message(cameras, people))
                return {"FINISHED"}
            result = fit_now(context.scene, cameras, self.fit_mode, self.margin,
                             self.frame_step, self.aim)  # fmt: skip
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        _report_fit(self, *result)
        return {"FINISHED"}

    def invoke(self, context, event):
        if context.window is None or not self.fit:
            return self.execute(context)
        try:
            cameras, people = self._rig(context)
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        self.report({"INFO"}, self._rigged_message(cameras, people))
        if people:  # the long part runs as its own modal operator, with progress and Esc
            settings = _settings(self, _fit_settings())
            bpy.ops.blendmimic3d.fit_cameras("INVOKE_DEFAULT", **settings)
        return {"FINISHED"}

    def _rigged_message(self, cameras, people):
        names = ", ".join(c.name for c in cameras)
        where = (
            "centred on the people" if people and self.follow_people else "at the preset's place"
        )
        label = next(label for key, label, _ in PRESET_ITEMS if key == self.preset)
        return f"Rigged {names} ({label}), {where}"


class BM3D_OT_fit_cameras(bpy.types.Operator):
    """Frame every joint of every person over the scene's frame range in every dataset camera"""

    bl_idname = "blendmimic3d.fit_cameras"
    bl_label = "Fit Cameras"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = _fit_settings()

    _timer = None
    _sampler = None

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def _start(self, context):
        scene = context.scene
        sampler = JointSampler(scene, self.frame_step)  # checks people, bones and cameras
        return sampler.base.cameras, sampler

    def _finish(self, context, cameras, sampler):
        joints = sampler.joints.reshape(-1, 3)
        changes, failures = plan_fit(context.scene, cameras, joints, self.fit_mode, self.margin,
                                     self.aim)  # fmt: skip
        if not changes:
            self.report({"ERROR"}, fit_message(changes, failures, len(sampler.frames),
                                               len(sampler.people)))  # fmt: skip
            return {"CANCELLED"}
        apply_fit(changes)
        _report_fit(self, changes, failures, len(sampler.frames), len(sampler.people))
        return {"FINISHED"}

    def execute(self, context):
        try:
            cameras, sampler = self._start(context)
            sampler.run()
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        return self._finish(context, cameras, sampler)

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        try:
            self._cameras, self._sampler = self._start(context)
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        return modal_progress.start(self, context, 100)

    def modal(self, context, event):
        if event.type == "ESC":
            self._sampler.restore()
            self._end(context)
            self.report({"WARNING"}, "Fit cancelled: the cameras are as they were")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            done = self._sampler.step(seconds=0.1)
        except Exception:  # put the scene back before the error reaches the user
            self._sampler.restore()
            self._end(context)
            raise
        count = len(self._sampler.frames)
        modal_progress.update(
            context,
            int(done * 100),
            f"Fitting cameras: frame {self._sampler.done_count} of {count} (Esc to cancel)",
        )
        if not self._sampler.done:
            return {"RUNNING_MODAL"}
        self._end(context)
        return self._finish(context, self._cameras, self._sampler)

    def _end(self, context):
        modal_progress.end(self, context)


class BM3D_PT_cameras(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_cameras"
    bl_label = "Cameras"
    bl_order = 40

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_cameras
        panel_hints.draw(layout, context.scene)
        layout.prop(props, "preset")
        if props.preset == "RING":
            col = layout.column(align=True)
            for name in ("count", "radius", "height", "focal_px"):
                col.prop(props, name)
        layout.prop(props, "follow_people")
        layout.prop(props, "fit")
        box = layout.box()
        box.label(text="Fit", icon="FULLSCREEN_ENTER")
        for name in ("fit_mode", "margin", "frame_step", "aim"):
            box.prop(props, name)
        row = layout.row(align=True)
        op = row.operator(BM3D_OT_rig_cameras.bl_idname, icon="OUTLINER_OB_CAMERA")
        pass_settings(op, props, (*_rig_settings(), *_fit_settings()))
        op = row.operator(BM3D_OT_fit_cameras.bl_idname, text="Re-fit", icon="FILE_REFRESH")
        pass_settings(op, props, _fit_settings())
        cameras = scene_model.dataset_cameras(context.scene)
        layout.label(text=f"{len(cameras)} dataset cameras", icon="CAMERA_DATA")


_CLASSES = (BM3D_PG_cameras, BM3D_OT_rig_cameras, BM3D_OT_fit_cameras, BM3D_PT_cameras)
register, unregister = classes_and_scene_settings(_CLASSES, bm3d_cameras=BM3D_PG_cameras)
