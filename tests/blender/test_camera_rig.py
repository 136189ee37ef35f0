"""rig_cameras and fit_cameras, called through bpy.ops in real Blender."""

import numpy as np
import pytest
from stand_in_people import add_person

from blendmimic3d_addon.core.geometry import camera as camera_model
from blendmimic3d_addon.core.geometry import camera_presets


def _cams(scene):
    from bl_ext.bm3d_dev.blendmimic3d.blender import scene_model

    return scene_model.dataset_cameras(scene)


def _k(cam, scene):
    from bl_ext.bm3d_dev.blendmimic3d.blender.camera_job import camera_intrinsics

    return camera_intrinsics(cam, scene)[0]


def _rt(cam):
    return camera_model.extrinsics_from_world_matrix(np.array(cam.matrix_world))


def _pixels_over_frames(scene, person, cam):
    """Pixels (F, 17, 2) and depths of the stand-in's joints at every frame of the range."""
    from bl_ext.bm3d_dev.blendmimic3d.blender.sampling import joint_bone_indices
    from bl_ext.bm3d_dev.blendmimic3d.blender.sampling import world_joints as _world_joints

    idx = joint_bone_indices(person)
    joints = []
    for frame in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(frame)
        joints.append(_world_joints(person, idx))
    joints = np.array(joints)
    p = camera_model.projection_matrix(_k(cam, scene), _rt(cam))
    return camera_model.project(joints, p)[0], camera_model.camera_depth(joints, _rt(cam))[0]


def _assert_framed(scene, person, cam, margin, tight=True):
    uv, depth = _pixels_over_frames(scene, person, cam)
    w, h = scene.render.resolution_x, scene.render.resolution_y
    lo, hi = np.array([margin * w, margin * h]), np.array([w - margin * w, h - margin * h])
    assert (depth > 0).all()
    assert (uv >= lo - 0.01).all() and (uv <= hi + 0.01).all(), cam.name
    if tight:  # some joint touches the margin: the fit is not just "far away"
        gap = np.minimum(uv - lo, hi - uv).min()
        assert gap < 0.5, (cam.name, gap)


def test_registered_with_scene_settings(addon):
    import bpy

    assert hasattr(bpy.types.Scene, "bm3d_cameras")
    assert bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_cameras").bl_order == 40
    assert bpy.context.scene.bm3d_cameras.preset == "BLENDMIMIC3D"


def test_blendmimic3d_rig_reproduces_published_cameras(clean_scene, shared):
    import bpy

    published = np.load(shared("blendmimic3d", "S1", "Cameras", "matrices_S1.npz"))
    assert bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D") == {"FINISHED"}
    cams = _cams(clean_scene)
    assert [c.name for c in cams] == ["Camera_0", "Camera_1", "Camera_2", "Camera_3"]
    assert [c["bm3d_index"] for c in cams] == [0, 1, 2, 3]
    assert (clean_scene.render.resolution_x, clean_scene.render.resolution_y) == (1000, 1002)
    assert clean_scene.camera == cams[0]
    for cam, k, rt in zip(cams, published["K"], published["RT"], strict=True):
        np.testing.assert_allclose(_k(cam, clean_scene), k, rtol=1e-6)
        centre = camera_model.camera_centre(rt)
        np.testing.assert_allclose(camera_model.camera_centre(_rt(cam)), centre, atol=0.003)
        np.testing.assert_allclose(_rt(cam)[:, :3], rt[:, :3], atol=2e-5)
    assert round(cams[0].data.lens, 4) == 30.0 and round(cams[1].data.lens, 4) == 25.0


def test_human36m_rig_has_its_calibrated_intrinsics(clean_scene):
    import bpy

    assert bpy.ops.blendmimic3d.rig_cameras(preset="HUMAN36M") == {"FINISHED"}
    cams = _cams(clean_scene)
    specs = camera_presets.preset("HUMAN36M").cameras
    assert len(cams) == 4
    for cam, spec in zip(cams, specs, strict=True):
        k = _k(cam, clean_scene)
        np.testing.assert_allclose([k[0, 0], k[1, 1]], [spec.focal_px] * 2, rtol=1e-5)
        np.testing.assert_allclose([k[0, 2], k[1, 2]], spec.principal, atol=1e-3)
        np.testing.assert_allclose(camera_model.camera_centre(_rt(cam)), spec.location, atol=1e-5)


