"""Appearance per person, seeded: skin, top, bottom and shoes materials for the mannequin and for
untextured characters (each face takes the region of the bone its vertices follow), and a hue and
value shift for textured ones. The look is stored on the person's armature (``bm3d_look``) and
shown in the People panel's Appearance section.
"""

import bpy
import numpy as np

from ..core.render import appearance as looks_core
from . import materials, scene_model
from .registration import classes_and_scene_settings

LOOK = "bm3d_look"
HSV_NODE = "BM3D Look"


def appearance_settings():
    P = bpy.props
    return {
        "seed": P.IntProperty(name="Seed", default=0, min=0,
                              description="Same seed, same looks for the same people"),
        "same_look": P.BoolProperty(name="Same Look for Everyone", default=False,
                                    description="Dress every person as the first one"),
    }  # fmt: skip


def is_textured(material):
    tree = material.node_tree if material is not None else None
    return tree is not None and any(n.type == "TEX_IMAGE" and n.image for n in tree.nodes)


def face_regions(obj):
    """Index into looks_core.REGIONS of each face of a body mesh, from the bone whose vertex group
    weighs most on each vertex (the most common region among a face's corners)."""
    mesh = obj.data
    group_region = [looks_core.REGIONS.index(looks_core.region_of_bone(g.name))
                    for g in obj.vertex_groups]  # fmt: skip
    top = looks_core.REGIONS.index("top")
    vertex_region = np.full(len(mesh.vertices), top, dtype=np.int64)
    for vertex in mesh.vertices:
        if vertex.groups:
            heaviest = max(vertex.groups, key=lambda g: g.weight)
            if heaviest.group < len(group_region):
                vertex_region[vertex.index] = group_region[heaviest.group]
    loops = np.empty(len(mesh.loops), dtype=np.int64)
    mesh.loops.foreach_get("vertex_index", loops)
    faces = np.repeat(np.arange(len(mesh.polygons)), np.diff(_loop_starts(mesh)))
    counts = np.zeros((len(mesh.polygons), len(looks_core.REGIONS)), dtype=np.int64)
    np.add.at(counts, (faces, vertex_region[loops]), 1)
    return counts.argmax(axis=1)


def _loop_starts(mesh):
    starts = np.empty(len(mesh.polygons), dtype=np.int64)
    mesh.polygons.foreach_get("loop_start", starts)
    return np.append(starts, len(mesh.loops))


def _region_materials(armature, look):
    colours, roughness = look.colours(), look.roughness()
    made = []
    for region in looks_core.REGIONS:
        name = f"BM3D_{armature.name}_{region}"
        material = bpy.data.materials.get(name)  # a look given before: repainted in place
        if material is None:
            material = materials.plain(name, colours[region], roughness[region])
        materials.set_colour(material, colours[region], roughness[region])
        made.append(material)
    return made


def _dress(obj, region_materials):
    if obj.data.users > 1:  # shared with another person: give this one its own
        obj.data = obj.data.copy()
    mesh = obj.data
    regions = face_regions(obj)
    mesh.materials.clear()
    for material in region_materials:
        mesh.materials.append(material)
    mesh.polygons.foreach_set("material_index", regions.astype(np.int32))
    mesh.update()


def _shift(obj, armature, look):
    """Per-person copies of a textured body's materials, with a hue/value node after every
    image texture."""
    for slot in obj.material_slots:
        material = slot.material
        if material is None or not is_textured(material):
            continue
        if not material.name.startswith(f"BM3D_{armature.name}_"):
            material = material.copy()
            material.name = f"BM3D_{armature.name}_{slot.material.name}"
            slot.material = material
        tree = material.node_tree
        for texture in [n for n in tree.nodes if n.type == "TEX_IMAGE"]:
            node = tree.nodes.get(f"{HSV_NODE} {texture.name}")
            if node is None:
                node = tree.nodes.new("ShaderNodeHueSaturation")
                node.name = f"{HSV_NODE} {texture.name}"
                for link in [lk for lk in tree.links if lk.from_node == texture
                             and lk.from_socket.name == "Color"]:  # fmt: skip
                    tree.links.new(node.outputs["Color"], link.to_socket)
                tree.links.new(texture.outputs["Color"], node.inputs["Color"])
            node.inputs["Hue"].default_value = 0.5 + look.hue
            node.inputs["Value"].default_value = look.value


def apply_look(scene, armature, look):
    """Dress ``armature``'s bodies in ``look`` (textured bodies: shift their textures)."""
    for obj in scene_model.body_meshes(armature, scene):
        if any(is_textured(slot.material) for slot in obj.material_slots):
            _shift(obj, armature, look)
        else:
            _dress(obj, _region_materials(armature, look))
    armature[LOOK] = {"summary": look.summary(), "hue": look.hue, "value": look.value}


def vary(scene, seed, same=False):
    """A look for every person of the scene from ``seed``; returns the looks in person order."""
    people = scene_model.people(scene)
    chosen = looks_core.looks(len(people), seed, same)
    for armature, look in zip(people, chosen, strict=True):
        apply_look(scene, armature, look)
    return chosen


def give_default_look(scene, armature):
    """A new person's look: the one ``vary`` would give its person number with the scene's
    appearance settings, so that people added one by one still look different."""
    settings = scene.bm3d_appearance
    index = int(armature.get(scene_model.PERSON_INDEX, 0))
    look = looks_core.looks(index + 1, settings.seed, settings.same_look)[index]
    apply_look(scene, armature, look)


class BM3D_PG_appearance(bpy.types.PropertyGroup):
    __annotations__ = appearance_settings()


class BM3D_OT_vary_appearance(bpy.types.Operator):
    """Give every person a look from the seed: skin, clothing colours and roughness (textured
    characters: a hue and brightness shift)"""

    bl_idname = "blendmimic3d.vary_appearance"
    bl_label = "Vary Appearance"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = appearance_settings()

    def execute(self, context):
        people = scene_model.people(context.scene)
        if not people:
            self.report({"ERROR"}, "No people in the scene: add or import people first")
            return {"CANCELLED"}
        vary(context.scene, self.seed, self.same_look)
        self.report({"INFO"}, f"Dressed {len(people)} person(s) with seed {self.seed}")
        return {"FINISHED"}


_CLASSES = (BM3D_PG_appearance, BM3D_OT_vary_appearance)
register, unregister = classes_and_scene_settings(_CLASSES, bm3d_appearance=BM3D_PG_appearance)
