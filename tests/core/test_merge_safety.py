"""merge and the root manifest: nothing lost, nothing escapes (issue 11, items 1-4 and the lock).

Shards here are real: written by the same core functions the export uses, on a tiny take.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from test_dataset_io import _blender_cameras

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format import manifest as mf
from blendmimic3d_addon.core.format import paths, shards
from blendmimic3d_addon.core.format.publish import staged_subject

FRAMES = {"Walk": 4, "Talk": 3}


def make_shards(folder, n=2, subject="S1", cameras=None, persons=("P",), fps=30.0, seed=3):
    """The N shard folders of one export of a tiny scene (as ``export --shard K/N`` writes)."""
    cameras = cameras or _blender_cameras()
    plan = shards.plan_units(FRAMES, range(len(cameras)))
    rng = np.random.default_rng(seed)
    takes = {a: rng.normal(size=(f, len(persons), 17, 3)) for a, f in FRAMES.items()}
    entry = {
        "cameras": [],
        "actions": {a: mf.action_entry(1, f, persons) for a, f in FRAMES.items()},
    }
    made = []
    for k, units in enumerate(shards.assign_units(plan, n), start=1):
        shard_dir = os.path.join(folder, shards.shard_dir_name(subject, k, n))
        dio.write_cameras(shard_dir, subject, cameras)
        for action, cams in shards.cameras_by_action(units).items():
            uv = {c: takes[action][..., :2] + c for c in cams}
            codes = {c: np.zeros(takes[action].shape[:3], np.uint8) for c in cams}
            shards.write_shard_take(shard_dir, action, takes[action], uv, codes)
        shards.write_shard_manifest(shard_dir, subject, k, n, units, plan, persons, entry, fps)
        made.append(shard_dir)
    return made


def tree(folder):
    """{relative path: bytes} of every file under ``folder``."""
    folder = pathlib.Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_tiny_shards_merge(tmp_path):
    parts = make_shards(tmp_path / "work")
    subject_dir = shards.merge(parts, tmp_path / "out")
    assert sorted(os.listdir(tmp_path / "out")) == ["S1", "dataset.json"]
    assert dio.action_names(subject_dir) == ["Talk", "Walk"]
    assert not any(os.path.exists(p) for p in parts)


# ---- item 1: the output inside one of its inputs -----------------------------------------------


@pytest.mark.parametrize("where", ["in the first shard", "in the second shard", "holds a shard"])
def test_merge_output_overlapping_a_shard_is_refused_and_nothing_is_lost(tmp_path, where):
    work = tmp_path / "D"
    if where == "holds a shard":  # merging into D puts D/S1 in place: the shards must not be in it
        parts = make_shards(work / "S1")
        out = work
    else:
        parts = make_shards(work)
        out = parts[0] if where == "in the first shard" else os.path.join(parts[1], "deeper")
    before = tree(work)
    with pytest.raises(DatasetError, match=r"--out: overlaps the shard folder"):
        shards.merge(parts, out, overwrite=True)
    assert tree(work) == before


# ---- item 2: an unreadable or foreign root manifest --------------------------------------------


@pytest.mark.parametrize(
    "manifest_text",
    ['{"name": "my other project"}\n', "{not json", '["a list"]'],
)
def test_merge_overwrite_with_a_foreign_root_manifest_leaves_the_older_subject(
    tmp_path, manifest_text
):
    out = tmp_path / "D"
    shards.merge(make_shards(tmp_path / "first"), out)
    (out / "dataset.json").write_text(manifest_text)
    before = tree(out)
    parts = make_shards(tmp_path / "second", seed=4)
    with pytest.raises(DatasetError, match=r"dataset.json"):
        shards.merge(parts, out, overwrite=True)
    assert tree(out) == before
    assert sorted(os.listdir(out)) == ["S1", "dataset.json"]  # no staging folder left
    assert all(os.path.isdir(p) for p in parts)  # and the shards kept


def test_the_manifest_is_checked_before_the_subject_is_replaced(tmp_path):
    """A manifest that turns foreign during the run (after the up-front check) still stops the
    swap: the check is repeated under the lock, before the older folder is touched."""
    out = tmp_path / "D"
    shards.merge(make_shards(tmp_path / "first"), out)
    before = tree(out)

    def entry():
        (out / "dataset.json").write_text('{"name": "my other project"}')
        return "S1", {"cameras": [], "actions": {}}, 30.0

    with pytest.raises(DatasetError, match=r"dataset.json: format: missing field"):
        with staged_subject(out, "S1", overwrite=True, entry=entry) as stage:
            (open(os.path.join(stage, "new.txt"), "w")).close()
    after = tree(out)
    assert {k: v for k, v in after.items() if k != "dataset.json"} == {
        k: v for k, v in before.items() if k != "dataset.json"
    }
    assert sorted(os.listdir(out)) == ["S1", "dataset.json"]


# ---- item 3: names from files that become paths ------------------------------------------------


def test_subject_and_action_names_need_a_full_match():
    assert paths.check_subject_name("S1") == "S1"
    for bad in ("S1\n", "../S1", "", ".", "S 1", "S1/x", None, 1):
        with pytest.raises(DatasetError, match="subject"):
            paths.check_subject_name(bad)
    assert paths.check_action_name("Walk.001") == "Walk.001"
    for bad in ("Walk\n", "..", ".", ".hidden", "a/b", "../x", "", "x" * 200):
        with pytest.raises(DatasetError, match="action"):
            paths.check_action_name(bad)


def _edit_shard(shard_dir, change):
    path = os.path.join(shard_dir, shards.SHARD_FILE)
    with open(path) as handle:
        info = json.load(handle)
    change(info)
    with open(path, "w") as handle:
        json.dump(info, handle)


def test_a_shard_subject_outside_out_is_refused(tmp_path):
    """shard.json says ``../ESCAPED_SUBJECT``, with camera files of that name: merge must not
    write outside --out."""
    parts = make_shards(tmp_path / "work")
    for part in parts:
        dio.write_cameras(part, "../ESCAPED_SUBJECT", _blender_cameras())
        _edit_shard(part, lambda info: info.update(subject="../ESCAPED_SUBJECT"))
    out = tmp_path / "out" / "inner"
    with pytest.raises(DatasetError, match=r"shard.json: subject: '../ESCAPED_SUBJECT'"):
        shards.merge(parts, out)
    assert not (tmp_path / "out").exists()
    assert sorted(os.listdir(tmp_path)) == ["work"]


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda info: info.update(subject="S1\n"), "subject"),
        (lambda info: info["plan"][0].__setitem__(0, "../Walk"), r"plan\[0\]"),
        (lambda info: info["units"][0].__setitem__(0, "Walk\n"), r"units\[0\]"),
        (lambda info: info["units"][0].__setitem__(1, True), r"units\[0\]"),
        (lambda info: info["units"][0].__setitem__(1, "../0"), r"units\[0\]"),
        (lambda info: info["subject_entry"]["actions"].update({"../x": {}}), "subject_entry"),
    ],
)
def test_every_name_of_shard_json_that_becomes_a_path_is_checked(tmp_path, change, field):
    parts = make_shards(tmp_path / "work")
    for part in parts:
        _edit_shard(part, change)
    with pytest.raises(DatasetError, match=rf"shard.json: {field}"):
        shards.merge(parts, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- item 4: shards of different scenes --------------------------------------------------------


def _moved_camera(metres):
    cameras = _blender_cameras()
    RT = cameras.RT.copy()
    RT[0, 0, 3] += metres
    return dio.Cameras(cameras.names, cameras.K, RT, cameras.res)


@pytest.mark.parametrize(
    "second, differs",
    [
        (dict(cameras=_moved_camera(0.3)), "cameras"),
        (dict(persons=("P2",)), "persons"),
        (dict(fps=25.0), "fps"),
    ],
)
def test_merge_refuses_shards_of_different_scenes(tmp_path, second, differs):
    one = make_shards(tmp_path / "a")
    two = make_shards(tmp_path / "b", **second)
    with pytest.raises(DatasetError, match=rf"S1.shard-2-of-2/shard.json: .*{differs}"):
        shards.merge([one[0], two[1]], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_merge_refuses_shards_of_another_version_or_plan(tmp_path):
    one = make_shards(tmp_path / "a")
    two = make_shards(tmp_path / "b")
    _edit_shard(two[1], lambda info: info["fingerprint"].update(version="0.0.1"))
    with pytest.raises(DatasetError, match=r"shard-2-of-2/shard.json: fingerprint: version differ"):
        shards.merge([one[0], two[1]], tmp_path / "out")
    # Camera files swapped in by hand no longer match the shard's own fingerprint.
    three = make_shards(tmp_path / "c")
    dio.write_cameras(three[1], "S1", _moved_camera(0.3))
    with pytest.raises(DatasetError, match=r"fingerprint: does not match the shard's own files"):
        shards.merge(three, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_fingerprint_ignores_float_noise_but_not_a_millimetre():
    cameras = _blender_cameras()
    plan = shards.plan_units(FRAMES, range(4))
    base = shards.fingerprint(cameras, ["P"], 30, plan)
    noisy = dio.Cameras(cameras.names, cameras.K * (1 + 1e-14), cameras.RT + 1e-12, cameras.res)
    assert shards.fingerprint(noisy, ["P"], 30, plan) == base
    assert shards.fingerprint(_moved_camera(0.001), ["P"], 30, plan)["cameras"] != base["cameras"]
    # A sign is a difference (a camera mirrored about an axis), a signed zero is not.
    flipped = cameras.RT.copy()
    flipped[:, 0, 3] = -flipped[:, 0, 3] + 0.05
    twice = flipped.copy()
    twice[:, 0, 3] = -twice[:, 0, 3]
    mirrored = [shards.fingerprint(dio.Cameras(cameras.names, cameras.K, RT, cameras.res), ["P"],
                                   30, plan)["cameras"] for RT in (flipped, twice)]  # fmt: skip
    assert mirrored[0] != mirrored[1]
    zero = cameras.RT.copy()
    zero[zero == 0] = -0.0
    signed = dio.Cameras(cameras.names, cameras.K, zero - 1e-13, cameras.res)
    assert shards.fingerprint(signed, ["P"], 30, plan) == base


# ---- concurrent writers of one root ------------------------------------------------------------

_WRITER = """
import sys
sys.path[:0] = [{repo!r}]
from blendmimic3d_addon.core.format import shards
from blendmimic3d_addon.core.format.publish import staged_subject
root, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
if name.startswith("merge"):
    shards.merge(sys.argv[4:], root)
