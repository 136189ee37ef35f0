"""The export job: the scene as a BlendMimic3D subject, without its UI (``export_ops`` runs it
from the panel, ``commands/export.py`` from the command line).

It samples each frame once for every person and camera, writes each take as soon as it is
sampled into a staging folder beside the target, and only at the end puts that folder in the
target's place. A cancel, an error or a killed Blender therefore leaves an older dataset at the
target untouched (a killed one leaves a hidden ``.<subject>.<host>-<pid>.*.staging`` folder
beside it, which the next export to that target removes: ``atomic.recover_interrupted``).
"""

import os

import bpy

from ..core.errors import DatasetError
from ..core.format import dataset_io, manifest, paths, shards
from ..core.format.publish import staged_subject
from .face_points import FaceSampler
from .sampling import SceneSampler, blend_name
from .takes import action_folder_name, frame_range, scene_actions


def split_list(text):
    """Comma-separated text as its stripped, non-empty items."""
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
        paths.check_subject_name(subject)
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
        names = split_list(wanted) if isinstance(wanted, str) else list(wanted or [])
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
            indices = [int(i) for i in (split_list(wanted) if isinstance(wanted, str) else wanted)]
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
        entries = {}
        try:
            with staged_subject(self.out_dir, os.path.basename(self.target), self.overwrite,
                                self._root_entry(entries)) as stage:  # fmt: skip
                done = 0
                for action, cams in self.takes.items():
                    # A cancel closes the sampling too: its labelling thread ends before cleanup.
                    take = yield from self.sampler.sample_take(action, cams, counted_from=done)
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

    def run(self, progress=None):
        """Run to the end (scripts and the command line); ``progress(done, total)``."""
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

    def _root_entry(self, entries):
        """What dataset.json gets once the stage is complete (checked before it replaces the
        older subject); a shard writes none."""
        if self.shard is not None:
            return None
        return lambda: (self.subject, self.subject_entry(entries), self.fps)
