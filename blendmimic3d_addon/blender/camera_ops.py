"""The Cameras panel's operators and settings: rig the dataset cameras from a preset, and fit
them so that every joint stays in frame (the work itself is in ``camera_job``).

Sampling thousands of frames is long: invoked from the UI the fit runs modally with progress,
and Esc cancels it before any camera is touched.
"""

import bpy

from ..core.errors import DatasetError
from .camera_job import JointSampler, apply_fit, fit_message, fit_now, plan_fit, rig_scene
from .modal_progress import ModalSteps
from .registration import classes_and_scene_settings

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


def rig_settings():
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


def fit_settings():
    """Settings of a fit, shared by the group, the rig and fit operators and apply_scenario."""
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
    """The Cameras panel's settings (``scene.bm3d_cameras``)."""

    __annotations__ = {**rig_settings(), **fit_settings()}


def _report_fit(op, changes, failures, frames, people):
    message = fit_message(changes, failures, frames, people)
    op.report({"WARNING"} if failures else {"INFO"}, message)


def settings_of(owner, names):
    """The values of ``names`` on an operator or a property group, as keyword arguments."""
    return {name: getattr(owner, name) for name in names}


class BM3D_OT_rig_cameras(bpy.types.Operator):
    """Replace the dataset cameras with a preset rig, aimed at the people, optionally fitted"""

    bl_idname = "blendmimic3d.rig_cameras"
    bl_label = "Rig Cameras"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = {**rig_settings(), **fit_settings()}

    def _rig(self, context):
        return rig_scene(context.scene, settings_of(self, rig_settings()))

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
        if people:
            invoke_fit(self)
        return {"FINISHED"}

    def _rigged_message(self, cameras, people):
        names = ", ".join(c.name for c in cameras)
        where = (
            "centred on the people" if people and self.follow_people else "at the preset's place"
        )
        label = next(label for key, label, _ in PRESET_ITEMS if key == self.preset)
        return f"Rigged {names} ({label}), {where}"


def invoke_fit(settings):
    """Start the fit with the fit settings of ``settings`` (an operator or property group) as its
    own modal operator, with progress and Esc: the long part of rigging a scene."""
    bpy.ops.blendmimic3d.fit_cameras("INVOKE_DEFAULT", **settings_of(settings, fit_settings()))


class BM3D_OT_fit_cameras(ModalSteps, bpy.types.Operator):
    """Frame every joint of every person over the scene's frame range in every dataset camera"""

    bl_idname = "blendmimic3d.fit_cameras"
    bl_label = "Fit Cameras"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = fit_settings()

    cancel_message = "Fit cancelled: the cameras are as they were"
    _sampler = None
    _cameras = None

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def make_steps(self, context):
        self._sampler = JointSampler(context.scene, self.frame_step)  # checks people and cameras
        self._cameras = self._sampler.base.cameras
        return self._sampler.steps(), len(self._sampler.frames)

    def progress(self, done):
        count = len(self._sampler.frames)
        return done, f"Fitting cameras: frame {done} of {count} (Esc to cancel)"

    def finished(self, context, joints):
        sampler = self._sampler
        changes, failures = plan_fit(context.scene, self._cameras, joints.reshape(-1, 3),
                                     self.fit_mode, self.margin, self.aim)  # fmt: skip
        if not changes:
            self.report({"ERROR"}, fit_message(changes, failures, len(sampler.frames),
                                               len(sampler.people)))  # fmt: skip
            return {"CANCELLED"}
        apply_fit(changes)
        _report_fit(self, changes, failures, len(sampler.frames), len(sampler.people))
        return {"FINISHED"}


CLASSES = (BM3D_PG_cameras, BM3D_OT_rig_cameras, BM3D_OT_fit_cameras)
register, unregister = classes_and_scene_settings(CLASSES, bm3d_cameras=BM3D_PG_cameras)
