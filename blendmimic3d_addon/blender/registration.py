"""One way for a shell module to register its classes and its settings on the Scene."""

import bpy


def classes_and_scene_settings(classes, **scene_settings):
    """(register, unregister) for ``classes`` (in order) and ``Scene.<name>`` pointer properties
    to PropertyGroups among them; unregister removes everything in reverse order."""
    register_classes, unregister_classes = bpy.utils.register_classes_factory(tuple(classes))
    # Blender 4.2 keeps one reference to every PropertyGroup class it unregisters, for good. A
    # class whose annotations hold callbacks (people's get/set/items/poll) then keeps their module,
    # and with it the bpy module, alive past interpreter shutdown once the extension's modules
    # are gone from sys.modules (uninstall): bpy's exit never runs and the interpreter crashes in
    # its C++ teardown. So unregister hands the annotations back and register restores them.
    # (Only a class's own annotations: keep callbacks out of mixins shared by PropertyGroups.)
    annotations = {
        group: group.__dict__["__annotations__"]
        for group in classes
        if issubclass(group, bpy.types.PropertyGroup) and "__annotations__" in group.__dict__
    }

    def register():
        for group, properties in annotations.items():
            group.__annotations__ = properties
        register_classes()
        for name, group in scene_settings.items():
            setattr(bpy.types.Scene, name, bpy.props.PointerProperty(type=group))

    def unregister():
        for name in scene_settings:
            delattr(bpy.types.Scene, name)
        unregister_classes()
        for group in annotations:
            group.__annotations__ = {}

    return register, unregister
