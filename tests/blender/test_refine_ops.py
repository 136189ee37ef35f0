"""Pose Refiner in real Blender: import, refine (with ground truth), export, and the error paths."""

import json

import numpy as np
import pytest

from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.geometry.camera import project, world_to_camera
from blendmimic3d_addon.core.joints import convert_joint_order
from blendmimic3d_addon.core.refine import runtime as rf
from blendmimic3d_addon.core.refine.metrics import bone_lengths

T = 30


def _world_walk(n=T):
    """A person walking in a world frame with z up (metres), BlendMimic3D order."""
    up = np.array(
        [
            [0, 0, 1.0],
            [0.1, 0, 0.95],
            [0.1, 0, 0.5],
            [0.1, 0.05, 0.08],
            [-0.1, 0, 0.95],
            [-0.1, 0, 0.5],
            [-0.1, 0.05, 0.08],
            [0, 0, 1.25],
            [0, 0, 1.5],
            [0, 0.02, 1.6],
            [0, 0, 1.75],
            [-0.18, 0, 1.45],
            [-0.25, 0, 1.2],
            [-0.28, 0, 0.98],
            [0.18, 0, 1.45],
            [0.25, 0, 1.2],
            [0.28, 0, 0.98],
        ]
    )
    t = np.arange(n)[:, None, None]
    return up + np.array([0.0, 0.02, 0.0]) * t + 0.03 * np.sin(t / 4.0) * np.array([1.0, 0, 0])


def _camera():
    """One camera 4 m in front of the walk, looking along +y at 1 m height (world -> CV)."""
    R = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    C = np.array([0.0, -4.0, 1.0])
    RT = np.hstack([R, (-R @ C)[:, None]])
    K = np.array([[800.0, 0, 500], [0, 800, 501], [0, 0, 1]])
    return dio.Cameras(["Camera_0"], K[None], RT[None], [(1000, 1002)])


@pytest.fixture
def dataset(tmp_path):
    """A one-camera subject S1 with action Walk, written with the core writers."""
    subject = tmp_path / "S1"
    cameras = _camera()
    dio.write_cameras(str(subject), "S1", cameras)
    world = _world_walk()
    dio.write_positions_3d(str(subject), "Walk", world)
    dio.write_positions_2d(str(subject), "Walk", project(world, cameras.P))
    visible = np.ones((T, 17))
    visible[5:15, 13] = 0  # the right hand hidden for ten frames
    dio.write_occlusions(str(subject), "Walk", [visible])
    in_cam = world_to_camera(world, cameras.RT)[0]
    return subject, in_cam - in_cam[:, :1], visible


@pytest.fixture
def predictions(tmp_path, dataset):
    """VideoPose3D-like output: (T,1,17,3) float32, H36M order, noisy ground truth."""
    _, gt, _ = dataset
    rng = np.random.default_rng(0)
    noisy = gt + 0.03 * rng.standard_normal(gt.shape)
    noisy -= noisy[:, :1]
    h36m = convert_joint_order(noisy, "blendmimic3d", "h36m").astype(np.float32)[:, None]
    path = tmp_path / "vp3d.npy"
    np.save(path, h36m)
    return path, h36m


def _skeletons(kind):
    import bpy

    return [o for o in bpy.data.objects if o.get("bm3d_pred_kind") == kind]


def _import(path, order="h36m"):
    import bpy

    assert bpy.ops.blendmimic3d.import_predictions(filepath=str(path), joint_order=order) == {
        "FINISHED"
    }
    return _skeletons("input")[-1]


def test_import_makes_an_animated_skeleton(clean_scene, predictions):
    import bpy

    path, h36m = predictions
    obj = _import(path)
    assert obj.type == "MESH" and len(obj.data.vertices) == 17 and len(obj.data.edges) == 16
    assert obj.hide_render  # an overlay, not part of the scene the dataset renders
    assert bpy.context.view_layer.objects.active == obj
    np.testing.assert_allclose(
        np.array(obj["bm3d_pred_poses"]).reshape(-1, 17, 3), h36m[:, 0], atol=1e-7
    )
    # the display follows the poses frame by frame (camera x, z, -y shown Z-up)
    scene = clean_scene
    for k in (0, 7, T - 1):
        scene.frame_set(scene.frame_start + k)
        mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
        co = np.array([v.co[:] for v in mesh.vertices])
        pose = h36m[k, 0]
        expected = np.stack([pose[:, 0], pose[:, 2], -pose[:, 1]], axis=-1)
        np.testing.assert_allclose(co, expected, atol=1e-6)
    assert scene.frame_end >= scene.frame_start + T - 1


