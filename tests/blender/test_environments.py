"""Environments and lighting in real Blender: built around the people and cameras, replaced and
cleared whole, lit with seeded variation, seen by the occlusion labelling as the camera sees
them, and rendered lit."""

import importlib
import math

import numpy as np
import pytest

from blendmimic3d_addon.core.format import dataset_io
from blendmimic3d_addon.core.geometry import occluder_library
from blendmimic3d_addon.core.occlusion.labels import OcclusionType


@pytest.fixture
def env(addon):
    return importlib.import_module(f"{addon}.blender.environments")


@pytest.fixture
def scene(clean_scene):
    """One mannequin walking 3 frames, the BlendMimic3D cameras fitted to it."""
    import bpy

    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    walk = bpy.data.actions["Walk"]
    walk.use_frame_range = True
    walk.frame_start, walk.frame_end = 1, 3
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=True)
    return clean_scene


def _types(bpy, folder, name):
    """Occlusion types (cameras, frames, 17) of a fresh export of the Walk take."""
    result = bpy.ops.blendmimic3d.export_dataset(
        directory=str(folder / name), subject="S1", actions="Walk"
    )
    assert result == {"FINISHED"}
    return np.stack(dataset_io.read_occlusion_types(folder / name / "S1", "Walk"))


@pytest.mark.parametrize("kind", ["CAPTURE_ROOM", "SHOP", "OUTDOORS"])
def test_environment_built_around_people_and_cameras(scene, env, kind):
    import bpy

    assert bpy.ops.blendmimic3d.add_environment(kind=kind, seed=3) == {"FINISHED"}
    parts = env.parts(scene)
    names = {o[env.scene_model.KIND].split("_")[0] for o in parts}
    wanted = {"CAPTURE_ROOM": {"Floor", "Ceiling", "Wall"}, "OUTDOORS": {"Ground"}}
    assert names == wanted.get(kind, {"Floor", "Ceiling", "Wall", "Shelf"})
    assert env.cameras_outside(scene) == []
    assert env.lighting.lights(scene) and scene.world.name == env.lighting.WORLD
    sky = [n for n in scene.world.node_tree.nodes if n.type == "TEX_ENVIRONMENT"]
    assert bool(sky) == (kind == "OUTDOORS")
    if sky:  # packed: a saved scene renders where Blender's datafiles are elsewhere
        assert sky[0].image.packed_file is not None
    if kind == "SHOP":  # shelves keep clear of the cameras and the person
        shelves = [o for o in parts if o[env.scene_model.KIND].startswith("Shelf")]
        cameras = [c.matrix_world.translation.xy for c in env.scene_model.dataset_cameras(scene)]
        for shelf in shelves:
            centre = np.mean([shelf.matrix_world @ v.co for v in shelf.data.vertices], axis=0)
            assert min(np.abs(np.array(c) - centre[:2]).max() for c in cameras) > 0.5
    count = len(bpy.data.objects)
    assert bpy.ops.blendmimic3d.add_environment(kind=kind, seed=4) == {"FINISHED"}
    assert len(bpy.data.objects) == count  # replaced, not added to
    assert bpy.ops.blendmimic3d.clear_environment() == {"FINISHED"}
    assert env.parts(scene) == [] and env.lighting.lights(scene) == []
    assert scene.world is None and env.stored_layout(scene) is None


def test_room_before_the_cameras_holds_the_rig_they_will_get(clean_scene, env):
    """The three clicks in the panel's order: people, environment, then cameras."""
    import bpy

    bpy.ops.blendmimic3d.add_mannequin(action="Wave")
    bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM")
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
    assert len(env.scene_model.dataset_cameras(clean_scene)) == 4
    assert env.cameras_outside(clean_scene) == []
    camera = env.scene_model.dataset_cameras(clean_scene)[0]
    camera.location.x += 100.0
    assert env.cameras_outside(clean_scene) == [camera.name]


def test_nothing_to_build_around_is_an_error(clean_scene, env):
    import bpy

    with pytest.raises(RuntimeError, match="add people or rig cameras first"):
        bpy.ops.blendmimic3d.add_environment(kind="SHOP")
    assert list(bpy.data.objects) == [] and clean_scene.world is None


