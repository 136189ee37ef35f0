"""Environments the extension builds itself, one click each: a capture room, a shop and outdoors
(``core.render.environment_layout``), with their lighting (``lighting``), sized around the people
and the camera rig. Their meshes are ordinary renderable meshes, so the occlusion labelling sees
them exactly as the cameras do (``raycast``); they are tagged ``bm3d_role = "environment"`` in
the "BlendMimic3D Environment" collection, and building another environment replaces them.
"""

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.geometry import camera_presets
from ..core.render import environment_layout as layout_core
from . import lighting, materials, scene_model, takes
from .camera_job import linked_collection
from .registration import classes_and_scene_settings
from .sampling import current_joints

ENVIRONMENT = "environment"  # the role of the meshes made here
LAYOUT = "bm3d_environment"  # on the collection: the kind, inner extent, height and lights

KIND_ITEMS = tuple((key, label, text) for key, (label, text) in layout_core.KINDS.items())
LIGHTING_ITEMS = (("AUTO", "Environment's Own", "Ceiling lights indoors, daylight outdoors"),
                  *lighting.ITEMS)  # fmt: skip
OWN_LIGHTING = {"CAPTURE_ROOM": "CEILING", "SHOP": "CEILING", "OUTDOORS": "DAYLIGHT"}

# Linear RGB and roughness of each part's material, by the part name's first word.
LOOKS = {
    "Floor": ((0.28, 0.2, 0.13), 0.5),  # wooden
    "Wall": ((0.62, 0.6, 0.56), 0.9),  # off-white paint
    "Ceiling": ((0.75, 0.75, 0.75), 0.9),
    "Shelf": ((0.45, 0.47, 0.5), 0.4),  # painted metal
    "Ground": ((0.18, 0.2, 0.12), 0.95),  # trodden grass
}
SHOP_TILES = ((0.55, 0.55, 0.52), (0.3, 0.3, 0.3), 1.0)  # colours and tiles per metre


def parts(scene):
    return [o for o in scene.objects if scene_model.role(o) == ENVIRONMENT]


def remove_environment(scene):
    """Remove the environment's meshes, lights and world; returns how many meshes went."""
    found = parts(scene)
    for obj in found:
        mesh = obj.data
        bpy.data.objects.remove(obj)
        if mesh.users == 0:
            bpy.data.meshes.remove(mesh)
    lighting.remove_lighting(scene)
    collection = bpy.data.collections.get(lighting.COLLECTION)
    if collection is not None:
        collection.pop(LAYOUT, None)
    return len(found)


def people_and_cameras(scene, step=5):
    """Floor points (N, 2) of every joint of every person over the takes (people walk), the
    cameras' locations (C, 3) and the floor height. With no cameras yet, the BlendMimic3D rig's
    cameras as ``rig_cameras`` would place them around the people."""
    people = scene_model.people(scene)
    cameras = scene_model.dataset_cameras(scene)
    if not people and not cameras:
        raise DatasetError(None, "environment", "add people or rig cameras first")
    joints = np.zeros((0, 2))
    floor_z = 0.0
    if people:
        joints = _floor_points(scene, people, step)
        floor_z = min(float(p.matrix_world.translation.z) for p in people)
    if cameras:
        where = np.array([c.matrix_world.translation for c in cameras], dtype=np.float64)
    else:
        rig = camera_presets.moved(camera_presets.preset("BLENDMIMIC3D"), joints.mean(axis=0))
        where = np.array([c.location for c in rig.cameras])
    return joints, where, floor_z


def _floor_points(scene, people, step):
    """(x, y) of every joint every ``step`` frames of every take (no cameras needed)."""
    saved, frame = takes.current_takes(scene), scene.frame_current
    points = []
    try:
        for name in takes.scene_actions(scene) or [None]:
            start, end = (
                takes.play_take(scene, name) if name else (scene.frame_start, scene.frame_end)
            )
            for f in [*range(start, end + 1, step), end]:
                scene.frame_set(f)
                points.append(current_joints(people)[:, :2])
    finally:
        takes.restore_takes(saved)
        scene.frame_set(frame)
    return np.concatenate(points)


def build_environment(scene, kind, lighting_preset="AUTO", seed=0):
    """Replace the scene's environment by ``kind`` lit by ``lighting_preset``; returns the
    layout."""
    joints, cameras, floor_z = people_and_cameras(scene)
    built = layout_core.build(kind, joints, cameras, floor_z)
    preset = OWN_LIGHTING[kind] if lighting_preset == "AUTO" else lighting_preset
    remove_environment(scene)
    collection = linked_collection(scene, lighting.COLLECTION)
    looks = {}
    for part in built.parts:
        material = _material(kind, part.name.split("_")[0], looks)
        mesh = bpy.data.meshes.new(f"BM3D_{part.name}")
        mesh.from_pydata(part.verts.tolist(), [], part.faces)
        mesh.materials.append(material)
        mesh.update()
        obj = bpy.data.objects.new(f"BM3D_{part.name}", mesh)
        collection.objects.link(obj)
        scene_model.set_role(obj, ENVIRONMENT, **{scene_model.KIND: part.name})
    collection[LAYOUT] = {
        "kind": kind,
        "extent": list(built.extent),
        "floor_z": built.floor_z,
        "height": built.height,
        "ceiling_lights": [list(p) for p in built.ceiling_lights],
    }
    relight(scene, preset, seed)
    return built


