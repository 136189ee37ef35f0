"""Export the scene as a BlendMimic3D subject: the job, the operator and the "Export" panel.

The job samples each frame once for every person and camera, writes each take as soon as it is
sampled into a staging folder beside the target, and only at the end puts that folder in the
target's place. A cancel, an error or a killed Blender therefore leaves an older dataset at the
target untouched (a killed one leaves a hidden ``.<subject>.<host>-<pid>.*.staging`` folder
beside it, which the next export to that target removes: ``atomic.recover_interrupted``).
"""

import os
import re
import time

import bpy

from ..core.errors import DatasetError
from ..core.format import manifest, shards
from ..core.format.atomic import staged_dir
from . import modal_progress, scene_model
from .face_points import FaceSampler
from .panel import SubPanel, pass_settings
from .sampling import SceneSampler, action_folder_name, blend_name, frame_range, scene_actions

_SUBJECT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _split(text):
    return [item.strip() for item in str(text or "").split(",") if item.strip()]


class ExportJob:
    """One export, checked up front, then run frame by frame through ``steps()``."""

    def __init__(self, scene, depsgraph, out_dir, subject, actions=None, cameras=None,
                 overwrite=False, shard=None):  # fmt: skip
        if not out_dir:
            raise DatasetError(None, "directory", "choose the folder to export into")
        if out_dir.startswith("//") and not bpy.data.filepath:
            raise DatasetError(
                None, "directory", f"{out_dir!r} is relative to the .blend file: save it first"
            )
        if not _SUBJECT_NAME.match(subject or ""):
            raise DatasetError(
                None, "subject", f"{subject!r}: use letters, digits, _ or - (e.g. S1)"
            )
        self.scene = scene
        self.out_dir = os.path.abspath(bpy.path.abspath(out_dir))
        self.subject = subject
        self.overwrite = overwrite
        self.shard = shard
        self.sampler = SceneSampler(scene, depsgraph)
        if all(self.sampler.bodies):  # COCO's face points need a head mesh
            self.sampler.face_points = FaceSampler(self.sampler)
        self.actions = self._actions(actions)
        self.camera_indices = self._cameras(cameras)
        frames = {name: self._frames(name) for name in self.actions}
        self.plan = shards.plan_units(frames, self.camera_indices)
        self.units = (
            self.plan if shard is None else shards.assign_units(self.plan, shard[1])[shard[0] - 1]
        )
        self.takes = shards.cameras_by_action(self.units)
        self.total_frames = sum(frames[name] for name in self.takes)
        name = subject if shard is None else shards.shard_dir_name(subject, *shard)
        self.target = os.path.join(self.out_dir, name)
        if os.path.exists(self.target) and not overwrite:
            raise DatasetError(
                self.target, None, "already exists; choose another folder or allow overwrite"
            )

    def _actions(self, wanted):
        available = scene_actions(self.scene)
        names = _split(wanted) if isinstance(wanted, str) else list(wanted or [])
        if not names:
            names = available
        if not names:
            raise DatasetError(
                blend_name(), "actions",
                f"{self.sampler.people[0].name} has no action to export (import an animation)",
            )  # fmt: skip
        unknown = [n for n in names if n not in bpy.data.actions]
        if unknown:
            raise DatasetError(blend_name(), "actions", f"no action named {unknown[0]!r}")
        folders = [action_folder_name(n) for n in names]
        if len(set(folders)) != len(folders):
            raise DatasetError(
                blend_name(), "actions", f"two actions share a folder name: {folders}"
            )
        return names

    def _cameras(self, wanted):
        count = len(self.sampler.cameras)
        if wanted is None or wanted == "":
            return list(range(count))
        try:
            indices = [int(i) for i in (_split(wanted) if isinstance(wanted, str) else wanted)]
        except ValueError:
            raise DatasetError(
                None, "cameras", f"{wanted!r}: give camera indices such as 0,1,2,3"
            ) from None
        bad = [i for i in indices if not 0 <= i < count]
        if bad or not indices:
            raise DatasetError(None, "cameras", f"{wanted!r}: the scene has cameras 0..{count - 1}")
        return sorted(set(indices))

    def _frames(self, name):
        start, end = frame_range(bpy.data.actions[name])
        return end - start + 1

    def steps(self):
        """Generator: yields the count of frames done; the target is complete when it ends.

        Closing it early (a cancel) or an exception removes the staging folder and leaves the
        target as it was; the scene's takes and current frame are restored either way. A failed
        write (a full disk) or an object deleted during the run ends it with a ``DatasetError``.
        """
        try:
            yield from self._staged_steps()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise DatasetError(exc.filename or self.target, "writing", reason) from None
        except ReferenceError as exc:
            raise DatasetError(
                blend_name(), "scene", f"changed during the export, nothing was written ({exc})"
            ) from None

    def _staged_steps(self):
        try:
            with staged_dir(self.target, overwrite=self.overwrite) as stage:
                done = 0
                entries = {}
                for action, cams in self.takes.items():
                    take = None
                    sampling = self.sampler.sample_take(action, cams)
                    try:
                        while take is None:
                            try:
                                count = next(sampling)
                            except StopIteration as stop:
                                take = stop.value
                                continue
                            yield done + count
                    finally:
                        sampling.close()  # a cancel: its labelling thread ends before cleanup
                    done += len(take.frames)
                    self._write_take(stage, take)
                    if self.sampler.face_points is not None and self.shard is None:
                        self.sampler.face_points.write(stage, take.action)
                    start, end = int(take.frames[0]), int(take.frames[-1])
                    entries[take.action] = manifest.action_entry(
                        start, end, self._person_names(), {"blender_action": action}
                    )
                self._write_cameras(stage, entries)
        finally:
            self.sampler.restore()
        if self.shard is None:
            self._update_root_manifest(entries)

    def run(self, progress=None):
        """Run to the end (background mode and the command line); ``progress(done, total)``."""
        for done in self.steps():
            if progress is not None:
                progress(done, self.total_frames)
        return self.target

    def _person_names(self):
        return [arm.name for arm in self.sampler.people]

    def _write_take(self, stage, take):
        if self.shard is not None:
            faces = self.sampler.face_points
            shards.write_shard_take(stage, take.action, take.positions_3d, take.positions_2d,
                                    take.types, faces and faces.by_camera())  # fmt: skip
            return
        cams = self.camera_indices
        shards.write_take(
            stage, take.action, self._person_names(), take.positions_3d,
            [take.positions_2d[c] for c in cams], [take.types[c] for c in cams],
        )  # fmt: skip

    def _cameras_subset(self):
        cameras = self.sampler.camera_set
        index = self.camera_indices
        return type(cameras)([cameras.names[i] for i in index], cameras.K[index],
                             cameras.RT[index], cameras.res[index])  # fmt: skip

    def subject_entry(self, actions):
        cameras = self._cameras_subset()
        specs = [self.sampler.camera_specs[i] for i in self.camera_indices]
        return {
            "cameras": [
                manifest.camera_entry(name, K, RT, res[0], res[1],
                                      {k: v for k, v in spec.items() if k != "name"})
                for name, K, RT, res, spec in zip(cameras.names, cameras.K, cameras.RT,
                                                  cameras.res, specs, strict=True)
            ],
            "actions": actions,
        }  # fmt: skip

    def _write_cameras(self, stage, entries):
        from ..core.format import dataset_io

        dataset_io.write_cameras(stage, self.subject, self._cameras_subset())
        if self.shard is not None:
            shards.write_shard_manifest(
                stage, self.subject, *self.shard, self.units, self.plan, self._person_names(),
                subject_entry=self.subject_entry(entries), fps=self.fps,
            )  # fmt: skip

    @property
    def fps(self):
        render = self.scene.render
        return render.fps / render.fps_base

    def _update_root_manifest(self, entries):
        shards.update_root_manifest(
            self.out_dir, self.subject, self.subject_entry(entries), self.fps
        )


