"""Seeded random mutations of real files, thrown at ``validate`` and the readers (issue 11).

A small subject is written by the project's own writers from a slice of the published S1 (or
synthesized when ../shared is absent). Each mutation (truncation, bit flips, npz member swaps,
dtype and shape changes) is applied to one file; then every reader must return or raise a
DatasetError (never another exception) and ``validate`` must list a problem, unless the
mutation provably left the data equal: the mutated file reads back to exactly what the original
holds (arrays with their dtypes, pickled dicts, JSON, text numbers). Those are counted apart
(a bit flip in a zip timestamp, "e+00" turned "e-00" in text), never silently passed; so are
changes to the three dataset.json values no other file repeats (fps, generator version, person
names), and flips inside the predictions .npy, which has no checksum: both are documented in
docs/reliability/files.md as what validate cannot see.
"""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from conftest import SHARED

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format import manifest as mf
from blendmimic3d_addon.core.format.predictions import load_predictions
from blendmimic3d_addon.core.format.safe_npz import read_npy_header
from blendmimic3d_addon.core.geometry import camera as cam
from blendmimic3d_addon.core.occlusion.labels import OcclusionType, legacy_labels
from blendmimic3d_addon.core.validate.dataset import validate_dataset

SEED = 11
MUTATIONS = 160  # about 10 s on one idle core
FRAMES = 24
ACTIONS = ("Greeting", "Phone")


def _source():
    """Cameras and (3D, labels) per action: a slice of the published S1, or synthetic."""
    published = SHARED / "blendmimic3d" / "S1"
    if published.is_dir():
        cameras = dio.read_cameras(published, "S1")
        takes = {
            a: (dio.read_positions_3d(published, a)[:FRAMES],
                [c[:FRAMES] for c in dio.read_occlusions(published, a)])
            for a in ACTIONS
        }  # fmt: skip
        return cameras, takes
    from test_dataset_io import _blender_cameras

    rng = np.random.default_rng(SEED)
    cameras = _blender_cameras()
    takes = {
        a: (rng.normal(scale=0.3, size=(FRAMES, 17, 3)) + [0, 0, 1],
            [rng.integers(0, 2, (FRAMES, 17)).astype(float) for _ in cameras.names])
        for a in ACTIONS
    }  # fmt: skip
    return cameras, takes


def _write_subject(root):
    cameras, takes = _source()
    subject = os.path.join(root, "S1")
    dio.write_cameras(subject, "S1", cameras)
    actions = {}
    for action, (poses, labels) in takes.items():
        uv = cam.project(poses, cameras.P)
        types = [_typed(poses, cameras, index, label) for index, label in enumerate(labels)]
        persons = _two_persons(poses, cameras, uv, types) if action == ACTIONS[1] else None
        dio.write_action(subject, action, poses, list(uv), types_by_cam=types, persons=persons)
        names = persons.names if persons else ["Person0"]
        actions[action] = mf.action_entry(1, FRAMES, names)
    entries = [
        mf.camera_entry(n, K, RT, *res)
        for n, K, RT, res in zip(cameras.names, cameras.K, cameras.RT, cameras.res, strict=True)
    ]
    subjects = {"S1": {"cameras": entries, "actions": actions}}
    manifest = mf.build_manifest(subjects, fps=50, generator_version="0.1.0")
    mf.write_manifest(root, manifest)
    predictions = os.path.join(root, "..", "predictions.npy")
    np.save(predictions, takes[ACTIONS[0]][0][:, None].astype(np.float32))  # VideoPose3D's form
    return root, os.path.abspath(predictions)


def _two_persons(poses, cameras, uv, types):
    """The take as a two-person one (the second a metre aside), so persons.npz is fuzzed too."""
    both = np.stack([poses, poses + [1.0, 0.0, 0.0]])
    uv_both = cam.project(both, cameras.P)  # (C, 2, N, 17, 2)
    types_both = [
        np.stack([types[c], _typed(both[1], cameras, c, legacy_labels(types[c]))])
        for c in range(len(cameras))
    ]
    return dio.Persons(["Person0", "Person1"], both, list(uv_both), types_both)