def test_relight_varies_with_the_seed_and_replaces_the_lights(scene, env):
    import bpy

    bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM", seed=0)
    ceiling = [(o.location.copy(), o.data.energy) for o in env.lighting.lights(scene)]
    assert len(ceiling) == 4 and all(z > 2.5 for (_x, _y, z), _e in ceiling)

    def studio(seed):
        assert bpy.ops.blendmimic3d.relight(preset="STUDIO", seed=seed) == {"FINISHED"}
        lights = env.lighting.lights(scene)
        return sorted((o.name, tuple(o.location), tuple(o.data.color)) for o in lights)

    first = studio(7)
    assert [name for name, *_ in first] == ["BM3D_Fill", "BM3D_Key"]
    assert studio(7) == first and studio(8) != first
    bpy.ops.blendmimic3d.relight(preset="DAYLIGHT", seed=2)
    (sun,) = env.lighting.lights(scene)
    assert sun.data.type == "SUN"
    assert len([w for w in bpy.data.worlds if w.name.startswith(env.lighting.WORLD)]) == 1


def test_bundled_skies_are_there(env):
    for name in env.lighting.lighting_plan.DAYLIGHT_SKIES:
        assert env.lighting.sky_path(name).endswith(f"{name}.exr")
    with pytest.raises(env.DatasetError, match="does not ship that sky"):
        env.lighting.sky_path("moon")


def test_walls_behind_the_person_change_no_label(scene, env, tmp_path):
    import bpy

    before = _types(bpy, tmp_path, "bare")
    bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM")
    after = _types(bpy, tmp_path, "room")
    np.testing.assert_array_equal(after, before)
    assert (before != OcclusionType.OBJECT).all()


def test_a_wall_between_camera_and_joints_hides_them(scene, env, tmp_path):
    """Camera 0 moved out through the nearest wall, still looking at the person: the wall hides
    every joint from it (object-occluded); the other cameras' labels stay as they were."""
    import bpy

    bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM")
    before = _types(bpy, tmp_path, "inside")
    camera = env.scene_model.dataset_cameras(scene)[0]
    x0, x1, y0, y1 = env.stored_layout(scene)["extent"]
    position = np.array(camera.location)
    walls = {"x0": position[0] - x0, "x1": x1 - position[0],
             "y0": position[1] - y0, "y1": y1 - position[1]}  # fmt: skip
    wall = min(walls, key=walls.get)
    axis, sign = (0 if wall[0] == "x" else 1), (-1 if wall[1] == "0" else 1)
    camera.location[axis] += sign * (walls[wall] + 1.0)  # 1 m behind the wall, same direction
    after = _types(bpy, tmp_path, "outside")
    in_frame = before[0] != OcclusionType.OUT_OF_FRAME
    assert in_frame.any()
    assert (after[0][in_frame] == OcclusionType.OBJECT).all()
    np.testing.assert_array_equal(after[1:], before[1:])


def test_a_shop_shelf_between_camera_and_person_hides_joints(scene, env, tmp_path):
    import bpy

    bpy.ops.blendmimic3d.add_environment(kind="SHOP")
    before = _types(bpy, tmp_path, "shop")
    assert (before != OcclusionType.OBJECT).all()
    shelf = next(o for o in env.parts(scene) if o[env.scene_model.KIND].startswith("Shelf"))
    camera = env.scene_model.dataset_cameras(scene)[1]
    person = env.scene_model.people(scene)[0]
    xy, yaw = occluder_library.between(
        np.array(camera.location.xy), np.array(person.location.xy), 0.5
    )
    # The shelf's vertices are in world coordinates: move them by the object's offset.
    centre = np.mean([v.co for v in shelf.data.vertices], axis=0)
    shelf.rotation_euler.z = 0.0
    shelf.location = (xy[0] - centre[0], xy[1] - centre[1], 0.0)
    assert math.isfinite(yaw)
    after = _types(bpy, tmp_path, "blocked")
    assert (after[1] == OcclusionType.OBJECT).sum() >= 3 * 5  # most of the body, 3 frames


def test_environment_renders_lit(scene, env, tmp_path):
    """Preview and Realistic through every camera (Fast, EEVEE, takes about 30 s a frame on
    this machine's software OpenGL: test_videos covers it at 32 x 24)."""
    import bpy

    bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM")
    scene.render.resolution_x = scene.render.resolution_y = 64
    bpy.ops.blendmimic3d.export_dataset(directory=str(tmp_path), subject="S1", actions="Walk")
    for preset in ("PREVIEW", "REALISTIC"):
        result = bpy.ops.blendmimic3d.render_videos(
            directory=str(tmp_path / "S1"), preset=preset, samples=4, overwrite=True
        )
        assert result == {"FINISHED"}  # the one-colour check passed on every camera


def test_panel_registered(scene, env):
    import bpy

    panel = bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_environment")
    assert panel.bl_parent_id == "BM3D_PT_main"
    assert scene.bm3d_environment.kind == "CAPTURE_ROOM"
