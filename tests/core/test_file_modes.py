"""Files others can use (issue 11, item 9): what is written honours the umask, a replaced file
keeps its mode, a link is written through, and a target that is not a regular file is refused."""

import contextlib
import os
import stat

import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import atomic
from blendmimic3d_addon.core.format.safe_npz import write_npz


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _write(path, text="new"):
    with atomic.atomic_file(path, "w") as handle:
        handle.write(text)


@pytest.mark.parametrize("mask, file_mode, folder_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775), (0o077, 0o600, 0o700)])  # fmt: skip # noqa: E501
def test_new_files_and_folders_honour_the_umask(tmp_path, mask, file_mode, folder_mode):
    with umask(mask):
        assert atomic.current_umask() == mask
        with atomic.staged_dir(tmp_path / "S1") as stage:
            write_npz(os.path.join(stage, "Cameras", "m.npz"), {"K": [1.0]}, compressed=False)
            _write(os.path.join(stage, "a.txt"))
    assert mode(tmp_path / "S1") == folder_mode
    assert mode(tmp_path / "S1" / "Cameras") == folder_mode
    assert mode(tmp_path / "S1" / "Cameras" / "m.npz") == file_mode
    assert mode(tmp_path / "S1" / "a.txt") == file_mode


def test_a_replaced_file_and_folder_keep_their_mode(tmp_path):
    target = tmp_path / "labels.npz"
    target.write_text("old")
    os.chmod(target, 0o640)
    folder = tmp_path / "S1"
    folder.mkdir()
    os.chmod(folder, 0o750)
    with umask(0o022):
        _write(target)
        with atomic.staged_dir(folder, overwrite=True) as stage:
            _write(os.path.join(stage, "x"))
    assert target.read_text() == "new" and mode(target) == 0o640
    assert (folder / "x").exists() and mode(folder) == 0o750


def test_a_link_is_written_through_to_its_target(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    os.chmod(real, 0o604)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    _write(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and mode(real) == 0o604
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real.txt"]


@pytest.mark.parametrize("kind", ["fifo", "link to a device", "dangling link", "folder"])
def test_a_target_that_is_not_a_regular_file_is_refused_and_kept(tmp_path, kind):
    target = tmp_path / "out.npz"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "link to a device":
        target.symlink_to("/dev/null")
    elif kind == "dangling link":
        target.symlink_to(tmp_path / "nowhere")
    else:
        target.mkdir()
    before = os.lstat(target)
    with pytest.raises(DatasetError, match="nothing written"):
        _write(target)
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert sorted(os.listdir(tmp_path)) == ["out.npz"]  # no temporary file left


def test_a_staged_folder_onto_a_file_is_refused(tmp_path):
    target = tmp_path / "S1"
    target.write_text("a file, not a subject")
    with pytest.raises(DatasetError, match="exists and is not a folder"):
        with atomic.staged_dir(target, overwrite=True):
            pass
    assert target.read_text() == "a file, not a subject"
    assert os.listdir(tmp_path) == ["S1"]


def test_predictions_rewritten_in_place_keep_their_mode(tmp_path):
    """``refine IN --out IN``'s writer: the file written over keeps its mode (was 0600)."""
    import numpy as np

    from blendmimic3d_addon.core.format import predictions

    path = tmp_path / "poses.npy"
    np.save(path, np.zeros((5, 17, 3)))
    os.chmod(path, 0o644)
    poses, layout = predictions.load_predictions(str(path), with_layout=True)
    predictions.save_predictions_like(layout, poses + 1, str(path))
    assert mode(path) == 0o644
    np.testing.assert_array_equal(np.load(path), np.ones((5, 17, 3)))