def test_import_bad_file_reports_and_changes_nothing(clean_scene, tmp_path):
    import bpy

    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((10, 16, 3), dtype=np.float32))
    before = len(bpy.data.objects), len(bpy.data.meshes)
    with pytest.raises(RuntimeError, match=r"bad\.npy.*shape \(10, 16, 3\)"):
        bpy.ops.blendmimic3d.import_predictions(filepath=str(bad), joint_order="h36m")
    assert (len(bpy.data.objects), len(bpy.data.meshes)) == before


def test_refine_adds_refined_skeleton_beside_with_metrics_and_plot(
    clean_scene, predictions, dataset
):
    import bpy

    path, h36m = predictions
    subject, gt, visible = dataset
    source = _import(path)
    settings = clean_scene.bm3d_refine
    settings.ground_truth = "DATASET"
    settings.gt_folder, settings.gt_action, settings.gt_camera = str(subject), "Walk", 0
    assert bpy.ops.blendmimic3d.refine_predictions() == {"FINISHED"}

    (refined,) = _skeletons("refined")
    assert refined["bm3d_pred_refined_of"] == source.name
    assert tuple(refined.location) == pytest.approx((1.0, 0.0, 0.0))
    expected = rf.Refiner().refine(h36m[:, 0], "h36m")
    stored = np.array(refined["bm3d_pred_poses"]).reshape(-1, 17, 3)
    np.testing.assert_allclose(stored, expected, atol=1e-6)

    report = json.loads(settings.results)
    pred_bm3d = convert_joint_order(h36m[:, 0], "h36m", "blendmimic3d")
    raw = 1000 * np.linalg.norm(pred_bm3d - gt, axis=-1)
    assert report["before"]["mpjpe"] == pytest.approx(raw.mean(), rel=1e-5)
    assert report["before"]["occluded"] == pytest.approx(raw[visible == 0].mean(), rel=1e-5)
    assert len(report["after"]["per_joint"]) == 17 and len(report["after"]["per_frame"]) == T
    assert report["after"]["p_mpjpe"] > 0
    image = bpy.data.images["BM3D Refiner Error"]
    assert tuple(image.size) == (600, 200)
    pixels = np.array(image.pixels[:]).reshape(200, 600, 4)
    assert (pixels[..., :3] < 0.8).any()  # curves were drawn


def test_refine_twice_replaces_the_refined_skeleton(clean_scene, predictions):
    import bpy

    _import(predictions[0])
    bpy.ops.blendmimic3d.refine_predictions()
    bpy.ops.blendmimic3d.refine_predictions()
    assert len(_skeletons("refined")) == 1
    report = json.loads(clean_scene.bm3d_refine.results)
    assert "mpjpe" not in report["before"]  # no ground truth chosen: smoothness only
    assert report["after"]["jitter_mm"] < report["before"]["jitter_mm"]


def test_refine_without_a_skeleton_reports(clean_scene):
    import bpy

    with pytest.raises(RuntimeError, match="Select an imported predictions skeleton"):
        bpy.ops.blendmimic3d.refine_predictions()
    assert not _skeletons("refined")


def test_refine_with_mismatched_ground_truth_changes_nothing(clean_scene, tmp_path, dataset):
    import bpy

    subject, gt, _ = dataset
    short = tmp_path / "short.npy"
    np.save(short, gt[:20].astype(np.float32))
    _import(short, "blendmimic3d")
    settings = clean_scene.bm3d_refine
    settings.ground_truth = "DATASET"
    settings.gt_folder, settings.gt_action = str(subject), "Walk"
    objects = len(bpy.data.objects)
    with pytest.raises(RuntimeError, match="positions_3d: 30 frames where the predictions have 20"):
        bpy.ops.blendmimic3d.refine_predictions()
    assert len(bpy.data.objects) == objects and not _skeletons("refined")
    assert settings.results == ""


