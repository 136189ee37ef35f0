"""Import Mixamo FBX files: characters (with skin) become people, animations (without skin) go
into the action library of every person with the same rig: the work, and its operator.

Mixamo FBX files are in centimetres with Y up; Blender's FBX importer turns them into an armature
scaled 0.01 and turned 90 degrees about X, so the character stands in metres on the XY floor,
facing -Y. Each action is named after its file. A file that is not FBX, cannot be read or holds
no Mixamo rig gets one message naming it, and whatever the importer had made is removed again.
"""

import os

import bpy
from bpy_extras.io_utils import ImportHelper

from ..core.errors import DatasetError
from ..core.joints import bm3d_bone_names, mixamo_prefix, strip_mixamo_prefix
from . import character_materials, people, scene_model, takes
from .modal_progress import ModalSteps, refuse_second_run
from .operator_errors import operator_reason
from .registration import classes_and_scene_settings
from .scene_settings import SavedSettings

FBX_BINARY_MAGIC = b"Kaydara FBX Binary"


class NoCharacterError(DatasetError):
    """An animation without skin, and no person in the scene with the same rig to take it."""


def check_fbx_file(path):
    """Raise DatasetError unless ``path`` is a readable FBX file (binary or ASCII)."""
    if not os.path.isfile(path):
        raise DatasetError(path, None, "no such file")
    if not path.lower().endswith(".fbx"):
        raise DatasetError(path, None, "not an FBX file (expected a .fbx export from Mixamo)")
    with open(path, "rb") as handle:
        head = handle.read(1024)
    if not (head.startswith(FBX_BINARY_MAGIC) or b"FBXHeaderExtension" in head):
        raise DatasetError(path, None, "not an FBX file (no FBX header)")


# --- what the importer made, and taking it back -------------------------------------------------


def _id_collections():
    """Every bpy.data collection of datablocks that can be removed."""
    for name in dir(bpy.data):
        collection = getattr(bpy.data, name, None)
        if isinstance(collection, bpy.types.bpy_prop_collection) and hasattr(collection, "remove"):
            yield collection


def datablock_snapshot():
    return {block.as_pointer() for coll in _id_collections() for block in coll}


def datablocks_since(snapshot):
    return [
        block for coll in _id_collections() for block in coll if block.as_pointer() not in snapshot
    ]


def remove_datablocks(blocks):
    if blocks:
        bpy.data.batch_remove(blocks)


class SceneState:
    """What the FBX importer changes besides adding datablocks: frame rate, range, selection."""

    def __init__(self, context):
        scene = context.scene
        self.scene = scene
        self.fps = (scene.render.fps, scene.render.fps_base)
        self.settings = SavedSettings(
            [(scene.render, ("fps", "fps_base")), (scene, ("frame_start", "frame_end"))]
        )
        self.frame = scene.frame_current
        self.active = context.view_layer.objects.active
        self.selected = [o for o in scene.objects if o.select_get()]

    def restore(self, context):
        scene = self.scene
        self.settings.restore()
        scene.frame_set(self.frame)
        for obj in scene.objects:
            obj.select_set(obj in self.selected)
        context.view_layer.objects.active = self.active


# --- one file ------------------------------------------------------------------------------------


def _rig_bones(armature, path):
    names = [bone.name for bone in armature.data.bones]
    try:
        bm3d_bone_names(names)
    except ValueError as exc:
        raise DatasetError(path, "armature", f"not a Mixamo rig: {exc}") from None
    return names


def _bone_of(data_path):
    # 'pose.bones["mixamorig:Hips"].location' -> 'mixamorig:Hips'
    if data_path.startswith('pose.bones["'):
        return data_path[len('pose.bones["') :].split('"]', 1)[0]
    return None


def action_for_rig(action, prefix, name):
    """``action`` with its bone paths renamed to ``prefix`` (a renamed copy when they differ)."""
    bones = {_bone_of(fc.data_path) for fc in takes.action_fcurves(action)} - {None}
    if mixamo_prefix(bones) == prefix:
        return action
    copy = action.copy()
    copy.name = name
    for fcurve in takes.action_fcurves(copy):
        bone = _bone_of(fcurve.data_path)
        if bone is not None:
            fcurve.data_path = fcurve.data_path.replace(bone, prefix + strip_mixamo_prefix(bone), 1)
        if fcurve.group is not None and fcurve.group.name == bone:
            fcurve.group.name = prefix + strip_mixamo_prefix(bone)
    return copy


def _matching_people(scene, bone_names):
    """People whose rig has every bone the animation moves (prefix aside)."""
    wanted = {strip_mixamo_prefix(b) for b in bone_names}
    found = []
    for arm in scene_model.people(scene):
        have = {strip_mixamo_prefix(b.name) for b in arm.data.bones}
        if wanted <= have:
            found.append(arm)
    return found


