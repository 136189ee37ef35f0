"""import_mixamo on the real Mixamo exports in ../shared/mixamo: characters, animations, errors."""

import importlib
import math
import shutil

import pytest

PREFIX = "mixamorig:"


@pytest.fixture(scope="module")
def beta(addon):
    from conftest import shared_path

    return str(shared_path("mixamo", "mixamo_beta.fbx"))


@pytest.fixture(scope="module")
def samba(addon):
    from conftest import shared_path

    return str(shared_path("mixamo", "samba_dancing.fbx"))


@pytest.fixture(scope="module")
def samba_animation(samba, tmp_path_factory):
    """A Mixamo animation without skin: the samba take on the bare skeleton, as FBX."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=samba)
    for obj in [o for o in bpy.data.objects if o.type == "MESH"]:
        bpy.data.objects.remove(obj)
    path = tmp_path_factory.mktemp("anim") / "samba_anim.fbx"
    bpy.ops.export_scene.fbx(
        filepath=str(path), object_types={"ARMATURE"}, add_leaf_bones=False, bake_anim=True
    )
    bpy.ops.wm.read_homefile(use_empty=True)
    return str(path)


def import_mixamo(**kwargs):
    import bpy

    return bpy.ops.blendmimic3d.import_mixamo(**kwargs)


def state(scene):
    """Everything an import could leave behind: datablock names, frame rate and range."""
    import bpy

    blocks = {
        name: sorted(b.name for b in getattr(bpy.data, name))
        for name in ("objects", "meshes", "armatures", "actions", "materials", "images")
    }
    return blocks, scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end


def world(arm, bone):
    return arm.matrix_world @ arm.pose.bones[bone].head


def test_character_imports_as_a_person_in_metres(clean_scene, beta):
    import bpy

    assert import_mixamo(filepath=beta) == {"FINISHED"}
    arm = bpy.data.objects["mixamo_beta"]
    assert arm.type == "ARMATURE"
    assert arm["bm3d_role"] == "person" and arm["bm3d_person_index"] == 0
    bodies = sorted(o.name for o in clean_scene.objects if o.get("bm3d_role") == "body")
    assert bodies == ["Beta_Joints", "Beta_Surface"]
    # Mixamo FBX are centimetres, Y up: the armature comes in scaled 0.01 and turned 90 degrees.
    assert tuple(arm.scale) == pytest.approx((0.01, 0.01, 0.01))
    assert [math.degrees(a) for a in arm.rotation_euler] == pytest.approx([90, 0, 0], abs=1e-4)
    arm.data.pose_position = "REST"
    clean_scene.frame_set(1)
    assert world(arm, PREFIX + "HeadTop_End").z == pytest.approx(1.82, abs=0.01)
    assert world(arm, PREFIX + "Hips").z == pytest.approx(1.043, abs=0.01)
    assert world(arm, PREFIX + "LeftToe_End").z == pytest.approx(0.0, abs=0.01)
    # The action is named after its file, in the person's library, at Mixamo's 30 fps.
    action = bpy.data.actions["mixamo_beta"]
    assert arm.animation_data.action == action
    assert list(arm["bm3d_actions"]) == ["mixamo_beta"]
    assert clean_scene.render.fps == 30 and clean_scene.render.fps_base == 1.0
    start, end = (int(v) for v in action.frame_range)
    assert (clean_scene.frame_start, clean_scene.frame_end) == (start, end) == (1, 506)
    assert [i.armature for i in clean_scene.bm3d_people.people] == [arm]


def test_mannequin_has_the_real_mixamo_rig(clean_scene, beta):
    import bpy

    import_mixamo(filepath=beta)
    bpy.ops.blendmimic3d.add_mannequin()
    real, mannequin = (i.armature for i in clean_scene.bm3d_people.people)
    assert [(b.name, b.parent and b.parent.name) for b in mannequin.data.bones] == [
        (b.name, b.parent and b.parent.name) for b in real.data.bones
    ]
    for ours, theirs in zip(mannequin.data.bones, real.data.bones, strict=True):
        # Same rest orientation (so actions transfer), proportions scaled to 1.75 m.
        difference = ours.matrix_local.to_3x3() - theirs.matrix_local.to_3x3()
        assert max(abs(v) for row in difference for v in row) < 2e-3
        assert (ours.head_local - theirs.head_local * 0.96).length < 0.01


def test_folder_of_characters_gives_two_people(clean_scene, beta, samba, tmp_path):
    import bpy

    for path in (beta, samba):
        shutil.copy(path, tmp_path)
    (tmp_path / "notes.txt").write_text("not an fbx")
    assert import_mixamo(directory=str(tmp_path)) == {"FINISHED"}
    people = [i.armature for i in clean_scene.bm3d_people.people]
    assert [p.name for p in people] == ["mixamo_beta", "samba_dancing"]
    assert [p["bm3d_person_index"] for p in people] == [0, 1]
    assert people[1].animation_data.action == bpy.data.actions["samba_dancing"]
    assert clean_scene.frame_end == 595  # the longer of the two takes


def test_animation_without_skin_joins_every_matching_library(clean_scene, samba_animation):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin(action="Wave")
    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    objects = sorted(o.name for o in bpy.data.objects)
    assert import_mixamo(filepath=samba_animation) == {"FINISHED"}
    assert sorted(o.name for o in bpy.data.objects) == objects  # the bare skeleton is gone
    action = bpy.data.actions["samba_anim"]
    assert action.use_fake_user
    for item in clean_scene.bm3d_people.people:
        assert list(item.armature["bm3d_actions"])[-1] == "samba_anim"
        assert item.armature.animation_data.action.name in ("Wave", "Walk")  # takes unchanged
    item = clean_scene.bm3d_people.people[0]
    item.action = "samba_anim"
    arm = item.armature
    clean_scene.frame_set(1)
    hips = world(arm, PREFIX + "Hips")
    assert 0.8 < hips.z < 1.2  # the samba plays on the mannequin at human scale


def test_animation_for_the_active_person_only(clean_scene, samba_animation):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin()
    bpy.ops.blendmimic3d.add_mannequin()
    first, second = (i.armature for i in clean_scene.bm3d_people.people)
    bpy.context.view_layer.objects.active = second
    assert import_mixamo(filepath=samba_animation, target="ACTIVE") == {"FINISHED"}
    assert "samba_anim" in second["bm3d_actions"]
    assert "samba_anim" not in first["bm3d_actions"]


def test_animation_gets_renamed_bones_for_another_prefix(clean_scene, samba_animation, addon):
    import bpy

    people_mod = importlib.import_module(f"{addon}.blender.takes")
    bpy.ops.blendmimic3d.add_mannequin()
    arm = clean_scene.bm3d_people.people[0].armature
    for bone in arm.data.bones:
        bone.name = bone.name.replace("mixamorig:", "mixamorig7:")
    assert import_mixamo(filepath=samba_animation) == {"FINISHED"}
    name = "samba_anim [mixamorig7]"
    assert list(arm["bm3d_actions"])[-1] == name
    paths = {fc.data_path for fc in people_mod.action_fcurves(bpy.data.actions[name])}
    assert 'pose.bones["mixamorig7:Hips"].location' in paths
    assert not any("mixamorig:" in p for p in paths)
    assert "samba_anim" not in bpy.data.actions  # no orphan with the unused prefix


def test_animation_before_its_character_in_one_import(clean_scene, beta, samba_animation):
    import bpy

    folder, first = samba_animation.rsplit("/", 1)[0], samba_animation.rsplit("/", 1)[1]
    shutil.copy(beta, folder)
    result = import_mixamo(directory=folder, files=[{"name": first}, {"name": "mixamo_beta.fbx"}])
    assert result == {"FINISHED"}
    arm = bpy.data.objects["mixamo_beta"]
    assert list(arm["bm3d_actions"]) == ["mixamo_beta", "samba_anim"]


def test_animation_keeps_its_speed_in_a_scene_at_another_rate(clean_scene, samba_animation):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin()
    clean_scene.render.fps = 60
    assert import_mixamo(filepath=samba_animation) == {"FINISHED"}
    assert clean_scene.render.fps == 60  # the scene keeps its rate
    start, end = bpy.data.actions["samba_anim"].frame_range
    assert (start, end) == pytest.approx((1.0, 1.0 + 2 * 594), abs=0.01)


def test_animation_without_a_character_is_refused(clean_scene, samba_animation):
    before = state(clean_scene)
    with pytest.raises(RuntimeError, match=r"samba_anim\.fbx: an animation without a character"):
        import_mixamo(filepath=samba_animation)
    assert state(clean_scene) == before


def test_not_fbx_is_refused_and_nothing_changes(clean_scene, tmp_path):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin()
    before = state(clean_scene)
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    with pytest.raises(RuntimeError, match=r"readme\.txt: not an FBX file"):
        import_mixamo(filepath=str(text))
    fake = tmp_path / "fake.fbx"
    fake.write_text("hello, not really FBX")
    with pytest.raises(RuntimeError, match=r"fake\.fbx: not an FBX file \(no FBX header\)"):
        import_mixamo(filepath=str(fake))
    assert state(clean_scene) == before


def test_corrupt_fbx_is_refused_and_nothing_changes(clean_scene, beta, tmp_path):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin()
    clean_scene.render.fps = 24  # the importer would set 30 on its way
    before = state(clean_scene)
    broken = tmp_path / "broken.fbx"
    broken.write_bytes(open(beta, "rb").read()[:400_000])
    with pytest.raises(RuntimeError, match=r"broken\.fbx: the FBX importer could not read it"):
        import_mixamo(filepath=str(broken))
    assert state(clean_scene) == before


def test_fbx_without_mixamo_rig_is_refused_and_nothing_changes(clean_scene, tmp_path):
    import bpy

    # A cube, and an armature with bones of other names, exported by Blender as FBX.
    mesh = bpy.data.meshes.new("Cube")
    clean_scene.collection.objects.link(bpy.data.objects.new("Cube", mesh))
    cube = tmp_path / "cube.fbx"
    bpy.ops.export_scene.fbx(filepath=str(cube))
    data = bpy.data.armatures.new("Rig")
    rig = bpy.data.objects.new("Rig", data)
    clean_scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = data.edit_bones.new("Pelvis")
    bone.tail = (0, 0, 1)
    bpy.ops.object.mode_set(mode="OBJECT")
    other = tmp_path / "other_rig.fbx"
    bpy.ops.export_scene.fbx(filepath=str(other), object_types={"ARMATURE"})
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    before = state(scene)
    with pytest.raises(RuntimeError, match=r"cube\.fbx: armature: not a Mixamo character"):
        import_mixamo(filepath=str(cube))
    with pytest.raises(RuntimeError, match=r"other_rig\.fbx: armature: not a Mixamo rig"):
        import_mixamo(filepath=str(other))
    assert state(scene) == before


def test_cancel_takes_back_the_whole_run(clean_scene, addon, beta, samba_animation):
    import bpy

    module = importlib.import_module(f"{addon}.blender.mixamo_import")
    bpy.ops.blendmimic3d.add_mannequin()
    before = state(clean_scene)
    run = module.ImportRun(bpy.context, [samba_animation, beta])
    run.step(bpy.context)  # the animation lands in the mannequin's library
    arm = clean_scene.bm3d_people.people[0].armature
    assert "samba_anim" in arm["bm3d_actions"]
    run.step(bpy.context)
    assert "mixamo_beta" in bpy.data.objects
    run.cancel(bpy.context)
    assert state(clean_scene) == before
    assert list(arm["bm3d_actions"]) == ["Walk", "Wave", "Sit", "PickUp"]
    assert len(clean_scene.bm3d_people.people) == 1
