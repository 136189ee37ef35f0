"""Subcommands of ``python -m blendmimic3d_addon`` and ``blender -c blendmimic3d``.

Each module has ``add_arguments(parser)`` and ``run(args) -> int`` and imports ``bpy`` only inside
``run``, so that ``validate`` and ``refine`` work in plain Python. The work itself lives in
``core`` (pure) or in the ``blender`` jobs; a command only parses, calls and prints.
"""
