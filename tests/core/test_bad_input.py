"""Bad input gives one DatasetError naming file and field; writers are atomic even when killed."""

import os
import pickle
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import REPO

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import atomic
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format.safe_npz import object_array, read_npz, write_npz

POSES = np.random.default_rng(0).normal(size=(20, 17, 3))


@pytest.fixture
def subject(tmp_path):
    folder = tmp_path / "S1"
    dio.write_positions_3d(folder, "Walk", POSES)
    dio.write_occlusions(folder, "Walk", [np.ones((20, 17))] * 2)
    return folder


def _error(call, *args):
    with pytest.raises(DatasetError) as info:
        call(*args)
    return info.value


def test_truncated_npz(subject):
    path = dio.positions_3d_path(subject, "Walk")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    error = _error(dio.read_positions_3d, subject, "Walk")
    assert error.path == path and "not a readable .npz" in error.message


def test_corrupt_member(subject):
    path = dio.positions_3d_path(subject, "Walk")
    data = bytearray(open(path, "rb").read())
    data[200:220] = bytes(20)  # inside the compressed array data
    open(path, "wb").write(bytes(data))
    error = _error(dio.read_positions_3d, subject, "Walk")
    assert error.path == path and error.field == "positions_3d"
    assert "corrupt" in error.reason


def test_wrong_shape(subject):
    path = dio.positions_3d_path(subject, "Walk")
    np.savez(path, positions_3d=np.zeros((20, 16, 3)))
    error = _error(dio.read_positions_3d, subject, "Walk")
    assert error.message == f"{path}: positions_3d: shape (20, 16, 3) where (N,17,3) belongs"


def test_nan(subject):
    path = dio.positions_3d_path(subject, "Walk")
    broken = POSES.copy()
    broken[4, 7, 1] = np.nan
    np.savez(path, positions_3d=broken)
    error = _error(dio.read_positions_3d, subject, "Walk")
    assert error.field == "positions_3d" and "NaN" in error.reason and "(4, 7, 1)" in error.reason


def test_missing_key_and_missing_file(subject):
    path = dio.positions_3d_path(subject, "Walk")
    np.savez(path, poses=POSES)
    error = _error(dio.read_positions_3d, subject, "Walk")
    assert (error.path, error.field, error.reason) == (path, "positions_3d", "missing key")
    error = _error(dio.read_positions_2d, subject, "Walk")
    assert (
        error.path == dio.positions_2d_path(subject, "Walk") and error.reason == "file is missing"
    )


def test_wrong_cam_keys_and_labels(subject):
    path = dio.occlusions_path(subject, "Walk")
    np.savez(path, Cam_0=np.ones((20, 17)), Cam_2=np.ones((20, 17)))
    assert "keys ['Cam_0', 'Cam_2']" in _error(dio.read_occlusions, subject, "Walk").reason
    labels = np.ones((20, 17))
    labels[3, 2] = 0.5
    np.savez(path, Cam_0=labels)
    error = _error(dio.read_occlusions, subject, "Walk")
    assert (error.field, error.reason) == ("Cam_0", "label 0.5 at (3, 2); only 0/1 belong")


def test_pickle_where_none_belongs(subject):
    path = dio.positions_3d_path(subject, "Walk")
    np.savez(path, positions_3d=object_array([{"a": 1}]))
    error = _error(dio.read_positions_3d, subject, "Walk")
    assert error.field == "positions_3d" and "refused to unpickle" in error.reason


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_camera_pickle_is_not_run(tmp_path):
    marker = tmp_path / "pwned"
    cameras = tmp_path / "S1" / "Cameras"
    cameras.mkdir(parents=True)
    path = cameras / "camera_params_S1.npz"
    with zipfile.ZipFile(path, "w") as archive:
        header = b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (), }"
        header = header.ljust(10 + 0x76 - 1) + b"\n"
        archive.writestr("intrinsic_params.npy", header + pickle.dumps(_Exploit(marker), 3))
    error = _error(read_npz, path, ("intrinsic_params",))
    assert error.field == "intrinsic_params" and "refused to load" in error.reason
    assert "system" in error.reason
    assert not marker.exists()