else:
    for i in range(rounds):
        subject = f"{{name}}_{{i}}"
        entry = lambda: (subject, {{"cameras": [], "actions": {{}}}}, 30.0)
        with staged_subject(root, subject, entry=entry) as stage:
            open(stage + "/x", "w").close()
"""


def test_concurrent_writers_keep_every_manifest_entry(tmp_path):
    """Several processes (exports' publish step and merges) finish into one root at once: the
    manifest lists every subject each of them wrote."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(repo=repo))
    root = tmp_path / "D"
    root.mkdir()
    mf.write_manifest(root, mf.build_manifest({}, 30.0, "0"))
    merges = [make_shards(tmp_path / f"m{i}", subject=f"M{i}") for i in range(2)]
    rounds = 25
    commands = [
        [sys.executable, str(script), str(root), f"export{i}", str(rounds)] for i in range(4)
    ]
    commands += [[sys.executable, str(script), str(root), f"merge{i}", "0", *m] for i, m in enumerate(merges)]  # fmt: skip # noqa: E501
    processes = [subprocess.Popen(c, stderr=subprocess.PIPE, text=True) for c in commands]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.stderr.read()
    listed = set(mf.read_manifest(root)["subjects"])
    expected = {f"export{i}_{r}" for i in range(4) for r in range(rounds)} | {"M0", "M1"}
    assert listed == expected, f"{len(expected - listed)} entries lost"


def test_a_root_that_cannot_be_locked_stops_the_merge_and_keeps_the_older_dataset(
    tmp_path, monkeypatch
):
    """A file system without locks (some network mounts): one message, nothing replaced."""
    import errno

    from blendmimic3d_addon.core.format import lock

    out = tmp_path / "D"
    shards.merge(make_shards(tmp_path / "first"), out)
    before = tree(out)

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(lock.fcntl, "flock", no_locks)
    with pytest.raises(DatasetError, match=r"D: cannot be locked \(No locks available\)"):
        shards.merge(make_shards(tmp_path / "second", seed=4), out, overwrite=True)
    assert tree(out) == before
    assert sorted(os.listdir(out)) == ["S1", "dataset.json"]


def test_the_merge_command_into_a_shard_exits_1_with_one_line(tmp_path, capsys):
    """The issue's command: ``merge D/S1.shard-* --out D/S1.shard-1-of-2``."""
    from blendmimic3d_addon import cli

    parts = make_shards(tmp_path / "D")
    before = tree(tmp_path / "D")
    assert cli.main(["merge", *parts, "--out", parts[0]]) == 1  # bad input: exit 1 (issue 11)
    error = capsys.readouterr().err.strip()
    assert error.endswith(f"overlaps the shard folder {parts[0]}: merge into a folder that "
                          "neither holds a shard's subject nor lies inside a shard")  # fmt: skip
    assert len(error.splitlines()) == 1
    assert tree(tmp_path / "D") == before
