"""Dataset export in real Blender on a small built scene: two tagged people with Mixamo-named
bones and skinned box bodies, a cube occluder, four tagged cameras Camera_0..3."""

import math
import os
import re

import numpy as np
import pytest

# Mixamo bone layout of a 1.85 m character facing -y (its left is +x): name, head, tail, parent.
_SIDE_BONES = [
    ("{s}UpLeg", (0.1, 0, 0.95), (0.1, 0, 0.5), "Hips"),
    ("{s}Leg", (0.1, 0, 0.5), (0.1, 0, 0.08), "{s}UpLeg"),
    ("{s}Foot", (0.1, 0, 0.08), (0.1, -0.12, 0.02), "{s}Leg"),
    ("{s}Shoulder", (0.05, 0, 1.42), (0.18, 0, 1.45), "Spine2"),
    ("{s}Arm", (0.18, 0, 1.45), (0.45, 0, 1.45), "{s}Shoulder"),
    ("{s}ForeArm", (0.45, 0, 1.45), (0.7, 0, 1.45), "{s}Arm"),
    ("{s}Hand", (0.7, 0, 1.45), (0.8, 0, 1.45), "{s}ForeArm"),
]
_SPINE_BONES = [
    ("Hips", (0, 0, 0.95), (0, 0, 1.05), None),
    ("Spine", (0, 0, 1.05), (0, 0, 1.15), "Hips"),
    ("Spine1", (0, 0, 1.15), (0, 0, 1.28), "Spine"),
    ("Spine2", (0, 0, 1.28), (0, 0, 1.42), "Spine1"),
    ("Neck", (0, 0, 1.42), (0, 0, 1.55), "Spine2"),
    ("Head", (0, 0, 1.55), (0, 0, 1.75), "Neck"),
    ("HeadTop_End", (0, 0, 1.75), (0, 0, 1.85), "Head"),
]
# Half thickness of each bone's box (metres); limbs are thin, joints get spheres (_RADIUS).
_THICK = {"Hips": 0.1, "Spine": 0.1, "Spine1": 0.1, "Spine2": 0.1, "Head": 0.08, "Neck": 0.05}
_RADIUS = {"Hips": 0.12, "Head": 0.1, "HeadTop_End": 0.05}


def _bones():
    bones = list(_SPINE_BONES)
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        for name, head, tail, parent in _SIDE_BONES:
            mirror = lambda p, sign=sign: (sign * p[0], p[1], p[2])  # noqa: E731
            parent = parent.format(s=side) if "{s}" in parent else parent
            bones.append((name.format(s=side), mirror(head), mirror(tail), parent))
    return bones


def _box(head, tail, half):
    """8 corners of a box of half thickness ``half`` around the segment head-tail."""
    head, tail = np.array(head, float), np.array(tail, float)
    axis = tail - head
    axis /= np.linalg.norm(axis)
    side = np.cross(axis, [0, 1, 0] if abs(axis[1]) < 0.9 else [1, 0, 0])
    side /= np.linalg.norm(side)
    up = np.cross(axis, side)
    return [
        c + s1 * half * side + s2 * half * up
        for c in (head, tail)
        for s1 in (-1, 1)
        for s2 in (-1, 1)
    ]


_BOX_FACES = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]


def _sphere(centre, radius, rings=6, segments=10):
    """Vertices and faces (local indices) of a UV sphere."""
    verts = [(0.0, 0.0, -1.0)]
    for i in range(1, rings):
        theta = math.pi * i / rings - math.pi / 2
        for k in range(segments):
            phi = 2 * math.pi * k / segments
            verts.append((math.cos(theta) * math.cos(phi), math.cos(theta) * math.sin(phi),
                          math.sin(theta)))  # fmt: skip
    verts.append((0.0, 0.0, 1.0))
    top = len(verts) - 1
    ring = lambda i, k: 1 + (i - 1) * segments + k % segments  # noqa: E731
    faces = [(0, ring(1, k + 1), ring(1, k)) for k in range(segments)]
    for i in range(1, rings - 1):
        faces += [(ring(i, k), ring(i, k + 1), ring(i + 1, k + 1), ring(i + 1, k))
                  for k in range(segments)]  # fmt: skip
    faces += [(ring(rings - 1, k), ring(rings - 1, k + 1), top) for k in range(segments)]
    return [tuple(np.array(centre) + radius * np.array(v)) for v in verts], faces


