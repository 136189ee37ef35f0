"""What differs between the Blender versions the extension supports (4.2 LTS to 5.0), in one place.

(Slotted actions, 4.4+, are handled where actions are: ``takes``.)
"""

import bpy


def engine_identifier(choice):
    """Blender's engine id: EEVEE is BLENDER_EEVEE_NEXT in 4.2-4.5, BLENDER_EEVEE again in 5.0."""
    if choice == "WORKBENCH":
        return "BLENDER_WORKBENCH"
    if choice == "CYCLES":
        return "CYCLES"
    return "BLENDER_EEVEE" if bpy.app.version >= (5, 0, 0) else "BLENDER_EEVEE_NEXT"


def set_image_format(image_settings, file_format):
    """Blender 5.0 splits images from movies (media_type); 4.x only has file_format."""
    if hasattr(image_settings, "media_type"):
        image_settings.media_type = "VIDEO" if file_format == "FFMPEG" else "IMAGE"
    image_settings.file_format = file_format


def sequencer_strips(editor):
    """A sequence editor's top-level strips: ``strips`` in 5.0, ``sequences`` in 4.x."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def relative_path_option():
    """Keyword arguments for a path property that may be "//" (relative to the .blend): newer
    Blender wants that declared, older ones refuse the flag. Property RNA shows
    ``is_path_supports_blend_relative`` exactly where it exists."""
    if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties:
        return {"options": {"PATH_SUPPORTS_BLEND_RELATIVE"}}
    return {}


def material_node_tree(material):
    """The material's node tree: Blender 5.0 always has one, before it is made on request."""
    if not material.node_tree:
        material.use_nodes = True
    return material.node_tree
