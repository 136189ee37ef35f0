"""One way for a shell module to register its classes and its settings on the Scene."""

import bpy


def classes_and_scene_settings(classes, **scene_settings):
    """(register, unregister) for ``classes`` (in order) and ``Scene.<name>`` pointer properties
    to PropertyGroups among them; unregister removes everything in reverse order."""
    register_classes, unregister_classes = bpy.utils.register_classes_factory(tuple(classes))

    def register():
        register_classes()
        for name, group in scene_settings.items():
            setattr(bpy.types.Scene, name, bpy.props.PointerProperty(type=group))

    def unregister():
        for name in scene_settings:
            delattr(bpy.types.Scene, name)
        unregister_classes()

    return register, unregister
