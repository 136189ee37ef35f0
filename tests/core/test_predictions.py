"""Loading predictions in the shapes lifting tools write, and writing refined ones alike."""

import os
import pickle

import numpy as np
import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format.predictions import load_predictions, save_predictions_like

POSES = np.random.default_rng(5).normal(size=(30, 17, 3)).astype(np.float32)


def test_real_videopose3d_output(shared, tmp_path):
    path = shared("predictions", "vp3d_predictions.npy")
    poses, layout = load_predictions(path, with_layout=True)
    assert poses.shape == (396, 17, 3) and poses.dtype == np.float64
    assert (layout.container, layout.form, layout.dtype) == ("npy", "T,1,17,3", np.float32)
    out = tmp_path / "refined.npy"
    save_predictions_like(layout, poses + 0.5, out)
    written = np.load(out)
    assert written.shape == (396, 1, 17, 3) and written.dtype == np.float32
    np.testing.assert_allclose(written[:, 0], poses + 0.5, rtol=1e-6)


def test_plain_npy_and_npz(tmp_path):
    np.save(tmp_path / "a.npy", POSES.astype(np.float64))
    poses, layout = load_predictions(tmp_path / "a.npy", with_layout=True)
    assert layout.form == "T,17,3" and layout.dtype == np.float64
    np.testing.assert_array_equal(poses, POSES)
    np.savez(tmp_path / "b.npz", predictions=POSES[:, None])
    poses, layout = load_predictions(tmp_path / "b.npz", with_layout=True)
    assert (layout.key, layout.form) == ("predictions", "T,1,17,3")
    save_predictions_like(layout, poses * 2, tmp_path / "c.npz")
    np.testing.assert_allclose(np.load(tmp_path / "c.npz")["predictions"][:, 0], POSES * 2)


def test_npz_with_several_arrays_needs_a_key(tmp_path):
    np.savez(tmp_path / "two.npz", a=POSES, b=POSES + 1)
    with pytest.raises(DatasetError, match="several arrays"):
        load_predictions(tmp_path / "two.npz")
    np.testing.assert_array_equal(load_predictions(tmp_path / "two.npz", key="b"), POSES + 1)


def _dict_file(path):
    tree = {"S9": {"Walk": [POSES, POSES + 1], "Sit": [POSES + 2]}}
    np.savez_compressed(path, positions_3d=tree)  # VideoPose3D's way (pickled dict)
    return tree


def test_videopose3d_dict_layout(tmp_path):
    path = tmp_path / "data_3d_x.npz"
    _dict_file(path)
    with pytest.raises(
        DatasetError, match="3 sequences; choose one: S9/Walk/0, S9/Walk/1, S9/Sit/0"
    ):
        load_predictions(path)
    poses, layout = load_predictions(path, key="S9/Walk/1", with_layout=True)
    np.testing.assert_array_equal(poses, POSES + 1)
    with pytest.raises(DatasetError, match="no entry 'S9/Run'"):
        load_predictions(path, key="S9/Run")
    out = tmp_path / "refined.npz"
    save_predictions_like(layout, np.zeros((30, 17, 3)), out)
    tree = np.load(out, allow_pickle=True)["positions_3d"].item()
    np.testing.assert_array_equal(tree["S9"]["Walk"][1], 0)
    np.testing.assert_array_equal(tree["S9"]["Walk"][0], POSES)  # the rest unchanged
    assert tree["S9"]["Walk"][1].dtype == np.float32


def test_fortran_order_npy(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(POSES))
    np.testing.assert_array_equal(load_predictions(tmp_path / "f.npy"), POSES)


def test_object_npy_dict(tmp_path):
    np.save(tmp_path / "d.npy", {"S1": {"Greeting": POSES}})
    np.testing.assert_array_equal(load_predictions(tmp_path / "d.npy"), POSES)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_bad_predictions(tmp_path):
    np.save(tmp_path / "shape.npy", np.zeros((10, 16, 3)))
    with pytest.raises(DatasetError, match=r"shape \(10, 16, 3\) where \(T,17,3\) or \(T,1,17,3\)"):
        load_predictions(tmp_path / "shape.npy")
    bad = POSES.copy()
    bad[3, 3, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(DatasetError, match="NaN"):
        load_predictions(tmp_path / "nan.npy")
    with open(tmp_path / "evil.npy", "wb") as handle:
        header = b"{'descr': '|O', 'fortran_order': False, 'shape': (), }"
        handle.write(
            b"\x93NUMPY\x01\x00" + len(header + b"\n").to_bytes(2, "little") + header + b"\n"
        )
        handle.write(pickle.dumps(_Exploit(), 3))
    with pytest.raises(DatasetError, match="refused to load"):
        load_predictions(tmp_path / "evil.npy")
    (tmp_path / "p.txt").write_text("1 2 3")
    with pytest.raises(DatasetError, match=r"\.npy or \.npz"):
        load_predictions(tmp_path / "p.txt")
    with pytest.raises(DatasetError, match="file is missing"):
        load_predictions(tmp_path / "none.npy")
    (tmp_path / "trunc.npy").write_bytes(open(tmp_path / "nan.npy", "rb").read()[:300])
    with pytest.raises(DatasetError, match="trunc.npy: corrupt, truncated or unsafe array"):
        load_predictions(tmp_path / "trunc.npy")
