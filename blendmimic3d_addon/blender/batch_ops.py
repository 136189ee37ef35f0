"""The Batch panel's operators (the panel itself is in ui.py): choose a recipe, preview one
of its subjects in the current file, generate the subjects locally with progress and Esc.

Preview builds subject k into a new scene of this file ("Preview <S>"), so an artist sees what
the recipe makes before spending cluster hours; the user's own scenes are not touched.
Generate runs ``generate`` in a background Blender (or Python with the bpy module) beside this
one, so the UI stays responsive and a cancel is as safe as a killed cluster task: the subject
under way is not written, complete ones stay, and the next run does only what is missing.
"""

import os
import queue
import subprocess
import sys
import threading
import time

import bpy

from ..core.batch import plan as plan_core
from ..core.batch import recipe as recipe_core
from ..core.batch import work
from ..core.errors import DatasetError
from . import batch, modal_progress, scene_model
from .mixamo_import import datablock_snapshot, datablocks_since, remove_datablocks
from .registration import classes_and_scene_settings

# Share of a subject done when its generate run reports each stage.
_STAGE_DONE = {"build": 0.0, "export": 0.1, "render": 0.5, "done": 1.0}
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _settings():
    P = bpy.props
    return {
        "recipe": P.StringProperty(name="Recipe", subtype="FILE_PATH",
                                   description="The recipe file (TOML, docs/RECIPES.md)"),
        "directory": P.StringProperty(name="Output", subtype="DIR_PATH",
                                      description="Output folder: dataset/ and scenes/ in it"),
        "subject_index": P.IntProperty(name="Subject", default=0, min=0,
                                       description="Preview: subject number (0 first)"),
        "subjects": P.StringProperty(name="Subjects",
                                     description="Generate: S10-S19 or a list; empty: all"),
    }  # fmt: skip


def _some_settings(*names):
    settings = _settings()
    return {name: settings[name] for name in names}


class BM3D_PG_batch(bpy.types.PropertyGroup):
    __annotations__ = _settings()


def _read(path):
    if not path:
        raise DatasetError(None, "recipe", "choose a recipe file (TOML)")
    return recipe_core.read_recipe(bpy.path.abspath(path))


class BM3D_OT_batch_preview(bpy.types.Operator):
    """Build one subject of the recipe into a new scene of this file, to see what it makes"""

    bl_idname = "blendmimic3d.batch_preview"
    bl_label = "Preview Subject"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = _some_settings("recipe", "subject_index")

    def execute(self, context):
        before = datablock_snapshot()
        shown = context.window.scene if context.window is not None else None
        try:
            recipe = _read(self.recipe)
            if self.subject_index >= len(recipe.subjects):
                raise DatasetError(recipe.path, "subject", f"there is no number "
                                   f"{self.subject_index}; the recipe has "
                                   f"{len(recipe.subjects)} subjects")  # fmt: skip
            name = recipe.subjects[self.subject_index]
            plan = plan_core.draw_plan(recipe, name)
            scene = bpy.data.scenes.new(f"Preview {name}")
            batch.build_subject(scene, recipe, plan)  # shown in the window, where there is one
        except DatasetError as exc:
            if shown is not None:
                context.window.scene = shown
            remove_datablocks(datablocks_since(before))  # the half-built scene and all it made
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        people = len(scene_model.people(scene))
        takes = ", ".join(plan.takes) or "its own animation"
        self.report({"INFO"}, f"{scene.name}: {people} people ({plan.layout.lower()}), "
                    f"{plan.scenario.lower()}, {len(plan.occluders)} extra occluder(s), "
                    f"takes {takes}")  # fmt: skip
        return {"FINISHED"}


def local_command(args):
    """The command that runs this extension's command line with ``args`` in a fresh background
    Blender (or the Python with the bpy module, where this one is that)."""
    parent, package = os.path.split(_PACKAGE_DIR)
    code = (f"import sys; sys.path.insert(0, {parent!r}); from {package}.cli import main; "
            f"sys.exit(main({list(args)!r}))")  # fmt: skip
    if bpy.app.binary_path:
        return [bpy.app.binary_path, "-b", "--factory-startup", "--python-exit-code", "1",
                "--python-expr", code]  # fmt: skip
    return [sys.executable, "-c", code]


