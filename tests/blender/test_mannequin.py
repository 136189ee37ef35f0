"""The bundled mannequin: Mixamo's rig, a skinned body, four procedural actions, add_mannequin."""

import importlib
import math
import subprocess
import sys

import pytest
from conftest import REPO

PREFIX = "mixamorig:"


def world(arm, bone):
    return arm.matrix_world @ arm.pose.bones[PREFIX + bone].head


def add(action="Walk", **kwargs):
    import bpy

    assert bpy.ops.blendmimic3d.add_mannequin(action=action, **kwargs) == {"FINISHED"}
    return bpy.context.scene.bm3d_people.people[-1].armature


def test_add_mannequin_is_a_tagged_person(clean_scene):
    import bpy

    from blendmimic3d_addon.core.joints import bm3d_bone_names, mixamo_prefix

    arm = add("Wave", location=(1.0, 2.0, 0.0))
    assert arm["bm3d_role"] == "person" and arm["bm3d_person_index"] == 0
    bodies = [o for o in clean_scene.objects if o.get("bm3d_role") == "body"]
    assert [b.name for b in bodies] == ["Mannequin_Body"]
    assert bodies[0].modifiers["Armature"].object == arm
    names = [b.name for b in arm.data.bones]
    assert len(names) == 65 and mixamo_prefix(names) == PREFIX
    assert len(bm3d_bone_names(names)) == 17
    # Every bone but the end bones deforms a body segment.
    groups = {g.name for g in bodies[0].vertex_groups}
    assert {
        PREFIX + j for j in ("Hips", "Head", "LeftHand", "RightFoot", "LeftHandIndex3")
    } <= groups
    assert list(arm["bm3d_actions"]) == ["Walk", "Wave", "Sit", "PickUp"]
    assert arm.animation_data.action == bpy.data.actions["Wave"]
    assert tuple(arm.location) == pytest.approx((1.0, 2.0, 0.0))
    assert tuple(arm.scale) == pytest.approx((0.01, 0.01, 0.01))
    assert math.degrees(arm.rotation_euler.x) == pytest.approx(90.0)
    assert clean_scene.render.fps == 30
    assert (clean_scene.frame_start, clean_scene.frame_end) == (1, 90)


def test_rest_pose_is_a_person_in_metres(clean_scene):
    arm = add()
    arm.data.pose_position = "REST"
    clean_scene.frame_set(1)
    assert 1.70 <= world(arm, "HeadTop_End").z <= 1.80
    assert world(arm, "Hips").z == pytest.approx(1.0, abs=0.03)
    assert world(arm, "LeftToeBase").z == pytest.approx(0.0, abs=0.01)
    # The character's left is +X and it faces -Y (toes ahead of the ankles).
    assert world(arm, "LeftHand").x > 0.5 > -0.5 > world(arm, "RightHand").x
    assert world(arm, "LeftToeBase").y < world(arm, "LeftFoot").y


@pytest.mark.parametrize(
    ("name", "frames"), [("Walk", 97), ("Wave", 90), ("Sit", 120), ("PickUp", 100)]
)
def test_actions_do_what_their_names_say(clean_scene, name, frames):
    arm = add(name)
    action = arm.animation_data.action
    assert tuple(action.frame_range) == (1.0, float(frames))
    start, middle = 1, 45
    clean_scene.frame_set(start)
    hips0 = world(arm, "Hips").copy()
    clean_scene.frame_set(middle)
    if name == "Walk":
        clean_scene.frame_set(frames)
        assert hips0.y - world(arm, "Hips").y > 3.5  # walks forward (-Y), about 4 m
        gaps = []
        for f in range(1, frames, 4):
            clean_scene.frame_set(f)
            gaps.append(world(arm, "LeftFoot").y - world(arm, "RightFoot").y)
        assert min(gaps) < -0.3 and max(gaps) > 0.3  # the feet take turns in front
    elif name == "Wave":
        assert world(arm, "RightHand").z > world(arm, "HeadTop_End").z
        assert world(arm, "LeftHand").z < world(arm, "Hips").z
    elif name == "Sit":
        assert world(arm, "Hips").z < 0.65 < hips0.z
        assert world(arm, "LeftFoot").z < 0.15
    else:
        assert world(arm, "LeftHand").z < 0.4 and world(arm, "RightHand").z < 0.4
        assert world(arm, "LeftFoot").z < 0.15
    clean_scene.frame_set(frames)
    if name != "Walk":  # back to the standing pose it started in
        assert (world(arm, "Hips") - hips0).length < 0.01


