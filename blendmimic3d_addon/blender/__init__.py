"""Blender shell: registers every module of the extension in order, and removes them in reverse."""

import importlib

# The extension's top-level package, e.g. "bl_ext.user_default.blendmimic3d": preferences use it.
ADDON_PACKAGE = __package__.rpartition(".")[0]

# Each module has register() and unregister(). Order matters: preferences and properties come
# before the operators and panels that read them; sub-panels after the main panel.
_MODULE_NAMES = (
    "preferences",
    "panel",
    "cli_hook",
    "people",
    "appearance",
    "mixamo_import",
    "mannequin",
    "camera_rig",
    "occluders",
    "scenarios",
    "environments",
    "export_ops",
    "videos",
    "refine_ops",
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
