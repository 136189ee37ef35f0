"""BlendMimic3D Studio: synthetic 3D human pose data and a GCN pose refiner for Blender.

This package is two layers. ``core`` is pure numpy (format I/O, camera maths, joints, metrics,
occlusion classification, refiner runtime) and imports no ``bpy``, so importing the package in
plain Python costs nothing. ``blender`` is the thin shell (properties, operators, panels) and is
only imported by ``register``.
"""

from .core import __version__  # noqa: F401  (one home: the core writes it into manifests)


def register():
    from . import blender

    blender.register()


def unregister():
    from . import blender

    blender.unregister()
