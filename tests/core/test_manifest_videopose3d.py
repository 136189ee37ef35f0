"""dataset.json round trip and checks; conversion to VideoPose3D's layout."""

import json
import os

import numpy as np
import pytest
from test_validate import make_dataset

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format import manifest as mf
from blendmimic3d_addon.core.format.videopose3d import convert_custom, convert_dataset
from blendmimic3d_addon.core.geometry import camera as cam
from blendmimic3d_addon.core.joints import BM3D_TO_H36M


def test_manifest_round_trip(tmp_path):
    root = make_dataset(tmp_path / "data")
    manifest = mf.read_manifest(root)
    assert manifest["format_version"] == mf.FORMAT_VERSION
    assert manifest["generator"] == {"name": "BlendMimic3D Studio", "version": "0.1.0"}
    assert manifest["fps"] == 30.0 and manifest["units"]["positions_3d"] == "metre"
    assert manifest["joints"]["names"][1] == "LeftUpLeg"
    assert manifest["occlusion_types"]["3"] == "object"
    walk = manifest["subjects"]["S1"]["actions"]["Walk"]
    assert (walk["frame_start"], walk["frame_end"], walk["n_frames"]) == (1, 40, 40)
    assert [p["name"] for p in walk["persons"]] == ["Person0", "Person1"]
    camera = manifest["subjects"]["S1"]["cameras"][0]
    assert camera["res_w"] == 1000 and np.array(camera["RT"]).shape == (3, 4)
    assert mf.read_manifest(tmp_path) is None  # a legacy folder has none


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda m: m.pop("fps"), "fps: missing field"),
        (lambda m: m.update(fps=0), "fps: 0 is not a positive number"),
        (lambda m: m["subjects"]["S1"]["actions"]["Walk"].update(n_frames="40"), "n_frames: '40'"),
        (lambda m: m.update(format="other"), "format: 'other' is not 'blendmimic3d'"),
        (lambda m: m.update(format_version="2.0"), "format_version: 2.0 is unsupported"),
        (lambda m: m["joints"]["names"].reverse(), "joints.names: not the BlendMimic3D-17"),
        (lambda m: m["subjects"]["S1"]["actions"]["Walk"].pop("persons"), "actions.Walk.persons"),
    ],
)
def test_manifest_errors(tmp_path, edit, field):
    root = make_dataset(tmp_path / "data")
    path = mf.manifest_path(root)
    manifest = json.load(open(path))
    edit(manifest)
    json.dump(manifest, open(path, "w"))
    with pytest.raises(DatasetError) as info:
        mf.read_manifest(root)
    assert info.value.path == path and field in info.value.message


def test_manifest_not_json(tmp_path):
    open(tmp_path / "dataset.json", "w").write("{ nope")
    with pytest.raises(DatasetError, match="dataset.json: not readable JSON"):
        mf.read_manifest(tmp_path)


def _vp3d_world_to_camera(points, q, t):
    """VideoPose3D's common/camera.py world_to_camera: qrot(qinverse(q), X - t)."""
    R = cam.matrix_from_quaternion(q)
    return (points - t) @ R  # R^T (X - t) for row vectors


def test_convert_export(tmp_path):
    root = make_dataset(tmp_path / "data")
    paths = convert_dataset(root, tmp_path / "vp3d", name="mine")
    assert [os.path.basename(p) for p in paths] == [
        "data_3d_mine.npz",
        "data_2d_mine_gt.npz",
        "cameras_mine.json",
    ]
    # Loaded exactly as VideoPose3D loads them.
    positions_3d = np.load(paths[0], allow_pickle=True)["positions_3d"].item()
    data_2d = np.load(paths[1], allow_pickle=True)
    positions_2d = data_2d["positions_2d"].item()
    metadata = data_2d["metadata"].item()
    assert metadata == {
        "layout_name": "h36m",
        "num_joints": 17,
        "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]],
        "fps": 30,
    }
    world = dio.read_positions_3d(os.path.join(root, "S1"), "Walk")
    walk = positions_3d["S1"]["Walk"]
    assert walk.shape == (40, 17, 3) and walk.dtype == np.float32
    np.testing.assert_allclose(walk[:, 1], world[:, 4], rtol=1e-6)  # RHip <- RightUpLeg
    uv = dio.read_positions_2d(os.path.join(root, "S1"), "Walk")
    assert len(positions_2d["S1"]["Walk"]) == 4
    np.testing.assert_allclose(positions_2d["S1"]["Walk"][2], uv[2][:, BM3D_TO_H36M], rtol=1e-6)
    # Cameras in VideoPose3D's convention reproduce the dataset's camera frame.
    cameras = json.load(open(paths[2]))["S1"]
    RT = dio.read_cameras(os.path.join(root, "S1")).RT
    for index, entry in enumerate(cameras):
        in_camera = _vp3d_world_to_camera(world, entry["orientation"], entry["translation"])
        np.testing.assert_allclose(in_camera, cam.world_to_camera(world, RT[index])[0], atol=1e-9)


