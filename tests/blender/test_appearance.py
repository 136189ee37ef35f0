"""Appearance per person in real Blender: seeded looks, regions from the bones, people never
dressed alike unless asked, textured characters shifted rather than repainted."""

import importlib

import numpy as np
import pytest


@pytest.fixture
def look(addon):
    return importlib.import_module(f"{addon}.blender.appearance")


def _people(look, scene):
    return look.scene_model.people(scene)


def _body(look, scene, person):
    return look.scene_model.body_meshes(person, scene)[0]


def _region_colour(look, scene, person, region):
    body = _body(look, scene, person)
    material = body.data.materials[look.looks_core.REGIONS.index(region)]
    return tuple(look.materials.principled(material).inputs["Base Color"].default_value)[:3]


def test_two_mannequins_never_look_alike(clean_scene, look):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    bpy.ops.blendmimic3d.add_mannequin(action="Wave", location=(1.2, 0, 0))
    first, second = _people(look, clean_scene)
    assert first[look.LOOK]["summary"] != second[look.LOOK]["summary"]
    colours = [
        [_region_colour(look, clean_scene, p, r) for r in ("top", "bottom")]
        for p in (first, second)
    ]
    assert colours[0] != colours[1]
    assert _body(look, clean_scene, first).data != _body(look, clean_scene, second).data


def test_faces_follow_their_bones(clean_scene, look):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    (person,) = _people(look, clean_scene)
    body = _body(look, clean_scene, person)
    regions = look.face_regions(body)
    index = {name: look.looks_core.REGIONS.index(name) for name in look.looks_core.REGIONS}
    by_group = {g.index: g.name for g in body.vertex_groups}

    def region_of_faces_of(bone):
        group = next(i for i, n in by_group.items() if n.endswith(bone))
        verts = body.data.vertices
        faces = [
            p.index
            for p in body.data.polygons
            if all(verts[v].groups[0].group == group for v in p.vertices)
        ]
        assert faces, bone
        return set(regions[faces].tolist())

    assert region_of_faces_of(":Head") == {index["skin"]}
    assert region_of_faces_of(":LeftForeArm") == {index["top"]}
    assert region_of_faces_of(":RightUpLeg") == {index["bottom"]}
    assert region_of_faces_of(":LeftFoot") == {index["shoes"]}
    material_index = np.empty(len(body.data.polygons), np.int32)
    body.data.polygons.foreach_get("material_index", material_index)
    np.testing.assert_array_equal(material_index, regions)


def test_vary_is_seeded_and_same_look_on_request(clean_scene, look):
    import bpy

    for x in (0.0, 1.2, 2.4):
        bpy.ops.blendmimic3d.add_mannequin(action="Walk", location=(x, 0, 0))

    def summaries(**kwargs):
        assert bpy.ops.blendmimic3d.vary_appearance(**kwargs) == {"FINISHED"}
        return [p[look.LOOK]["summary"] for p in _people(look, clean_scene)]

    seeded = summaries(seed=5)
    assert len(set(seeded)) == 3 and summaries(seed=5) == seeded and summaries(seed=6) != seeded
    assert len(set(summaries(seed=5, same_look=True))) == 1
    # Varying again reuses the person's materials instead of piling up new ones.
    count = len(bpy.data.materials)
    summaries(seed=9)
    assert len(bpy.data.materials) == count


def test_looks_cover_the_palettes(look):
    found = look.looks_core.looks(200, 0)
    assert len({(lk.top, lk.bottom) for lk in found}) == 200
    assert {lk.skin for lk in found} == set(look.looks_core.SKIN_TONES)
    assert look.looks_core.looks(3, 4)[:2] == look.looks_core.looks(2, 4)  # stable per person


def test_textured_bodies_are_shifted_not_repainted(clean_scene, look):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    bpy.ops.blendmimic3d.add_mannequin(action="Walk", location=(1.2, 0, 0))
    image = bpy.data.images.new("Cloth", 4, 4)
    shared = bpy.data.materials.new("Textured")
    tree = look.materials.node_tree(shared)
    texture = tree.nodes.new("ShaderNodeTexImage")
    texture.image = image
    tree.links.new(texture.outputs["Color"], look.materials.principled(shared).inputs[0])
    for person in _people(look, clean_scene):
        body = _body(look, clean_scene, person)
        body.data.materials.clear()
        body.data.materials.append(shared)
    bpy.ops.blendmimic3d.vary_appearance(seed=1)
    shifted = [_body(look, clean_scene, p).data.materials[0] for p in _people(look, clean_scene)]
    assert shifted[0] != shifted[1] and shared not in shifted
    assert not [n for n in shared.node_tree.nodes if n.type == "HUE_SAT"]  # the original kept
    for material, person in zip(shifted, _people(look, clean_scene), strict=True):
        (node,) = [n for n in material.node_tree.nodes if n.type == "HUE_SAT"]
        assert node.inputs["Value"].default_value == pytest.approx(person[look.LOOK]["value"])
        base = look.materials.principled(material).inputs["Base Color"]
        assert base.links[0].from_node == node and node.inputs["Color"].links[0].from_node.image
    bpy.ops.blendmimic3d.vary_appearance(seed=2)  # again: the same node, new values
    assert len([n for n in shifted[0].node_tree.nodes if n.type == "HUE_SAT"]) == 1


def test_no_people_is_an_error(clean_scene, look):
    import bpy

    with pytest.raises(RuntimeError, match="No people in the scene"):
        bpy.ops.blendmimic3d.vary_appearance(seed=1)
    assert len(bpy.data.materials) == 0


def test_panel_under_people(clean_scene, look):
    import bpy

    panel = bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_appearance")
    assert panel.bl_parent_id == "BM3D_PT_people"
    assert clean_scene.bm3d_appearance.seed == 0
