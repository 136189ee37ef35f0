"""The export of a real Mixamo scene, and the independent render check of its occlusion labels."""

import sys

import numpy as np
import pytest
from conftest import REPO
from test_export import _validate, build_scene


@pytest.fixture
def mixamo_scene(addon, shared):
    fbx = shared("mixamo", "mixamo_beta.fbx")
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_export import build_mixamo_scene, limit_action
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    scene = build_mixamo_scene(fbx)
    return scene, limit_action


def test_mixamo_export_is_valid_and_labels_match_a_render(mixamo_scene, tmp_path):
    import bpy
    from depth_check import run_depth_check

    from blendmimic3d_addon.core.format import dataset_io
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    scene, limit_action = mixamo_scene
    limit_action(scene, 40)
    assert bpy.ops.blendmimic3d.export_dataset(directory=str(tmp_path), subject="S1") == {
        "FINISHED"
    }
    report = _validate(tmp_path)
    assert report.subjects["S1"] == "1 actions, 40 frames, 4 cameras"
    types = np.stack(dataset_io.read_occlusion_types(tmp_path / "S1", "Dance"))
    # The crates hide the legs from cameras 0 and 2, and the body hides some joints from others.
    assert (types == T.OBJECT).any() and (types == T.SELF).any() and (types == T.VISIBLE).any()

    check = run_depth_check(scene, bpy.context.evaluated_depsgraph_get(), "Dance", frames=3)
    print(check.summary())
    assert check.entries == 3 * 4 * 17
    assert check.agreement >= 0.97
    # Both verdicts see a real share of hidden joints, so the agreement is not all-visible.
    assert 0.1 < 1 - check.render_visible.mean() < 0.9


def test_depth_check_on_the_built_scene(addon):
    import bpy
    from depth_check import run_depth_check

    scene = build_scene()
    before = (scene.render.engine, scene.render.resolution_percentage, scene.camera.name)
    check = run_depth_check(scene, bpy.context.evaluated_depsgraph_get(), "Wave", frames=3)
    print(check.summary())
    assert check.frames == [1, 6, 10] and check.entries == 3 * 4 * 2 * 17
    assert check.agreement >= 0.97
    assert 0.05 < 1 - check.render_visible.mean() < 0.95
    # The scene's render settings are back, and the check's material is gone.
    assert (scene.render.engine, scene.render.resolution_percentage, scene.camera.name) == before
    assert "BM3D_depth_check" not in bpy.data.materials


def _world_triangles(obj, depsgraph):
    """(T,3,3) world corners of an evaluated mesh object's triangles, in double precision."""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.data
    local = np.array([v.co for v in mesh.vertices], dtype=np.float64)
    triangles = np.array([t.vertices[:] for t in mesh.loop_triangles], dtype=np.int64)
    return local, triangles, np.array(evaluated.matrix_world)


def _brute_force_crossings(origin, end, corners):
    """Every crossing of the segment with the triangles, no culling, the plane hit and its
    barycentric coordinates solved directly: (triangle index, t, entering), sorted by t; a
    crossing through an edge shared by two triangles counted once."""
    direction = end - origin
    length = np.linalg.norm(direction)
    unit = direction / length
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    normal = np.cross(b - a, c - a)
    facing = normal @ unit
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.einsum("ni,ni->n", a - origin, normal) / facing
        point = origin + t[:, None] * unit
        inside = [
            np.einsum("ni,ni->n", np.cross(q - p, point - p), normal) >= 0
            for p, q in ((a, b), (b, c), (c, a))
        ]
    hit = np.flatnonzero(inside[0] & inside[1] & inside[2] & (t > 1e-9) & (t < length))
    hit = hit[np.argsort(t[hit])]
    keep = np.ones(len(hit), dtype=bool)
    keep[1:] = np.diff(t[hit]) > 1e-5
    hit = hit[keep]
    return hit, t[hit], facing[hit] < 0


@pytest.mark.parametrize("moving_crate", [False, True])
def test_fast_labels_match_a_brute_force_reference(mixamo_scene, moving_crate, monkeypatch):
    """The exporter's culled, single-precision casting gives the same codes as testing every
    ray against every triangle in double precision (same classification rule). With a moving
    crate and batches of two frames, the frames of a batch hold the crate in different places
    and the second batch reuses the first one's slot after the crate has moved away."""
    import bpy

    from blendmimic3d_addon.blender.sampling import SceneSampler

    scene, _ = mixamo_scene
    if moving_crate:
        from mathutils import Vector

        crate = bpy.data.objects["Crate0"]
        start = crate.location.copy()
        for frame, shift in ((1, (0, 0, 0)), (40, (0.5, 0.4, 0.3)), (80, (0, 0, 4))):
            crate.location = start + Vector(shift)
            crate.keyframe_insert("location", frame=frame)
        monkeypatch.setattr("blendmimic3d_addon.blender.sampling.BATCH", 2)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    sampler = SceneSampler(scene, depsgraph)
    frames = [1, 40, 80]
    take = sampler.whole_take("Dance", [0, 1, 2, 3], frames=frames)
    try:
        checked = _check_against_brute_force(scene, sampler, take, "Dance", frames)
    finally:
        sampler.restore()
    assert checked > 100