def test_ring_is_centred_on_and_aimed_at_the_people(clean_scene):
    import bpy

    add_person(clean_scene, 0, location=(2.0, 1.0, 0.0))
    add_person(clean_scene, 1, location=(4.0, 1.0, 0.0))
    result = bpy.ops.blendmimic3d.rig_cameras(
        preset="RING", count=6, radius=5.0, height=2.0, focal_px=900.0, fit=False
    )
    assert result == {"FINISHED"}
    cams = _cams(clean_scene)
    assert [c.name for c in cams] == [f"Camera_{i}" for i in range(6)]
    centre = np.array([3.0, 1.0, (0.08 + 1.8) / 2])  # middle of all joints
    for cam in cams:
        rt = _rt(cam)
        location = camera_model.camera_centre(rt)
        assert np.linalg.norm(location[:2] - centre[:2]) == pytest.approx(5.0, abs=1e-4)
        assert location[2] == pytest.approx(2.0, abs=1e-5)
        aim = (centre - location) / np.linalg.norm(centre - location)
        np.testing.assert_allclose(rt[2, :3], aim, atol=1e-5)  # cv z axis = viewing direction
        assert _k(cam, clean_scene)[0, 0] == pytest.approx(900.0, rel=1e-5)


@pytest.mark.parametrize("mode", ["DISTANCE", "FOCAL"])
def test_rig_and_fit_frame_every_joint_of_a_walk(clean_scene, mode):
    import bpy

    clean_scene.frame_start, clean_scene.frame_end = 1, 30
    person = add_person(clean_scene, 0, location=(1.5, 4.5, 0.0), walk=(2.0, 1.0))
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
    before = {
        c.name: (_k(c, clean_scene), camera_model.camera_centre(_rt(c))) for c in _cams(clean_scene)
    }
    assert bpy.ops.blendmimic3d.fit_cameras(fit_mode=mode, margin=0.1) == {"FINISHED"}
    assert clean_scene.frame_current == 1  # the frame is put back after sampling
    for cam in _cams(clean_scene):
        _assert_framed(clean_scene, person, cam, 0.1)
        k_before, centre_before = before[cam.name]
        centre = camera_model.camera_centre(_rt(cam))
        if mode == "DISTANCE":
            np.testing.assert_allclose(_k(cam, clean_scene), k_before, rtol=1e-6)
            assert np.linalg.norm(centre - centre_before) > 0.01
        else:
            np.testing.assert_allclose(centre, centre_before, atol=1e-5)
            assert abs(_k(cam, clean_scene)[0, 0] - k_before[0, 0]) > 1.0


def test_refit_after_the_layout_changes(clean_scene):
    import bpy

    clean_scene.frame_start, clean_scene.frame_end = 1, 10
    person = add_person(clean_scene, 0)
    bpy.ops.blendmimic3d.rig_cameras(preset="RING", count=4, margin=0.05)
    person.location = (3.0, -2.0, 0.0)
    assert bpy.ops.blendmimic3d.fit_cameras(margin=0.05) == {"FINISHED"}
    for cam in _cams(clean_scene):
        _assert_framed(clean_scene, person, cam, 0.05)


def test_a_camera_that_cannot_fit_is_named_and_left_alone(clean_scene, capfd):
    import bpy

    clean_scene.frame_start, clean_scene.frame_end = 1, 20
    add_person(clean_scene, 0, location=(0.0, 0.0, 0.0), walk=(4.0, 0.0))
    bpy.ops.blendmimic3d.rig_cameras(preset="RING", count=3, fit=False)
    stuck = _cams(clean_scene)[1]
    stuck.location = (2.0, 0.0, 1.0)  # on the walk: joints pass behind it whatever its lens
    bpy.context.view_layer.update()
    stuck_matrix, stuck_lens = np.array(stuck.matrix_world), stuck.data.lens
    others = {c.name: c.data.lens for c in _cams(clean_scene) if c != stuck}
    assert bpy.ops.blendmimic3d.fit_cameras(fit_mode="FOCAL", aim=False) == {"FINISHED"}
    np.testing.assert_array_equal(np.array(stuck.matrix_world), stuck_matrix)
    assert stuck.data.lens == stuck_lens
    assert all(bpy.data.objects[n].data.lens != lens for n, lens in others.items())
    out = capfd.readouterr()
    assert "cannot fit Camera_1: a joint is behind the camera" in out.out + out.err


def test_fit_with_no_camera_fits_errors_and_changes_nothing(clean_scene):
    import bpy

    clean_scene.frame_start, clean_scene.frame_end = 1, 5
    add_person(clean_scene, 0)
    bpy.ops.blendmimic3d.rig_cameras(preset="RING", count=1, fit=False)
    cam = _cams(clean_scene)[0]
    cam.location = (0.0, 0.0, 1.2)  # inside the person
    bpy.context.view_layer.update()
    matrix = np.array(cam.matrix_world)
    with pytest.raises(RuntimeError, match="cannot fit Camera_0: a joint is behind"):
        bpy.ops.blendmimic3d.fit_cameras(fit_mode="FOCAL", aim=False)
    np.testing.assert_array_equal(np.array(cam.matrix_world), matrix)


