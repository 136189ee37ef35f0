"""Broken files give one line naming the file and the field, never a traceback (issue 11,
item 6): odd zip members, odd numbers in camera parameters, every malformed shape of
dataset.json and shard.json, to-videopose3d onto a file, names that are not UTF-8."""

import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import REPO
from test_validate import make_dataset

from blendmimic3d_addon import cli
from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format import manifest as mf
from blendmimic3d_addon.core.format.safe_npz import read_npz, write_npz
from blendmimic3d_addon.core.format.shards import SHARD_FILE, merge
from blendmimic3d_addon.core.validate.dataset import validate_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("messages") / "data", persons=1)


@pytest.fixture
def root(dataset, tmp_path):
    import shutil

    return shutil.copytree(dataset, tmp_path / "data")


def _only_problem_in(root, path):
    problems = [p for p in validate_dataset(root).problems if p.startswith(f"{path}: ")]
    assert problems, validate_dataset(root).problems
    return problems[0]


def _patch_member_headers(path, local_offset, central_offset, value):
    """Set a 2-byte field of the first member in its local and central headers."""
    data = bytearray(open(path, "rb").read())
    struct.pack_into("<H", data, local_offset, value)
    directory = struct.unpack_from("<I", data, len(data) - 22 + 16)[0]
    struct.pack_into("<H", data, directory + central_offset, value)
    open(path, "wb").write(bytes(data))


def test_encrypted_member(root):
    path = dio.positions_3d_path(os.path.join(root, "S1"), "Walk")
    _patch_member_headers(path, 6, 8, 0x1 | 0x8)  # flag bits: encrypted (and data descriptor)
    line = _only_problem_in(root, path)
    assert line == f"{path}: positions_3d: encrypted member; the format stores arrays in the clear"


@pytest.mark.parametrize("method", [99, zipfile.ZIP_BZIP2])
def test_unknown_compression(root, method):
    path = dio.occlusions_path(os.path.join(root, "S1"), "Talk")
    _patch_member_headers(path, 8, 10, method)
    line = _only_problem_in(root, path)
    assert line == f"{path}: Cam_0: compression method {method} (only stored or deflated)"


def _edit_intrinsics(root, change):
    path = dio.camera_params_path(os.path.join(root, "S1"), "S1")
    pickled = ("intrinsic_params", "extrinsic_params")
    arrays = read_npz(path, pickled=pickled)
    change(arrays["intrinsic_params"][1])
    write_npz(path, arrays, compressed=False)
    return path


@pytest.mark.parametrize(
    "value",
    [
        np.zeros(2, dtype=[("u", "<f8"), ("v", "<f8")]),  # structured
        [500.0, [501.0]],  # ragged
        [[500.0, 501.0]],  # nested
        [500.0, True],  # a boolean
        "500,501",
        [500.0, 10**400],  # an integer past float range
        {"u": 500.0},
    ],
)
def test_odd_numbers_in_camera_parameters(root, value):
    path = _edit_intrinsics(root, lambda entry: entry.update(center=value))
    line = _only_problem_in(root, path)
    assert line.startswith(f"{path}: intrinsic_params[1].center: expected 2 finite numbers, found")
    assert len(line) < 300


def test_zero_cameras(root):
    subject = os.path.join(root, "S1")
    matrices = dio.matrices_path(subject, "S1")
    write_npz(matrices, {"K": np.zeros((0, 3, 3)), "RT": np.zeros((0, 3, 4)),
                         "P": np.zeros((0, 3, 4))}, compressed=False)  # fmt: skip
    assert _only_problem_in(root, matrices) == f"{matrices}: K: no camera"