def test_second_mannequin_shares_the_actions(clean_scene):
    import bpy

    first = add("Walk")
    second = add("Sit")
    assert [first["bm3d_person_index"], second["bm3d_person_index"]] == [0, 1]
    assert sorted(a.name for a in bpy.data.actions) == ["PickUp", "Sit", "Walk", "Wave"]
    assert second.animation_data.action.name == "Sit"
    assert second.name != first.name
    assert (clean_scene.frame_start, clean_scene.frame_end) == (1, 120)


def test_missing_asset_is_reported_and_nothing_changes(clean_scene, addon, monkeypatch, tmp_path):
    import bpy

    module = importlib.import_module(f"{addon}.blender.mannequin")
    monkeypatch.setattr(module, "ASSET_DIRS", [tmp_path])
    with pytest.raises(RuntimeError, match=r"mannequin\.blend: the bundled mannequin is missing"):
        bpy.ops.blendmimic3d.add_mannequin()
    assert len(bpy.data.objects) == 0 and len(bpy.data.actions) == 0


def test_asset_is_small_and_the_generator_rebuilds_it(addon, tmp_path):
    import bpy

    asset = REPO / "assets" / "mannequin.blend"
    assert asset.stat().st_size < 2_000_000
    out = tmp_path / "mannequin.blend"
    script = str(REPO / "assets" / "build_mannequin.py")
    if bpy.app.binary_path:  # inside a Blender executable: run the script in a fresh one
        command = [bpy.app.binary_path, "-b", "--factory-startup", "--python-exit-code", "1"]
        command += ["--python", script]
    else:  # Blender as the bpy module
        command = [sys.executable, script]
    done = subprocess.run([*command, "--", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 100_000 < out.stat().st_size < 2_000_000


def test_body_segments_are_wound_outwards(clean_scene):
    """Every separate segment of the body encloses a positive volume and its faces' normals point
    away from it: renders with backface culling or normal-based shading see the outside."""
    import bpy
    import numpy as np

    from blendmimic3d_addon.core.occlusion.triangle_rays import connected_parts, outward_triangles

    arm = add("Wave")
    clean_scene.frame_set(45)  # a posed frame: the skinned mesh as it is rendered
    body = next(o for o in clean_scene.objects if o.get("bm3d_role") == "body")
    assert body.parent == arm
    evaluated = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.data
    local = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", local)
    matrix = np.array(evaluated.matrix_world)
    vertices = local.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
    triangles = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int64)
    mesh.loop_triangles.foreach_get("vertices", triangles)
    triangles = triangles.reshape(-1, 3)
    normals = np.empty(len(mesh.loop_triangles) * 3)
    mesh.loop_triangles.foreach_get("normal", normals)
    normals = normals.reshape(-1, 3) @ np.linalg.inv(matrix[:3, :3])  # normals go by the inverse

    part = connected_parts(triangles, len(vertices))[triangles[:, 0]]
    parts = np.unique(part)
    # One closed capsule per segment: 7 for the torso and head, 23 per side (limbs, phalanges).
    assert len(parts) >= 50
    corners = vertices[triangles]
    volume = np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])) / 6
    part_volume = np.bincount(part, weights=volume)[parts]
    assert (part_volume > 0).all(), f"{(part_volume <= 0).sum()} of {len(parts)} parts inside out"
    assert np.array_equal(outward_triangles(vertices, triangles), triangles)
    # The normals Blender computed point away from their part's middle.
    centres = corners.mean(axis=1)
    for p in parts:
        mine = part == p
        away = centres[mine] - centres[mine].mean(axis=0)
        assert np.einsum("ij,ij->i", normals[mine], away).mean() > 0, p
