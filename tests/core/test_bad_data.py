"""Bad data is rejected with its reason, not reported OK (issue 11, item 7).

The published data (S1, S2) stores every 3D, 2D and label array as little-endian float64, holds
no extra npz members, no empty action and integer resolutions; so nothing here needs a
legacy exception (test_published_data_is_strict_already checks that claim).
"""

import json
import os
import zipfile

import numpy as np
import pytest
from conftest import run_module
from test_validate import make_dataset

from blendmimic3d_addon import cli
from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format import manifest as mf
from blendmimic3d_addon.core.format.safe_npz import read_npz, write_npz
from blendmimic3d_addon.core.format.videopose3d import convert_dataset
from blendmimic3d_addon.core.validate.dataset import validate_dataset


@pytest.fixture
def root(tmp_path):
    return make_dataset(tmp_path / "data", persons=1)


def _s1(root):
    return os.path.join(root, "S1")


def _rewrite(path, change, pickled=()):
    arrays = read_npz(path, pickled=pickled)
    change(arrays)
    write_npz(path, arrays, compressed=True)


def _problems(root):
    report = validate_dataset(root)
    assert not report.ok
    return report.problems


@pytest.mark.parametrize("dtype", ["<f4", ">f8"])
def test_3d_in_another_dtype_or_byte_order(root, dtype):
    path = dio.positions_3d_path(_s1(root), "Walk")
    _rewrite(path, lambda a: a.update(positions_3d=a["positions_3d"].astype(dtype)))
    assert f"{path}: positions_3d: dtype {dtype} where <f8 (float64) belongs" in _problems(root)


def test_2d_and_labels_in_float32(root):
    path_2d = dio.positions_2d_path(_s1(root), "Walk")
    _rewrite(path_2d, lambda a: a.update(Cam_1=a["Cam_1"].astype(np.float32)))
    labels = dio.occlusions_path(_s1(root), "Talk")
    _rewrite(labels, lambda a: a.update(Cam_0=a["Cam_0"].astype(">f8")))
    problems = _problems(root)
    assert f"{path_2d}: Cam_1: dtype <f4 where <f8 (float64) belongs" in problems
    assert f"{labels}: Cam_0: dtype >f8 where <f8 (float64) belongs" in problems


def test_extra_members(root):
    path = dio.positions_3d_path(_s1(root), "Walk")
    _rewrite(path, lambda a: a.update(notes=np.zeros(3)))
    matrices = dio.matrices_path(_s1(root), "S1")
    _rewrite(matrices, lambda a: a.update(extra=np.eye(3)))
    problems = _problems(root)
    assert f"{path}: notes: unexpected member; the file holds positions_3d" in problems
    assert f"{matrices}: extra: unexpected member; the file holds K, RT, P" in problems


def test_member_appearing_twice(root):
    path = dio.positions_3d_path(_s1(root), "Walk")
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("positions_3d.npy", b"")
    assert f"{path}: positions_3d: member appears twice in the archive" in _problems(root)


def test_action_of_zero_frames(root):
    subject = _s1(root)
    dio.write_action(subject, "Empty", np.zeros((0, 17, 3)), [np.zeros((0, 17, 2))] * 4,
                     types_by_cam=[np.zeros((0, 17), np.uint8)] * 4)  # fmt: skip
    path = dio.positions_3d_path(subject, "Empty")
    assert f"{path}: positions_3d: 0 frames; an action has at least one" in _problems(root)
    manifest = mf.read_manifest(root)
    manifest["subjects"]["S1"]["actions"]["Walk"]["n_frames"] = 0
    mf.write_manifest(root, manifest)
    with pytest.raises(DatasetError, match=r"actions\.Walk\.n_frames: 0 is below 1"):
        mf.read_manifest(root)


