"""SLURM job scripts (pure): what the array and the finishing job run, refused options, and the
``slurm`` command without a cluster (no bpy, no sbatch needed to write the scripts)."""

import os
import subprocess
import sys

import pytest
from conftest import REPO

from blendmimic3d_addon.core.batch import slurm
from blendmimic3d_addon.core.errors import DatasetError


def test_the_array_task_picks_its_shard_and_the_finish_job_validates():
    array, finish = slurm.scripts(["blender", "-b", "-c", "blendmimic3d"], "/r/my recipe.toml",
                                  "/data/out", 4, "S10-S19", "/home/u", {"A": "1 2"}, "gpu",
                                  "2:00:00", 8, "16G")  # fmt: skip
    lines = array.splitlines()
    assert lines[0] == "#!/bin/bash"
    for option in ("--array=1-4", "--partition=gpu", "--time=2:00:00", "--cpus-per-task=8",
                   "--mem=16G", "--output=/data/out/slurm/%x-%A_%a.out"):  # fmt: skip
        assert f"#SBATCH {option}" in lines
    assert "cd /home/u" in lines and "export A='1 2'" in lines
    assert lines[-1] == (
        "exec blender -b -c blendmimic3d generate '/r/my recipe.toml' --out /data/out "
        '--subjects S10-S19 --shard "${SLURM_ARRAY_TASK_ID}/4"'
    )
    assert finish.splitlines()[-1].endswith("--subjects S10-S19 --finish")
    assert "--array" not in finish and "#SBATCH --cpus-per-task=1" in finish


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"array": 0}, "--array"),
        ({"array": 2, "partition": "a b"}, "--partition"),
        ({"array": 2, "time": "two hours"}, "--time"),
        ({"array": 2, "cpus": 0}, "--cpus"),
        ({"array": 2, "mem": "lots"}, "--mem"),
    ],
)
def test_options_sbatch_would_refuse_are_refused(options, field):
    with pytest.raises(DatasetError, match=field):
        slurm.check_options(**options)


def test_job_ids_from_sbatch():
    assert slurm.parse_job_id("1234\n") == "1234"
    assert slurm.parse_job_id("1234;cluster\n") == "1234"
    with pytest.raises(DatasetError, match="did not answer a job id"):
        slurm.parse_job_id("sbatch: error: invalid partition")


def _run(*args, env=None):
    env = dict(env or os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "blendmimic3d_addon", *map(str, args)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_the_command_writes_the_scripts_and_names_mistakes(tmp_path):
    recipe = REPO / "assets" / "recipes" / "example.toml"
    done = _run("slurm", recipe, "--out", tmp_path / "out", "--array", 3)
    assert done.returncode == 0, done.stderr
    array = (tmp_path / "out" / "slurm" / "generate.sbatch").read_text()
    assert f"-m blendmimic3d_addon generate {recipe} --out {tmp_path / 'out'}" in array
    assert f"export PYTHONPATH={REPO}" in array
    assert (tmp_path / "out" / "slurm" / "finish.sbatch").is_file()
    done = _run("slurm", recipe, "--out", tmp_path / "x", "--array", 7)
    assert done.returncode == 1 and "7 tasks for 6 subject(s)" in done.stderr
    assert not (tmp_path / "x").exists()
    done = _run("slurm", recipe, "--out", tmp_path / "y", "--array", 2, "--time", "soon")
    assert done.returncode == 1 and "error: --time: 'soon'" in done.stderr
    empty_path = dict(os.environ, PATH=str(tmp_path))
    done = _run("slurm", recipe, "--out", tmp_path / "z", "--array", 2, "--submit", env=empty_path)
    assert done.returncode == 1 and "sbatch: not found" in done.stderr