def _typed(poses, cameras, index, labels):
    """Typed codes as an export writes them: the published visible/hidden labels, with the
    geometric codes where the camera geometry says so (validate checks those)."""
    types = np.where(labels == 1, OcclusionType.VISIBLE, OcclusionType.SELF).astype(np.uint8)
    depth = cam.camera_depth(poses, cameras.RT[index : index + 1])[0]
    uv = cam.project(poses, cameras.P[index : index + 1])[0]
    inside = cam.in_image(uv, *cameras.res[index])
    types[(depth > 0) & ~inside] = OcclusionType.OUT_OF_FRAME
    types[depth <= 0] = OcclusionType.BEHIND_CAMERA
    return types


# ---- mutations: each returns the new bytes (or None when it does not apply to this file) -----


def _truncate(rng, data, path):
    return data[: int(rng.integers(0, len(data)))]


def _flip_bits(rng, data, path):
    data = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
    return bytes(data)


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _swap_members(rng, data, path):
    """Two members exchange their contents, or one takes another file's first member."""
    if not path.endswith(".npz"):
        return None
    members = _members(data)
    names = list(members)
    if len(names) >= 2:
        first, second = rng.choice(len(names), 2, replace=False)
        a, b = names[first], names[second]
        members[a], members[b] = members[b], members[a]
    else:
        other = _other_npz(path)
        members[names[0]] = next(iter(_members(open(other, "rb").read()).values()))
    return _zip(members)


def _other_npz(path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(path)))
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            candidate = os.path.join(folder, name)
            if name.endswith(".npz") and candidate != path and "camera_params" not in name:
                return candidate
    raise AssertionError("no other npz")


def _numeric_members(path, data):
    members = _members(data)
    numeric = {}
    for name, content in members.items():
        header = read_npy_header(io.BytesIO(content))
        if header[2].kind in "fiub":  # not pickles, not persons' names
            numeric[name] = np.load(io.BytesIO(content))
    return members, numeric