def import_file(context, path, target="ALL"):
    """Import one Mixamo FBX; returns a one-line summary. On any problem, raises DatasetError
    with the scene as it was before."""
    path = os.path.abspath(path)
    check_fbx_file(path)
    scene = context.scene
    state = SceneState(context)
    before = datablock_snapshot()
    had_people = bool(scene_model.people(scene))
    try:
        return _import_checked(context, path, target, before, state, had_people)
    except BaseException:
        remove_datablocks(datablocks_since(before))
        state.restore(context)
        raise


def _import_checked(context, path, target, before, state, had_people):
    scene = context.scene
    try:
        result = bpy.ops.import_scene.fbx(filepath=path, use_anim=True, ignore_leaf_bones=False)
    except Exception as exc:  # the importer raises whatever its parser hit on a broken file
        reason = operator_reason(exc, path)
        raise DatasetError(path, None, f"the FBX importer could not read it ({reason})") from None
    if "FINISHED" not in result:
        raise DatasetError(path, None, "the FBX importer could not read it")

    new = datablocks_since(before)
    armatures = [b for b in new if isinstance(b, bpy.types.Object) and b.type == "ARMATURE"]
    if len(armatures) != 1:
        found = "no armature" if not armatures else f"{len(armatures)} armatures"
        raise DatasetError(path, "armature", f"not a Mixamo character or animation ({found})")
    armature = armatures[0]
    _rig_bones(armature, path)
    bodies = scene_model.body_meshes(armature, scene)
    ad = armature.animation_data
    action = ad.action if ad is not None else None
    stem = os.path.splitext(os.path.basename(path))[0]

    # The importer set the scene to the file's rate. The first person sets the timeline; later
    # files keep the scene's rate, their keys stretched so the motion keeps its speed.
    file_fps = scene.render.fps / scene.render.fps_base
    scene_fps = state.fps[0] / state.fps[1]
    if had_people:
        scene.render.fps, scene.render.fps_base = state.fps
        if action is not None and abs(file_fps - scene_fps) > 1e-6:
            takes.retime_action(action, scene_fps / file_fps)
    if action is not None:
        action.name = stem

    if bodies:
        armature.name = stem
        index = people.add_person(scene, armature, bodies, [action] if action else [])
        takes.set_take(armature, action)
        takes.fit_frame_range(scene)
        what = f"character {armature.name} as person {index}"
        warnings = character_materials.settle(bodies, path)
        if warnings:
            what += f" (warning: {'; '.join(warnings)})"
    else:
        if action is None:
            raise DatasetError(path, None, "no skin and no animation: nothing to import")
        action_bones = {_bone_of(fc.data_path) for fc in takes.action_fcurves(action)} - {None}
        targets = _matching_people(scene, action_bones)
        if target == "ACTIVE":
            # The importer made its own skeleton active: ask what was active before it.
            targets = [a for a in targets if a == state.active] or targets[:1]
        if not targets:
            raise NoCharacterError(
                path,
                None,
                "an animation without a character: import or add one with this rig first",
            )
        for person in targets:
            prefix = mixamo_prefix([b.name for b in person.data.bones])
            own = action_for_rig(action, prefix, f"{stem} [{prefix.rstrip(':_')}]")
            people.add_library_action(person, own)
            if takes.take(person)[0] is None:
                takes.set_take(person, own)
        if not any(action.name in scene_model.person_actions(p) for p in targets):
            bpy.data.actions.remove(action)  # every target needed a renamed copy
        # Keep only the action(s): the skeleton that carried them is not a person.
        keep = {a.as_pointer() for a in bpy.data.actions}
        remove_datablocks([b for b in datablocks_since(before) if b.as_pointer() not in keep])
        takes.fit_frame_range(scene)
        what = f"action {stem} for {', '.join(p.name for p in targets)}"
    return what


# --- many files, with progress and Esc ------------------------------------------------------------


class ImportRun:
    """Imports files one per step; animations whose character comes later in the list are
    retried at the end. ``cancel`` removes everything this run imported."""

    def __init__(self, context, paths, target="ALL"):
        self.paths = list(paths)
        self.pending = list(self.paths)
        self.target = target
        self.done, self.failed, self.deferred = [], [], []
        self.retrying = False
        self.before = datablock_snapshot()
        self.state = SceneState(context)
        self.libraries = {
            a.name: scene_model.person_actions(a) for a in scene_model.people(context.scene)
        }

    @property
    def finished(self):
        return not self.pending

    def step(self, context):
        path = self.pending.pop(0)
        try:
            self.done.append(import_file(context, path, self.target))
        except NoCharacterError as exc:
            if self.retrying:
                self.failed.append(exc.message)
            else:
                self.deferred.append(path)
        except DatasetError as exc:
            self.failed.append(exc.message)
        if not self.pending and self.deferred and not self.retrying:
            self.retrying = True
            self.pending, self.deferred = self.deferred, []
        return path

    def run_all(self, context):
        while not self.finished:
            self.step(context)

    def steps(self):
        """Generator: one file a step (as a modal timer tick), yielding (files done, the next
        file's name) before importing it."""
        while not self.finished:
            yield len(self.done) + len(self.failed), os.path.basename(self.pending[0])
            self.step(bpy.context)  # the context of the event being handled

    def cancel(self, context):
        """Take back this run's imports: new datablocks, and library entries on older people."""
        new = datablocks_since(self.before)
        remove_datablocks(new)
        for arm in scene_model.people(context.scene):
            if arm.name in self.libraries:
                arm[scene_model.ACTIONS] = self.libraries[arm.name]
        self.state.restore(context)
        people.sync_people_list(context.scene)


