"""Lights and the world from a lighting plan (``core.render.lighting_plan``): area lights, the
sun and the sky, every one tagged so that a new plan replaces the old one whole.

The skies are the studio-light worlds Blender ships in its own datafiles; the image is packed into
the .blend, so a saved scene renders on a machine whose Blender lives elsewhere.
"""

import os

import bpy
import mathutils

from ..core.errors import DatasetError
from ..core.render import lighting_plan
from . import materials, scene_model
from .camera_job import linked_collection

COLLECTION = "BlendMimic3D Environment"
LIGHT = "light"  # the role of the lights made here
WORLD = "BM3D World"
ITEMS = tuple((key, label, text) for key, (label, text) in lighting_plan.PRESETS.items())


def sky_path(name):
    """The bundled sky ``name``: datafiles/studiolights/world/<name>.exr of this Blender."""
    folder = bpy.utils.system_resource("DATAFILES", path=os.path.join("studiolights", "world"))
    path = os.path.join(folder or "", f"{name}.exr")
    if not os.path.isfile(path):
        raise DatasetError(path, None, "this Blender does not ship that sky; use another lighting")
    return path


def lights(scene):
    return [o for o in scene.objects if scene_model.role(o) == LIGHT]


def remove_lighting(scene):
    """Remove the lights made here, and our world (the scene is left with none)."""
    for obj in lights(scene):
        data = obj.data
        bpy.data.objects.remove(obj)
        if data.users == 0:
            bpy.data.lights.remove(data)
    world = bpy.data.worlds.get(WORLD)
    if world is not None:
        if scene.world == world:
            scene.world = None
        if world.users == 0:
            bpy.data.worlds.remove(world)


def apply_rig(scene, rig):
    """Replace the scene's lighting by ``rig`` (a lighting_plan.Rig)."""
    sky = sky_path(rig.world.hdri) if rig.world.hdri else None  # fail before removing anything
    remove_lighting(scene)
    collection = linked_collection(scene, COLLECTION)
    for light in rig.lights:
        data = bpy.data.lights.new(f"BM3D_{light.name}", light.kind)
        data.energy = light.energy
        data.color = light.colour
        if light.kind == "AREA":
            data.size = light.size
        else:
            data.angle = 0.02  # the sun's disc: soft-edged shadows
        obj = bpy.data.objects.new(f"BM3D_{light.name}", data)
        collection.objects.link(obj)
        obj.location = light.location
        direction = mathutils.Vector(light.direction)
        obj.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
        scene_model.set_role(obj, LIGHT)
    scene.world = _world(rig.world, sky)


def _world(spec, sky):
    world = bpy.data.worlds.new(WORLD)
    world.color = spec.colour[:3]
    tree = materials.node_tree(world)
    background = next(n for n in tree.nodes if n.type == "BACKGROUND")
    background.inputs["Strength"].default_value = spec.strength
    background.inputs["Color"].default_value = (*spec.colour[:3], 1.0)
    if sky is None:
        return world
    texture = tree.nodes.new("ShaderNodeTexEnvironment")
    texture.image = bpy.data.images.load(sky, check_existing=True)
    if texture.image.packed_file is None:
        texture.image.pack()
    coords = tree.nodes.new("ShaderNodeTexCoord")
    mapping = tree.nodes.new("ShaderNodeMapping")
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, spec.rotation)
    tree.links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
    tree.links.new(mapping.outputs["Vector"], texture.inputs["Vector"])
    tree.links.new(texture.outputs["Color"], background.inputs["Color"])
    return world


def light_scene(scene, preset, seed, centre, ceiling_lights=(), height=3.0):
    """Plan ``preset`` with ``seed`` around ``centre`` and put it in the scene; returns the rig."""
    rig = lighting_plan.plan(preset, seed, centre, ceiling_lights, height)
    apply_rig(scene, rig)
    return rig