def _save(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


_DTYPES = ("<f4", ">f8", "<i8", "<f2", "|u1", "<c16")


def _rewrite_member(rng, data, path, change):
    """One numeric member of an npz, picked at random, replaced by ``change(rng, array)``."""
    if not path.endswith(".npz"):
        return None
    members, numeric = _numeric_members(path, data)
    if not numeric:
        return None
    name = sorted(numeric)[int(rng.integers(0, len(numeric)))]
    members[name] = _save(change(rng, numeric[name]))
    return _zip(members)


def _other_dtype(rng, array):
    choices = [d for d in _DTYPES if np.dtype(d) != array.dtype]
    with np.errstate(all="ignore"):
        return array.astype(choices[int(rng.integers(0, len(choices)))])


def _other_shape(rng, array):
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return array[:-1]  # one frame (or camera) fewer
    if kind == 1:
        return array[..., :-1]  # one value fewer on the last axis
    if kind == 2:
        return array[None]  # one more axis
    return np.concatenate([array, array[:1]])  # one more along the first axis


def _change_dtype(rng, data, path):
    return _rewrite_member(rng, data, path, _other_dtype)


def _change_shape(rng, data, path):
    return _rewrite_member(rng, data, path, _other_shape)


MUTATORS = (_truncate, _flip_bits, _swap_members, _change_dtype, _change_shape)


# ---- what a file holds, to tell a real change from bytes that do not matter ------------------


def _content(path):
    """What the format reads from ``path``, comparable with ==; None when unreadable."""
    try:
        if path.endswith(".npz"):
            from blendmimic3d_addon.core.format.safe_npz import read_npz

            arrays = read_npz(path, pickled=("intrinsic_params", "extrinsic_params"))
            return {k: (v.dtype.str, v.shape, pickle.dumps(v.tolist())) for k, v in arrays.items()}
        if path.endswith(".json"):
            with open(path, "rb") as handle:
                return json.loads(handle.read().decode("utf-8"))
        if path.endswith(".npy"):
            array = np.load(path)
            return (array.dtype.str, array.shape, array.tobytes())
        values = np.loadtxt(path, ndmin=2)
        return (values.shape, values.tobytes())
    except Exception:  # noqa: BLE001 - unreadable is "not equal" here; the readers judge it
        return None


def _checkable(manifest):
    """dataset.json without the values no other file repeats (frame rate, generator version,
    person names): a change to those is new data that validate cannot tell from the old."""
    manifest = json.loads(json.dumps(manifest))
    manifest.pop("fps", None)
    manifest.get("generator", {}).pop("version", None)
    for content in manifest.get("subjects", {}).values():
        for entry in content.get("actions", {}).values():
            for person in entry.get("persons", []):
                person.pop("name", None)
    return manifest


def _readers(root, subject):
    """Every reader, on every file of the subject; DatasetError is the only failure allowed."""
    yield lambda: mf.read_manifest(root)
    yield lambda: dio.read_cameras(subject, "S1")
    yield lambda: [dio.read_camview(subject, i) for i in range(4)]
    for action in ACTIONS:
        yield lambda a=action: dio.read_positions_3d(subject, a)
        yield lambda a=action: dio.read_data3d_txt(subject, a)
        yield lambda a=action: dio.read_positions_2d(subject, a)
        yield lambda a=action: dio.read_occlusions(subject, a)
        yield lambda a=action: dio.read_occlusion_types(subject, a)
    yield lambda: dio.read_persons(subject, ACTIONS[1])


def _files(root, predictions):
    found = [predictions]
    for folder, _, files in sorted(os.walk(root)):
        found += [os.path.join(folder, name) for name in sorted(files)]
    return found


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _write_subject(str(tmp_path_factory.mktemp("fuzz") / "data"))


def test_pristine_copy_validates(dataset):
    root, predictions = dataset
    report = validate_dataset(root)
    assert report.ok, report.problems
    assert load_predictions(predictions).shape == (FRAMES, 17, 3)


def test_mutations_give_a_message_never_a_traceback_never_ok(dataset):
    root, predictions = dataset
    subject = os.path.join(root, "S1")
    files = _files(root, predictions)
    rng = np.random.default_rng(SEED)
    outcomes = dict.fromkeys(
        ("rejected", "data unchanged", "free-form field changed", "predictions read"), 0
    )
    tried = 0
    while tried < MUTATIONS:
        path = files[int(rng.integers(0, len(files)))]
        mutate = MUTATORS[int(rng.integers(0, len(MUTATORS)))]
        original = open(path, "rb").read()
        changed = mutate(rng, original, path)
        if changed is None or changed == original:
            continue
        tried += 1
        label = f"mutation {tried} ({mutate.__name__} of {os.path.relpath(path, root)})"
        before = _content(path)
        try:
            with open(path, "wb") as handle:
                handle.write(changed)
            for read in _readers(root, subject):
                try:
                    read()
                except DatasetError:
                    pass
            if path == predictions:
                # A bare .npy holds no checksum and nothing to check it against: a flipped bit
                # in a float is another valid pose. Only "a message, never a traceback" holds.
                try:
                    load_predictions(path)
                    outcomes["predictions read"] += 1
                except DatasetError:
                    outcomes["rejected"] += 1
                continue
            if validate_dataset(root).ok:
                after = _content(path)
                if after != before and path.endswith(".json"):
                    assert _checkable(after) == _checkable(before), f"{label}: reported OK"
                    outcomes["free-form field changed"] += 1
                    continue
                assert after == before, f"{label}: changed data reported OK"
                outcomes["data unchanged"] += 1
            else:
                outcomes["rejected"] += 1
        except Exception as exc:
            raise AssertionError(f"{label}: {type(exc).__name__}: {exc}") from exc
        finally:
            with open(path, "wb") as handle:
                handle.write(original)
    assert outcomes["rejected"] > MUTATIONS // 2, outcomes
    print(f"fuzz: {outcomes}")