def add_person(index, location, prefix="mixamorig:", actions=("Wave", "Walk")):
    """A tagged person: armature + skinned box body + actions in its library."""
    import bpy

    from blendmimic3d_addon.blender import scene_model

    scene = bpy.context.scene
    arm_data = bpy.data.armatures.new(f"Rig{index}")
    arm = bpy.data.objects.new(f"Person{index}", arm_data)
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for name, head, tail, parent in _bones():
        bone = arm_data.edit_bones.new(prefix + name)
        bone.head, bone.tail = head, tail
        if parent:
            bone.parent = arm_data.edit_bones[prefix + parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    arm.location = location

    verts, faces, groups = [], [], []

    def add_part(part_verts, part_faces, bone):
        base = len(verts)
        verts.extend(tuple(v) for v in part_verts)
        faces.extend(tuple(base + i for i in f) for f in part_faces)
        groups.append((prefix + bone, list(range(base, len(verts)))))

    for name, head, tail, _ in _bones():
        if name.endswith("Shoulder"):
            continue
        if name != "HeadTop_End":
            add_part(_box(head, tail, _THICK.get(name, 0.035)), _BOX_FACES, name)
        add_part(*_sphere(head, _RADIUS.get(name, 0.07)), name)
    mesh = bpy.data.meshes.new(f"Body{index}")
    mesh.from_pydata(verts, [], faces)
    body = bpy.data.objects.new(f"Body{index}", mesh)
    scene.collection.objects.link(body)
    body.parent = arm
    for name, ids in groups:
        body.vertex_groups.new(name=name).add(ids, 1.0, "REPLACE")
    body.modifiers.new("Armature", "ARMATURE").object = arm
    scene_model.set_role(arm, scene_model.PERSON, **{scene_model.PERSON_INDEX: index})
    scene_model.set_role(body, scene_model.BODY)

    for action_name in actions:
        _add_action(arm, prefix, action_name)
        scene_model.add_person_action(arm, action_name)
    return arm


def _add_action(arm, prefix, name):
    """Wave: 10 frames raising the left arm; Walk: 8 frames moving the hips forward."""
    import bpy

    from blendmimic3d_addon.blender.takes import assign_action

    action = bpy.data.actions.get(name)
    if action is None:
        action = bpy.data.actions.new(name)
        action.use_fake_user = True  # kept in the .blend while no person plays it
    assign_action(arm, action)
    if name == "Wave":
        bone = arm.pose.bones[prefix + "LeftArm"]
        bone.rotation_mode = "XYZ"
        for frame, angle in ((1, 0.0), (10, 1.2)):
            bone.rotation_euler = (0.0, 0.0, angle)
            bone.keyframe_insert("rotation_euler", frame=frame)
        bone.rotation_euler = (0.0, 0.0, 0.0)
    else:
        bone = arm.pose.bones[prefix + "Hips"]
        for frame, y in ((1, 0.0), (8, 0.4)):
            bone.location = (0.0, 0.0, -y)  # the Hips bone points up: its local -z is forward
            bone.keyframe_insert("location", frame=frame)
        bone.location = (0.0, 0.0, 0.0)
    assign_action(arm, bpy.data.actions["Wave"] if "Wave" in bpy.data.actions else action)


def add_cameras(target=(0.0, 0.0, 1.0), distance=5.0, height=1.6, res=(200, 201)):
    """Four tagged cameras Camera_0..3 around ``target``, looking at it."""
    import bpy
    from mathutils import Vector

    from blendmimic3d_addon.blender import scene_model

    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = res
    scene.render.resolution_percentage = 100
    cams = []
    for i in range(4):
        angle = math.radians(-90 + 90 * i + 20)
        data = bpy.data.cameras.new(f"Camera_{i}")
        data.lens = 35 if i % 2 == 0 else 29
        obj = bpy.data.objects.new(f"Camera_{i}", data)
        scene.collection.objects.link(obj)
        obj.location = (
            target[0] + distance * math.cos(angle),
            target[1] + distance * math.sin(angle),
            height,
        )
        direction = Vector(target) - obj.location
        obj.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
        scene_model.set_role(obj, scene_model.CAMERA, **{scene_model.CAMERA_INDEX: i})
        cams.append(obj)
    scene.camera = cams[0]
    return cams


def add_occluder(location=(0.3, -1.2, 0.45), size=1.0):
    import bpy

    from blendmimic3d_addon.blender import scene_model

    mesh = bpy.data.meshes.new("Crate")
    half = size / 2
    corners = [(x, y, z) for x in (-half, half) for y in (-half, half) for z in (-half, half)]
    mesh.from_pydata(corners, [], [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6),
                                   (0, 2, 6, 4), (1, 5, 7, 3)])  # fmt: skip
    obj = bpy.data.objects.new("Crate", mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.location = location
    scene_model.set_role(obj, scene_model.OCCLUDER, **{scene_model.KIND: "crate"})
    return obj


def build_scene(people=2):
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    for i in range(people):
        add_person(i, (1.2 * i, 0.3 * i, 0.0))
    add_cameras()
    add_occluder()
    bpy.context.scene.frame_set(1)
    return bpy.context.scene


@pytest.fixture
def scene(addon):
    return build_scene()


def test_sampler_reads_joint_heads_in_world(scene):
    import bpy

    from blendmimic3d_addon.blender.sampling import SceneSampler

    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    take = sampler.whole_take("Wave", [0, 1, 2, 3])
    assert take.positions_3d.shape == (10, 2, 17, 3)
    assert set(take.positions_2d) == {0, 1, 2, 3}
    # The same as armature.matrix_world @ pose_bone.matrix @ origin, frame by frame.
    person = scene.objects["Person1"]
    for k, frame in enumerate(take.frames):
        scene.frame_set(int(frame))
        bone = person.pose.bones["mixamorig:LeftHand"]
        expected = np.array(person.matrix_world @ bone.matrix.translation)
        np.testing.assert_allclose(take.positions_3d[k, 1, 16], expected, atol=1e-6)
    # The waving arm moves; the hips of the waving take stay.
    assert np.linalg.norm(take.positions_3d[-1, 0, 16] - take.positions_3d[0, 0, 16]) > 0.3
    sampler.restore()


def test_labels_see_occluder_other_person_and_self(scene):
    import bpy

    from blendmimic3d_addon.blender.sampling import SceneSampler
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    take = sampler.whole_take("Wave", [0, 1, 2, 3])
    found = {int(code) for codes in take.types.values() for code in np.unique(codes)}
    assert T.VISIBLE in found and T.OBJECT in found and T.OTHER_PERSON in found
    # Camera 0 looks at the crate in front of person 0's legs: the knees are hidden by it.
    assert (take.types[0][:, 0, [2, 5]] == T.OBJECT).all()
    # Every camera sees person 0's head (nothing in front of it from these heights).
    for c in range(4):
        assert (take.types[c][:, 0, 9] != T.OBJECT).all()


# ---- the operator, the files, and safety -------------------------------------------------------


def _export(out, **settings):
    import bpy

    return bpy.ops.blendmimic3d.export_dataset(directory=str(out), **settings)


def _tree(root):
    """{relative path: bytes} of every file under ``root`` (to prove nothing changed)."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = handle.read()
    return found


def _validate(root):
    from blendmimic3d_addon.core.validate.dataset import validate_dataset

    report = validate_dataset(root)
    assert report.ok, report.problems
    return report


def test_operator_exports_a_valid_subject(scene, tmp_path):
    from blendmimic3d_addon.core.format import dataset_io
    from blendmimic3d_addon.core.occlusion.labels import legacy_labels

    assert _export(tmp_path, subject="S1") == {"FINISHED"}
    report = _validate(tmp_path)
    assert report.subjects["S1"] == "2 actions, 18 frames, 4 cameras"
    subject = tmp_path / "S1"
    positions = dataset_io.read_positions_3d(subject, "Wave")
    assert positions.shape == (10, 17, 3) and positions.dtype == np.float64
    types = dataset_io.read_occlusion_types(subject, "Wave")
    legacy = dataset_io.read_occlusions(subject, "Wave")
    for cam_types, cam_legacy in zip(types, legacy, strict=True):
        np.testing.assert_array_equal(legacy_labels(cam_types), cam_legacy)
    persons = dataset_io.read_persons(subject, "Wave")
    assert persons.names == ["Person0", "Person1"]
    np.testing.assert_array_equal(persons.positions_3d[0], positions)
    # The scene is as it was: frame and takes.
    assert scene.frame_current == 1
    assert scene.objects["Person0"].animation_data.action.name == "Wave"


def test_export_matches_published_files_key_for_key(scene, tmp_path, shared):
    published = shared("blendmimic3d", "S1")
    assert _export(tmp_path, subject="S1") == {"FINISHED"}
    ours = tmp_path / "S1"
    pairs = [
        ("D3_Positions/Greeting/Greeting.npz", "D3_Positions/Wave/Wave.npz"),
        ("D2_Positions/Greeting/2D_positions.npz", "D2_Positions/Wave/2D_positions.npz"),
        ("Occlusions/Greeting/occluded_kpt.npz", "Occlusions/Wave/occluded_kpt.npz"),
        ("Cameras/matrices_S1.npz", "Cameras/matrices_S1.npz"),
    ]
    for theirs_name, ours_name in pairs:
        theirs, mine = np.load(published / theirs_name), np.load(ours / ours_name)
        assert theirs.files == mine.files, ours_name
        for key in theirs.files:
            assert theirs[key].dtype == mine[key].dtype, (ours_name, key)
            assert theirs[key].shape[1:] == mine[key].shape[1:], (ours_name, key)
    theirs = np.load(published / "Cameras/camera_params_S1.npz", allow_pickle=True)
    mine = np.load(ours / "Cameras/camera_params_S1.npz", allow_pickle=True)
    assert theirs.files == mine.files
    for a, b in zip(theirs["intrinsic_params"], mine["intrinsic_params"], strict=True):
        assert list(a) == list(b)
        assert [type(v) for v in a.values()] == [type(v) for v in b.values()]
    a, b = theirs["extrinsic_params"][()]["S1"][0], mine["extrinsic_params"][()]["S1"][0]
    assert list(a) == list(b) and [len(v) for v in a.values()] == [len(v) for v in b.values()]
    number = re.compile(r"^-?\d\.\d{18}e[+-]\d\d$")  # np.savetxt's '%.18e'
    for name in ("Cameras/CamView0_P3x4.txt", "D3_Positions/Wave/data3D.txt"):
        published_name = name.replace("Wave", "Greeting")
        for text in ((published / published_name).read_text(), (ours / name).read_text()):
            assert all(number.match(v) for v in text.split()), name
    assert np.loadtxt(ours / "D3_Positions/Wave/data3D.txt").shape == (17, 30)


def test_refuses_to_overwrite_unless_asked(scene, tmp_path):
    assert _export(tmp_path, subject="S1") == {"FINISHED"}
    before = _tree(tmp_path)
    with pytest.raises(RuntimeError, match="S1: already exists; choose another folder or allow"):
        _export(tmp_path, subject="S1")
    assert _tree(tmp_path) == before
    # Asked: the new export replaces the old one (different cameras, so different files).
    assert _export(tmp_path, subject="S1", cameras="0,1", overwrite=True) == {"FINISHED"}
    assert sorted(os.listdir(tmp_path / "S1" / "Cameras")) == [
        "CamView0_P3x4.txt", "CamView1_P3x4.txt", "camera_params_S1.npz", "matrices_S1.npz",
    ]  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["S1", "dataset.json"]  # no staging left over


def _job(scene, out, **kwargs):
    import bpy

    from blendmimic3d_addon.blender.export_job import ExportJob

    return ExportJob(scene, bpy.context.evaluated_depsgraph_get(), str(out), "S1", **kwargs)


def test_cancel_or_error_midway_keeps_the_older_dataset(scene, tmp_path):
    from blendmimic3d_addon.core.errors import DatasetError

    assert _export(tmp_path, subject="S1", cameras="0") == {"FINISHED"}
    before = _tree(tmp_path)
    # Cancel (what Esc does): close the job's steps after a few frames.
    steps = _job(scene, tmp_path, overwrite=True).steps()
    for _ in range(12):  # into the second take: the first one is already staged
        next(steps)
    assert any(name.endswith(".staging") for name in os.listdir(tmp_path))
    steps.close()
    assert _tree(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == ["S1", "dataset.json"]
    assert scene.frame_current == 1
    # An error in the middle: the same.
    steps = _job(scene, tmp_path, overwrite=True).steps()
    next(steps)
    with pytest.raises(DatasetError, match="S1: writing: disk full$"):
        steps.throw(OSError("disk full"))
    assert _tree(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == ["S1", "dataset.json"]


def test_clear_messages_for_an_incomplete_scene(addon, tmp_path):
    import bpy

    build_scene(people=1)
    for obj in [o for o in bpy.data.objects if o.type == "CAMERA"]:
        bpy.data.objects.remove(obj)
    with pytest.raises(RuntimeError, match="cameras: no dataset camera in the scene"):
        _export(tmp_path, subject="S1")
    add_cameras()
    for action in list(bpy.data.actions):
        bpy.data.actions.remove(action)
    with pytest.raises(RuntimeError, match="actions: Person0 has no action to export"):
        _export(tmp_path, subject="S1")
    bpy.ops.wm.read_homefile(use_empty=True)
    add_cameras()
    with pytest.raises(RuntimeError, match="people: no person in the scene"):
        _export(tmp_path, subject="S1")
    with pytest.raises(RuntimeError, match="subject: 'S 1': use letters, digits"):
        _export(tmp_path, subject="S 1")
    with pytest.raises(RuntimeError, match="'//dataset' is relative to the .blend file: save"):
        bpy.ops.blendmimic3d.export_dataset(directory="//dataset", subject="S1")
    assert os.listdir(tmp_path) == []


def test_a_failed_write_or_a_deleted_person_is_one_message_and_keeps_the_older_dataset(
    addon, scene, tmp_path, monkeypatch
):
    import importlib

    import bpy

    ExportJob = importlib.import_module(f"{addon}.blender.export_job").ExportJob  # the operator's
    assert _export(tmp_path, subject="S1") == {"FINISHED"}
    before, frame = _tree(tmp_path), scene.frame_current

    def full_disk(job, stage, take):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ExportJob, "_write_take", full_disk)
    with pytest.raises(RuntimeError, match=r"S1: writing: No space left on device$"):
        _export(tmp_path, subject="S1", overwrite=True)
    assert _tree(tmp_path) == before and scene.frame_current == frame
    monkeypatch.undo()

    write_take = ExportJob._write_take

    def person_deleted(job, stage, take):  # after the first take; the second reads the person
        write_take(job, stage, take)
        bpy.data.objects.remove(bpy.data.objects["Person1"])

    monkeypatch.setattr(ExportJob, "_write_take", person_deleted)
    with pytest.raises(RuntimeError, match="scene: changed during the export, nothing was"):
        _export(tmp_path, subject="S1", overwrite=True)
    assert _tree(tmp_path) == before


def test_invoke_without_a_window_runs_to_the_end(scene, tmp_path):
    import bpy

    result = bpy.ops.blendmimic3d.export_dataset(
        "INVOKE_DEFAULT", directory=str(tmp_path), subject="S2", cameras="1"
    )
    assert result == {"FINISHED"}
    assert _validate(tmp_path).subjects["S2"] == "2 actions, 18 frames, 1 cameras"


def test_export_panel_registered(addon):
    import bpy

    panel = bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_export")
    assert panel is not None and panel.bl_parent_id == "BM3D_PT_main" and panel.bl_order == 50
    assert bpy.context.scene.bm3d_export.subject == "S1"
