"""Blender's extension command-line hook: ``blender -b [scene.blend] -c blendmimic3d COMMAND``."""

import bpy

COMMAND_ID = "blendmimic3d"
_handle = None


def _execute(argv):
    from .. import cli

    return cli.main(list(argv), prog=f"blender -c {COMMAND_ID}")


def register():
    global _handle
    _handle = bpy.utils.register_cli_command(COMMAND_ID, _execute)


def unregister():
    global _handle
    if _handle is not None:
        bpy.utils.unregister_cli_command(_handle)
        _handle = None
