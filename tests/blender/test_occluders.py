"""add_occluder and clear_occluders, called through bpy.ops in real Blender."""

import math

import numpy as np
import pytest
from stand_in_people import add_person

from blendmimic3d_addon.core.geometry import occluder_library


def _occluders(scene):
    return sorted(
        (o for o in scene.objects if o.get("bm3d_role") == "occluder"), key=lambda o: o.name
    )


def _rigged_scene(scene, person_at=(2.3, 5.3, 0.0)):
    import bpy

    person = add_person(scene, 0, location=person_at)
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", follow_people=False, fit=False)
    return person


def _local_y(obj):
    yaw = obj.rotation_euler.z
    return np.array([-math.sin(yaw), math.cos(yaw)])


def test_registered_with_scene_settings(addon):
    import bpy

    assert hasattr(bpy.types.Scene, "bm3d_occluders")
    assert bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_occluders").bl_order == 30
    props = bpy.context.scene.bm3d_occluders.bl_rna.properties
    kinds = {item.identifier.lower() for item in props["kind"].enum_items}
    assert kinds == set(occluder_library.KINDS)


def test_between_camera_and_person_hides_the_person(clean_scene):
    import bpy

    person = _rigged_scene(clean_scene)
    camera = bpy.data.objects["Camera_1"]
    result = bpy.ops.blendmimic3d.add_occluder(
        kind="PARTITION", placement="BETWEEN", camera_index=1, fraction=0.6
    )
    assert result == {"FINISHED"}
    (occ,) = _occluders(clean_scene)
    assert occ["bm3d_kind"] == "partition" and occ.type == "MESH"
    assert occ.users_collection[0].name == "BlendMimic3D Occluders"
    cam_xy = np.array(camera.matrix_world.translation)[:2]
    hips_xy = np.array([2.3, 5.3])  # the stand-in's hips are above its origin
    np.testing.assert_allclose(
        np.array(occ.location[:2]), cam_xy + 0.6 * (hips_xy - cam_xy), atol=1e-5
    )
    assert occ.location.z == pytest.approx(0.0)
    direction = (hips_xy - cam_xy) / np.linalg.norm(hips_xy - cam_xy)
    np.testing.assert_allclose(_local_y(occ), direction, atol=1e-6)  # faces the camera
    assert occ.select_get() and bpy.context.view_layer.objects.active == occ
    # The partition really stands in the camera's line of sight to the person's knee.
    bpy.context.view_layer.update()
    knee = person.matrix_world @ person.pose.bones["mixamorig:LeftLeg"].head
    origin = camera.matrix_world.translation
    hit, _, _, _, obj, _ = clean_scene.ray_cast(
        bpy.context.evaluated_depsgraph_get(), origin, (knee - origin).normalized()
    )
    assert hit and obj.name == occ.name


def test_sizes_override_the_kind_defaults(clean_scene):
    import bpy

    _rigged_scene(clean_scene)
    bpy.ops.blendmimic3d.add_occluder(kind="BOX", width=2.0, depth=0.3, height=1.2)
    bpy.ops.blendmimic3d.add_occluder(kind="TABLE", camera_index=2)
    box, table = _occluders(clean_scene)
    np.testing.assert_allclose(box.dimensions, [2.0, 0.3, 1.2], atol=1e-5)
    shape = occluder_library.KINDS["table"]
    np.testing.assert_allclose(
        table.dimensions, [shape.width, shape.depth, shape.height], atol=1e-5
    )


def test_around_person_is_seeded_and_facing(clean_scene):
    import bpy

    _rigged_scene(clean_scene)
    args = dict(kind="PILLAR", placement="AROUND", count=4, radius_min=1.5, radius_max=2.5, seed=3)
    assert bpy.ops.blendmimic3d.add_occluder(**args) == {"FINISHED"}
    first = [np.array(o.location) for o in _occluders(clean_scene)]
    assert len(first) == 4
    for occ in _occluders(clean_scene):
        offset = np.array([2.3, 5.3]) - np.array(occ.location[:2])
        assert 1.5 <= np.linalg.norm(offset) <= 2.5
        np.testing.assert_allclose(_local_y(occ), offset / np.linalg.norm(offset), atol=1e-6)
    assert bpy.ops.blendmimic3d.clear_occluders() == {"FINISHED"}
    bpy.ops.blendmimic3d.add_occluder(**args)
    again = [np.array(o.location) for o in _occluders(clean_scene)]
    np.testing.assert_allclose(sorted(map(tuple, again)), sorted(map(tuple, first)), atol=1e-6)


def test_errors_name_the_field_and_add_nothing(clean_scene):
    import bpy

    with pytest.raises(
        RuntimeError, match="person: there is none in the scene: add or import people"
    ):
        bpy.ops.blendmimic3d.add_occluder()
    add_person(clean_scene, 0)
    with pytest.raises(RuntimeError, match="camera: there is none in the scene: rig cameras first"):
        bpy.ops.blendmimic3d.add_occluder(placement="BETWEEN")
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
    with pytest.raises(RuntimeError, match="camera: there is no number 7; the scene has 4"):
        bpy.ops.blendmimic3d.add_occluder(camera_index=7)
    with pytest.raises(RuntimeError, match="person: there is no number 2; the scene has 1"):
        bpy.ops.blendmimic3d.add_occluder(person_index=2)
    with pytest.raises(RuntimeError, match="radius: need 0 < minimum <= maximum"):
        bpy.ops.blendmimic3d.add_occluder(placement="AROUND", radius_min=3.0, radius_max=1.0)
    assert _occluders(clean_scene) == []
    assert not any(m.name.startswith("Occluder_") for m in bpy.data.meshes)


def test_clear_removes_only_occluders(clean_scene):
    import bpy

    _rigged_scene(clean_scene)
    bpy.ops.blendmimic3d.add_occluder(kind="SHELF")
    bpy.ops.blendmimic3d.add_occluder(kind="CHAIR", camera_index=3)
    bpy.ops.mesh.primitive_cube_add()  # the user's own object, not an occluder
    cube = bpy.context.active_object
    assert len(_occluders(clean_scene)) == 2
    assert bpy.ops.blendmimic3d.clear_occluders() == {"FINISHED"}
    assert _occluders(clean_scene) == []
    assert cube.name in clean_scene.objects
    assert not any(m.name.startswith("Occluder_") for m in bpy.data.meshes)