class LocalRun:
    """``generate`` in a child process, its progress lines read on a thread; ``cancel`` stops it
    (the subject under way is left unwritten, its staging folder tidied by the next run)."""

    def __init__(self, recipe_path, out, subjects=""):
        recipe = recipe_core.read_recipe(recipe_path)
        self.names = recipe_core.select_subjects(recipe, subjects)
        self.out = os.path.abspath(out)
        self.todo = [n for n in self.names if not work.is_complete(self.out, n)]
        args = ["generate", recipe.path, "--out", self.out]
        if subjects:
            args += ["--subjects", subjects]
        self.process = subprocess.Popen(local_command(args), stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)  # fmt: skip
        self.lines = queue.Queue()
        self.tail = []
        self.fraction = 0.0
        self.status = "starting"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def poll(self):
        """Take in what the child printed; returns its exit code once it ended, else None."""
        ended = False
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                ended = True
                continue
            self.tail = [*self.tail[-20:], line]
            self._progress(line)
        return self.process.wait() if ended else None

    def _progress(self, line):
        words = line.split()
        if len(words) == 4 and words[0] == "progress:" and "/" in words[2]:
            index, count = (int(v) for v in words[2].split("/"))
            self.fraction = (index - 1 + _STAGE_DONE.get(words[3], 0.0)) / max(count, 1)
            self.status = f"{words[1]} ({index} of {count}): {words[3]}"

    def wait(self):
        while (code := self.poll()) is None:
            time.sleep(0.05)
        return code

    def cancel(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()

    def complete(self):
        return [n for n in self.names if work.is_complete(self.out, n)]

    def error(self):
        found = [line for line in self.tail if line.startswith("error:")]
        return (found[-1].removeprefix("error: ") if found else " / ".join(self.tail[-3:])) or (
            f"generate ended with code {self.process.returncode}"
        )


class BM3D_OT_batch_generate(bpy.types.Operator):
    """Generate the recipe's subjects into the output folder, in a background process (Esc
    cancels; complete subjects are kept and skipped next time)"""

    bl_idname = "blendmimic3d.batch_generate"
    bl_label = "Generate Locally"
    bl_options = {"REGISTER"}
    __annotations__ = _some_settings("recipe", "directory", "subjects")

    _run = None
    _timer = None
    _busy = False

    @classmethod
    def poll(cls, context):
        return modal_progress.refuse_second_run(cls, "A batch generation")

    def _start(self):
        if not self.directory:
            raise DatasetError(None, "directory", "choose the output folder")
        _read(self.recipe)  # a recipe mistake is named here, not by the child
        out = bpy.path.abspath(self.directory)
        return LocalRun(bpy.path.abspath(self.recipe), out, self.subjects)

    def execute(self, context):
        try:
            run = self._start()
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        return self._ended(run, run.wait())

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        try:
            self._run = self._start()
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        return modal_progress.start(self, context, 1000)

    def modal(self, context, event):
        if event.type == "ESC":
            self._run.cancel()
            modal_progress.end(self, context)
            done = self._run.complete()
            self.report({"WARNING"}, f"Generation cancelled: {len(done)} of "
                        f"{len(self._run.names)} subjects complete; the one under way was not "
                        "written (the next run does it)")  # fmt: skip
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        code = self._run.poll()
        if code is None:
            modal_progress.update(context, int(self._run.fraction * 1000),
                                  f"Generating {self._run.status} (Esc to cancel)")  # fmt: skip
            return {"RUNNING_MODAL"}
        modal_progress.end(self, context)
        return self._ended(self._run, code)

    def cancel(self, context):
        if self._run is not None:
            self._run.cancel()
        modal_progress.end(self, context)

    def _ended(self, run, code):
        if code != 0:
            self.report({"ERROR"}, f"Generation failed: {run.error()}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Generated {len(run.todo)} subject(s), {len(run.names)} complete "
                    f"in {work.dataset_dir(run.out)}")  # fmt: skip
        return {"FINISHED"}


_CLASSES = (BM3D_PG_batch, BM3D_OT_batch_preview, BM3D_OT_batch_generate)
register, unregister = classes_and_scene_settings(_CLASSES, bm3d_batch=BM3D_PG_batch)
