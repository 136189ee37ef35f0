"""Node materials the extension makes: plain Principled colours and a checker-tiled floor."""

import bpy


def node_tree(owner):
    """The node tree of a material or world (Blender before 5.0 makes them without nodes)."""
    if owner.node_tree is None:
        owner.use_nodes = True
    return owner.node_tree


def principled(material):
    return next(n for n in node_tree(material).nodes if n.type == "BSDF_PRINCIPLED")


def plain(name, colour, roughness=0.6):
    """A new material of one linear RGB colour."""
    material = bpy.data.materials.new(name)
    set_colour(material, colour, roughness)
    return material


def set_colour(material, colour, roughness):
    material.diffuse_color = (*colour[:3], 1.0)  # what Workbench shows
    bsdf = principled(material)
    bsdf.inputs["Base Color"].default_value = (*colour[:3], 1.0)
    bsdf.inputs["Roughness"].default_value = roughness


def tiled(name, colour, other, scale, roughness=0.4):
    """A material of square tiles alternating two colours, ``scale`` tiles per metre (in object
    coordinates, so the tiles keep their size whatever the floor's)."""
    material = plain(name, colour, roughness)
    tree = material.node_tree
    coords = tree.nodes.new("ShaderNodeTexCoord")
    checker = tree.nodes.new("ShaderNodeTexChecker")
    checker.inputs["Scale"].default_value = scale
    checker.inputs["Color1"].default_value = (*colour[:3], 1.0)
    checker.inputs["Color2"].default_value = (*other[:3], 1.0)
    tree.links.new(coords.outputs["Object"], checker.inputs["Vector"])
    tree.links.new(checker.outputs["Color"], principled(material).inputs["Base Color"])
    return material