def _crowd_sampler(shared, frames):
    """The crowded benchmark scene cut to ``frames``, and a sampler that labels face points."""
    import bpy

    from blendmimic3d_addon.blender.face_points import FaceSampler
    from blendmimic3d_addon.blender.sampling import SceneSampler

    fbx = shared("mixamo", "mixamo_beta.fbx")
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_export import build_crowd_scene
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    scene, triangles, people = build_crowd_scene([fbx] * 3, frames)
    assert people == 3 and triangles > 140_000
    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    sampler.face_points = FaceSampler(sampler)
    return scene, sampler


def test_crowd_labels_of_the_compiled_kernel_equal_the_numpy_casting(shared, monkeypatch):
    """The crowded scene labelled twice, once with the compiled casting kernel and once with
    numpy: every joint and face point code the same."""
    from blendmimic3d_addon.blender import scene_model
    from blendmimic3d_addon.core.occlusion import native_cast

    if native_cast.load()[0] is None:
        pytest.skip(f"the casting kernel is not built: {native_cast.load()[1]}")
    scene, sampler = _crowd_sampler(shared, 14)
    action = scene_model.people(scene)[0].animation_data.action.name
    codes = {}
    try:
        for compiled in (True, False):
            monkeypatch.setattr(native_cast, "ENABLED", compiled)
            take = sampler.whole_take(action, [0, 1, 2, 3])
            codes[compiled] = (take.types, sampler.face_points.types.copy())
    finally:
        sampler.restore()
    (joints, faces), (numpy_joints, numpy_faces) = codes[True], codes[False]
    for c in range(4):
        np.testing.assert_array_equal(joints[c], numpy_joints[c])
    np.testing.assert_array_equal(faces, numpy_faces)
    assert len(joints[0]) == 14
    assert (np.stack(list(joints.values())) != 0).sum() > 50  # codes other than visible too


def test_crowd_labels_match_a_brute_force_reference(shared):
    """The crowded benchmark scene (three skinned Mixamo characters, the Object Occlusion
    furniture, four fitted cameras, ~150,000 triangles): the joints' and the face points' codes
    from the batched casting (the joint and face rays cast together) are those of testing every
    ray against every triangle, on frames of a batch in flight and of the last, short one."""
    from blendmimic3d_addon.blender import scene_model

    scene, sampler = _crowd_sampler(shared, 12)
    action = scene_model.people(scene)[0].animation_data.action.name
    start = scene.frame_start
    frames = [start + 5, start + 9]  # in the first batch of eight, and in the short last one
    take = sampler.whole_take(action, [0, 1, 2, 3], frames=range(start, start + 10))
    try:
        checked = _check_against_brute_force(
            scene, sampler, take, action, frames, [f - start for f in frames]
        )
    finally:
        sampler.restore()
    assert checked > 200


def _check_against_brute_force(scene, sampler, take, action, frames, rows=None):
    """Check every joint code (and face point code, when the sampler has face points) of
    ``take`` at ``frames`` (its rows ``rows``) against brute-force crossings; returns the count
    of rays checked."""
    import bpy

    from blendmimic3d_addon.blender import scene_model
    from blendmimic3d_addon.blender.face_points import label_rays
    from blendmimic3d_addon.blender.takes import play_take
    from blendmimic3d_addon.core.geometry import camera as cam
    from blendmimic3d_addon.core.occlusion import classify as occlusion
    from blendmimic3d_addon.core.occlusion import triangle_rays

    depsgraph = bpy.context.evaluated_depsgraph_get()
    people = scene_model.people(scene)
    owners = [(o, p) for p, arm in enumerate(people) for o in scene_model.body_meshes(arm, scene)]
    owners += [(o, occlusion.OBJECT_HIT) for o in scene_model.occluders(scene)]
    centres = cam.camera_centre(sampler.camera_set.RT)
    faces = sampler.face_points
    checked = 0
    play_take(scene, action)
    for frame, k in zip(frames, rows or range(len(frames)), strict=True):
        scene.frame_set(frame)
        corners, owner_of = [], []
        for obj, owner in owners:
            local, triangles, matrix = _world_triangles(obj, depsgraph)
            triangles = triangle_rays.outward_triangles(local, triangles)
            world = local @ matrix[:3, :3].T + matrix[:3, 3]
            corners.append(world[triangles])
            owner_of.append(np.full(len(triangles), owner))
        corners, owner_of = np.concatenate(corners), np.concatenate(owner_of)
        points = [(take.positions_3d[k], take.types, occlusion.classify_rays, 17)]
        if faces is not None:
            points.append((faces.positions[k], faces.by_camera()[2], label_rays, 5))
        for positions, types, rule, count in points:
            for c in range(4):
                codes = types[c][k]  # (P,count)
                for p in range(len(people)):
                    for j in range(count):
                        if codes[p, j] in (4, 5):  # out of frame, behind the camera
                            continue
                        end = positions[p, j]
                        hit, t, entering = _brute_force_crossings(centres[c], end, corners)
                        distance = np.array([np.linalg.norm(end - centres[c])])
                        crossings = (np.zeros(len(t), int), t, owner_of[hit])
                        if rule is occlusion.classify_rays:
                            crossings += (entering,)
                        expected = rule(*crossings, np.array([p]), distance)[0]
                        assert codes[p, j] == expected, (frame, c, p, j, count)
                        checked += 1
    return checked