def test_fit_needs_cameras_and_people(clean_scene):
    import bpy

    person = add_person(clean_scene, 0)
    with pytest.raises(RuntimeError, match="cameras: no dataset camera in the scene"):
        bpy.ops.blendmimic3d.fit_cameras()
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
    bpy.data.objects.remove(person)
    matrices = [np.array(c.matrix_world) for c in _cams(clean_scene)]
    with pytest.raises(RuntimeError, match="people: no person in the scene"):
        bpy.ops.blendmimic3d.fit_cameras()
    for cam, matrix in zip(_cams(clean_scene), matrices, strict=True):
        np.testing.assert_array_equal(np.array(cam.matrix_world), matrix)


def test_person_without_mixamo_bones_is_named(clean_scene):
    import bpy

    add_person(clean_scene, 0, prefix="rig_")  # bones "rig_Hips": not a Mixamo rig
    with pytest.raises(RuntimeError, match="StandIn_0: no Mixamo 'Hips' bone"):
        bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D")
    assert _cams(clean_scene) == []
    assert clean_scene.render.resolution_x != 1000 or clean_scene.render.resolution_y != 1002


def test_taken_name_is_reported_and_nothing_changes(clean_scene):
    import bpy

    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D")
    mesh = bpy.data.meshes.new("m")
    blocker = bpy.data.objects.new("Camera_5", mesh)
    clean_scene.collection.objects.link(blocker)
    before = [(c.name, np.array(c.matrix_world)) for c in _cams(clean_scene)]
    with pytest.raises(RuntimeError, match="Camera_5: this name is taken"):
        bpy.ops.blendmimic3d.rig_cameras(preset="RING", count=6)
    after = [(c.name, np.array(c.matrix_world)) for c in _cams(clean_scene)]
    assert [n for n, _ in after] == [n for n, _ in before]
    for (_, a), (_, b) in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_sampler_cancel_puts_the_frame_and_take_back(clean_scene):
    import bpy
    from bl_ext.bm3d_dev.blendmimic3d.blender.camera_job import JointSampler

    clean_scene.frame_start, clean_scene.frame_end = 1, 200
    person = add_person(clean_scene, 0, walk=(1.0, 0.0))
    walk = person.animation_data.action
    bpy.ops.blendmimic3d.rig_cameras(preset="RING", count=2, fit=False)
    person.animation_data.action = None  # the take is chosen by the sampler, then put back
    person["bm3d_actions"] = [walk.name]
    body = bpy.data.objects.new("Body", bpy.data.meshes.new("Body"))
    clean_scene.collection.objects.link(body)
    body.modifiers.new("Armature", "ARMATURE").object = person
    clean_scene.frame_set(7)
    sampler = JointSampler(clean_scene)
    assert len(sampler.frames) == 200
    sampler.step(seconds=0.0)  # one frame, as one timer tick of the modal would
    assert 0 < sampler.done_count < 200 and not sampler.done
    assert person.animation_data.action == walk
    assert body.hide_viewport  # skinning is skipped while sampling
    sampler.restore()  # what Esc does; no camera has been touched yet at this point
    assert clean_scene.frame_current == 7
    assert person.animation_data.action is None
    assert not body.hide_viewport
    sampler = JointSampler(clean_scene)
    sampler.run()
    assert not body.hide_viewport and clean_scene.frame_current == 7


def test_disable_removes_every_class_and_property(addon):
    import addon_utils
    import bpy

    names = ("BM3D_PT_cameras", "BM3D_PT_occluders")
    ops = ("rig_cameras", "fit_cameras", "add_occluder", "clear_occluders", "apply_scenario")
    for op in ops:
        cls = bpy.types.Operator.bl_rna_get_subclass_py(f"BLENDMIMIC3D_OT_{op}")
        assert cls.bl_options == {"REGISTER", "UNDO"}, op
    addon_utils.disable(addon, default_set=True)
    try:
        assert not hasattr(bpy.types.Scene, "bm3d_cameras")
        assert not hasattr(bpy.types.Scene, "bm3d_occluders")
        assert all(bpy.types.Panel.bl_rna_get_subclass_py(n) is None for n in names)
        assert not any(hasattr(bpy.types, f"BLENDMIMIC3D_OT_{op}") for op in ops)
    finally:
        addon_utils.enable(addon, default_set=True)
    assert hasattr(bpy.types.Scene, "bm3d_cameras")
