"""The bundled mannequin (``assets/mannequin.blend``, made by ``assets/build_mannequin.py``):
a Mixamo-rigged character with Walk, Wave, Sit and PickUp, for scenes without a Mixamo account."""

import pathlib

import bpy

from ..core.errors import DatasetError
from . import appearance, people, scene_model, takes
from .registration import classes_and_scene_settings

ASSET_NAME = "mannequin.blend"
ARMATURE, BODY = "Mannequin", "Mannequin_Body"
ACTIONS = ("Walk", "Wave", "Sit", "PickUp")
ACTION_FPS = 30
# Set on the mannequin's actions by the generator: the action's name there.
ACTION_MARK = "bm3d_mannequin"

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
# Installed extension: assets/ inside the package; a source checkout: assets/ beside it.
ASSET_DIRS = [_PACKAGE / "assets", _PACKAGE.parent / "assets"]


def asset_path():
    for folder in ASSET_DIRS:
        path = folder / ASSET_NAME
        if path.is_file():
            return path
    raise DatasetError(
        ASSET_DIRS[0] / ASSET_NAME,
        None,
        "the bundled mannequin is missing; reinstall the extension",
    )


def _shared_actions():
    """The mannequin actions already in this file, by their generator name."""
    found = {}
    for action in bpy.data.actions:
        mark = action.get(ACTION_MARK)
        if mark in ACTIONS and mark not in found:
            found[mark] = action
    return found


def add_mannequin(context, action_name="Walk", location=(0.0, 0.0, 0.0)):
    """Append a mannequin, make it the scene's next person playing ``action_name``; returns it.

    Mannequins share one copy of each action. The first person in a scene sets it to 30 fps;
    in a scene already at another rate, freshly appended actions are retimed to keep their speed.
    """
    path = asset_path()
    scene = context.scene
    had_people = bool(scene_model.people(scene))
    shared = _shared_actions()
    missing = [name for name in ACTIONS if name not in shared]
    try:
        with bpy.data.libraries.load(str(path), link=False) as (source, target):
            absent = {ARMATURE, BODY} - set(source.objects)
            target.objects = [ARMATURE, BODY]
            target.actions = list(missing)  # the loader fills this list in place
    except OSError as exc:
        raise DatasetError(path, None, f"cannot read the bundled mannequin: {exc}") from None
    if absent:
        appended = [o for o in target.objects if o is not None]
        bpy.data.batch_remove(appended + [a for a in target.actions if a is not None])
        raise DatasetError(path, "objects", f"no {', '.join(sorted(absent))} in the file")

    armature, body = target.objects
    fresh = dict(zip(missing, target.actions, strict=True))
    for obj in (armature, body):
        context.collection.objects.link(obj)
    armature.location = location

    scene_fps = scene.render.fps / scene.render.fps_base
    if not had_people:
        scene.render.fps, scene.render.fps_base = ACTION_FPS, 1.0
    elif abs(scene_fps - ACTION_FPS) > 1e-6:
        for action in fresh.values():
            takes.retime_action(action, scene_fps / ACTION_FPS)

    actions = {**shared, **fresh}
    library = [actions[name] for name in ACTIONS]
    people.add_person(scene, armature, [body], library)
    appearance.give_default_look(scene, armature)
    takes.set_take(armature, actions[action_name])
    takes.fit_frame_range(scene)
    return armature


class BM3D_OT_add_mannequin(bpy.types.Operator):
    """Add the bundled mannequin (Mixamo's rig, no account needed) as the scene's next person"""

    bl_idname = "blendmimic3d.add_mannequin"
    bl_label = "Add Mannequin"
    bl_options = {"REGISTER", "UNDO"}

    action: bpy.props.EnumProperty(
        name="Action",
        description="The action the new mannequin plays (all four are in its library)",
        items=[(name, name, f"Play {name}") for name in ACTIONS],
        default="Walk",
    )
    location: bpy.props.FloatVectorProperty(name="Location", subtype="TRANSLATION", size=3)

    def invoke(self, context, event):
        self.location = context.scene.cursor.location
        return self.execute(context)

    def execute(self, context):
        try:
            armature = add_mannequin(context, self.action, tuple(self.location))
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        index = armature[scene_model.PERSON_INDEX]
        self.report({"INFO"}, f"Added {armature.name} as person {index}, playing {self.action}")
        return {"FINISHED"}


CLASSES = (BM3D_OT_add_mannequin,)
register, unregister = classes_and_scene_settings(CLASSES)