def test_convert_published_projects_missing_2d(shared, tmp_path):
    subject = shared("blendmimic3d", "S2")
    paths = convert_dataset(subject, tmp_path, joint_order="blendmimic3d")
    data_2d = np.load(paths[1], allow_pickle=True)
    assert data_2d["metadata"].item()["layout_name"] == "blendmimic3d"
    positions_2d = data_2d["positions_2d"].item()["S2"]
    assert len(positions_2d) == 14
    # Arguing has a published 2D file; the others are projected, which the format makes equal.
    published = dio.read_positions_2d(subject, "Arguing")
    np.testing.assert_allclose(positions_2d["Arguing"][1], published[1], rtol=1e-6)
    world = dio.read_positions_3d(subject, "Thinking")
    projected = cam.project(world, dio.read_cameras(subject).P)
    np.testing.assert_allclose(positions_2d["Thinking"][3], projected[3], rtol=1e-6)


def test_convert_bad_folder(tmp_path):
    with pytest.raises(DatasetError, match="no subject folder"):
        convert_dataset(tmp_path, tmp_path / "out")


def test_command_line(tmp_path):
    from test_validate import _cli

    root = make_dataset(tmp_path / "data")
    result = _cli("to-videopose3d", str(root), str(tmp_path / "out"), "--name", "bm")
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'out' / 'data_3d_bm.npz'}" in result.stdout
    assert np.load(tmp_path / "out" / "data_2d_bm_gt.npz", allow_pickle=True)["positions_2d"].item()
    bad = _cli("to-videopose3d", str(tmp_path / "out"), str(tmp_path / "out2"))
    assert bad.returncode == 1 and "no subject folder" in bad.stderr
    assert "Traceback" not in bad.stderr


def _load(path, key):
    return np.load(path, allow_pickle=True)[key].item()


def test_subjects_converted_one_by_one_share_the_files(tmp_path):
    root = make_dataset(tmp_path / "data", subjects=("S1", "S2"))
    out = tmp_path / "vp3d"
    convert_dataset(os.path.join(root, "S1"), out)
    paths = convert_dataset(os.path.join(root, "S2"), out)
    assert sorted(_load(paths[0], "positions_3d")) == ["S1", "S2"]
    assert sorted(_load(paths[1], "positions_2d")) == ["S1", "S2"]
    assert sorted(json.load(open(paths[2]))) == ["S1", "S2"]
    before = [open(p, "rb").read() for p in paths]
    with pytest.raises(DatasetError, match="S1: already converted into these files"):
        convert_dataset(os.path.join(root, "S1"), out)
    assert [open(p, "rb").read() for p in paths] == before
    with pytest.raises(DatasetError, match="holds 'h36m' joints"):
        convert_dataset(os.path.join(root, "S1"), out, joint_order="blendmimic3d")


def test_custom_layout_one_entry_per_video(tmp_path):
    root = make_dataset(tmp_path / "data", subjects=("S1", "S2"))
    out = tmp_path / "vp3d"
    convert_custom(os.path.join(root, "S1"), out, name="bm")
    (path,) = convert_custom(os.path.join(root, "S2"), out, name="bm")
    assert os.path.basename(path) == "data_2d_custom_bm.npz"
    positions_2d, metadata = _load(path, "positions_2d"), _load(path, "metadata")
    assert len(positions_2d) == 2 * 2 * 4  # subjects x actions x cameras
    video = "S2/Videos/Walk_3.mp4"
    assert list(positions_2d[video]) == ["custom"]
    (keypoints,) = positions_2d[video]["custom"]
    uv = dio.read_positions_2d(os.path.join(root, "S2"), "Walk")[3]
    np.testing.assert_allclose(keypoints, uv[:, BM3D_TO_H36M], rtol=1e-6)
    assert metadata["video_metadata"][video] == {"w": 1000, "h": 1002}
    assert metadata["fps"] == 30 and metadata["layout_name"] == "h36m"
    with pytest.raises(DatasetError, match="already converted into this file"):
        convert_custom(os.path.join(root, "S2"), out, name="bm")
    with pytest.raises(DatasetError, match="COCO joints need the face points"):
        convert_custom(root, tmp_path / "coco", joint_order="coco")


def test_bad_name_refused(tmp_path):
    root = make_dataset(tmp_path / "data")
    with pytest.raises(DatasetError, match="use letters, digits"):
        convert_dataset(root, tmp_path / "o", name="../x")


def test_failed_write_leaves_the_earlier_files(tmp_path, monkeypatch):
    from blendmimic3d_addon.core.format import videopose3d

    root = make_dataset(tmp_path / "data", subjects=("S1", "S2"))
    out = tmp_path / "vp3d"
    paths = convert_dataset(os.path.join(root, "S1"), out)
    before = {p: open(p, "rb").read() for p in paths}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(videopose3d.json, "dump", full_disk)  # the third file fails
    with pytest.raises(OSError):
        convert_dataset(os.path.join(root, "S2"), out)
    assert {p: open(p, "rb").read() for p in paths} == before
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in paths)
