"""Batch generation in Blender: a subject's scene built from its plan, and the run that builds,
saves, exports and renders subject after subject (``generate`` and the Batch panel).

The scene is a function of the plan alone (core/batch/plan.py), and the plan of (seed, subject
name), so any process builds the same subject. Each subject is made in a hidden staging folder
under ``<out>/.work`` and moved into place when complete; its record, written last, marks it done
(core/batch/work.py).
"""

import contextlib
import gc
import math
import os
import shutil
import time
import types

import bpy
import numpy as np
from mathutils import Matrix

from ..core.batch import plan as plan_core
from ..core.batch import work
from ..core.errors import DatasetError
from ..core.format import atomic, manifest
from ..core.geometry import camera_fit, camera_presets, occluder_library
from ..core.geometry import layout as layout_core
from ..core.render.presets import ENGINE_PRESETS
from . import (
    appearance,
    camera_job,
    environments,
    mannequin,
    mixamo_import,
    occluders,
    sampling,
    scene_model,
    takes,
)
from .export_job import ExportJob
from .video_job import plan_videos, render_steps

FIT = {"mode": "DISTANCE", "margin": 0.05, "step": 1, "aim": True}
RING_HEIGHT, RING_FOCAL_PX = 1.75, 835.0
AROUND_RADII = (1.0, 2.0)  # extra occluders stand this far (m) from their person


# ---- one subject's scene -----------------------------------------------------------------------


def build_subject(scene, recipe, plan):
    """Build ``plan``'s people, layout, cameras and occluders into ``scene`` (expected empty).

    ``scene`` becomes the window's scene where there is a window (the FBX importer works on the
    window's view layer); without one, the building runs in a context override of ``scene``,
    in which the FBX importer cannot work, so FBX characters then need ``scene`` to be the
    context's own (as ``generate`` has it)."""
    context = bpy.context
    if scene == context.scene:
        return _build(context, recipe, plan)
    if context.window is not None:
        context.window.scene = scene
        return _build(bpy.context, recipe, plan)
    if any(recipe.characters[p.character].kind != "mannequin" for p in plan.people):
        raise DatasetError(recipe.path, f"{plan.name}: characters", "FBX characters are built "
                           "in a Blender window or by generate, not into another scene of a "
                           "windowless Blender")  # fmt: skip
    with context.temp_override(scene=scene, view_layer=scene.view_layers[0],
                               collection=scene.collection):  # fmt: skip
        return _build(bpy.context, recipe, plan)


def _build(context, recipe, plan):
    scene = context.scene
    arms = [_add_person(context, recipe, person) for person in plan.people]
    _set_rate_and_length(scene, recipe)
    for arm, person in zip(arms, plan.people, strict=True):
        action = bpy.data.actions.get(person.action) if person.action else None
        takes.set_take(arm, action or takes.take(arm)[0], person.start_offset)
    takes.fit_frame_range(scene)
    _lay_out(scene, recipe, plan, arms)
    _rig(scene, recipe, plan)
    result = bpy.ops.blendmimic3d.apply_scenario(scenario=plan.scenario)
    if result != {"FINISHED"}:
        raise DatasetError(None, f"{plan.name}: scenario", f"{plan.scenario} did not apply")
    _extra_occluders(scene, plan, arms)
    _looks_environment_lighting(scene, recipe, plan)
    scene.frame_set(scene.frame_start)
    return arms


def _add_person(context, recipe, person):
    character = recipe.characters[person.character]
    if character.kind == "mannequin":
        return mannequin.add_mannequin(context, person.action, (0.0, 0.0, 0.0))
    path = character.paths[person.variant]
    before = set(scene_model.people(context.scene))
    mixamo_import.import_file(context, path)
    added = [arm for arm in scene_model.people(context.scene) if arm not in before]
    if len(added) != 1:
        raise DatasetError(path, None, "imported no character (is it skinned?)")
    return added[0]