def _manifest_cases():
    def at(*keys):
        def change(value):
            def edit(manifest):
                target = manifest
                for key in keys[:-1]:
                    target = target[key]
                target[keys[-1]] = value

            return edit

        return change

    walk = ("subjects", "S1", "actions", "Walk")
    camera = ("subjects", "S1", "cameras", 0)
    return {
        "a list for the whole": (lambda m: [m], None, "expected an object, found list"),
        "subjects a list": (at("subjects")([]), "subjects", "expected an object, found list"),
        "a subject a list": (at("subjects", "S1")([]), "subjects.S1", "expected an object"),
        "cameras an object": (at("subjects", "S1", "cameras")({}), "subjects.S1.cameras",
                              "expected a list, found object"),
        "a camera a list": (at(*camera)([1]), "subjects.S1.cameras[0]", "expected an object"),
        "K a string": (at(*camera, "K")("eye"), "subjects.S1.cameras[0].K", "expected a list"),
        "K ragged": (at(*camera, "K")([[1, 0, 0], [0, 1], [0, 0, 1]]),
                     "subjects.S1.cameras[0].K[1]", "expected 3 numbers"),
        "K holding null": (at(*camera, "K")([[1, 0, 0], [0, None, 0], [0, 0, 1]]),
                           "subjects.S1.cameras[0].K[1][1]", "None is not a finite number"),
        "res_h a float": (at(*camera, "res_h")(1002.0), "subjects.S1.cameras[0].res_h",
                          "1002.0 is not an integer"),
        "actions a list": (at("subjects", "S1", "actions")([]), "subjects.S1.actions",
                           "expected an object, found list"),
        "an action a string": (at(*walk)("Walk"), "subjects.S1.actions.Walk", "expected an object"),
        "frame_start null": (at(*walk, "frame_start")(None), "subjects.S1.actions.Walk.frame_start",
                             "None is not an integer"),
        "persons an object": (at(*walk, "persons")({}), "subjects.S1.actions.Walk.persons",
                              "expected a list"),
        "a person a string": (at(*walk, "persons")(["P"]), "subjects.S1.actions.Walk.persons[0]",
                              "expected an object"),
        "joints a list": (at("joints")([]), "joints", "expected an object, found list"),
        "generator a string": (at("generator")("me"), "generator", "expected an object"),
        "format_version a list": (at("format_version")([1]), "format_version", "expected a string"),
        "format a dict": (at("format")({}), "format", "{} is not 'blendmimic3d'"),
        "occlusion_types a list": (at("occlusion_types")([]), "occlusion_types", "expected an"),
    }  # fmt: skip


@pytest.mark.parametrize("case", sorted(_manifest_cases()))
def test_malformed_dataset_json(root, case):
    edit, field, reason = _manifest_cases()[case]
    path = mf.manifest_path(root)
    manifest = mf.read_manifest(root)
    manifest = edit(manifest) or manifest
    with open(path, "w") as handle:
        json.dump(manifest, handle)
    with pytest.raises(DatasetError) as info:
        mf.read_manifest(root)
    assert (info.value.path, info.value.field) == (path, field)
    assert reason in info.value.reason
    report = validate_dataset(root)
    assert info.value.message in report.problems


@pytest.mark.parametrize(
    "text, reason",
    [
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
        (b'{"format": "\xff"}', "not UTF-8 text"),
        ("{", "not readable JSON"),
        ("", "not readable JSON"),
    ],
)
def test_unreadable_dataset_json(root, text, reason):
    path = mf.manifest_path(root)
    with open(path, "wb") as handle:
        handle.write(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DatasetError) as info:
        mf.read_manifest(root)
    assert info.value.path == path and reason in info.value.reason
    assert any(p.startswith(f"{path}: {reason}") for p in validate_dataset(root).problems)


def _shard(folder, **changes):
    folder.mkdir()
    plan, entry = [["A", 0, 5]], {"cameras": [], "actions": {}}
    info = {"subject": "S1", "shard": 1, "of": 1, "units": plan, "plan": plan,
            "persons": ["P"], "fps": 30.0, "subject_entry": entry}  # fmt: skip
    info.update(changes)
    (folder / SHARD_FILE).write_text(json.dumps(info))
    return folder


