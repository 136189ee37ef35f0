"""Hostile files cost bounded memory and time: billion-laughs pickles, headers that declare huge
shapes, zip members that inflate to gigabytes, FIFOs and devices where a dataset file belongs.

Each case gives one DatasetError naming the file (and the field where there is one), and the
reading stays within MEMORY_BUDGET, measured with tracemalloc (numpy reports its buffers to it).
"""

import os
import pickle
import struct
import threading
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format.predictions import load_predictions
from blendmimic3d_addon.core.format.safe_npz import read_npy
from blendmimic3d_addon.core.validate.dataset import validate_dataset

MEMORY_BUDGET = 16 * 2**20


def _within_budget(call, *args):
    """The DatasetError ``call(*args)`` raises, after checking its peak traced memory."""
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError) as info:
            call(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BUDGET, f"{peak:,} bytes traced"
    return info.value


def _npy_header(shape, descr="<f8"):
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header = header.ljust(118 - 1) + "\n"  # 10 + 118 bytes: a multiple of 64, as numpy pads
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def _billion_laughs(levels=24):
    """A kilobyte of pickle that is 2**levels lists deep when walked without sharing."""
    node = [1.0]
    for _ in range(levels):
        node = [node, node]
    return node


def _object_member(value):
    return _npy_header((), "|O") + pickle.dumps(np.array(value, dtype=object), protocol=3)


def _laughs_member():
    """Four intrinsic dicts, right but for a centre that is a billion laughs."""
    array = np.empty(4, dtype=object)
    laughs = _billion_laughs()
    for index in range(4):
        array[index] = {
            "id": str(index),
            "center": laughs,
            "focal_length": [1000.0, 1000.0],
            "radial_distortion": [0, 0, 0],
            "tangential_distortion": [0, 0],
            "res_w": 1000,
            "res_h": 1000,
            "azimuth": 0,
        }
    return _npy_header((4,), "|O") + pickle.dumps(array, protocol=3)


@pytest.fixture
def subject(tmp_path):
    folder = tmp_path / "S1"
    poses = np.random.default_rng(0).normal(size=(12, 17, 3))
    dio.write_positions_3d(folder, "Walk", poses, data3d_txt=False)
    dio.write_occlusions(folder, "Walk", [np.ones((12, 17))])
    return folder


def test_billion_laughs_in_camera_parameters(tmp_path):
    path = tmp_path / "S1" / "Cameras" / "camera_params_S1.npz"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("intrinsic_params.npy", _laughs_member())
        archive.writestr("extrinsic_params.npy", _object_member({"S1": []}))
    assert path.stat().st_size < 4096
    error = _within_budget(dio.read_camera_params, tmp_path / "S1", "S1", 4)
    assert error.path == str(path) and error.field == "intrinsic_params"
    assert "more than 100,000 objects" in error.reason


def test_billion_laughs_in_predictions(tmp_path):
    laughs = {"S9": {"Walking": _billion_laughs()}}
    npy = tmp_path / "pred.npy"
    npy.write_bytes(_object_member(laughs))
    error = _within_budget(load_predictions, npy)
    assert error.path == str(npy) and "more than 100,000 objects" in error.reason
    npz = tmp_path / "pred.npz"
    with zipfile.ZipFile(npz, "w") as archive:
        archive.writestr("positions_3d.npy", _object_member(laughs))
    error = _within_budget(load_predictions, npz)
    assert error.field == "positions_3d" and "more than 100,000 objects" in error.reason


def test_deep_nesting_in_a_pickle(tmp_path):
    node = []
    for _ in range(200):
        node = [node]
    path = tmp_path / "deep.npy"
    path.write_bytes(_object_member({"S9": {"Walking": node}}))
    error = _within_budget(load_predictions, path)
    assert "nested deeper than 32 levels" in error.reason


def test_npy_header_declaring_a_huge_shape(tmp_path):
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_header((10**12, 17, 3)) + bytes(64))
    error = _within_budget(read_npy, path)
    assert error.path == str(path) and "(1000000000000, 17, 3)" in error.reason
    assert "truncated" in error.reason
    error = _within_budget(load_predictions, path)
    assert error.path == str(path)


def test_npz_member_header_declaring_a_huge_shape(subject):
    path = dio.positions_3d_path(subject, "Walk")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("positions_3d.npy", _npy_header((10**9, 17, 3)) + bytes(4096))
    error = _within_budget(dio.read_positions_3d, subject, "Walk")
    assert (error.path, error.field) == (path, "positions_3d")
    assert "(1000000000, 17, 3)" in error.reason


