"""Readers and writers of every subject file: exact round trips on the published data."""

import zipfile

import numpy as np
import pytest
from conftest import SHARED

from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format.safe_npz import SafeUnpickler
from blendmimic3d_addon.core.geometry import camera as cam
from blendmimic3d_addon.core.occlusion.labels import OcclusionType, legacy_labels


def _published_files():
    root = SHARED / "blendmimic3d"
    return (
        sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    )


def _members(path):
    """(name, decompressed bytes) of each member, in archive order."""
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _unpickled(data):
    import io

    from numpy.lib import format as npy_format

    stream = io.BytesIO(data)
    npy_format.read_array_header_1_0(stream) if npy_format.read_magic(stream) == (1, 0) else None
    return SafeUnpickler(stream).load()


def _round_trip(source_subject, target_subject, relative):
    """Read one published file with the reader and write it with the writer."""
    parts = relative.parts
    kind = parts[1]
    if kind == "Cameras":
        cameras = dio.read_cameras(source_subject)
        dio.write_cameras(target_subject, source_subject.name, cameras)
    elif kind == "D3_Positions":
        positions = dio.read_positions_3d(source_subject, parts[2])
        if parts[-1] == "data3D.txt":
            np.testing.assert_array_equal(dio.read_data3d_txt(source_subject, parts[2]), positions)
        dio.write_positions_3d(target_subject, parts[2], positions, data3d_txt=True)
    elif kind == "D2_Positions":
        dio.write_positions_2d(
            target_subject, parts[2], dio.read_positions_2d(source_subject, parts[2])
        )
    elif kind == "Occlusions":
        dio.write_occlusions(
            target_subject, parts[2], dio.read_occlusions(source_subject, parts[2])
        )
    else:
        raise AssertionError(f"unknown published file {relative}")


@pytest.mark.parametrize("relative", _published_files() or [None], ids=str)
def test_every_published_file_round_trips(relative, shared, tmp_path):
    root = shared("blendmimic3d")
    if relative is None:
        pytest.skip("no published files")
    source = root / relative
    subject = relative.parts[0]
    _round_trip(root / subject, tmp_path / subject, relative)
    written = tmp_path / relative
    if source.suffix == ".txt":
        # np.savetxt's text, byte for byte.
        assert written.read_bytes() == source.read_bytes()
        return
    original, ours = _members(source), _members(written)
    assert [name for name, _ in ours] == [name for name, _ in original]  # keys in their order
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(written) as b:
        assert [i.compress_type for i in a.infolist()] == [i.compress_type for i in b.infolist()]
    for (name, want), (_, got) in zip(original, ours, strict=True):
        # Each member's .npy bytes (header: dtype, shape; data; pickles) equal the published ones.
        assert got == want, name
    if source.name.startswith("camera_params"):
        for (_, want), (_, got) in zip(original, ours, strict=True):
            a, b = _unpickled(want), _unpickled(got)
            assert repr(a) == repr(b)  # dict fields, their order and values


def test_published_cameras_read(shared):
    cameras = dio.read_cameras(shared("blendmimic3d", "S1"))
    assert len(cameras) == 4 and cameras.names[0] == "Camera_3"
    assert cameras.res.tolist() == [[1000, 1002]] * 4
    assert cameras.intrinsic_params[1]["focal_length"] == [695.8333129882812] * 2
    assert list(cameras.extrinsic_params) == ["S1"]
    np.testing.assert_array_equal(dio.read_camview(shared("blendmimic3d", "S1"), 2), cameras.P[2])


def _blender_cameras():
    specs = []
    for index, (x, y) in enumerate([(0, -6), (6, 0), (0, 6), (-6, 0)]):
        angle = np.arctan2(-x, y) + np.pi  # look at the origin
        ca, sa = np.cos(angle), np.sin(angle)
        rot_z = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
        world = np.eye(4)
        world[:3, :3] = rot_z @ np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
        world[:3, 3] = [x, y, 1.5]
        specs.append(
            dict(name=f"Camera_{index}", matrix_world=world, lens_mm=30, sensor_width=36,
                 sensor_height=24, sensor_fit="AUTO", shift_x=0, shift_y=0, res_x=1000, res_y=1002)
        )  # fmt: skip
    return dio.Cameras.from_blender(specs)