def test_refine_too_short_sequence_reports(clean_scene, tmp_path):
    import bpy

    short = tmp_path / "tiny.npy"
    np.save(short, np.zeros((4, 17, 3), dtype=np.float32))
    _import(short)
    with pytest.raises(RuntimeError, match=r"tiny\.npy: poses: 4 of 4 frames .* at least"):
        bpy.ops.blendmimic3d.refine_predictions()
    assert not _skeletons("refined")


def test_export_refined_keeps_the_input_layout(clean_scene, predictions, tmp_path):
    import bpy

    path, h36m = predictions
    _import(path)
    bpy.ops.blendmimic3d.refine_predictions()
    out = tmp_path / "refined.npy"
    assert bpy.ops.blendmimic3d.export_refined(filepath=str(out)) == {"FINISHED"}
    written = np.load(out)
    assert written.shape == h36m.shape and written.dtype == np.float32
    (refined,) = _skeletons("refined")
    stored = np.array(refined["bm3d_pred_poses"]).reshape(-1, 17, 3)
    np.testing.assert_allclose(written[:, 0], stored, atol=1e-6)


def test_export_refined_dict_layout(clean_scene, predictions, tmp_path):
    import bpy

    from blendmimic3d_addon.core.format.predictions import load_predictions
    from blendmimic3d_addon.core.format.safe_npz import object_scalar, write_npz

    _, h36m = predictions
    src = tmp_path / "vp3d_dict.npz"
    write_npz(str(src), {"positions_3d": object_scalar({"S9": {"Walk": [h36m[:, 0]]}})}, True)
    obj = _import(src)
    assert obj["bm3d_pred_source"] == str(src)
    bpy.ops.blendmimic3d.refine_predictions()
    out = tmp_path / "vp3d_dict_refined.npz"
    assert bpy.ops.blendmimic3d.export_refined(filepath=str(out)) == {"FINISHED"}
    poses = load_predictions(str(out), key="S9/Walk/0")
    (refined,) = _skeletons("refined")
    np.testing.assert_allclose(
        poses, np.array(refined["bm3d_pred_poses"]).reshape(-1, 17, 3), atol=1e-6
    )


def test_export_errors_write_nothing(clean_scene, predictions, tmp_path):
    import bpy

    out = tmp_path / "out.npz"
    _import(predictions[0])
    with pytest.raises(RuntimeError, match="run Refine first"):
        bpy.ops.blendmimic3d.export_refined(filepath=str(out))
    bpy.ops.blendmimic3d.refine_predictions()
    with pytest.raises(RuntimeError, match=r"use the input's extension \(\.npy\)"):
        bpy.ops.blendmimic3d.export_refined(filepath=str(out))
    assert not out.exists()


def test_panel_and_settings_register_and_unregister_cleanly(addon):
    import importlib

    import bpy

    module = importlib.import_module(f"{addon}.blender")  # the panel is in blender.ui
    panel = bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_refiner")
    assert panel.bl_parent_id == "BM3D_PT_main" and panel.bl_order == 60
    assert hasattr(bpy.types.Scene, "bm3d_refine")
    module.unregister()
    try:
        assert not hasattr(bpy.types.Scene, "bm3d_refine")
        assert bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_refiner") is None
        for name in ("import_predictions", "refine_predictions", "export_refined"):
            with pytest.raises(KeyError):
                getattr(bpy.ops.blendmimic3d, name).get_rna_type()
    finally:
        module.register()