def _material(kind, name, made):
    if name not in made:
        colour, roughness = LOOKS[name]
        if kind == "SHOP" and name == "Floor":
            made[name] = materials.tiled("BM3D_Shop_Floor", *SHOP_TILES)
        else:
            made[name] = materials.plain(f"BM3D_{name}", colour, roughness)
    return made[name]


def stored_layout(scene):
    collection = bpy.data.collections.get(lighting.COLLECTION)
    stored = collection.get(LAYOUT) if collection is not None else None
    return stored.to_dict() if stored is not None else None


def relight(scene, preset, seed):
    """Light the scene's environment (or, with none, the people) with ``preset`` and ``seed``."""
    stored = stored_layout(scene)
    if stored is not None:
        x0, x1, y0, y1 = stored["extent"]
        centre = ((x0 + x1) / 2, (y0 + y1) / 2, stored["floor_z"])
        points = [tuple(p) for p in stored["ceiling_lights"]]
        return lighting.light_scene(scene, preset, seed, centre, points, stored["height"] or 3.0)
    joints, _cameras, floor_z = people_and_cameras(scene)
    centre = (*joints.mean(axis=0), floor_z) if len(joints) else (0.0, 0.0, floor_z)
    return lighting.light_scene(scene, preset, seed, centre)


def cameras_outside(scene):
    """Dataset cameras outside the room's walls (after a re-rig or a fit moved them)."""
    stored = stored_layout(scene)
    if stored is None or stored["height"] <= 0:
        return []
    x0, x1, y0, y1 = stored["extent"]
    top = stored["floor_z"] + stored["height"]
    return [
        c.name
        for c in scene_model.dataset_cameras(scene)
        if not (x0 < c.location.x < x1 and y0 < c.location.y < y1 and c.location.z < top)
    ]


# --- operators and panel -----------------------------------------------------------------------


def environment_settings():
    P = bpy.props
    return {
        "kind": P.EnumProperty(name="Environment", items=KIND_ITEMS, default="CAPTURE_ROOM"),
        "lighting": P.EnumProperty(name="Lighting", items=LIGHTING_ITEMS, default="AUTO"),
        "seed": P.IntProperty(name="Seed", default=0, min=0,
                              description="Lighting variation: same seed, same lights"),
    }  # fmt: skip


class BM3D_PG_environment(bpy.types.PropertyGroup):
    __annotations__ = environment_settings()


class BM3D_OT_add_environment(bpy.types.Operator):
    """Build a capture room, a shop or outdoors around the people and the cameras, and light it"""

    bl_idname = "blendmimic3d.add_environment"
    bl_label = "Build Environment"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = environment_settings()

    def execute(self, context):
        try:
            built = build_environment(context.scene, self.kind, self.lighting, self.seed)
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        x0, x1, y0, y1 = built.extent
        label = layout_core.KINDS[self.kind][0]
        self.report({"INFO"}, f"Built {label}: {x1 - x0:.1f} x {y1 - y0:.1f} m, "
                              f"{len(built.parts)} parts")  # fmt: skip
        return {"FINISHED"}


class BM3D_OT_relight(bpy.types.Operator):
    """Replace the lights and the world with a lighting preset, varied by the seed"""

    bl_idname = "blendmimic3d.relight"
    bl_label = "Relight"
    bl_options = {"REGISTER", "UNDO"}
    preset: bpy.props.EnumProperty(name="Lighting", items=lighting.ITEMS, default="STUDIO")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)

    def execute(self, context):
        try:
            rig = relight(context.scene, self.preset, self.seed)
        except DatasetError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        sky = f", sky {rig.world.hdri}" if rig.world.hdri else ""
        self.report({"INFO"}, f"Lit with {len(rig.lights)} light(s){sky}")
        return {"FINISHED"}


class BM3D_OT_clear_environment(bpy.types.Operator):
    """Remove the environment's meshes, lights and world"""

    bl_idname = "blendmimic3d.clear_environment"
    bl_label = "Clear Environment"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        count = remove_environment(context.scene)
        self.report({"INFO"}, f"Removed {count} environment part(s) and their lighting")
        return {"FINISHED"}


_CLASSES = (BM3D_PG_environment, BM3D_OT_add_environment, BM3D_OT_relight,
            BM3D_OT_clear_environment)  # fmt: skip
register, unregister = classes_and_scene_settings(_CLASSES, bm3d_environment=BM3D_PG_environment)