@pytest.mark.parametrize(
    "changes, field, reason",
    [
        ({"units": "A,0,5"}, "units", "expected a list, found string"),
        ({"units": [["A", 0]]}, "units[0]", "expected [action, camera, frames]"),
        ({"units": [["A", "0", 5]]}, "units[0][1]", "'0' is not an integer"),
        ({"units": [[["A"], 0, 5]]}, "units[0][0]", "expected a string, found list"),
        ({"units": [["A", 0, 0]]}, "units[0][2]", "0 is below 1"),
        ({"units": [{"A": 0}]}, "units[0]", "expected a list, found object"),
        ({"plan": [["A", -1, 5]]}, "plan[0][1]", "-1 is below 0"),
        ({"shard": 3}, "shard", "3 is more than of (1)"),
        ({"of": "1"}, "of", "'1' is not an integer"),
        ({"persons": "P"}, "persons", "expected a list"),
        ({"fps": None}, "fps", "None is not a finite number"),
        ({"subject": ["S1"]}, "subject", "expected a string"),
        ({"subject_entry": []}, "subject_entry", "expected an object"),
    ],
)
def test_malformed_shard_json(tmp_path, capsys, changes, field, reason):
    shard = _shard(tmp_path / "S1.shard-1-of-1", **changes)
    out = tmp_path / "out"
    assert cli.main(["merge", str(shard), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {shard / SHARD_FILE}: {field}: {reason}" + err.split(reason, 1)[1]
    assert len(err.splitlines()) == 1 and not out.exists() and shard.exists()


def test_merge_of_a_list_shaped_shard_json(tmp_path):
    shard = tmp_path / "S1.shard-1-of-1"
    shard.mkdir()
    (shard / SHARD_FILE).write_text("[]")
    with pytest.raises(DatasetError, match="shard.json: expected an object, found list"):
        merge([shard], tmp_path / "out")


def test_to_videopose3d_onto_an_existing_file(root, tmp_path, capsys):
    target = tmp_path / "taken.npz"
    target.write_bytes(b"mine")
    assert cli.main(["to-videopose3d", str(root), str(target)]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {target}: exists and is not a folder; give a folder for the npz files\n"
    )  # noqa: E501
    assert target.read_bytes() == b"mine"
    assert cli.main(["to-videopose3d", str(root), str(target / "below")]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: {target / 'below'}: cannot create the folder"
    )
    assert target.read_bytes() == b"mine"


def _strict_utf8(*args):
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", LC_ALL="C.UTF-8")
    return subprocess.run([sys.executable, "-m", "blendmimic3d_addon", *args], cwd=REPO,
                          env=env, capture_output=True, timeout=120)  # fmt: skip


def test_names_that_are_not_utf8_under_a_strict_locale(root, tmp_path):
    odd = os.path.join(os.fsencode(root), b"S1", b"notes-\xff.txt")
    open(odd, "wb").close()
    result = _strict_utf8("validate", root)
    assert result.returncode == 1 and b"Traceback" not in result.stderr, result.stderr
    shown = f"problem: {root}/S1/notes-\\udcff.txt: unexpected file or folder".encode()
    assert shown in result.stdout
    result.stdout.decode("utf-8")  # what was printed is valid in the locale's encoding
    missing = os.path.join(os.fsencode(tmp_path), b"pr\xe9d.npy")
    out = os.path.join(os.fsencode(tmp_path), b"out.npy")
    result = _strict_utf8("refine", missing, "--out", out, "--joint-order", "h36m")
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    assert result.stderr.decode("utf-8").endswith("pr\\udce9d.npy: file is missing\n")


def test_camera_text_with_a_byte_that_is_not_ascii(root):
    """0xA0 (a no-break space in Latin-1) in place of a space: a changed file, not the same P."""
    path = dio.camview_path(os.path.join(root, "S1"), 2)
    data = open(path, "rb").read()
    open(path, "wb").write(data.replace(b" ", b"\xa0", 1))
    line = _only_problem_in(root, path)
    assert line.startswith(f"{path}: not a numeric text matrix ('ascii' codec can't decode")


def test_member_needing_a_zip_version_from_the_future(root):
    """A flipped bit in "version needed to extract" (found by the fuzz test, seed 15)."""
    path = dio.occlusions_path(os.path.join(root, "S1"), "Walk")
    _patch_member_headers(path, 4, 6, 84)  # version 8.4
    line = _only_problem_in(root, path)
    assert line == f"{path}: not a readable .npz archive (zip file version 8.4)"


def test_labels_of_fewer_cameras_than_typed_codes(root):
    """Found by the fuzz test (seed 8): the typed-vs-legacy comparison indexed past the
    shorter list (an IndexError) when the camera files were unreadable too."""
    subject = os.path.join(root, "S1")
    labels = dio.occlusions_path(subject, "Walk")
    arrays = read_npz(labels)
    del arrays["Cam_3"]
    write_npz(labels, arrays, compressed=True)
    os.remove(dio.matrices_path(subject, "S1"))
    types = dio.occlusion_types_path(subject, "Walk")
    assert _only_problem_in(root, types) == f"{types}: 4 cameras where occluded_kpt.npz has 3"


@pytest.mark.parametrize("name", ["../escaped", "a/b", ".hidden", "", "bm\n"])
def test_to_videopose3d_name_that_would_become_another_path(root, tmp_path, capsys, name):
    out = tmp_path / "vp3d"
    assert cli.main(["to-videopose3d", str(root), str(out), "--name", name]) == 1
    assert capsys.readouterr().err.startswith(f"error: --name: {name!r}: use letters")
    assert not out.exists() and not (tmp_path / "escaped").exists()
    assert sorted(os.listdir(tmp_path)) == ["data"]
