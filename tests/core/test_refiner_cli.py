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


def test_confidence_file_is_read_and_used(tmp_path, capsys):
    """``--confidence``: a (T,17) .npy or a one-array .npz (also (T,1,17)); the output is the
    runtime's with that confidence."""
    src, out = tmp_path / "pred.npy", tmp_path / "refined.npy"
    poses = _poses()
    np.save(src, poses)
    conf = np.ones((30, 17), np.float32)
    conf[5:25, [3, 13]] = 0.0
    expected = rf.Refiner().refine(poses, "h36m", confidence=conf)
    np.save(tmp_path / "c.npy", conf)
    np.savez(tmp_path / "c.npz", labels=conf[:, None])
    for name in ("c.npy", "c.npz"):
        args = ["refine", str(src), "--out", str(out), "--joint-order", "h36m"]
        assert cli.main([*args, "--confidence", str(tmp_path / name)]) == 0
        np.testing.assert_allclose(np.load(out), expected, atol=1e-6)
        assert "with confidence" in capsys.readouterr().out
    assert not np.allclose(expected, rf.Refiner().refine(poses, "h36m"), atol=1e-5)


def _confidence_error(tmp_path, capsys, name, write):
    src, out = tmp_path / "pred.npy", tmp_path / "never.npy"
    np.save(src, _poses())
    path = tmp_path / name
    write(path)
    args = ["refine", str(src), "--out", str(out), "--joint-order", "h36m"]
    assert cli.main([*args, "--confidence", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing written on an error
    return err


def test_confidence_file_errors_are_one_line(tmp_path, capsys):
    cases = [
        ("short.npy", lambda p: np.save(p, np.ones((29, 17))), "short.npy: confidence: expected "
         "(T, 17) per-joint confidence with T = 30 (the poses' frames), got shape (29, 17)"),
        ("range.npy", lambda p: np.save(p, np.full((30, 17), 2.0)), "range.npy: confidence: "
         "values must lie in [0, 1], found 2 to 2"),
        ("two.npz", lambda p: np.savez(p, a=np.ones((30, 17)), b=np.ones((30, 17))),
         "two.npz: choose the confidence array with a key (holds a, b)"),
        ("c.txt", lambda p: p.write_text("1"), "c.txt: confidence must be a .npy or .npz file"),
        ("nan.npy", lambda p: np.save(p, np.full((30, 17), np.nan)), "nan.npy: confidence: has "
         "NaN or infinite values"),
        ("pickle.npy", lambda p: np.save(p, np.array([{"a": 1}]), allow_pickle=True),
         "pickle.npy: holds pickled objects"),
    ]  # fmt: skip
    for name, write, message in cases:
        assert message in _confidence_error(tmp_path, capsys, name, write), name
    missing = tmp_path / "absent.npy"
    args = ["refine", "x", "--out", str(tmp_path / "o.npy"), "--joint-order", "h36m"]
    np.save(tmp_path / "x.npy", _poses())
    args[1] = str(tmp_path / "x.npy")
    assert cli.main([*args, "--confidence", str(missing)]) == 1
    assert "absent.npy: file is missing" in capsys.readouterr().err