def test_refine_against_a_person_in_the_scene(addon, tmp_path):
    """Ground truth from the scene: the primary person's take seen by a dataset camera, with
    the exporter's occlusion labels."""
    import bpy
    from test_export import build_scene

    from blendmimic3d_addon.blender.sampling import SceneSampler
    from blendmimic3d_addon.core.occlusion.labels import legacy_labels

    scene = build_scene(people=2)
    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    action = sampler.people[0].animation_data.action.name
    take = sampler.whole_take(action, [1])
    sampler.restore()
    world = take.positions_3d[:, 0]
    in_cam = world_to_camera(world, sampler.camera_set.RT[1:2])[0]
    gt = in_cam - in_cam[:, :1]
    visible = legacy_labels(take.types[1][:, 0])
    rng = np.random.default_rng(3)
    pred = (gt + 0.02 * rng.standard_normal(gt.shape)).astype(np.float32)
    path = tmp_path / "scene_pred.npy"
    np.save(path, pred)
    _import(path, "blendmimic3d")
    settings = scene.bm3d_refine
    settings.ground_truth, settings.gt_camera = "SCENE", 1
    frame = scene.frame_current
    assert bpy.ops.blendmimic3d.refine_predictions() == {"FINISHED"}
    assert scene.frame_current == frame  # the sampler put the frame back
    report = json.loads(settings.results)
    raw = 1000 * np.linalg.norm(pred - pred[:, :1] - gt, axis=-1)
    assert report["before"]["mpjpe"] == pytest.approx(raw.mean(), rel=1e-5)
    assert report["occluded_share"] == pytest.approx(1 - visible.mean())
    settings.gt_camera = 7
    with pytest.raises(RuntimeError, match="camera: 7 out of range 0..3"):
        bpy.ops.blendmimic3d.refine_predictions()


def test_blender_command_line_hook_refines(addon, predictions, tmp_path, capsys):
    """``blender -b -c blendmimic3d refine IN --out OUT --joint-order h36m``, through the handler
    the extension registered (no Blender executable here: called as Blender would call it)."""
    import importlib

    hook = importlib.import_module(f"{addon}.blender.cli_hook")
    path, h36m = predictions
    out = tmp_path / "hook_refined.npy"
    assert hook._execute(["refine", str(path), "--out", str(out), "--joint-order", "h36m"]) == 0
    assert np.load(out).shape == h36m.shape
    assert "refined 30 frames" in capsys.readouterr().out
    bad = tmp_path / "hook_bad.npy"
    np.save(bad, np.zeros((3, 17, 3), dtype=np.float32))
    assert hook._execute(["refine", str(bad), "--out", str(out), "--joint-order", "h36m"]) == 1
    assert "hook_bad.npy: poses: 3 of 3 frames" in capsys.readouterr().err


# ---- predictions with missing frames (NaN), as real estimators write them ----------------------

MISSING = [0, 10, 11, 12, 20]  # frame 20 lacks one joint only: missing whole, as for the refiner


def _with_gaps(h36m, path):
    gaps = h36m.copy()
    gaps[MISSING[:-1]] = np.nan
    gaps[20, 0, 13] = np.nan
    np.save(path, gaps)
    return path, gaps


@pytest.fixture
def gappy(tmp_path, predictions):
    """The VideoPose3D-like predictions with frames 0 and 10-12 NaN and one joint of frame 20."""
    return _with_gaps(predictions[1], tmp_path / "gaps.npy")


def _is_missing(poses):
    return ~np.isfinite(poses).all(axis=(1, 2))


def test_import_with_missing_frames_hides_the_skeleton_there(clean_scene, gappy, capfd):
    import bpy

    path, gaps = gappy
    obj = _import(path)
    assert "Imported 30 frames from gaps.npy; 5 missing (NaN)" in capfd.readouterr().out
    np.testing.assert_array_equal(np.array(obj["bm3d_pred_poses"]).reshape(-1, 17, 3), gaps[:, 0])
    scene = clean_scene
    for k in range(T):
        scene.frame_set(scene.frame_start + k)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        shown = any(o.original == obj for o in depsgraph.objects)
        assert shown == (k not in MISSING), k
        if shown:
            co = np.array([v.co[:] for v in obj.evaluated_get(depsgraph).data.vertices])
            pose = gaps[k, 0]
            expected = np.stack([pose[:, 0], pose[:, 2], -pose[:, 1]], axis=-1)
            np.testing.assert_allclose(co, expected, atol=1e-6)


def test_import_refuses_infinity_and_all_missing_files_changing_nothing(clean_scene, tmp_path):
    import bpy

    before = len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.actions)
    inf = tmp_path / "inf.npy"
    poses = np.zeros((20, 17, 3), dtype=np.float32)
    poses[3, 4, 1] = np.inf
    np.save(inf, poses)
    with pytest.raises(RuntimeError, match=r"inf\.npy: infinite value"):
        bpy.ops.blendmimic3d.import_predictions(filepath=str(inf), joint_order="h36m")
    empty = tmp_path / "empty.npy"
    poses[:, 5] = np.nan
    poses[3, 4, 1] = 0
    np.save(empty, poses)
    with pytest.raises(RuntimeError, match=r"empty\.npy: no complete frame \(NaN in every one\)"):
        bpy.ops.blendmimic3d.import_predictions(filepath=str(empty), joint_order="h36m")
    assert (len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.actions)) == before
    assert clean_scene.bm3d_refine.filepath == ""


