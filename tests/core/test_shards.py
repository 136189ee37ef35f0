"""Shard planning and the merge's checks (pure core)."""

import json

import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format.shards import (
    SHARD_FILE,
    assign_units,
    cameras_by_action,
    merge,
    parse_shard,
    plan_units,
)


def test_parse_shard():
    assert parse_shard("3/8") == (3, 8)
    assert parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/4", "5/4", "2", "a/b", "-1/4"):
        with pytest.raises(DatasetError, match="--shard"):
            parse_shard(bad)


def test_every_unit_in_exactly_one_shard_and_balanced():
    frames = {"Arguing": 1200, "Greeting": 1396, "Phone": 600, "WalkCircle": 2547}
    units = plan_units(frames, [0, 1, 2, 3])
    assert len(units) == 16 and units[0] == ("Arguing", 0, 1200)
    for n in (1, 2, 3, 5, 16, 20):
        shards = assign_units(units, n)
        assert len(shards) == n
        flat = [u for shard in shards for u in shard]
        assert sorted(flat) == sorted(units)
        loads = [sum(f for _, _, f in shard) for shard in shards]
        if n <= len(units):
            # Greedy longest-first: no shard exceeds the lightest by more than the longest unit.
            assert max(loads) - min(loads) <= max(frames.values())
        # Deterministic: every shard of a job array computes the same split.
        assert assign_units(units, n) == shards
    assert sum(len(s) == 0 for s in assign_units(units, 20)) == 4


def test_cameras_by_action_keeps_order():
    units = [("B", 2, 5), ("A", 0, 3), ("B", 0, 5)]
    assert cameras_by_action(units) == {"B": [2, 0], "A": [0]}


def _fake_shard(folder, k, n, units, plan, subject="S1"):
    folder.mkdir()
    entry = {"cameras": [], "actions": {}}
    info = {"subject": subject, "shard": k, "of": n, "units": units, "plan": plan,
            "persons": ["P"], "fps": 30.0, "subject_entry": entry}  # fmt: skip
    (folder / SHARD_FILE).write_text(json.dumps(info))
    return folder


def test_merge_refuses_missing_duplicate_and_foreign_shards(tmp_path):
    plan = [["A", 0, 5], ["A", 1, 5]]
    one = _fake_shard(tmp_path / "S1.shard-1-of-2", 1, 2, [plan[0]], plan)
    with pytest.raises(DatasetError, match=r"1 of 2 \(action, camera\) units are missing"):
        merge([one], tmp_path / "out")
    dup = _fake_shard(tmp_path / "dup", 2, 2, [plan[0]], plan)
    with pytest.raises(DatasetError, match=r"shard.json: units: \('A', 0\) is also in"):
        merge([one, dup], tmp_path / "out")
    other = _fake_shard(tmp_path / "other", 2, 2, [plan[1]], plan, subject="S2")
    with pytest.raises(DatasetError, match="shard.json: subject: differs from"):
        merge([one, other], tmp_path / "out")
    with pytest.raises(DatasetError, match="shard.json: missing: not the folder of an export"):
        merge([tmp_path], tmp_path / "out")
    assert not (tmp_path / "out").exists()
