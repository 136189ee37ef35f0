"""Occluders from the parametric library, placed between a camera and a person or around a person.

Each occluder is a mesh object tagged ``bm3d_role = "occluder"`` with its ``bm3d_kind``, in the
"BlendMimic3D Occluders" collection, so the exporter tells objects from people.
"""

import bpy
import numpy as np

from ..core.errors import DatasetError
from ..core.geometry import occluder_library
from . import scene_model
from .camera_job import linked_collection
from .registration import classes_and_scene_settings
from .sampling import current_joints

COLLECTION = "BlendMimic3D Occluders"

KIND_ITEMS = tuple(
    (key.upper(), shape.label, shape.description) for key, shape in occluder_library.KINDS.items()
)
PLACEMENT_ITEMS = (
    ("BETWEEN", "Between Camera and Person", "On the line from a camera to a person"),
    ("AROUND", "Around Person", "At random on a ring around a person, facing them"),
)


def occluder_settings():
    """Settings of ``add_occluder``, shared with the panel's property group (one definition)."""
    P = bpy.props
    size = "{} in metres (0: the kind's default)"
    return {
        "kind": P.EnumProperty(name="Kind", items=KIND_ITEMS, default="BOX"),
        "placement": P.EnumProperty(name="Placement", items=PLACEMENT_ITEMS, default="BETWEEN"),
        "camera_index": P.IntProperty(name="Camera", description="Dataset camera number",
                                      default=0, min=0),
        "person_index": P.IntProperty(name="Person", description="Person number (0: primary)",
                                      default=0, min=0),
        "fraction": P.FloatProperty(name="Fraction", default=0.5, min=0.01, max=0.99,
                                    subtype="FACTOR",
                                    description="How far from the camera towards the person"),
        "width": P.FloatProperty(name="Width", description=size.format("Width"), default=0.0,
                                 min=0.0, soft_max=10.0, unit="LENGTH"),
        "depth": P.FloatProperty(name="Depth", description=size.format("Depth"), default=0.0,
                                 min=0.0, soft_max=10.0, unit="LENGTH"),
        "height": P.FloatProperty(name="Height", description=size.format("Height"), default=0.0,
                                  min=0.0, soft_max=10.0, unit="LENGTH"),
        "count": P.IntProperty(name="Count", description="Around: how many", default=3, min=1,
                               max=50),
        "radius_min": P.FloatProperty(name="Min Radius", default=1.0, min=0.1, unit="LENGTH"),
        "radius_max": P.FloatProperty(name="Max Radius", default=2.0, min=0.1, unit="LENGTH"),
        "seed": P.IntProperty(name="Seed", description="Around: same seed, same layout",
                              default=0, min=0),
    }  # fmt: skip


SCENARIO_ITEMS = (
    ("CAPTURE_ROOM", "Capture Room", "The plain capture room: no objects, self-occlusion only"),
    ("OBJECT_OCCLUSION", "Object Occlusion",
     "Furniture between every camera and the primary person"),
    ("OUT_OF_FRAME", "Out of Frame", "One camera zoomed in so that the person leaves its view"),
    ("RETAIL_AISLE", "Retail Aisle", "Shelving on both sides of an aisle through the people"),
)  # fmt: skip
SCENARIO_LABELS = {key: label for key, label, _ in SCENARIO_ITEMS}


def scenario_settings():
    """Settings of ``apply_scenario``, kept beside the occluder settings of the same panel."""
    P = bpy.props
    return {
        "scenario": P.EnumProperty(name="Scenario", items=SCENARIO_ITEMS, default="CAPTURE_ROOM"),
        "scenario_camera": P.IntProperty(name="Camera", default=0, min=0,
                                         description="Out of Frame: the camera the person leaves"),
        "zoom": P.FloatProperty(name="Zoom", default=1.6, min=1.05, max=10.0,
                                description="Out of Frame: focal length factor after the fit"),
    }  # fmt: skip


class BM3D_PG_occluders(bpy.types.PropertyGroup):
    """The Occluders & Scenario panel's settings (``scene.bm3d_occluders``)."""

    __annotations__ = {**occluder_settings(), **scenario_settings()}


