"""Occlusion labels on the bundled mannequin: separate, overlapping skinned capsules, which the
labeller must still read as one closed body (entering and leaving each segment)."""

import numpy as np
import pytest

RIGHT_HAND = 13  # core.joints.BM3D_JOINTS


def _camera_in_front(distance=3.0, height=1.0):
    """A tagged dataset camera ``distance`` in front of a mannequin at the origin (facing -y)."""
    import bpy
    from mathutils import Vector

    from blendmimic3d_addon.blender import scene_model

    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 320, 240
    obj = bpy.data.objects.new("Camera_0", bpy.data.cameras.new("Camera_0"))
    obj.data.lens = 24  # the whole body in the picture at 3 m
    scene.collection.objects.link(obj)
    obj.location = (0.0, -distance, height)
    aim = Vector((0.0, 0.0, height)) - obj.location
    obj.rotation_euler = aim.to_track_quat("-Z", "Y").to_euler()
    scene_model.set_role(obj, scene_model.CAMERA, **{scene_model.CAMERA_INDEX: 0})
    scene.camera = obj


@pytest.fixture
def mannequin(addon):
    import bpy

    from blendmimic3d_addon.blender import scene_model

    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.blendmimic3d.add_mannequin(action="Wave") == {"FINISHED"}
    _camera_in_front()
    return scene_model.people(bpy.context.scene)[0]


def _labels(action, frames):
    import bpy

    from blendmimic3d_addon.blender.sampling import SceneSampler

    scene = bpy.context.scene
    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    try:
        return sampler.whole_take(action, [0], frames=frames)
    finally:
        sampler.restore()


def test_facing_the_camera_most_joints_are_seen(mannequin):
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    take = _labels("Wave", [1, 45])  # standing relaxed; waving
    codes = take.types[0][:, 0]  # (frames, 17) of the one person
    assert (codes != T.OUT_OF_FRAME).all() and (codes != T.BEHIND_CAMERA).all()
    assert ((codes == T.VISIBLE).sum(axis=1) >= 15).all(), codes


def _pose_bone_along(armature, name, head, direction):
    """Turn pose bone ``name`` (armature space) so that it starts at ``head`` and points along
    ``direction``, keeping its rest roll about the turn."""
    import bpy
    from mathutils import Matrix, Vector

    bone = armature.data.bones[name]
    rest = bone.matrix_local.to_3x3()
    turn = Vector(rest.col[1]).rotation_difference(Vector(direction)).to_matrix()
    armature.pose.bones[name].matrix = Matrix.Translation(head) @ (turn @ rest).to_4x4()
    bpy.context.view_layer.update()


def test_a_hand_behind_the_back_is_self_occluded(mannequin):
    import bpy
    from mathutils import Vector

    from blendmimic3d_addon.blender import scene_model
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    arm = mannequin
    arm.animation_data.action = None
    for pose_bone in arm.pose.bones:
        pose_bone.matrix_basis.identity()
    bpy.context.view_layer.update()
    # Armature space: centimetres, y up, the mannequin faces +z. The right upper arm hangs down
    # and back, the forearm reaches across behind the lower back.
    pose = arm.pose.bones
    shoulder = Vector(pose["mixamorig:RightArm"].head)
    _pose_bone_along(arm, "mixamorig:RightArm", shoulder, (-5.0, -26.0, -9.0))
    elbow = Vector(pose["mixamorig:RightArm"].tail)
    _pose_bone_along(arm, "mixamorig:RightForeArm", elbow, (16.0, -19.0, -13.0))
    action = bpy.data.actions.new("HandBehind")
    arm.animation_data.action = action
    for pose_bone in pose:
        pose_bone.keyframe_insert("rotation_quaternion", frame=1)
        pose_bone.keyframe_insert("location", frame=1)
    scene_model.add_person_action(arm, "HandBehind")

    take = _labels("HandBehind", [1])
    hand, hips = take.positions_3d[0, 0, RIGHT_HAND], take.positions_3d[0, 0, 0]
    # The hand is behind the body as the camera (at -y) sees it, near the middle of the back.
    assert hand[1] - hips[1] > 0.1 and abs(hand[0]) < 0.15, (hand, hips)
    codes = take.types[0][0, 0]
    assert codes[RIGHT_HAND] == T.SELF, codes
    # The rest of the front of the body is still seen.
    assert (codes == T.VISIBLE).sum() >= 13, codes


def test_render_check_agrees_on_the_mannequin(mannequin):
    import bpy
    from depth_check import run_depth_check

    scene = bpy.context.scene
    check = run_depth_check(scene, bpy.context.evaluated_depsgraph_get(), "Wave", frames=3)
    print(check.summary())
    assert check.entries == 3 * 17
    assert check.agreement >= 0.97


def test_each_person_plays_their_own_take_with_its_offset(addon, tmp_path):
    import bpy

    from blendmimic3d_addon.blender import scene_model
    from blendmimic3d_addon.blender import takes as people
    from blendmimic3d_addon.core.format import dataset_io, manifest

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    bpy.ops.blendmimic3d.add_mannequin(action="Walk", location=(1.5, 0.0, 0.0))
    _camera_in_front(distance=6.0)
    scene = bpy.context.scene
    primary, second = scene_model.people(scene)
    # Person 1 waves, 7 frames after the Wave action's own start (the People panel's offset);
    # Walk is in its library too, which must not make it walk in the Walk take.
    people.set_take(second, bpy.data.actions["Wave"], 7)
    assert people.take(second) == (bpy.data.actions["Wave"], 7)
    expected = {}
    for frame in range(1, 98):
        scene.frame_set(frame)
        bone = second.pose.bones["mixamorig:RightHand"]
        expected[frame] = np.array(second.matrix_world @ bone.head)
    scene.frame_set(3)

    result = bpy.ops.blendmimic3d.export_dataset(directory=str(tmp_path), subject="S1",
                                                 actions="Walk,Wave")  # fmt: skip
    assert result == {"FINISHED"}
    persons = dataset_io.read_persons(tmp_path / "S1", "Walk")
    walk = manifest.read_manifest(tmp_path)["subjects"]["S1"]["actions"]["Walk"]
    start, end = walk["frame_start"], walk["frame_end"]
    assert persons.positions_3d.shape[1] == end - start + 1 == 97
    for k, frame in enumerate(range(start, end + 1)):
        np.testing.assert_allclose(
            persons.positions_3d[1, k, RIGHT_HAND], expected[frame], atol=1e-5
        )
    # The waving hand rises: person 1 did not walk.
    assert np.ptp(persons.positions_3d[1, :, RIGHT_HAND, 2]) > 0.3
    # The Wave take: the primary waves from the action's first frame; person 1 is unchanged.
    persons = dataset_io.read_persons(tmp_path / "S1", "Wave")
    wave = manifest.read_manifest(tmp_path)["subjects"]["S1"]["actions"]["Wave"]
    for k, frame in enumerate(range(wave["frame_start"], wave["frame_end"] + 1)):
        np.testing.assert_allclose(
            persons.positions_3d[1, k, RIGHT_HAND], expected[frame], atol=1e-5
        )
    # Everyone's take and the current frame are as they were.
    assert people.take(primary) == (bpy.data.actions["Walk"], 0)
    assert people.take(second) == (bpy.data.actions["Wave"], 7)
    assert scene.frame_current == 3
