"""Pure core of BlendMimic3D Studio: numpy only, no ``bpy``; importable in plain Python."""

__version__ = "0.1.0"  # the extension's version, equal to blender_manifest.toml's
