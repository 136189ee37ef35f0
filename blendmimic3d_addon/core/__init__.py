"""Pure core of BlendMimic3D Studio: numpy only, no ``bpy``; importable in plain Python."""
