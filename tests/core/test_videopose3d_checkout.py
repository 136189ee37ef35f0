"""The shipped VideoPose3D dataset class and run.py change, against a real VideoPose3D checkout
(``BM3D_VIDEOPOSE3D=/path/to/VideoPose3D``; skipped without one, as in CI). Only the modules of
the checkout that need no torch are imported (its Skeleton and MocapDataset)."""

import importlib
import json
import os
import pathlib
import py_compile
import shutil
import sys

import numpy as np
import pytest
from test_validate import make_dataset

from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format.videopose3d import convert_dataset
from blendmimic3d_addon.core.geometry import camera as cam

CHECKOUT = os.environ.get("BM3D_VIDEOPOSE3D")
pytestmark = pytest.mark.skipif(
    not CHECKOUT, reason="set BM3D_VIDEOPOSE3D to a VideoPose3D checkout to run these"
)
TOOLS = pathlib.Path(__file__).resolve().parents[2] / "tools"


@pytest.fixture
def checkout(tmp_path):
    copy = tmp_path / "VideoPose3D"
    shutil.copytree(CHECKOUT, copy, ignore=shutil.ignore_patterns("data", "checkpoint*", ".git"))
    (copy / "data").mkdir()
    sys.path.insert(0, str(TOOLS))
    try:
        yield copy, importlib.import_module("videopose3d_check")
    finally:
        sys.path.remove(str(TOOLS))


def test_run_py_change_applies_once_and_compiles(checkout):
    copy, tool = checkout
    assert tool.patch(copy) == "added the BlendMimic3D branch to run.py"
    assert tool.patch(copy) == "run.py already has the BlendMimic3D branch"
    text = (copy / "run.py").read_text()
    assert text.count("BlendMimic3DDataset(dataset_path)") == 1
    py_compile.compile(str(copy / "run.py"), doraise=True)
    assert (copy / "common" / "blendmimic3d_dataset.py").is_file()


def test_dataset_class_reads_the_conversion_as_run_py_uses_it(checkout, tmp_path):
    copy, tool = checkout
    tool.patch(copy)
    root = make_dataset(tmp_path / "data", subjects=("S1", "S2"))
    convert_dataset(root, copy / "data", name="blendmimic3d_t")
    sys.path.insert(0, str(copy))
    try:
        module = importlib.import_module("common.blendmimic3d_dataset")
        dataset = module.BlendMimic3DDataset(str(copy / "data" / "data_3d_blendmimic3d_t.npz"))
    finally:
        sys.path.remove(str(copy))
        for name in [n for n in sys.modules if n == "common" or n.startswith("common.")]:
            del sys.modules[name]
    assert sorted(dataset.subjects()) == ["S1", "S2"] and dataset.fps() == 30
    skeleton = dataset.skeleton()
    assert skeleton.num_joints() == 17
    assert list(skeleton.joints_left()) == [4, 5, 6, 11, 12, 13]
    assert list(skeleton.joints_right()) == [1, 2, 3, 14, 15, 16]
    positions_2d = np.load(copy / "data" / "data_2d_blendmimic3d_t_gt.npz", allow_pickle=True)
    positions_2d = positions_2d["positions_2d"].item()
    RT = dio.read_cameras(os.path.join(root, "S2")).RT
    anim = dataset["S2"]["Walk"]
    for index, camera in enumerate(anim["cameras"]):
        # run.py: world_to_camera(positions, R=orientation, t=translation) (qrot(q^-1, X - t))
        R = cam.matrix_from_quaternion(camera["orientation"].astype(np.float64))
        in_camera = (anim["positions"] - camera["translation"]) @ R
        expected = cam.world_to_camera(anim["positions"], RT[index])[0]
        np.testing.assert_allclose(in_camera, expected, atol=1e-5)
        # project_to_2d with the normalised intrinsics, then image_coordinates: the stored 2D.
        f, c = camera["intrinsic"][:2], camera["intrinsic"][2:4]
        normalised = f * in_camera[..., :2] / in_camera[..., 2:] + c
        w, h = camera["res_w"], camera["res_h"]
        pixels = (normalised + [1, h / w]) * w / 2
        front = in_camera[..., 2] > 0.1
        np.testing.assert_allclose(pixels[front], positions_2d["S2"]["Walk"][index][front],
                                   atol=2e-3)  # fmt: skip
    assert json.load(open(copy / "data" / "cameras_blendmimic3d_t.json"))["S1"][0]["res_w"] == 1000