def file_paths(filepath, directory, files):
    """The FBX files an import names: the selected ``files`` in ``directory``, else ``filepath``,
    else every .fbx file in ``directory``."""
    names = [f.name for f in files if f.name]
    if names:
        return [os.path.join(directory, n) for n in names]
    if filepath and not os.path.isdir(filepath):
        return [filepath]
    folder = directory or filepath
    if folder and os.path.isdir(folder):
        return sorted(
            os.path.join(folder, n) for n in os.listdir(folder) if n.lower().endswith(".fbx")
        )
    return []


class BM3D_OT_import_mixamo(ModalSteps, bpy.types.Operator, ImportHelper):
    """Import Mixamo FBX files: characters become people, animations join the library of every
    person with the same rig"""

    bl_idname = "blendmimic3d.import_mixamo"
    bl_label = "Import Mixamo FBX"
    # Not "UNDO": the file browser pushes an undo step for an UNDO operator as soon as execute
    # returns, also when it goes modal, which left an empty step before each modal import and
    # after each cancelled one. A finished import pushes its one step itself (finished).
    bl_options = {"REGISTER"}

    filename_ext = ".fbx"
    filter_glob: bpy.props.StringProperty(default="*.fbx", options={"HIDDEN"})
    files: bpy.props.CollectionProperty(
        type=bpy.types.OperatorFileListElement, options={"SKIP_SAVE"}
    )
    directory: bpy.props.StringProperty(subtype="DIR_PATH", options={"SKIP_SAVE"})
    target: bpy.props.EnumProperty(
        name="Animations For",
        description="Which people get the animations of files without skin",
        items=[
            ("ALL", "Every Matching Person", "Every person whose rig has the animated bones"),
            (
                "ACTIVE",
                "Active Person",
                "The active object if it is a matching person, else the first",
            ),
        ],
        default="ALL",
    )

    invoke = ImportHelper.invoke  # the file browser first; its execute starts the modal run
    step_seconds = 0.0  # one file per timer tick
    reported_errors = ()  # a file's error is reported with the others at the end
    cancel_message = "Import cancelled: nothing of this run was kept"
    _run = None
    # One modal import at a time: a second one started meanwhile would interleave with the
    # first's datablock bookkeeping (and crashed Blender 4.3 once in testing).
    _busy = False

    @classmethod
    def poll(cls, context):
        return refuse_second_run(cls, "An import")

    def execute(self, context):
        paths = file_paths(self.filepath, self.directory, self.files)
        if not paths:
            self.report({"ERROR"}, f"No FBX files to import in {self.directory or self.filepath!r}")
            return {"CANCELLED"}
        self._run = ImportRun(context, paths, self.target)
        if len(paths) > 1 and context.window is not None and not bpy.app.background:
            # Many files in the UI: one per timer tick, a progress bar, Esc to cancel. (Without
            # a UI no events arrive, so scripts and background runs import in one go.)
            return self.run_modal(context, self._run.steps(), len(paths))
        self._run.run_all(context)
        return self.finished(context, None)

    def progress(self, value):
        position, name = value
        count = len(self._run.paths)
        return position, f"Importing {position + 1}/{count}: {name} (Esc to cancel)"

    def escaped(self, context):
        self._run.cancel(context)

    def finished(self, context, _result):
        run = self._run
        people.sync_people_list(context.scene)
        if not run.done:
            self.report({"ERROR"}, "; ".join(run.failed))
            return {"CANCELLED"}
        if run.failed:
            self.report({"WARNING"}, f"Imported {len(run.done)}; skipped: " + "; ".join(run.failed))
        else:
            self.report({"INFO"}, "Imported " + "; ".join(run.done))
        if context.window is not None and not bpy.app.background:
            bpy.ops.ed.undo_push(message=self.bl_label)
        return {"FINISHED"}


CLASSES = (BM3D_OT_import_mixamo,)
register, unregister = classes_and_scene_settings(CLASSES)