def _deflated_zeros(header, total):
    """``header`` then zeros up to ``total`` bytes, deflated, built without holding it whole."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunks, crc, chunk = [packer.compress(header)], zlib.crc32(header), bytes(2**20)
    left = total - len(header)
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        chunks.append(packer.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    chunks.append(packer.flush())
    return b"".join(chunks), crc


def _bomb(path, declared_size, real_size, shape):
    """An npz whose one member inflates to ``real_size`` bytes, its headers saying
    ``declared_size``."""
    header = _npy_header(shape)
    body, crc = _deflated_zeros(header, real_size)
    name = b"positions_3d.npy"
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 33, crc, len(body), declared_size, len(name), 0
    )
    entry = local + name + body
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50, 20, 20, 0, 8, 0, 33, crc, len(body), declared_size, len(name), 0, 0, 0, 0,
        0, 0,
    )  # fmt: skip
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), len(entry), 0)
    with open(path, "wb") as handle:
        handle.write(entry + central + name + end)
    assert os.path.getsize(path) < real_size // 100


def test_zip_member_declaring_gigabytes_is_refused_before_inflating(subject):
    path = dio.positions_3d_path(subject, "Walk")
    frames = 30_000_000  # 12 GB of float64 (N,17,3), declared by a file of kilobytes
    _bomb(path, 3_900_000_000, 8 * 2**20, (frames, 17, 3))
    error = _within_budget(dio.read_positions_3d, subject, "Walk")
    assert error.path == path and "inflate to 3,900,000,000 bytes" in error.reason


def test_zip_member_inflating_past_its_declared_size_stops_there(subject):
    path = dio.positions_3d_path(subject, "Walk")
    _bomb(path, 128 + 12 * 17 * 3 * 8, 64 * 2**20, (12, 17, 3))  # 64 MB behind a 5 KB claim
    error = _within_budget(dio.read_positions_3d, subject, "Walk")
    assert (error.path, error.field) == (path, "positions_3d")


def test_frame_count_from_dataset_json_bounds_the_3d(subject):
    """An archive within the general bound but far above what the declared frames need."""
    path = dio.positions_3d_path(subject, "Walk")
    dio.write_positions_3d(subject, "Walk", np.zeros((20_000, 17, 3)), data3d_txt=False)
    with pytest.raises(DatasetError, match="at most 16,384 allowed"):
        dio.read_positions_3d(subject, "Walk", max_bytes=16_384)
    assert len(dio.read_positions_3d(subject, "Walk")) == 20_000
    assert os.path.getsize(path) < 100_000


def _in_thread(call, *args):
    """Run ``call`` in a thread; fail (instead of hanging the suite) if it blocks."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call(*args)
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), f"{call.__name__} blocked"
    return outcome


def test_fifo_in_place_of_a_dataset_file(subject):
    path = dio.positions_3d_path(subject, "Walk")
    os.remove(path)
    os.mkfifo(path)
    outcome = _in_thread(dio.read_positions_3d, subject, "Walk")
    error = outcome["error"]
    assert isinstance(error, DatasetError) and error.path == path
    assert error.reason == "a FIFO where a regular file belongs; refused to read"
    report = _in_thread(validate_dataset, subject)["value"]
    assert f"{path}: a FIFO where a regular file belongs; refused to read" in report.problems


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_link_to_dev_zero_in_place_of_a_dataset_file(subject, tmp_path):
    path = dio.occlusions_path(subject, "Walk")
    os.remove(path)
    os.symlink("/dev/zero", path)
    error = _in_thread(dio.read_occlusions, subject, "Walk")["error"]
    assert isinstance(error, DatasetError) and error.path == path
    assert "a character device where a regular file belongs" in error.reason
    camview = tmp_path / "CamView0_P3x4.txt"
    os.symlink("/dev/zero", camview)
    error = _in_thread(dio.read_text, camview)["error"]
    assert isinstance(error, DatasetError) and "character device" in error.reason
    for name in ("zero.npy", "zero.npz"):
        os.symlink("/dev/zero", tmp_path / name)
        error = _in_thread(load_predictions, tmp_path / name)["error"]
        assert isinstance(error, DatasetError) and "character device" in error.reason


def _swapped_before_open(monkeypatch, path, swap):
    """Make the next ``os.open`` of ``path`` run ``swap`` first: the name changes between the
    reader's ``stat`` and its ``open``."""
    real_open = os.open

    def open_after_swap(name, *args, **kwargs):
        if os.fspath(name) == os.fspath(path):
            monkeypatch.setattr(os, "open", real_open)
            swap()
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_after_swap)