def test_camera_dict_fields_checked(tmp_path):
    from test_dataset_io import _blender_cameras

    cameras = _blender_cameras()
    dio.write_cameras(tmp_path / "S1", "S1", cameras)
    params = dio.camera_params_path(tmp_path / "S1", "S1")
    bad = cameras.intrinsic_dicts()
    bad[2] = {k: v for k, v in bad[2].items() if k != "azimuth"}
    write_npz(
        params, {"intrinsic_params": object_array(bad), "extrinsic_params": object_array([])}, False
    )
    error = _error(dio.read_cameras, tmp_path / "S1")
    assert error.field == "intrinsic_params[2]" and "keys" in error.reason


def test_text_matrix_errors(subject, tmp_path):
    path = dio.camview_path(subject, 0)
    os.makedirs(os.path.dirname(path))
    open(path, "w").write("1 2 3\nx y z\n")
    error = _error(dio.read_camview, subject, 0)
    assert error.path == path and "not a numeric text matrix" in error.reason


# ---- atomic writes -------------------------------------------------------------------------------

_KILLED_WRITER = r"""
import sys, time
import numpy as np
from numpy.lib import format as npy_format
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format.atomic import staged_dir

real_write_array = npy_format.write_array
calls = []

def slow_write_array(*args, **kwargs):
    # Pause inside the second array written, once the first file is half done.
    calls.append(1)
    if len(calls) == 2:
        print("MID", flush=True)
        time.sleep(120)
    return real_write_array(*args, **kwargs)

npy_format.write_array = slow_write_array
target, mode = sys.argv[1], sys.argv[2]
big = np.random.default_rng(1).normal(size=(4000, 17, 3))
if mode == "file":
    dio.write_occlusions(target, "Walk", [np.zeros((4000, 17))] * 3)
else:
    with staged_dir(target, overwrite=True) as stage:
        dio.write_action(stage, "Walk", big, [big[..., :2]] * 3, [np.zeros((4000, 17))] * 3)
"""


def _snapshot(folder):
    return {
        os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
        for d, _, files in os.walk(folder)
        for f in files
    }


@pytest.mark.parametrize("mode", ["file", "dataset"])
def test_killed_writer_leaves_older_dataset_intact(subject, mode):
    before = _snapshot(subject)
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(subject), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "MID"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    after = _snapshot(subject)
    # Every older file is byte for byte as it was; only hidden temporaries can remain.
    assert {k: v for k, v in after.items() if not os.path.basename(k).startswith(".")} == before
    leftovers = [p for p in os.listdir(subject.parent) if p.startswith(".S1.")]
    if mode == "dataset":
        assert leftovers and all(p.endswith(".staging") for p in leftovers)
        # The next run beside it removes what the killed one left, and nothing else.
        assert atomic.recover_interrupted(subject) == leftovers
        assert not [p for p in os.listdir(subject.parent) if p.startswith(".S1.")]
    np.testing.assert_array_equal(dio.read_positions_3d(subject, "Walk"), POSES)


def test_camera_pickles_of_other_numpy_versions_load(tmp_path):
    """numpy 2 names its pickled arrays numpy._core.multiarray, and numpy scalars in the dicts
    pickle through numpy's ``scalar``: both are read, with no code beyond those allowed."""
    from test_dataset_io import _blender_cameras

    cameras = _blender_cameras()
    intrinsic = cameras.intrinsic_dicts()
    intrinsic[0]["focal_length"] = [np.float32(835.0), np.float32(835.0)]
    cameras.intrinsic_params = intrinsic
    dio.write_cameras(tmp_path / "S1", "S1", cameras)
    path = dio.camera_params_path(tmp_path / "S1", "S1")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert all(b"numpy.core.multiarray\n_reconstruct" in data for data in members.values())
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(
                name, data.replace(b"numpy.core.multiarray", b"numpy._core.multiarray")
            )
    back = dio.read_cameras(tmp_path / "S1")
    assert back.intrinsic_params[0]["focal_length"] == [835.0, 835.0]
    assert isinstance(back.intrinsic_params[0]["focal_length"][0], np.float32)