def _set_rate_and_length(scene, recipe):
    """The recipe's frame rate (actions retimed to keep their speed), and every action cut to
    ``frames`` frames from its first."""
    rate = scene.render.fps / scene.render.fps_base
    if recipe.fps and abs(recipe.fps - rate) > 1e-9:
        for action in bpy.data.actions:
            takes.retime_action(action, recipe.fps / rate)
        scene.render.fps, scene.render.fps_base = round(recipe.fps), round(recipe.fps) / recipe.fps
    for action in bpy.data.actions:
        start, end = (int(round(v)) for v in action.frame_range)
        action.use_frame_range = True
        action.frame_start, action.frame_end = start, min(end, start + recipe.frames - 1)


def _lay_out(scene, recipe, plan, arms):
    try:
        placed = layout_core.layout(plan.layout, len(arms), spacing=plan.spacing,
                                    seed=plan.layout_seed, area=recipe.area,
                                    min_gap=recipe.min_distance)  # fmt: skip
    except ValueError as exc:
        raise DatasetError(recipe.path, "layout", f"{plan.name}: {exc}") from None
    for arm, (x, y), heading in zip(arms, placed.positions, placed.headings, strict=True):
        arm.location.x, arm.location.y = float(x), float(y)
        arm.rotation_euler.z = float(heading)


def _rig(scene, recipe, plan):
    settings = {"preset": recipe.camera_preset, "count": recipe.ring_count,
                "radius": recipe.ring_radius, "height": RING_HEIGHT, "focal_px": RING_FOCAL_PX,
                "follow_people": True}  # fmt: skip
    bpy.context.view_layer.update()
    cameras, _ = camera_job.rig_scene(scene, settings)
    if recipe.fit:
        camera_job.fit_now(scene, cameras, **FIT)
    bpy.context.view_layer.update()
    target = camera_fit.frame_centre(sampling.current_joints(scene_model.people(scene)))
    for cam, jitter in zip(cameras, plan.cameras, strict=True):
        _jitter_camera(cam, target, jitter)


def _jitter_camera(cam, target, jitter):
    """Turn the camera about the vertical through ``target``, raise it, move it back along its
    view, aim it at ``target`` again and scale its lens."""
    matrix = np.array(cam.matrix_world, dtype=np.float64)
    location = matrix[:3, 3].copy()
    angle = math.radians(jitter.heading)
    c, s = math.cos(angle), math.sin(angle)
    offset = location[:2] - target[:2]
    location[:2] = target[:2] + (c * offset[0] - s * offset[1], s * offset[0] + c * offset[1])
    location[2] += jitter.height
    away = location - target
    location += jitter.distance * away / max(np.linalg.norm(away), 1e-9)
    matrix[:3, :3] = camera_presets.look_at(location, target)
    matrix[:3, 3] = location
    cam.matrix_world = Matrix(matrix.tolist())
    cam.data.lens *= jitter.focal


def _extra_occluders(scene, plan, arms):
    for kind, person, seed in plan.occluders:
        xy, floor_z = occluders.person_floor_point(arms[person])
        for spot, yaw in occluder_library.around(xy, 1, *AROUND_RADII, seed):
            occluders.add_occluder_object(scene, kind, spot, yaw, floor_z)


def _looks_environment_lighting(scene, recipe, plan):
    """The people's looks, then the environment sized around the people and the jittered
    cameras (so it is built last), lit by the plan's lighting."""
    if recipe.appearance["vary"]:
        appearance.vary(scene, plan.looks_seed, recipe.appearance["same_look"])
    if plan.environment != "none":
        preset = "AUTO" if plan.lighting == "default" else plan.lighting
        environments.build_environment(scene, plan.environment, preset, plan.lighting_seed)
    elif plan.lighting != "default":
        environments.relight(scene, plan.lighting, plan.lighting_seed)


# ---- generating subjects -----------------------------------------------------------------------