def test_a_file_renamed_into_place_while_opening_is_read_as_it_now_is(tmp_path, monkeypatch):
    """Another writer's atomic replace between ``stat`` and ``open`` (the concurrent writers of
    one dataset.json) gives the new file, not a refusal."""
    from blendmimic3d_addon.core.format.safe_open import read_bytes

    path, newer = tmp_path / "dataset.json", tmp_path / "dataset.json.new"
    path.write_text('{"old": 1}')
    newer.write_text('{"new": 2}')
    _swapped_before_open(monkeypatch, path, lambda: os.replace(newer, path))
    assert read_bytes(path) == b'{"new": 2}'


def test_a_fifo_swapped_in_while_opening_is_refused(tmp_path, monkeypatch):
    from blendmimic3d_addon.core.format.safe_open import read_bytes

    path = tmp_path / "dataset.json"
    path.write_text("{}")

    def to_fifo():
        os.remove(path)
        os.mkfifo(path)

    _swapped_before_open(monkeypatch, path, to_fifo)
    error = _in_thread(read_bytes, path)["error"]
    assert isinstance(error, DatasetError) and error.path == str(path)
    assert error.reason == "a FIFO where a regular file belongs; refused to read"


def test_fifo_in_place_of_a_predictions_file(tmp_path):
    for name in ("pred.npy", "pred.npz"):
        os.mkfifo(tmp_path / name)
        error = _in_thread(load_predictions, tmp_path / name)["error"]
        assert isinstance(error, DatasetError) and error.path == str(tmp_path / name)
        assert "a FIFO where a regular file belongs" in error.reason


def test_links_to_regular_files_are_followed(subject, tmp_path):
    """A dataset linked from elsewhere still reads: only the target's kind matters."""
    path = dio.positions_3d_path(subject, "Walk")
    moved = tmp_path / "elsewhere.npz"
    os.replace(path, moved)
    os.symlink(moved, path)
    assert dio.read_positions_3d(subject, "Walk").shape == (12, 17, 3)


def test_validate_bounds_per_camera_files_by_the_3d_frame_count(subject):
    """12 frames of 3D: a labels file of 200,000 frames (kilobytes on disk) is refused unread."""
    RT = np.hstack([np.eye(3), [[0.0], [0.0], [5.0]]])
    K = [[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]]
    dio.write_cameras(subject, "S1", dio.Cameras(["cam"], [K], [RT], [(1000, 1000)]))
    path = dio.occlusions_path(subject, "Walk")
    dio.write_occlusions(subject, "Walk", [np.ones((200_000, 17))])
    assert os.path.getsize(path) < 100_000
    tracemalloc.start()
    try:
        report = validate_dataset(subject)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BUDGET
    assert any(p.startswith(f"{path}: members inflate to 27,200,") for p in report.problems)


class _HugePlaceholder:
    """What numpy pickles as (_reconstruct, (ndarray, (0,), 'b'), state), with a shape of its
    own: ``_reconstruct`` would allocate it before any data is read."""

    def __init__(self, shape, state):
        self.shape, self.state = shape, state

    def __reduce__(self):
        return (np.zeros(1).__reduce__()[0], (np.ndarray, self.shape, b"b"), self.state)


@pytest.mark.parametrize(
    "shape, state, reason",
    [
        ((10**12,), None, "refused an array placeholder of shape (1000000000000,)"),
        ((0,), (1, (10**9,), np.dtype("O"), False, [1.0]), "without its 1000000000 items"),
        ((0,), (1, (10**6, 10**6), np.dtype("<f8"), False, b"\0" * 8), "without its data"),
    ],
)
def test_pickled_array_announcing_a_huge_shape(tmp_path, shape, state, reason):
    path = tmp_path / "pred.npy"
    path.write_bytes(_npy_header((), "|O") + pickle.dumps(_HugePlaceholder(shape, state), 3))
    error = _within_budget(load_predictions, path)
    assert error.path == str(path) and reason in error.reason


def test_npy_header_with_unbalanced_brackets(tmp_path):
    """A flipped bit turning '}' into '|' (found by the fuzz test, seed 26): numpy's header
    tokenizer raises TokenError, which is a message here."""
    path = tmp_path / "pred.npy"
    np.save(path, np.zeros((4, 17, 3), dtype=np.float32))
    data = bytearray(path.read_bytes())
    data[data.index(b"}")] ^= 0x01
    path.write_bytes(bytes(data))
    error = _within_budget(load_predictions, path)
    assert error.path == str(path) and "corrupt, truncated or unsafe array" in error.reason