def person_floor_point(person):
    """Where a person stands: the hips' floor position (x, y) and the armature's floor height."""
    matrix = np.array(person.matrix_world, dtype=np.float64)
    try:
        xy = current_joints([person])[0, :2]  # joint 0 is the hips
    except DatasetError:
        xy = matrix[:2, 3]  # not a Mixamo rig: its origin stands for it
    return xy, float(matrix[2, 3])


def add_occluder_object(scene, kind, xy, yaw, floor_z=0.0, size=(None, None, None)):
    """A tagged occluder mesh of ``kind`` standing at ``xy`` turned by ``yaw``."""
    verts, faces = occluder_library.build(kind, *size)
    label = occluder_library.KINDS[kind].label
    mesh = bpy.data.meshes.new(f"Occluder_{label}")
    mesh.from_pydata(verts.tolist(), [], faces)
    mesh.update()
    obj = bpy.data.objects.new(f"Occluder_{label}", mesh)
    linked_collection(scene, COLLECTION).objects.link(obj)
    obj.location = (float(xy[0]), float(xy[1]), floor_z)
    obj.rotation_euler = (0.0, 0.0, float(yaw))
    scene_model.set_role(obj, scene_model.OCCLUDER, **{scene_model.KIND: kind})
    return obj


def remove_occluders(scene):
    """Remove every tagged occluder of the scene; returns how many."""
    found = scene_model.occluders(scene)
    for obj in found:
        data = obj.data
        bpy.data.objects.remove(obj)
        if isinstance(data, bpy.types.Mesh) and data.users == 0:
            bpy.data.meshes.remove(data)
    return len(found)


def pick(items, index, what, hint):
    if not items:
        raise DatasetError(None, what, f"there is none in the scene: {hint}")
    if index >= len(items):
        raise DatasetError(None, what, f"there is no number {index}; the scene has {len(items)}")
    return items[index]


def _select_only(context, objects):
    for obj in context.view_layer.objects:
        obj.select_set(False)
    for obj in objects:
        obj.select_set(True)
    if objects:
        context.view_layer.objects.active = objects[-1]


class BM3D_OT_add_occluder(bpy.types.Operator):
    """Add an occluder from the library between a camera and a person, or around a person"""

    bl_idname = "blendmimic3d.add_occluder"
    bl_label = "Add Occluder"
    bl_options = {"REGISTER", "UNDO"}
    __annotations__ = occluder_settings()

    def execute(self, context):
        scene = context.scene
        kind = self.kind.lower()
        size = (self.width, self.depth, self.height)
        try:
            person = pick(scene_model.people(scene), self.person_index, "person",
                          "add or import people first")  # fmt: skip
            person_xy, floor_z = person_floor_point(person)
            if self.placement == "BETWEEN":
                camera = pick(scene_model.dataset_cameras(scene), self.camera_index, "camera",
                              "rig cameras first")  # fmt: skip
                xy, yaw = occluder_library.between(
                    np.array(camera.matrix_world)[:2, 3], person_xy, self.fraction
                )
                placements = [(xy, yaw)]
                where = f"between {camera.name} and {person.name}"
            else:
                placements = occluder_library.around(
                    person_xy, self.count, self.radius_min, self.radius_max, self.seed
                )
                where = f"around {person.name}"
            occluder_library.build(kind, *size)  # check sizes before adding anything
        except DatasetError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        added = [add_occluder_object(scene, kind, xy, yaw, floor_z, size) for xy, yaw in placements]
        _select_only(context, added)
        label = occluder_library.KINDS[kind].label
        self.report({"INFO"}, f"Added {len(added)} {label} occluder(s) {where}")
        return {"FINISHED"}


class BM3D_OT_clear_occluders(bpy.types.Operator):
    """Remove every BlendMimic3D occluder from the scene"""

    bl_idname = "blendmimic3d.clear_occluders"
    bl_label = "Clear Occluders"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        count = remove_occluders(context.scene)
        self.report({"INFO"}, f"Removed {count} occluder(s)")
        return {"FINISHED"}


CLASSES = (BM3D_PG_occluders, BM3D_OT_add_occluder, BM3D_OT_clear_occluders)
register, unregister = classes_and_scene_settings(CLASSES, bm3d_occluders=BM3D_PG_occluders)
