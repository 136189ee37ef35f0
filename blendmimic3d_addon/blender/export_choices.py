"""The Export panel's actions and cameras as checkbox lists over the export's comma text.

The export's ``actions`` and ``cameras`` settings stay comma-separated text (what the command
line takes; empty means all). In the panel each action and each camera is a checkbox that
rewrites that text: all checked writes it empty again, so new actions and cameras are exported
too until the artist unticks something.
"""

import bpy

from . import scene_model
from .export_job import split_list
from .takes import scene_actions

KINDS = (
    ("ACTIONS", "Actions", "The primary person's actions"),
    ("CAMERAS", "Cameras", "The dataset cameras, by index"),
)


def available(scene, kind):
    """What can be chosen: action names, or camera indices as text."""
    if kind == "ACTIONS":
        return scene_actions(scene)
    return [str(i) for i in range(len(scene_model.dataset_cameras(scene)))]


def chosen(props, scene, kind):
    """The items the export will take: those named in the text, or all when it is empty."""
    items = available(scene, kind)
    named = split_list(props.actions if kind == "ACTIONS" else props.cameras)
    return [item for item in items if item in named] if named else items


def toggled_text(props, scene, kind, item):
    """The comma text once ``item`` is ticked or unticked; empty when every item is ticked."""
    items = available(scene, kind)
    picked = set(chosen(props, scene, kind)) ^ {item}
    if picked >= set(items):
        return ""
    return ",".join(i for i in items if i in picked)


class BM3D_OT_toggle_export_choice(bpy.types.Operator):
    """Tick or untick an action or a camera for the export"""

    bl_idname = "blendmimic3d.toggle_export_choice"
    bl_label = "Toggle Export Choice"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    kind: bpy.props.EnumProperty(name="Kind", items=KINDS)
    item: bpy.props.StringProperty(name="Item", description="Action name or camera index")

    def execute(self, context):
        scene = context.scene
        props = scene.bm3d_export
        if self.item not in available(scene, self.kind):
            what = "action" if self.kind == "ACTIONS" else "camera"
            self.report({"ERROR"}, f"No {what} {self.item!r} to export in this scene")
            return {"CANCELLED"}
        text = toggled_text(props, scene, self.kind, self.item)
        if self.kind == "ACTIONS":
            props.actions = text
        else:
            props.cameras = text
        return {"FINISHED"}


def register():
    bpy.utils.register_class(BM3D_OT_toggle_export_choice)


def unregister():
    bpy.utils.unregister_class(BM3D_OT_toggle_export_choice)