def test_refine_leaves_missing_frames_nan_and_refines_the_rest(clean_scene, gappy, capfd):
    import bpy

    path, gaps = gappy
    source = _import(path)
    assert bpy.ops.blendmimic3d.refine_predictions() == {"FINISHED"}
    assert "(5 missing frames left empty)" in capfd.readouterr().out
    (refined,) = _skeletons("refined")
    stored = np.array(refined["bm3d_pred_poses"]).reshape(-1, 17, 3)
    assert np.flatnonzero(_is_missing(stored)).tolist() == MISSING
    assert np.isnan(stored[MISSING]).all()  # missing whole, also frame 20's other joints
    kept = np.delete(np.arange(T), MISSING)
    assert np.abs(stored[kept] - gaps[kept, 0]).max() > 1e-3  # the refiner changed them
    np.testing.assert_allclose(stored, rf.Refiner().refine(gaps[:, 0], "h36m"), atol=1e-6)
    # the refined skeleton is hidden on the same frames
    for k in (11, 14):
        clean_scene.frame_set(clean_scene.frame_start + k)
        assert refined.hide_viewport == (k in MISSING) == source.hide_viewport
    # smoothness without ground truth counts the complete frames only
    report = json.loads(clean_scene.bm3d_refine.results)
    assert (report["frames"], report["total"]) == (T - len(MISSING), T)
    complete = gaps[kept, 0].astype(np.float64)
    spread = 1000 * bone_lengths(complete).std(0).mean()
    assert report["before"]["bone_std_mm"] == pytest.approx(spread, rel=1e-6)
    # jitter over runs of three complete frames; frame 20's 16 finite joints do not count
    whole = np.where(_is_missing(gaps[:, 0])[:, None, None], np.nan, gaps[:, 0].astype(float))
    accel = np.linalg.norm(np.diff(whole, n=2, axis=0), axis=-1)
    assert report["before"]["jitter_mm"] == pytest.approx(1000 * np.nanmean(accel), rel=1e-6)
    assert report["after"]["jitter_mm"] < report["before"]["jitter_mm"]


def test_metrics_and_plot_leave_missing_frames_out(clean_scene, gappy, dataset):
    import bpy

    path, gaps = gappy
    subject, gt, visible = dataset
    _import(path)
    settings = clean_scene.bm3d_refine
    settings.ground_truth = "DATASET"
    settings.gt_folder, settings.gt_action, settings.gt_camera = str(subject), "Walk", 0
    assert bpy.ops.blendmimic3d.refine_predictions() == {"FINISHED"}
    report = json.loads(settings.results)
    assert (report["frames"], report["total"]) == (T - len(MISSING), T)
    kept = np.delete(np.arange(T), MISSING)
    pred = convert_joint_order(gaps[kept, 0], "h36m", "blendmimic3d")
    raw = 1000 * np.linalg.norm(pred - gt[kept], axis=-1)
    assert report["before"]["mpjpe"] == pytest.approx(raw.mean(), rel=1e-5)
    labels = visible[kept]
    assert report["before"]["occluded"] == pytest.approx(raw[labels == 0].mean(), rel=1e-5)
    assert report["occluded_share"] == pytest.approx((labels == 0).mean())
    for name in ("before", "after"):
        per_frame = np.array(report[name]["per_frame"])
        assert np.flatnonzero(np.isnan(per_frame)).tolist() == MISSING
        assert np.isfinite(report[name]["mpjpe"]) and np.isfinite(report[name]["p_mpjpe"])
    # the plot has a gap at frames 10-12 and curves either side
    pixels = np.array(bpy.data.images["BM3D Refiner Error"].pixels[:]).reshape(200, 600, 4)
    drawn = (pixels[..., :3] < 0.8).any(axis=(0, 2))
    column = [round(k / (T - 1) * 599) for k in (5, 11, 16)]
    assert drawn[column[0]] and not drawn[column[1]] and drawn[column[2]]


