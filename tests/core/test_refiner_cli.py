"""``refine`` subcommand: plain Python entry, layouts kept, one-line errors."""

import numpy as np

from blendmimic3d_addon import cli
from blendmimic3d_addon.core.refine import runtime as rf


def _poses(n=30):
    rng = np.random.default_rng(0)
    poses = (0.3 * rng.standard_normal((n, 17, 3))).astype(np.float32)
    return poses - poses[:, :1]


def test_refine_command_keeps_layout_and_order(tmp_path, capsys):
    src, out = tmp_path / "pred.npy", tmp_path / "refined.npy"
    poses = _poses()
    np.save(src, poses[:, None])  # VideoPose3D's (T,1,17,3) float32
    assert cli.main(["refine", str(src), "--out", str(out), "--joint-order", "h36m"]) == 0
    written = np.load(out)
    assert written.shape == (30, 1, 17, 3) and written.dtype == np.float32
    expected = rf.Refiner().refine(poses, "h36m")
    np.testing.assert_allclose(written[:, 0], expected, atol=1e-6)
    text = capsys.readouterr().out
    assert "refined 30 frames" in text and "jitter" in text and "bone-length spread" in text


def test_refine_command_errors_are_one_line(tmp_path, capsys):
    src, out = tmp_path / "bad.npy", tmp_path / "never.npy"
    np.save(src, np.zeros((5, 17, 3), dtype=np.float32))
    assert cli.main(["refine", str(src), "--out", str(out), "--joint-order", "h36m"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.npy: poses: 5 of 5 frames" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_frames_an_estimator_left_nan_stay_nan_and_the_rest_is_refined(tmp_path, capsys):
    src, out = tmp_path / "gaps.npy", tmp_path / "refined.npy"
    poses = _poses()
    poses[[4, 5, 20]] = np.nan
    np.save(src, poses)
    assert cli.main(["refine", str(src), "--out", str(out), "--joint-order", "h36m"]) == 0
    written = np.load(out)
    missing = np.isnan(written).any(axis=(1, 2))
    assert missing.tolist() == [i in (4, 5, 20) for i in range(30)]
    np.testing.assert_allclose(written, rf.Refiner().refine(poses, "h36m"), atol=1e-6)


def test_too_few_complete_frames_is_one_line(tmp_path, capsys):
    src, out = tmp_path / "holes.npy", tmp_path / "never.npy"
    poses = _poses()
    poses[5:, 2] = np.nan  # one joint missing from frame 5 on: 5 complete frames, the model needs 9
    np.save(src, poses)
    assert cli.main(["refine", str(src), "--out", str(out), "--joint-order", "h36m"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "holes.npy" in err and "5 of 30 frames are complete" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_infinity_is_refused_naming_the_file(tmp_path, capsys):
    src = tmp_path / "inf.npy"
    poses = _poses()
    poses[3, 3, 0] = np.inf
    np.save(src, poses)
    assert (
        cli.main(["refine", str(src), "--out", str(tmp_path / "o.npy"), "--joint-order", "h36m"])
        == 1
    )
    assert "inf.npy: infinite value" in capsys.readouterr().err


def test_refine_command_requires_the_joint_order(tmp_path, capsys):
    src = tmp_path / "p.npy"
    np.save(src, _poses())
    assert cli.main(["refine", str(src), "--out", str(tmp_path / "o.npy")]) == 2
    assert "--joint-order" in capsys.readouterr().err


def test_python_dash_m_entry(tmp_path):
    src, out = tmp_path / "p.npz", tmp_path / "o.npz"
    np.savez(src, poses=_poses(20))
    from conftest import run_module

    result = run_module("refine", src, "--out", out, "--joint-order", "blendmimic3d")
    assert result.returncode == 0, result.stderr
    assert np.load(out)["poses"].shape == (20, 17, 3)
