"""Staged folders: a run killed at any point leaves the older folder recoverable, and the next
run beside it tidies what the killed one left (only that of gone processes of this host)."""

import os
import subprocess
import sys

import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import atomic


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _folder(path, text):
    path.mkdir()
    (path / "data.txt").write_text(text)
    return path


def _hidden(target, pid, suffix, host=None):
    host = atomic._host() if host is None else host
    return target.parent / f".{target.name}.{host}-{pid}.x1y2{suffix}"


def test_hidden_folders_name_their_maker(tmp_path):
    target = _folder(tmp_path / "S1", "old")
    with atomic.staged_dir(target, overwrite=True) as stage:
        name = os.path.basename(stage)
        beside = sorted(os.listdir(tmp_path))
        with open(os.path.join(stage, "data.txt"), "w") as handle:
            handle.write("new")
    assert name.startswith(f".S1.{atomic._host()}-{os.getpid()}.") and name.endswith(".staging")
    assert beside == sorted(["S1", name])
    assert os.listdir(tmp_path) == ["S1"] and (target / "data.txt").read_text() == "new"


def test_killed_between_the_two_renames_the_older_folder_comes_back(tmp_path):
    # replace_dir moved the older S1 aside, then the process died before the new one moved in.
    target = tmp_path / "S1"
    pid = _dead_pid()
    _folder(_hidden(target, pid, ".old"), "older dataset")
    _folder(_hidden(target, pid, ".staging"), "complete new one, never put in place")
    with pytest.raises(DatasetError, match="S1: already exists"):
        with atomic.staged_dir(target):  # the older one is back, so it is not overwritten
            pass
    assert (target / "data.txt").read_text() == "older dataset"
    assert sorted(os.listdir(tmp_path)) == ["S1"]


def test_killed_while_removing_the_replaced_folder_it_goes(tmp_path):
    target = _folder(tmp_path / "S1", "new dataset")
    old = _folder(_hidden(target, _dead_pid(), ".old"), "half removed older one")
    assert atomic.recover_interrupted(target) == [old.name]
    assert sorted(os.listdir(tmp_path)) == ["S1"]
    assert (target / "data.txt").read_text() == "new dataset"


def test_folders_of_live_processes_and_other_hosts_are_left_alone(tmp_path):
    target = _folder(tmp_path / "S1", "current")
    mine = _folder(_hidden(target, os.getpid(), ".staging"), "a run of this process")
    parent = _folder(_hidden(target, os.getppid(), ".staging"), "a live run")
    elsewhere = _folder(_hidden(target, _dead_pid(), ".staging", host="farmnode7"), "remote")
    other_name = _folder(tmp_path / ".S10.host-1.abc.staging", "another target's")
    gone = _folder(_hidden(target, _dead_pid(), ".staging"), "a killed run")
    assert atomic.recover_interrupted(target) == [gone.name]
    assert all(p.exists() for p in (mine, parent, elsewhere, other_name)) and not gone.exists()
    assert (target / "data.txt").read_text() == "current"
