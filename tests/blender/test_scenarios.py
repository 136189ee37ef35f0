"""apply_scenario, called through bpy.ops in real Blender."""

import numpy as np
import pytest
from stand_in_people import JOINTS, add_person


def _occluders(scene):
    return sorted(
        (o for o in scene.objects if o.get("bm3d_role") == "occluder"), key=lambda o: o.name
    )


def _cams(scene):
    return sorted(
        (o for o in scene.objects if o.get("bm3d_role") == "camera"), key=lambda o: o["bm3d_index"]
    )


def _hidden_by(scene, camera, person, occluder):
    """How many of the person's joints the occluder hides from the camera (first ray hit)."""
    import bpy

    bpy.context.view_layer.update()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    origin = camera.matrix_world.translation
    hidden = 0
    for name in JOINTS:
        joint = person.matrix_world @ person.pose.bones["mixamorig:" + name].head
        hit, _, _, _, obj, _ = scene.ray_cast(
            depsgraph, origin, (joint - origin).normalized(), distance=(joint - origin).length
        )
        hidden += bool(hit and obj.name == occluder.name)
    return hidden


def test_capture_room_rigs_cameras_and_clears_objects(clean_scene):
    import bpy

    clean_scene.frame_start, clean_scene.frame_end = 1, 10
    add_person(clean_scene, 0, location=(1.0, 2.0, 0.0))
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
    bpy.ops.blendmimic3d.add_occluder(kind="BOX")
    before = [np.array(c.matrix_world) for c in _cams(clean_scene)]
    assert bpy.ops.blendmimic3d.apply_scenario(scenario="CAPTURE_ROOM") == {"FINISHED"}
    assert _occluders(clean_scene) == []
    for cam, matrix in zip(_cams(clean_scene), before, strict=True):  # the user's rig is kept
        np.testing.assert_array_equal(np.array(cam.matrix_world), matrix)


def test_capture_room_without_cameras_rigs_the_published_four(clean_scene):
    import bpy

    assert bpy.ops.blendmimic3d.apply_scenario(scenario="CAPTURE_ROOM") == {"FINISHED"}
    assert [c.name for c in _cams(clean_scene)] == [f"Camera_{i}" for i in range(4)]
    np.testing.assert_allclose(
        _cams(clean_scene)[0].location, [4.09885, 8.76371, 1.74672], atol=1e-5
    )


def test_object_occlusion_puts_an_object_in_every_view(clean_scene):
    import bpy

    person = add_person(clean_scene, 0, location=(2.3, 5.3, 0.0))
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", follow_people=False, fit=False)
    assert bpy.ops.blendmimic3d.apply_scenario(scenario="OBJECT_OCCLUSION") == {"FINISHED"}
    occluders = _occluders(clean_scene)
    assert sorted(o["bm3d_kind"] for o in occluders) == ["box", "chair", "partition", "table"]
    by_kind = {o["bm3d_kind"]: o for o in occluders}
    for cam, kind in zip(_cams(clean_scene), ("table", "box", "partition", "chair"), strict=True):
        occ = by_kind[kind]
        cam_xy, person_xy = np.array(cam.location[:2]), np.array([2.3, 5.3])
        np.testing.assert_allclose(
            occ.location[:2], cam_xy + 0.65 * (person_xy - cam_xy), atol=1e-5
        )
        hidden = _hidden_by(clean_scene, cam, person, occ)
        assert 1 <= hidden < 17, (cam.name, kind, hidden)  # partly hidden, not gone


def test_out_of_frame_zooms_one_camera_past_the_person(clean_scene, capfd):
    import bpy
    from bl_ext.bm3d_dev.blendmimic3d.blender.scenarios import out_of_frame_share

    clean_scene.frame_start, clean_scene.frame_end = 1, 40
    add_person(clean_scene, 0, location=(0.0, 0.0, 0.0), walk=(3.0, 0.0))
    result = bpy.ops.blendmimic3d.apply_scenario(
        scenario="OUT_OF_FRAME", scenario_camera=2, zoom=1.6
    )
    assert result == {"FINISHED"}
    cams = _cams(clean_scene)
    assert len(cams) == 4 and _occluders(clean_scene) == []
    shares = [out_of_frame_share(clean_scene, cam) for cam in cams]
    assert shares[2] > 0.01
    assert shares[0] == shares[1] == shares[3] == 0.0  # fitted: everyone in view
    assert cams[2].data.lens == pytest.approx(1.6 * cams[0].data.lens, rel=1e-5)
    assert (
        f"Camera_2 zoomed x1.60: {shares[2]:.0%} of its joint-frames out of frame"
        in capfd.readouterr().out
    )


def test_retail_aisle_lines_shelves_along_the_people(clean_scene):
    import bpy

    for i in range(3):
        add_person(clean_scene, i, location=(1.5 * i, 0.0, 0.0))
    bpy.ops.blendmimic3d.add_occluder(kind="PILLAR", placement="AROUND")
    assert bpy.ops.blendmimic3d.apply_scenario(scenario="RETAIL_AISLE") == {"FINISHED"}
    shelves = _occluders(clean_scene)
    assert shelves and all(o["bm3d_kind"] == "shelf" for o in shelves)  # the pillar is gone
    ys = np.array([o.location.y for o in shelves])
    assert (ys > 0.5).sum() == (ys < -0.5).sum() == len(shelves) // 2  # both sides of y = 0
    xs = np.array([o.location.x for o in shelves])
    assert xs.min() < 0.0 and xs.max() > 3.0  # past the first and last person
    assert len(_cams(clean_scene)) == 4


def test_retail_aisle_with_one_person_warns(clean_scene, capfd):
    import bpy

    add_person(clean_scene, 0)
    assert bpy.ops.blendmimic3d.apply_scenario(scenario="RETAIL_AISLE") == {"FINISHED"}
    assert _occluders(clean_scene)
    assert "has up to 3 people: add more with Add Mannequin" in capfd.readouterr().out


@pytest.mark.parametrize("scenario", ["OBJECT_OCCLUSION", "OUT_OF_FRAME", "RETAIL_AISLE"])
def test_scenarios_with_people_refuse_an_empty_scene(clean_scene, scenario):
    import bpy

    with pytest.raises(RuntimeError, match="people: this scenario needs people: add or import"):
        bpy.ops.blendmimic3d.apply_scenario(scenario=scenario)
    assert _cams(clean_scene) == [] and _occluders(clean_scene) == []


def test_bad_camera_number_changes_nothing(clean_scene):
    import bpy

    add_person(clean_scene, 0)
    bpy.ops.blendmimic3d.rig_cameras(preset="RING", count=3, fit=False)
    bpy.ops.blendmimic3d.add_occluder(kind="TABLE")
    lenses = [c.data.lens for c in _cams(clean_scene)]
    with pytest.raises(RuntimeError, match="camera: there is no number 9; the scene has 3"):
        bpy.ops.blendmimic3d.apply_scenario(scenario="OUT_OF_FRAME", scenario_camera=9)
    assert [c.data.lens for c in _cams(clean_scene)] == lenses
    assert [o["bm3d_kind"] for o in _occluders(clean_scene)] == ["table"]