class Generator:
    """Makes the subjects ``names`` of ``recipe`` into ``out``; complete ones are skipped.

    ``steps()`` yields ``(subject index, stage)`` as it goes; each subject starts from an empty
    file (``read_homefile``), so nothing of one subject stays in memory for the next.
    """

    def __init__(self, recipe, out, names, log=None):
        self.recipe = recipe
        self.out = os.path.abspath(out)
        self.names = list(names)
        self.todo = [n for n in self.names if not work.is_complete(self.out, n)]
        self.log = log or (lambda text: None)
        self.timings = {}
        self.done = []

    def run(self):
        for _ in self.steps():
            pass
        return self.done

    def steps(self):
        for index, name in enumerate(self.todo):
            try:
                yield from self._subject(index, name)
            except OSError as exc:  # a full disk, a folder made read-only: the subject is not done
                reason = exc.strerror or str(exc)
                raise DatasetError(exc.filename or self.out, f"{name}: writing", reason) from None
            self.done.append(name)
        with contextlib.suppress(OSError):  # only when empty: other processes may be at work
            os.rmdir(work.work_dir(self.out))

    @contextlib.contextmanager
    def _timed(self, stage):
        start = time.perf_counter()
        yield
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start

    def _subject(self, index, name):
        recipe, out = self.recipe, self.out
        plan = plan_core.draw_plan(recipe, name)
        self.log(f"{name}: building ({index + 1} of {len(self.todo)})")
        yield index, "build"
        target = work.subject_dir(out, name)
        atomic.recover_interrupted(target)
        stage_parent = work.work_dir(out)
        with atomic.staged_dir(os.path.join(stage_parent, name), overwrite=True) as stage:
            with self._timed("build"):
                bpy.ops.wm.read_homefile(use_empty=True)
                scene = bpy.context.scene
                build_subject(scene, recipe, plan)
                blend = os.path.join(stage, f"{name}.blend")
                bpy.ops.wm.save_as_mainfile(filepath=blend, copy=True, compress=False)
            job = ExportJob(scene, bpy.context.evaluated_depsgraph_get(), stage, name,
                            list(plan.takes) or None, None)  # fmt: skip
            started = time.perf_counter()
            for _ in job.steps():
                yield index, "export"
            self.timings["export"] = self.timings.get("export", 0.0) + (
                time.perf_counter() - started
            )
            if recipe.render["videos"]:
                with self._timed("render"):
                    for _ in self._render(scene, os.path.join(stage, name)):
                        yield index, "render"
            entry = manifest.read_manifest(stage)["subjects"][name]
            with self._timed("write"):
                self._publish(stage, name, plan, entry, job.fps)
        shutil.rmtree(os.path.join(stage_parent, name), ignore_errors=True)
        # The subject's export job, caster and sampler hold cycles (threads, generators): free
        # them now, not whenever the collector next runs, so memory stays flat over many subjects.
        del job
        gc.collect()
        self.log(f"{name}: complete")
        yield index, "done"

    def _render(self, scene, subject_dir):
        render = self.recipe.render
        settings = types.SimpleNamespace(
            directory=subject_dir, preset=ENGINE_PRESETS[render["engine"]],
            samples=render["samples"], scale=render["scale"], qa_video=render["qa_videos"],
            write_videos=True, image_sequence="NONE", overwrite=False,
        )  # fmt: skip
        yield from render_steps(scene, plan_videos(scene, settings))

    def _publish(self, stage, name, plan, entry, fps):
        """Scene, then data, then the record: the record's presence means all are in place."""
        os.makedirs(os.path.join(self.out, work.SCENES_DIR), exist_ok=True)
        os.replace(os.path.join(stage, f"{name}.blend"), work.blend_path(self.out, name))
        os.makedirs(work.dataset_dir(self.out), exist_ok=True)
        atomic.replace_dir(os.path.join(stage, name), work.subject_dir(self.out, name))
        work.write_record(self.out, name, plan.as_dict(), entry, fps)