# ---- operator and panel ------------------------------------------------------------------------


def _relative_path_option():
    """Newer Blender wants "//" paths (relative to the .blend) declared; older ones refuse the
    flag. Property RNA shows ``is_path_supports_blend_relative`` exactly where it exists."""
    if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties:
        return {"options": {"PATH_SUPPORTS_BLEND_RELATIVE"}}
    return {}


_RELATIVE_PATH = _relative_path_option()


def _export_settings():
    return {
        "directory": bpy.props.StringProperty(
            name="Folder", description="Dataset folder: the subject is written as a folder in it",
            subtype="DIR_PATH", default="//dataset", **_RELATIVE_PATH,
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


_SETTING_NAMES = ("directory", "subject", "actions", "cameras", "overwrite")


class BM3D_PG_export(bpy.types.PropertyGroup):
    __annotations__ = _export_settings()


class BM3D_OT_export_dataset(bpy.types.Operator):
    """Export every action of the scene's people as a BlendMimic3D subject (3D, 2D, cameras,
    occlusion labels)"""

    bl_idname = "blendmimic3d.export_dataset"
    bl_label = "Export Dataset"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = _export_settings()

    _job = None
    _steps = None
    _timer = None
    # One modal export at a time: a second one would save the scene as the first had set it
    # mid-run (the take, the frame) and, ending last, restore that instead of the user's.
    _busy = False

    @classmethod
    def poll(cls, context):
        return modal_progress.refuse_second_run(cls, "An export")

    def _make_job(self, context):
        return ExportJob(context.scene, context.evaluated_depsgraph_get(), self.directory,
                         self.subject, self.actions, self.cameras, self.overwrite)  # fmt: skip

    def execute(self, context):
        try:
            job = self._make_job(context)
            job.run()
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        self.report({"INFO"}, _done_message(job))
        return {"FINISHED"}

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        try:
            self._job = self._make_job(context)
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        self._steps = self._job.steps()
        return modal_progress.start(self, context, self._job.total_frames)

    def modal(self, context, event):
        if event.type == "ESC":
            self._steps.close()  # removes the staging folder, restores the scene
            self._end(context)
            self.report({"WARNING"}, "Export cancelled: nothing was written")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        until = time.perf_counter() + 0.1
        try:
            while time.perf_counter() < until:
                done = next(self._steps)
        except StopIteration:
            self._end(context)
            self.report({"INFO"}, _done_message(self._job))
            return {"FINISHED"}
        except DatasetError as exc:
            self._end(context)
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        except Exception:  # the job has cleaned up; free the UI (and the guard) before it shows
            self._end(context)
            raise
        modal_progress.update(
            context,
            done,
            f"Exporting {self._job.subject}: frame {done} of {self._job.total_frames}, Esc cancels",
        )
        return {"RUNNING_MODAL"}

    def cancel(self, context):
        """Blender ends the run itself (a file loaded, the window closed): as Esc does."""
        if self._steps is not None:
            self._steps.close()
        self._end(context)

    def _end(self, context):
        modal_progress.end(self, context)


def _done_message(job):
    return (f"Exported {len(job.takes)} action(s), {job.total_frames} frames, "
            f"{len(job.camera_indices)} camera(s) to {job.target}")  # fmt: skip


class BM3D_PT_export(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_export"
    bl_label = "Export"
    bl_order = 50

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_export
        for name in _SETTING_NAMES:
            layout.prop(props, name)
        scene = context.scene
        people, cameras = scene_model.people(scene), scene_model.dataset_cameras(scene)
        actions = scene_actions(scene)
        layout.label(
            text=f"{len(people)} people, {len(cameras)} cameras, {len(actions)} actions",
            icon="INFO",
        )
        op = layout.operator(BM3D_OT_export_dataset.bl_idname, icon="EXPORT")
        pass_settings(op, props, _SETTING_NAMES)


_CLASSES = (BM3D_PG_export, BM3D_OT_export_dataset, BM3D_PT_export)


def register():
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.bm3d_export = bpy.props.PointerProperty(type=BM3D_PG_export)


def unregister():
    del bpy.types.Scene.bm3d_export
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
