"""``refine`` on the inputs and outputs an adversarial user gives it (issue 11, items 6 and 8):
one line naming the file and what is wrong, exit 1, and nothing written or changed."""

import os
import stat

import numpy as np
import pytest

from blendmimic3d_addon import cli
from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.refine import runtime as rf


def _poses(n=30):
    rng = np.random.default_rng(3)
    poses = 0.3 * rng.standard_normal((n, 17, 3))
    return poses - poses[:, :1] + [0.1, 0.2, 4.0]


def _refine(src, out, *extra):
    return cli.main(["refine", str(src), "--out", str(out), "--joint-order", "h36m", *extra])


def _one_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_value_beyond_float32_is_refused_not_blanked(tmp_path, capsys):
    src, out = tmp_path / "huge.npy", tmp_path / "out.npy"
    poses = _poses()
    poses[12, 4, 1] = 1e300
    np.save(src, poses)
    assert _refine(src, out) == 1
    line = _one_line(capsys)
    assert f"{src}: poses: " in line and "1e+300 at (12, 4, 1)" in line
    assert not out.exists()


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64])
def test_integer_input_is_not_truncated(tmp_path, capsys, dtype):
    """Millimetre integers: refined values are not whole, so writing them as integers would
    truncate; the command says so instead."""
    src, out = tmp_path / "mm.npy", tmp_path / "out.npy"
    np.save(src, np.round(_poses() * 1000).astype(dtype))
    assert _refine(src, out) == 1
    line = _one_line(capsys)
    assert f"{out}: the input holds {np.dtype(dtype).name} poses" in line
    assert "would truncate" in line and not out.exists()


def test_integer_input_computes_in_float(tmp_path):
    """The refiner reads integer millimetres as float: the same result as the float input."""
    refiner = rf.Refiner()
    millimetres = np.round(_poses() * 1000)
    as_int = refiner.refine(millimetres.astype(np.int32), "h36m")
    as_float = refiner.refine(millimetres, "h36m")
    assert as_int.dtype == np.float64
    np.testing.assert_allclose(as_int, as_float, rtol=1e-6)


@pytest.mark.parametrize("src_name, out_name", [("p.npy", "o.npz"), ("p.npz", "o.npy"),
                                                ("p.npy", "o.txt")])  # fmt: skip
def test_out_in_another_container_is_refused(tmp_path, capsys, src_name, out_name):
    src, out = tmp_path / src_name, tmp_path / out_name
    if src_name.endswith(".npy"):
        np.save(src, _poses())
    else:
        np.savez(src, poses=_poses())
    assert _refine(src, out) == 1
    line = _one_line(capsys)
    assert f"{out}: " in line and f"{src.suffix} like IN" in line and not out.exists()


def test_out_equal_to_the_input_needs_a_flag(tmp_path, capsys):
    src = tmp_path / "p.npy"
    np.save(src, _poses())
    before = src.read_bytes()
    assert _refine(src, src) == 1
    assert "is IN itself" in _one_line(capsys) and src.read_bytes() == before
    link = tmp_path / "link.npy"
    os.symlink(src, link)
    assert _refine(src, link) == 1  # the same file under another name
    assert "is IN itself" in _one_line(capsys) and src.read_bytes() == before
    assert _refine(src, src, "--in-place") == 0
    assert src.read_bytes() != before and np.load(src).shape == (30, 17, 3)


@pytest.mark.parametrize("threads", ["-5", "-1", "x"])
def test_bad_thread_counts_are_refused(tmp_path, capsys, threads):
    src = tmp_path / "p.npy"
    np.save(src, _poses())
    assert _refine(src, tmp_path / "o.npy", "--threads", threads) == 2
    assert "--threads" in capsys.readouterr().err
    with pytest.raises(DatasetError, match="threads"):
        rf.Refiner(threads=-5)


def _out_cases(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    plain = tmp_path / "plain.txt"
    plain.write_text("a file")
    return {
        "a folder": (folder, "is a folder; give a file name"),
        "empty": ("", "give a file name"),
        "missing folder": (tmp_path / "nowhere" / "o.npy", "folder does not exist"),
        "under a file": (plain / "o.npy", "is not a folder"),
    }


@pytest.mark.parametrize("case", ["a folder", "empty", "missing folder", "under a file"])
def test_out_that_cannot_be_a_file(tmp_path, capsys, case):
    src = tmp_path / "p.npy"
    np.save(src, _poses())
    out, reason = _out_cases(tmp_path)[case]
    assert _refine(src, out) == 1
    line = _one_line(capsys)
    assert reason in line, line
    assert sorted(os.listdir(tmp_path)) == ["folder", "p.npy", "plain.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder(tmp_path, capsys):
    src = tmp_path / "p.npy"
    np.save(src, _poses())
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert _refine(src, locked / "o.npy") == 1
        assert "folder is not writable" in _one_line(capsys)
    finally:
        locked.chmod(0o755)


def test_out_in_a_read_only_folder_any_user(tmp_path, capsys, monkeypatch):
    """Root ignores folder modes, so the refusal is also checked with os.access saying no."""
    src = tmp_path / "p.npy"
    np.save(src, _poses())
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if m == os.W_OK else real_access(p, m))
    assert _refine(src, tmp_path / "o.npy") == 1
    line = _one_line(capsys)
    assert f"{tmp_path}: folder is not writable" in line and not (tmp_path / "o.npy").exists()


def test_model_that_is_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    import threading

    src, fifo = tmp_path / "p.npy", tmp_path / "model.onnx"
    np.save(src, _poses())
    os.mkfifo(fifo)
    codes = []
    thread = threading.Thread(
        target=lambda: codes.append(_refine(src, tmp_path / "o.npy", "--model", str(fifo))),
        daemon=True,
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and codes == [1]
    assert f"{fifo}: a FIFO where a regular file belongs" in _one_line(capsys)


def test_missing_input_with_an_existing_out(tmp_path, capsys):
    out = tmp_path / "o.npy"
    np.save(out, _poses())
    before = out.read_bytes()
    assert _refine(tmp_path / "missing.npy", out) == 1
    assert _one_line(capsys) == f"error: {tmp_path / 'missing.npy'}: file is missing"
    assert out.read_bytes() == before
