"""Add-on preferences, stored under the extension's own package name."""

import bpy

from . import ADDON_PACKAGE
from .registration import classes_and_scene_settings


class BM3D_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    refiner_threads: bpy.props.IntProperty(
        name="Refiner Threads",
        description="CPU threads for ONNX Runtime (0 lets ONNX Runtime choose)",
        default=0,
        min=0,
        max=64,
    )

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "refiner_threads")
        layout.label(text=f"User data: {user_data_dir()}")


def get(context=None):
    """The add-on's preferences, or None when the add-on is not enabled through the preferences."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_PACKAGE)
    return addon.preferences if addon else None


def user_data_dir(create=False):
    """Writable folder for this extension's data (cached models, logs); never inside the package."""
    return bpy.utils.extension_path_user(ADDON_PACKAGE, path="", create=create)


CLASSES = (BM3D_AddonPreferences,)
register, unregister = classes_and_scene_settings(CLASSES)
