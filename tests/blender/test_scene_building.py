"""The issue's whole path with the bundled mannequins: three people laid out, a retail aisle,
four cameras that frame every joint of every person over every take."""

import numpy as np

from blendmimic3d_addon.core.geometry import camera as camera_model


def test_three_mannequins_aisle_and_four_framing_cameras(clean_scene):
    import bpy
    from bl_ext.bm3d_dev.blendmimic3d.blender import camera_job as camera_rig
    from bl_ext.bm3d_dev.blendmimic3d.blender import scene_model

    for action in ("Walk", "Wave", "PickUp"):
        assert bpy.ops.blendmimic3d.add_mannequin(action=action) == {"FINISHED"}
    assert bpy.ops.blendmimic3d.layout_people(preset="SIDE_BY_SIDE", spacing=1.5) == {"FINISHED"}
    assert bpy.ops.blendmimic3d.apply_scenario(scenario="RETAIL_AISLE") == {"FINISHED"}
    people = scene_model.people(clean_scene)
    assert len(people) == 3
    assert len(scene_model.occluders(clean_scene)) >= 4
    assert bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", margin=0.05) == {"FINISHED"}

    cameras = scene_model.dataset_cameras(clean_scene)
    assert [c.name for c in cameras] == ["Camera_0", "Camera_1", "Camera_2", "Camera_3"]
    sampler = camera_rig.JointSampler(clean_scene)
    takes = {take for take, _ in sampler.frames}
    assert len(takes) == 4  # the primary's library: Walk, Wave, Sit, PickUp
    joints = sampler.run()  # (frames, 3 * 17, 3)
    for cam in cameras:
        k, (w, h) = camera_rig.camera_intrinsics(cam, clean_scene)
        rt = camera_model.extrinsics_from_world_matrix(np.array(cam.matrix_world))
        uv = camera_model.project(joints, camera_model.projection_matrix(k, rt))[0]
        assert (camera_model.camera_depth(joints, rt)[0] > 0).all()
        lo, hi = np.array([0.05 * w, 0.05 * h]), np.array([0.95 * w, 0.95 * h])
        assert (uv >= lo - 0.01).all() and (uv <= hi + 0.01).all(), cam.name
        np.testing.assert_allclose(
            k[0, 0], 835.0 if cam.name in ("Camera_0", "Camera_2") else 695.833, rtol=1e-5
        )