def _refine_and_export(path, out, order="h36m"):
    import bpy

    assert bpy.ops.blendmimic3d.import_predictions(filepath=str(path), joint_order=order) == {
        "FINISHED"
    }
    assert bpy.ops.blendmimic3d.refine_predictions() == {"FINISHED"}
    assert bpy.ops.blendmimic3d.export_refined(filepath=str(out)) == {"FINISHED"}
    return np.load(out)


def _command_line_refine(path, out):
    from conftest import run_module

    result = run_module("refine", path, "--out", out, "--joint-order", "h36m")
    assert result.returncode == 0, result.stderr
    return np.load(out)


def test_export_with_missing_frames_equals_the_command_line(clean_scene, gappy, tmp_path):
    path, gaps = gappy
    written = _refine_and_export(path, tmp_path / "gaps_refined.npy")
    expected = _command_line_refine(path, tmp_path / "cli.npy")
    assert written.shape == expected.shape == gaps.shape and written.dtype == np.float32
    assert np.flatnonzero(_is_missing(written[:, 0])).tolist() == MISSING
    np.testing.assert_array_equal(np.isnan(written), np.isnan(expected))
    np.testing.assert_allclose(written, expected, atol=1e-6)


def test_real_predictions_with_dropped_frames_equal_the_command_line(clean_scene, shared, tmp_path):
    """The real VideoPose3D output with detections dropped for runs of frames."""
    real = np.load(shared("predictions", "vp3d_predictions.npy"))
    gaps = real.copy()
    gaps[[0, 1, 57, 200, 201, 202, 203, 395]] = np.nan
    gaps[120, 0, 16, 2] = np.nan
    path = tmp_path / "vp3d_gaps.npy"
    np.save(path, gaps)
    written = _refine_and_export(path, tmp_path / "vp3d_gaps_refined.npy")
    expected = _command_line_refine(path, tmp_path / "vp3d_cli.npy")
    missing = _is_missing(gaps[:, 0])
    assert written.shape == real.shape and missing.sum() == 9
    np.testing.assert_array_equal(_is_missing(written[:, 0]), missing)
    np.testing.assert_array_equal(np.isnan(written), np.isnan(expected))
    np.testing.assert_allclose(written, expected, atol=1e-6)


def test_too_few_complete_frames_is_one_message_and_changes_nothing(clean_scene, predictions):
    import bpy

    path, h36m = predictions
    _import(path)
    bpy.ops.blendmimic3d.refine_predictions()  # an earlier refinement stays as it was
    holes = path.parent / "holes.npy"
    poses = h36m.copy()
    poses[5:, 0, 2] = np.nan  # one joint missing from frame 5 on: 5 complete frames
    np.save(holes, poses)
    _import(holes)
    state = (
        sorted(o.name for o in bpy.data.objects),
        len(bpy.data.meshes),
        len(bpy.data.actions),
        clean_scene.bm3d_refine.results,
    )
    with pytest.raises(RuntimeError, match=r"holes\.npy: poses: 5 of 30 frames are complete"):
        bpy.ops.blendmimic3d.refine_predictions()
    after = (
        sorted(o.name for o in bpy.data.objects),
        len(bpy.data.meshes),
        len(bpy.data.actions),
        clean_scene.bm3d_refine.results,
    )
    assert after == state and len(_skeletons("refined")) == 1


def test_refining_again_removes_the_old_skeleton_with_its_actions(clean_scene, gappy):
    import bpy

    _import(gappy[0])
    bpy.ops.blendmimic3d.refine_predictions()
    counts = len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.actions)
    bpy.ops.blendmimic3d.refine_predictions()
    assert (len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.actions)) == counts


