"""Scenario presets: the published dataset's kinds of occlusion, set up in one step.

- Capture Room: no objects, so only the people hide their own joints (self-occlusion).
- Object Occlusion: one piece of furniture between every camera and the primary person.
- Out of Frame: one camera zoomed in after the fit, so the person leaves its view.
- Retail Aisle: shelving on both sides of an aisle through the people (the published S3).

Applying a scenario replaces the scene's occluders. Cameras are rigged (the BlendMimic3D preset,
centred on the people and fitted with the operator's fit settings, which the panel takes from
the Cameras panel) only when the scene has none, so a user's own rig is kept.
"""

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.geometry import camera as camera_model
from ..core.geometry import camera_presets, occluder_library
from . import camera_job, occluders, scene_model
from .camera_ops import fit_settings, invoke_fit
from .registration import classes_and_scene_settings
from .sampling import joint_bone_indices

# Object Occlusion: one kind per camera in turn, low enough that part of the person stays in
# view, and nearer the person than the camera so that it hides a large part of the body.
OBJECT_KINDS = ("table", "box", "partition", "chair", "shelf", "pillar")
OBJECT_FRACTION = 0.65
RETAIL_PEOPLE = 3  # the published retail scene has up to three people


def _ensure_cameras(scene, fit_settings):
    """The dataset cameras, rigged from the BlendMimic3D preset when there are none, and
    fitted unless ``fit_settings`` is None; returns ``(cameras, rigged)``."""
    cameras = scene_model.dataset_cameras(scene)
    if cameras:
        return cameras, False
    cameras, people = camera_job.rig_scene(scene, {"preset": "BLENDMIMIC3D"})
    if people and fit_settings is not None:
        camera_job.fit_now(scene, cameras, **fit_settings)
    return cameras, True


def _object_occlusion(scene, people, cameras):
    person = people[0]
    person_xy, floor_z = occluders.person_floor_point(person)
    for i, cam in enumerate(cameras):
        kind = OBJECT_KINDS[i % len(OBJECT_KINDS)]
        cam_xy = np.array(cam.matrix_world)[:2, 3]
        xy, yaw = occluder_library.between(cam_xy, person_xy, OBJECT_FRACTION)
        occluders.add_occluder_object(scene, kind, xy, yaw, floor_z)
    return f"one object between each of {len(cameras)} cameras and {person.name}"


def out_of_frame_share(scene, camera, step=1):
    """Share of joint-frames outside ``camera``'s image over the frames a fit samples."""
    sampler = camera_job.JointSampler(scene, step)
    joints = sampler.run()
    k, (width, height) = camera_job.camera_intrinsics(camera, scene)
    rt = camera_model.extrinsics_from_world_matrix(np.array(camera.matrix_world))
    uv = camera_model.project(joints, camera_model.projection_matrix(k, rt))[0]
    visible = camera_model.in_image(uv, width, height) & (
        camera_model.camera_depth(joints, rt)[0] > 0
    )
    return 1.0 - float(visible.mean())


def _out_of_frame(scene, cameras, index, zoom, step):
    camera = occluders.pick(cameras, index, "camera", "rig cameras first")
    camera.data.lens *= zoom
    share = out_of_frame_share(scene, camera, step)
    return f"{camera.name} zoomed x{zoom:.2f}: {share:.0%} of its joint-frames out of frame"


def _retail_aisle(scene, people):
    points = [occluders.person_floor_point(p) for p in people]
    floor_z = min(z for _, z in points)
    placements = occluder_library.aisle(np.array([xy for xy, _ in points]))
    for xy, yaw in placements:
        occluders.add_occluder_object(scene, "shelf", xy, yaw, floor_z)
    return f"{len(placements)} shelf units along an aisle through {len(people)} people"


class BM3D_OT_apply_scenario(bpy.types.Operator):
    """Set the scene up as one of the published dataset's occlusion scenarios"""

    bl_idname = "blendmimic3d.apply_scenario"
    bl_label = "Apply Scenario"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = {**occluders.scenario_settings(), **fit_settings()}

    _modal_fit = False  # invoke: a fresh rig is fitted by the modal fit_cameras afterwards

    def invoke(self, context, event):
        scene = context.scene
        self._modal_fit = (
            context.window is not None
            and self.scenario != "OUT_OF_FRAME"  # it zooms from the fitted lens at once
            and not scene_model.dataset_cameras(scene)
            and bool(scene_model.people(scene))
        )
        result = self.execute(context)
        if self._modal_fit and result == {"FINISHED"}:
            invoke_fit(self)
        return result

    def execute(self, context):
        scene = context.scene
        people = scene_model.people(scene)
        fit = {"mode": self.fit_mode, "margin": self.margin, "step": self.frame_step,
               "aim": self.aim}  # fmt: skip
        try:
            self._check(scene, people)
            cameras, rigged = _ensure_cameras(scene, None if self._modal_fit else fit)
            removed = occluders.remove_occluders(scene)
            if self.scenario == "CAPTURE_ROOM":
                what = "no objects: self-occlusion only"
            elif self.scenario == "OBJECT_OCCLUSION":
                what = _object_occlusion(scene, people, cameras)
            elif self.scenario == "OUT_OF_FRAME":
                what = _out_of_frame(scene, cameras, self.scenario_camera, self.zoom, fit["step"])
            else:
                what = _retail_aisle(scene, people)
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        label = occluders.SCENARIO_LABELS[self.scenario]
        text = f"{label}: {what}; removed {removed} old occluder(s)"
        if rigged:
            text += "; rigged BlendMimic3D cameras" + (", fitting them" if self._modal_fit else "")
        if self.scenario == "RETAIL_AISLE" and len(people) < RETAIL_PEOPLE:
            self.report(
                {"WARNING"},
                f"{text}. The published retail scene has up to "
                f"{RETAIL_PEOPLE} people: add more with Add Mannequin and lay them out",
            )
        else:
            self.report({"INFO"}, text)
        return {"FINISHED"}

    def _check(self, scene, people):
        """Refuse before changing anything when the scenario cannot be set up."""
        if self.scenario != "CAPTURE_ROOM" and not people:
            raise DatasetError(None, "people", "this scenario needs people: add or import "
                               "people (Mixamo files or mannequins) first")  # fmt: skip
        for person in people:
            joint_bone_indices(person)
        if self.scenario == "OUT_OF_FRAME":
            count = len(scene_model.dataset_cameras(scene)) or len(
                camera_presets.preset("BLENDMIMIC3D").cameras
            )
            if self.scenario_camera >= count:
                raise DatasetError(None, "camera", f"there is no number {self.scenario_camera}; "
                                   f"the scene has {count}")  # fmt: skip


CLASSES = (BM3D_OT_apply_scenario,)
register, unregister = classes_and_scene_settings(CLASSES)
