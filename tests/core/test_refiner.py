"""Refiner runtime (onnxruntime + numpy) on the shipped model: windows, orders, NaN, errors."""

import numpy as np
import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.joints import convert_joint_order
from blendmimic3d_addon.core.refine import runtime as rf


@pytest.fixture(scope="module")
def model():
    return rf.Refiner(threads=1)


def _walk(n=40, seed=0, noise=0.01):
    """A plausible root-relative pose sequence (metres) with some noise, BlendMimic3D order."""
    rng = np.random.default_rng(seed)
    base = np.array(
        [
            [0, 0, 0],
            [0.1, 0.05, 0],
            [0.1, 0.45, 0],
            [0.1, 0.85, 0.05],
            [-0.1, 0.05, 0],
            [-0.1, 0.45, 0],
            [-0.1, 0.85, 0.05],
            [0, -0.25, 0],
            [0, -0.5, 0],
            [0, -0.6, -0.02],
            [0, -0.75, 0],
            [-0.18, -0.45, 0],
            [-0.25, -0.2, 0],
            [-0.28, 0.02, 0],
            [0.18, -0.45, 0],
            [0.25, -0.2, 0],
            [0.28, 0.02, 0],
        ]
    )
    t = np.arange(n)[:, None, None]
    swing = 0.1 * np.sin(t / 5.0) * np.array([0, 0, 1.0])
    poses = (
        base + swing * (np.arange(17)[None, :, None] % 3) + noise * rng.standard_normal((n, 17, 3))
    )
    poses -= poses[:, :1]
    return poses.astype(np.float32)


def test_model_is_found_and_has_a_window(model):
    assert model.model_path in rf.model_candidates()
    assert model.window % 2 == 1 and model.window >= 3
    assert model.metadata.get("joint_order") == "blendmimic3d"


def test_sliding_windows_are_centred_and_edge_padded():
    idx = rf.sliding_windows(5, 3)
    assert idx.tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 4]]


def test_each_frame_is_the_model_on_its_own_window(model):
    poses = _walk(30)
    out = model.refine(poses, "blendmimic3d", batch_size=7)
    windows = poses[rf.sliding_windows(len(poses), model.window)]
    direct = model.session.run(None, {model.input_name: windows})[0]
    np.testing.assert_allclose(out, direct, atol=1e-6)
    assert np.abs(out[:, 0]).max() == 0  # root stays at the root
    assert not np.allclose(out, poses)  # the model does change something


def test_batch_size_does_not_change_the_result(model):
    poses = _walk(50)
    a = model.refine(poses, "blendmimic3d", batch_size=1)
    b = model.refine(poses, "blendmimic3d", batch_size=512)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_h36m_order_is_converted_in_and_out(model):
    poses = _walk(25)
    in_bm3d = model.refine(poses, "blendmimic3d")
    h36m = convert_joint_order(poses, "blendmimic3d", "h36m")
    in_h36m = model.refine(h36m, "h36m")
    np.testing.assert_allclose(
        convert_joint_order(in_h36m, "h36m", "blendmimic3d"), in_bm3d, atol=1e-6
    )
    # stating the wrong order gives another answer: the order matters
    assert not np.allclose(model.refine(h36m, "blendmimic3d"), in_h36m, atol=1e-4)


def test_root_trajectory_is_kept(model):
    poses = _walk(20)
    moved = poses + np.array([1.0, -0.5, 4.0], dtype=np.float32)
    out = model.refine(moved, "blendmimic3d")
    np.testing.assert_allclose(out[:, 0], moved[:, 0], atol=1e-6)
    np.testing.assert_allclose(out - out[:, :1], model.refine(poses, "blendmimic3d"), atol=1e-5)


def test_nan_frames_stay_nan_and_the_rest_is_refined(model):
    poses = _walk(30)
    poses[[0, 10, 11]] = np.nan
    out = model.refine(poses, "blendmimic3d")
    assert np.isnan(out[[0, 10, 11]]).all()
    assert np.isfinite(np.delete(out, [0, 10, 11], axis=0)).all()


def test_progress_is_reported_per_batch(model):
    calls = []
    model.refine(
        _walk(25), "blendmimic3d", batch_size=10, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(10, 25), (20, 25), (25, 25)]


def test_too_short_sequence_is_a_clear_error(model):
    with pytest.raises(DatasetError, match=r"in\.npy: poses: 3 of 3 frames .* at least 9"):
        model.refine(_walk(3), "h36m", path="in.npy")


def test_mostly_nan_sequence_is_a_clear_error(model):
    poses = _walk(20)
    poses[5:] = np.nan
    with pytest.raises(DatasetError, match="5 of 20 frames are complete"):
        model.refine(poses, "h36m")


def test_wrong_shape_and_order_are_clear_errors(model):
    with pytest.raises(DatasetError, match=r"expected \(T, 17, 3\).*\(10, 16, 3\)"):
        model.refine(np.zeros((10, 16, 3)), "h36m")
    with pytest.raises(DatasetError, match="joint_order: must be one of"):
        model.refine(_walk(20), "coco")


def test_missing_or_broken_model_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    with pytest.raises(DatasetError, match="broken.onnx: cannot load the ONNX model"):
        rf.Refiner(str(broken))


def test_fill_missing_frames_interpolates_linearly():
    poses = np.zeros((5, 17, 3))
    poses[:, :, 0] = np.arange(5)[:, None]
    bad = np.array([False, True, True, False, False])
    poses[bad] = np.nan
    filled = rf.fill_missing_frames(poses, bad)
    np.testing.assert_allclose(filled[:, 3, 0], [0, 1, 2, 3, 4])


def test_smoothness_sees_jitter_and_bone_spread():
    poses = _walk(40, noise=0.0)
    rng = np.random.default_rng(1)
    noisy = poses + 0.02 * rng.standard_normal(poses.shape).astype(np.float32)
    clean, shaky = rf.smoothness(poses), rf.smoothness(noisy)
    assert shaky["jitter_mm"] > 2 * clean["jitter_mm"]
    assert shaky["bone_std_mm"] > clean["bone_std_mm"]


def test_smoothness_counts_complete_frames_and_needs_three_in_a_row(recwarn):
    poses = _walk(6, noise=0.0).astype(np.float64)
    poses[[1, 4], 3] = np.nan  # one joint missing makes the whole frame missing
    result = rf.smoothness(poses)
    assert result["frames"] == 4
    assert np.isnan(result["jitter_mm"])  # complete frames 0, 2, 3, 5: never three in a row
    assert np.isfinite(result["bone_std_mm"])
    poses[4] = _walk(6, noise=0.0)[4]
    assert rf.smoothness(poses)["frames"] == 5
    assert np.isfinite(rf.smoothness(poses)["jitter_mm"])  # frames 2, 3, 4
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