@pytest.mark.parametrize(
    "value, reason",
    [
        (True, "res_w: True is not an integer"),
        (1.5, "res_w: 1.5 is not an integer"),
        (10**30, f"res_w: {10**30} is not a resolution"),
        (0, "res_w: 0 is not a resolution"),
    ],
)
def test_resolution_that_is_not_one(root, value, reason):
    path = dio.camera_params_path(_s1(root), "S1")
    pickled = ("intrinsic_params", "extrinsic_params")
    _rewrite(path, lambda a: a["intrinsic_params"][2].update(res_w=value), pickled)
    problems = _problems(root)
    assert any(p.startswith(f"{path}: intrinsic_params[2].{reason}") for p in problems), problems


def test_typed_labels_in_the_wrong_integer_type(root):
    path = dio.occlusion_types_path(_s1(root), "Walk")
    _rewrite(path, lambda a: a.update(Cam_2=a["Cam_2"].astype(np.int64)))
    assert f"{path}: Cam_2: dtype <i8 where |u1 (uint8) belongs" in _problems(root)


@pytest.mark.parametrize("text", ["Infinity", "1e999", "NaN", "true", '"30"'])
def test_fps_that_is_not_a_finite_number(root, text):
    path = mf.manifest_path(root)
    manifest = mf.read_manifest(root)
    manifest["fps"] = "FPS"
    with open(path, "w") as handle:
        handle.write(json.dumps(manifest).replace('"FPS"', text))
    problems = _problems(root)
    assert any(p.startswith(f"{path}: fps: ") for p in problems), problems


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_tolerance_that_is_not_a_tolerance(root, value, capsys):
    assert cli.main(["validate", str(root), "--tolerance-px", value]) == 2
    err = capsys.readouterr().err
    assert "--tolerance-px" in err and "finite number of pixels, 0 or more" in err


def test_to_videopose3d_refuses_3d_and_2d_of_different_lengths(root, tmp_path):
    path = dio.positions_2d_path(_s1(root), "Talk")
    _rewrite(path, lambda a: a.update(Cam_3=a["Cam_3"][:-2]))
    with pytest.raises(DatasetError) as info:
        convert_dataset(root, tmp_path / "vp3d")
    assert info.value.message == f"{path}: Cam_3: 23 frames where 3D has 25"
    assert not os.listdir(tmp_path / "vp3d") if os.path.isdir(tmp_path / "vp3d") else True


def test_to_videopose3d_refuses_a_dataset_with_no_camera(root, tmp_path):
    matrices = dio.matrices_path(_s1(root), "S1")
    empty = np.zeros((0, 3, 3)), np.zeros((0, 3, 4))
    write_npz(matrices, {"K": empty[0], "RT": empty[1], "P": empty[1]}, compressed=False)
    result = run_module("to-videopose3d", root, tmp_path / "vp3d")
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: {matrices}: K: no camera\n"


def test_published_data_is_strict_already(shared):
    """The claim of this module's docstring, on S1 and S2 as published."""
    for subject in ("S1", "S2"):
        folder = shared("blendmimic3d", subject)
        for action in dio.action_names(folder):
            assert dio.read_positions_3d(folder, action).dtype.str == "<f8"
            assert all(a.dtype.str == "<f8" for a in dio.read_occlusions(folder, action))
        assert validate_dataset(folder).ok


@pytest.mark.parametrize(
    "key, dtype, want",
    [
        ("Cam_1_types", "<i8", "|u1 (uint8)"),
        ("Cam_0_2d", "<f4", "<f8 (float64)"),
        ("positions_3d", ">f8", "<f8 (float64)"),
    ],
)
def test_persons_file_in_the_wrong_dtypes(tmp_path, key, dtype, want):
    """Found by the fuzz test (seed 1): typed codes of persons.npz in int64 passed."""
    root = make_dataset(tmp_path / "data", persons=2)
    path = dio.persons_path(_s1(root), "Walk")
    _rewrite(path, lambda a: a.update({key: a[key].astype(dtype)}))
    assert f"{path}: {key}: dtype {dtype} where {want} belongs" in _problems(root)