def test_cameras_from_blender_write_and_read(tmp_path):
    cameras = _blender_cameras()
    assert cameras.K[0, 0, 0] == pytest.approx(835)
    np.testing.assert_allclose(cam.camera_depth([0.0, 0, 1.5], cameras.RT), 6.0)
    dio.write_cameras(tmp_path / "S9", "S9", cameras)
    back = dio.read_cameras(tmp_path / "S9")
    np.testing.assert_array_equal(back.P, cameras.P)
    assert back.intrinsic_params[0] == {
        "id": "Camera_0", "center": [500.0, 501.0], "focal_length": [835.0, 835.0],
        "radial_distortion": [0, 0, 0], "tangential_distortion": [0, 0],
        "res_w": 1000, "res_h": 1002, "azimuth": 0,
    }  # fmt: skip
    entry = back.extrinsic_params["S9"][1]
    assert list(entry) == ["orientation", "translation"]
    R = cam.matrix_from_quaternion(entry["orientation"])
    np.testing.assert_allclose(R, cameras.RT[1, :, :3], atol=1e-12)
    np.testing.assert_allclose(entry["translation"], cameras.RT[1, :, 3], atol=1e-12)
    assert (tmp_path / "S9" / "Cameras" / "CamView3_P3x4.txt").exists()


def _take(frames=12, persons=2):
    rng = np.random.default_rng(3)
    poses = rng.normal(scale=0.3, size=(persons, frames, 17, 3)) + [0, 0, 1]
    types = rng.integers(0, 6, size=(4, persons, frames, 17)).astype(np.uint8)
    return poses, types


def test_action_with_additions_round_trips(tmp_path):
    cameras = _blender_cameras()
    poses, types = _take()
    uv = cam.project(poses, cameras.P)  # (C,P,N,17,2)
    persons = dio.Persons(["Alice", "Bob"], poses, list(uv), list(types))
    subject = tmp_path / "S9"
    dio.write_action(subject, "Talk", poses[0], list(uv[:, 0]), types_by_cam=list(types[:, 0]),
                     persons=persons)  # fmt: skip
    np.testing.assert_array_equal(dio.read_positions_3d(subject, "Talk"), poses[0])
    np.testing.assert_array_equal(dio.read_data3d_txt(subject, "Talk"), poses[0])
    np.testing.assert_array_equal(dio.read_positions_2d(subject, "Talk")[2], uv[2, 0])
    legacy = dio.read_occlusions(subject, "Talk")
    assert legacy[0].dtype == np.float64
    np.testing.assert_array_equal(legacy[1], legacy_labels(types[1, 0]))
    typed = dio.read_occlusion_types(subject, "Talk")
    assert typed[3].dtype == np.uint8 and np.array_equal(typed[3], types[3, 0])
    back = dio.read_persons(subject, "Talk")
    assert back.names == ["Alice", "Bob"]
    np.testing.assert_array_equal(back.positions_3d, poses)
    np.testing.assert_array_equal(back.types_by_cam[2], types[2])
    np.testing.assert_array_equal(back.positions_2d_by_cam[1], uv[1])


def test_single_person_take_writes_no_persons_file(tmp_path):
    poses, types = _take(persons=1)
    cameras = _blender_cameras()
    uv = cam.project(poses[0], cameras.P)
    solo = dio.Persons(["Solo"], poses, list(uv[:, None]), list(types))
    dio.write_action(
        tmp_path, "Walk", poses[0], list(uv), types_by_cam=list(types[:, 0]), persons=solo
    )
    assert not (tmp_path / "Persons").exists()
    assert (tmp_path / "Occlusions" / "Walk" / "occlusion_types.npz").exists()


def test_writer_refuses_inconsistent_input_before_writing(tmp_path):
    poses, types = _take(persons=1)
    uv = list(cam.project(poses[0], _blender_cameras().P))
    wrong = [np.ones((12, 17))] * 4
    with pytest.raises(ValueError, match="disagree"):
        dio.write_action(
            tmp_path, "A", poses[0], uv, occluded_by_cam=wrong, types_by_cam=list(types[:, 0])
        )
    with pytest.raises(ValueError, match="shape"):
        dio.write_positions_3d(tmp_path, "A", poses[0][:, :16])
    with pytest.raises(ValueError, match="OcclusionType"):
        dio.write_occlusion_types(tmp_path, "A", [np.full((12, 17), 7)])
    assert list(tmp_path.iterdir()) == []
    assert OcclusionType.OBJECT == 3


def test_published_cameras_written_as_another_subject(shared, tmp_path):
    cameras = dio.read_cameras(shared("blendmimic3d", "S2"))
    dio.write_cameras(tmp_path / "S7", "S7", cameras)
    back = dio.read_cameras(tmp_path / "S7")
    assert back.extrinsic_params["S7"] == cameras.extrinsic_params["S2"]
    np.testing.assert_array_equal(back.P, cameras.P)