# The Blender side of the windowed panel test: the Refiner panel's own draw code runs in the 3D
# Viewport's header (always drawn) after a refinement without and with ground truth.
PANEL_SCRIPT = """
import sys, traceback
import bpy
sys.path[:0] = [{tests!r}, {helpers!r}]
from windowed import Harness
harness = Harness()
seen, then = harness.seen, harness.then
import conftest
drawn = {{"ok": [], "errors": []}}

def draw_refiner(self, context):
    settings = context.scene.bm3d_refine
    variant = f"{{settings.ground_truth}}/{{settings.show_per_joint}}"
    try:
        bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_refiner").draw(self, context)
        drawn["ok"].append(variant)
    except Exception:
        drawn["errors"].append(traceback.format_exc())

def start():
    next(conftest.addon.__wrapped__())
    path, subject = harness.args
    bpy.ops.blendmimic3d.import_predictions(filepath=path, joint_order="h36m")
    seen["refine"] = [list(bpy.ops.blendmimic3d.refine_predictions())]
    bpy.types.VIEW3D_HT_header.append(draw_refiner)
    then(lambda: with_ground_truth(subject), 1.0)

def with_ground_truth(subject):
    settings = bpy.context.scene.bm3d_refine
    settings.ground_truth, settings.gt_folder, settings.gt_action = "DATASET", subject, "Walk"
    settings.show_per_joint = True
    seen["refine"].append(list(bpy.ops.blendmimic3d.refine_predictions()))
    for area in bpy.context.window_manager.windows[0].screen.areas:
        area.tag_redraw()
    then(done, 1.0)

def done():
    bpy.types.VIEW3D_HT_header.remove(draw_refiner)
    seen["drawn"], seen["errors"] = sorted(set(drawn["ok"])), drawn["errors"]
    harness.finish()

then(start, 0.5)
"""


def test_panel_draws_metrics_with_missing_frames(gappy, dataset, tmp_path):
    """In a windowed Blender (Xvfb): the panel draws the results of a refinement of a file with
    missing frames, smoothness only and then against ground truth with the per-joint rows."""
    import pathlib

    from windowed import run_windowed

    script = tmp_path / "ui_refiner.py"
    tests = pathlib.Path(__file__).parent.parent  # conftest.py; the helpers beside it
    script.write_text(PANEL_SCRIPT.format(tests=str(tests), helpers=str(tests / "helpers")))
    seen = run_windowed(str(script), gappy[0], dataset[0])
    assert seen["refine"] == [["FINISHED"], ["FINISHED"]]
    assert seen["errors"] == []
    assert seen["drawn"] == ["DATASET/True", "NONE/False"]


def test_refine_with_a_confidence_file_uses_it(clean_scene, predictions, dataset, tmp_path):
    """The panel's Confidence file (the dataset's labels, in the predictions' order) reaches
    the model: the result is the runtime's with that confidence, not without."""
    import bpy

    path, h36m = predictions
    _, _, visible = dataset
    labels = convert_joint_order(visible[..., None], "blendmimic3d", "h36m")[..., 0]
    conf_path = tmp_path / "labels.npy"
    np.save(conf_path, labels.astype(np.float32))
    _import(path)
    clean_scene.bm3d_refine.confidence_path = str(conf_path)
    assert bpy.ops.blendmimic3d.refine_predictions() == {"FINISHED"}
    (refined,) = _skeletons("refined")
    stored = np.array(refined["bm3d_pred_poses"]).reshape(-1, 17, 3)
    model = rf.Refiner()
    expected = model.refine(h36m[:, 0], "h36m", confidence=labels)
    np.testing.assert_allclose(stored, expected, atol=1e-6)
    assert not np.allclose(stored, model.refine(h36m[:, 0], "h36m"), atol=1e-5)


def test_a_bad_confidence_file_reports_and_changes_nothing(clean_scene, predictions, tmp_path):
    import bpy

    path, _ = predictions
    _import(path)
    bpy.ops.blendmimic3d.refine_predictions()  # an earlier refinement stays as it was
    settings = clean_scene.bm3d_refine
    state = (sorted(o.name for o in bpy.data.objects), len(bpy.data.actions), settings.results)
    bad = tmp_path / "scores.npy"
    np.save(bad, np.ones((T - 1, 17), np.float32))
    settings.confidence_path = str(bad)
    with pytest.raises(RuntimeError, match=r"scores\.npy: confidence: expected \(T, 17\)"):
        bpy.ops.blendmimic3d.refine_predictions()
    np.save(bad, np.full((T, 17), 3.0, np.float32))
    with pytest.raises(RuntimeError, match=r"values must lie in \[0, 1\]"):
        bpy.ops.blendmimic3d.refine_predictions()
    after = (sorted(o.name for o in bpy.data.objects), len(bpy.data.actions), settings.results)
    assert after == state and len(_skeletons("refined")) == 1
