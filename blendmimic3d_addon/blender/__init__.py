"""Blender shell: registers every module of the extension in order, and removes them in reverse."""

import importlib

# The extension's top-level package, e.g. "bl_ext.user_default.blendmimic3d": preferences use it.
ADDON_PACKAGE = __package__.rpartition(".")[0]

# Each module has register() and unregister() (registration.classes_and_scene_settings; the
# command-line hook registers a command). Order: preferences first, the sidebar (ui) last.
_MODULE_NAMES = (
    "preferences",
    "cli_hook",
    "people",
    "appearance",
    "mixamo_import",
    "mannequin",
    "camera_ops",
    "occluders",
    "scenarios",
    "export_choices",
    "environments",
    "export_ops",
    "video_ops",
    "coco_ops",
    "refine_ops",
    "occlusion_ops",
    "batch_ops",
    "ui",
)

_registered = []


def _modules():
    return [importlib.import_module(f".{name}", __name__) for name in _MODULE_NAMES]


def register():
    for module in _modules():
        module.register()
        _registered.append(module)


def unregister():
    while _registered:
        _registered.pop().unregister()
