"""The Export panel's operator and settings; the export itself is ``export_job.ExportJob``."""

import bpy

from .compat import relative_path_option
from .export_job import ExportJob
from .modal_progress import ModalSteps, refuse_second_run
from .registration import classes_and_scene_settings


def export_settings():
    """Settings of an export, shared by the panel's property group and the operator."""
    return {
        "directory": bpy.props.StringProperty(
            name="Folder", description="Dataset folder: the subject is written as a folder in it",
            subtype="DIR_PATH", default="//dataset", **relative_path_option(),
        ),
        "subject": bpy.props.StringProperty(
            name="Subject", description="Subject folder name, e.g. S1", default="S1"
        ),
        "actions": bpy.props.StringProperty(
            name="Actions",
            description="Comma-separated action names; empty: every action of the primary person",
        ),
        "cameras": bpy.props.StringProperty(
            name="Cameras", description="Comma-separated camera indices; empty exports every camera"
        ),
        "overwrite": bpy.props.BoolProperty(
            name="Overwrite",
            description="Replace an existing subject folder, once the new one is complete",
        ),
    }  # fmt: skip


class BM3D_PG_export(bpy.types.PropertyGroup):
    """The Export panel's settings (``scene.bm3d_export``)."""

    __annotations__ = export_settings()


class BM3D_OT_export_dataset(ModalSteps, bpy.types.Operator):
    """Export every action of the scene's people as a BlendMimic3D subject (3D, 2D, cameras,
    occlusion labels)"""

    bl_idname = "blendmimic3d.export_dataset"
    bl_label = "Export Dataset"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = export_settings()

    cancel_message = "Export cancelled: nothing was written"
    _job = None
    # One modal export at a time: a second one would save the scene as the first had set it
    # mid-run (the take, the frame) and, ending last, restore that instead of the user's.
    _busy = False

    @classmethod
    def poll(cls, context):
        return refuse_second_run(cls, "An export")

    def make_steps(self, context):
        self._job = ExportJob(context.scene, context.evaluated_depsgraph_get(), self.directory,
                              self.subject, self.actions, self.cameras, self.overwrite)  # fmt: skip
        return self._job.steps(), self._job.total_frames

    def progress(self, done):
        job = self._job
        return done, f"Exporting {job.subject}: frame {done} of {job.total_frames}, Esc cancels"

    def finished(self, context, _result):
        job = self._job
        self.report({"INFO"}, f"Exported {len(job.takes)} action(s), {job.total_frames} frames, "
                    f"{len(job.camera_indices)} camera(s) to {job.target}")  # fmt: skip
        return {"FINISHED"}


CLASSES = (BM3D_PG_export, BM3D_OT_export_dataset)
register, unregister = classes_and_scene_settings(CLASSES, bm3d_export=BM3D_PG_export)
