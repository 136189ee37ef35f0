"""People: the list in the panel, takes with start offsets, the primary, layout_people."""

import math

import numpy as np
import pytest

from blendmimic3d_addon.core.geometry import layout as layout_core

PREFIX = "mixamorig:"


def world(arm, bone):
    return arm.matrix_world @ arm.pose.bones[PREFIX + bone].head


def mannequins(count, action="Wave"):
    import bpy

    for _ in range(count):
        assert bpy.ops.blendmimic3d.add_mannequin(action=action) == {"FINISHED"}
    return [item.armature for item in bpy.context.scene.bm3d_people.people]


def placement(scene):
    return [(tuple(a.location), a.rotation_euler.z) for a in scene.objects if a.type == "ARMATURE"]


def test_people_list_points_at_the_armatures_primary_first(clean_scene):
    people = mannequins(3)
    assert [p["bm3d_person_index"] for p in people] == [0, 1, 2]
    assert len({p.name for p in people}) == 3
    assert all(p.type == "ARMATURE" for p in people)


@pytest.mark.parametrize("preset", ["SIDE_BY_SIDE", "FACING_PAIR", "CIRCLE", "QUEUE"])
def test_layout_places_and_turns_every_person(clean_scene, preset):
    import bpy

    people = mannequins(3)
    result = bpy.ops.blendmimic3d.layout_people(preset=preset, spacing=1.5)
    assert result == {"FINISHED"}
    expected = layout_core.layout(preset, 3, spacing=1.5)
    got = np.array([tuple(p.location[:2]) for p in people])
    np.testing.assert_allclose(got, expected.positions, atol=1e-6)
    np.testing.assert_allclose([p.rotation_euler.z for p in people], expected.headings, atol=1e-6)
    clean_scene.frame_set(1)
    for arm, heading in zip(people, expected.headings, strict=True):
        # The body really faces the heading: toes point the way layout.facing says.
        toes = world(arm, "LeftToeBase") - world(arm, "LeftFoot")
        direction = np.array([toes.x, toes.y]) / math.hypot(toes.x, toes.y)
        assert direction @ layout_core.facing(heading) > 0.95
        assert math.degrees(arm.rotation_euler.x) == pytest.approx(90.0)


def test_random_layout_keeps_people_apart(clean_scene):
    import bpy

    people = mannequins(3)
    bpy.ops.blendmimic3d.layout_people(preset="RANDOM", area=(3.0, 3.0), min_distance=1.2, seed=4)
    positions = np.array([tuple(p.location[:2]) for p in people])
    assert layout_core.min_distance(positions) >= 1.2
    assert np.all(np.abs(positions) <= 1.5)


def test_layout_without_people_is_refused(clean_scene):
    import bpy

    with pytest.raises(RuntimeError, match="No people to lay out"):
        bpy.ops.blendmimic3d.layout_people(preset="CIRCLE")
    assert len(bpy.data.objects) == 0


def test_impossible_layout_is_refused_and_nobody_moves(clean_scene):
    import bpy

    mannequins(3)
    bpy.ops.blendmimic3d.layout_people(preset="SIDE_BY_SIDE")
    before = placement(clean_scene)
    with pytest.raises(RuntimeError, match="single preset places one person, not 3"):
        bpy.ops.blendmimic3d.layout_people(preset="SINGLE")
    with pytest.raises(RuntimeError, match=r"cannot place 3 people at least 5 m apart"):
        bpy.ops.blendmimic3d.layout_people(preset="RANDOM", area=(2.0, 2.0), min_distance=5.0)
    assert placement(clean_scene) == before


def test_list_item_changes_the_persons_action(clean_scene):
    import bpy

    first, second = mannequins(2)
    item = clean_scene.bm3d_people.people[1]
    assert item.action == "Wave"
    item.action = "Sit"
    assert second.animation_data.action == bpy.data.actions["Sit"]
    assert first.animation_data.action == bpy.data.actions["Wave"]
    assert clean_scene.frame_end == 120  # the scene covers the longer take
    item.action = "__none__"
    assert second.animation_data.action is None
    assert item.action == "__none__"
    assert list(second["bm3d_actions"]) == ["Walk", "Wave", "Sit", "PickUp"]


def test_start_offset_delays_the_take(clean_scene, addon):
    import importlib

    people_mod = importlib.import_module(f"{addon}.blender.takes")
    first, second = mannequins(2, action="Sit")
    item = clean_scene.bm3d_people.people[1]
    item.start_offset = 30
    assert item.start_offset == 30
    action, offset = people_mod.take(second)
    assert action.name == "Sit" and offset == 30
    assert second.animation_data.nla_tracks[people_mod.TAKE_TRACK].strips[0].frame_start == 31
    assert (clean_scene.frame_start, clean_scene.frame_end) == (1, 150)
    # The second person sits 30 frames after the first; it stands still before its start.
    clean_scene.frame_set(40)
    early = world(first, "Hips").z
    clean_scene.frame_set(70)
    assert world(second, "Hips").z == pytest.approx(early, abs=1e-4)
    clean_scene.frame_set(1)
    standing = world(second, "Hips").z
    clean_scene.frame_set(20)
    assert world(second, "Hips").z == pytest.approx(standing, abs=1e-4)
    # Back to no offset: the plain active action again, no NLA track left.
    item.start_offset = 0
    assert second.animation_data.action.name == "Sit"
    assert people_mod.TAKE_TRACK not in second.animation_data.nla_tracks


def test_make_primary_reorders_people(clean_scene):
    import bpy

    first, second, third = mannequins(3)
    assert bpy.ops.blendmimic3d.make_primary(person=third.name) == {"FINISHED"}
    assert [
        third["bm3d_person_index"],
        first["bm3d_person_index"],
        second["bm3d_person_index"],
    ] == [
        0,
        1,
        2,
    ]
    assert [i.armature for i in clean_scene.bm3d_people.people] == [third, first, second]


def test_make_primary_of_a_non_person_is_refused(clean_scene):
    import bpy

    first, second = mannequins(2)
    body = bpy.data.objects["Mannequin_Body"]
    with pytest.raises(RuntimeError, match="Not a person in this scene: 'Mannequin_Body'"):
        bpy.ops.blendmimic3d.make_primary(person=body.name)
    assert [first["bm3d_person_index"], second["bm3d_person_index"]] == [0, 1]


def test_refresh_drops_deleted_people(clean_scene):
    import bpy

    first, second = mannequins(2)
    bpy.data.objects.remove(first)
    assert bpy.ops.blendmimic3d.refresh_people() == {"FINISHED"}
    assert [i.armature for i in clean_scene.bm3d_people.people] == [second]


def test_panels_are_registered_under_the_main_tab(addon):
    import bpy

    for idname, order in (("BM3D_PT_characters", 10), ("BM3D_PT_people", 20)):
        panel = bpy.types.Panel.bl_rna_get_subclass_py(idname)
        assert panel is not None and panel.bl_parent_id == "BM3D_PT_main"
        assert panel.bl_order == order
