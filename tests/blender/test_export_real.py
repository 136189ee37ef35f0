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

    from blendmimic3d_addon.blender.depth_check import run_depth_check
    from blendmimic3d_addon.core import dataset_io
    from blendmimic3d_addon.core.labels import OcclusionType as T

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

    from blendmimic3d_addon.blender.depth_check import run_depth_check

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
