"""COCO's face points in real Blender: found on each head's surface (box-body people and the
bundled mannequin), carried by the Head bone, labelled by a surface test, written by the export."""

import os

import numpy as np
import pytest
from test_export import build_scene

NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


def _world_points(arm):
    import bpy

    from blendmimic3d_addon.blender import face_points

    local = face_points.face_points_of(arm, _bodies(arm))
    prefix = "mixamorig:"
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = arm.evaluated_get(depsgraph)
    matrix = np.array(evaluated.matrix_world) @ np.array(
        evaluated.pose.bones[prefix + "Head"].matrix
    )
    return local @ matrix[:3, :3].T + matrix[:3, 3]


def _bodies(arm):
    import bpy

    from blendmimic3d_addon.blender import scene_model

    return scene_model.body_meshes(arm, bpy.context.scene)


def _surface_distance(points, bodies):
    """Distance of each point to the nearest evaluated (deformed) body surface."""
    import bpy
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree

    depsgraph = bpy.context.evaluated_depsgraph_get()
    trees = [BVHTree.FromObject(b, depsgraph) for b in bodies]
    out = []
    for point in points:
        best = np.inf
        for body, tree in zip(bodies, trees, strict=True):
            local = body.matrix_world.inverted() @ Vector(point)
            found = tree.find_nearest(local)
            if found[0] is not None:
                best = min(best, (body.matrix_world @ found[0] - Vector(point)).length)
        out.append(best)
    return np.array(out)


def _check_anatomy(points, forward, left, head):
    nose, l_eye, r_eye, l_ear, r_ear = points
    assert np.dot(nose - head, forward) > np.dot(l_ear - head, forward)  # the nose is in front
    assert np.dot(l_eye - r_eye, left) > 0 and np.dot(l_ear - r_ear, left) > 0  # sides right
    assert np.dot(l_ear - r_ear, left) > np.dot(l_eye - r_eye, left)  # ears wider than eyes


def test_face_points_on_box_people_follow_the_head(addon):
    import bpy

    scene = build_scene()
    for frame in (1, 10):
        scene.frame_set(frame)
        for arm in (scene.objects["Person0"], scene.objects["Person1"]):
            points = _world_points(arm)
            assert (_surface_distance(points, _bodies(arm)) < 1e-3).all()
            head = np.array(arm.matrix_world @ arm.pose.bones["mixamorig:Head"].head)
            _check_anatomy(points, np.array([0, -1, 0]), np.array([1, 0, 0]), head)
    stored = scene.objects["Person0"]["bm3d_face_points"]
    assert len(stored) == 15
    bpy.ops.wm.read_homefile(use_empty=True)


def test_face_points_on_the_mannequin(addon):
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.blendmimic3d.add_mannequin(action="Wave")
    arm = bpy.data.objects["Mannequin"]
    scene = bpy.context.scene
    for frame in (scene.frame_start, (scene.frame_start + scene.frame_end) // 2):
        scene.frame_set(frame)
        points = _world_points(arm)
        # the mannequin's skin deforms around the neck: within a few millimetres
        assert (_surface_distance(points, _bodies(arm)) < 0.005).all(), frame
    scene.frame_set(scene.frame_start)
    bones = arm.pose.bones
    world = lambda name: np.array(arm.matrix_world @ bones["mixamorig:" + name].head)  # noqa: E731
    up = world("HeadTop_End") - world("Head")
    left = world("LeftArm") - world("RightArm")
    _check_anatomy(_world_points(arm), np.cross(left, up), left, world("Head"))


def test_label_rays_surface_test():
    from blendmimic3d_addon.blender.face_points import label_rays
    from blendmimic3d_addon.core.occlusion.classify import OBJECT_HIT
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    # ray 0: own head 5 mm before the point (the surface it lies on): visible
    # ray 1: own head 10 cm before it (the back of the head): self
    # ray 2: another person, then the own surface: other person; ray 3: an object: object
    rays = np.array([0, 1, 2, 2, 3])
    t = np.array([2.995, 2.9, 1.0, 2.99, 1.5])
    owner = np.array([0, 0, 1, 0, OBJECT_HIT])
    codes = label_rays(rays, t, owner, np.zeros(4, int), np.full(4, 3.0))
    assert codes.tolist() == [T.VISIBLE, T.SELF, T.OTHER_PERSON, T.OBJECT]


def test_export_writes_face_points(addon, tmp_path):
    import bpy

    from blendmimic3d_addon.blender.export_job import ExportJob
    from blendmimic3d_addon.core.format import coco_dataset
    from blendmimic3d_addon.core.format import dataset_io as dio
    from blendmimic3d_addon.core.geometry import camera as cam
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T
    from blendmimic3d_addon.core.validate.dataset import validate_dataset

    scene = build_scene()
    job = ExportJob(scene, bpy.context.evaluated_depsgraph_get(), str(tmp_path), "S1",
                    actions="Wave")  # fmt: skip
    target = job.run()
    assert validate_dataset(str(tmp_path)).problems == []
    cameras = dio.read_cameras(target)
    world, uv, types = coco_dataset.read_face_points(target, "Wave", 2, 10, 4)
    np.testing.assert_allclose(np.stack(uv), cam.project(world, cameras.P), atol=1e-6)
    # People face -y: Camera_0 (front, y < 0) sees person 0's nose, Camera_2 (behind) does not.
    centres = cam.camera_centre(cameras.RT)
    front, back = int(np.argmin(centres[:, 1])), int(np.argmax(centres[:, 1]))
    assert (types[front][0, :, 0] == T.VISIBLE).all()
    assert (types[back][0, :, 0] == T.SELF).all()
    scene.frame_set(4)
    np.testing.assert_allclose(world[1, 3], _world_points(scene.objects["Person1"]), atol=1e-6)
    assert os.path.isfile(coco_dataset.face_points_path(target, "Wave"))


@pytest.mark.parametrize("missing", ["bodies"])
def test_people_without_a_body_export_without_face_points(addon, tmp_path, missing):
    import bpy

    from blendmimic3d_addon.blender.export_job import ExportJob
    from blendmimic3d_addon.core.format import coco_dataset

    scene = build_scene(people=1)
    bpy.data.objects.remove(bpy.data.objects["Body0"])
    target = ExportJob(scene, bpy.context.evaluated_depsgraph_get(), str(tmp_path), "S1",
                       actions="Wave").run()  # fmt: skip
    assert not os.path.exists(coco_dataset.face_points_path(target, "Wave"))


def test_eye_bones_place_the_eyes(addon):
    """A rig with LeftEye/RightEye bones: each eye is the head surface straight in front of its
    bone (same height and side), not the geometric guess."""
    import bpy

    scene = build_scene(people=1)
    arm = scene.objects["Person0"]
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    bones = arm.data.edit_bones
    for side, x in (("Left", 0.05), ("Right", -0.05)):
        eye = bones.new(f"mixamorig:{side}Eye")
        eye.head, eye.tail = (x, -0.02, 1.66), (x, -0.07, 1.66)
        eye.parent = bones["mixamorig:Head"]
    bpy.ops.object.mode_set(mode="OBJECT")
    scene.frame_set(1)
    points = _world_points(arm)
    for index, x in ((1, 0.05), (2, -0.05)):
        np.testing.assert_allclose(points[index][[0, 2]], [x, 1.66], atol=1e-4)
        assert points[index][1] < -0.05  # on the face, in front of the bone
    assert (_surface_distance(points, _bodies(arm)) < 1e-3).all()
