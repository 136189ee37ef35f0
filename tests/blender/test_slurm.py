"""The recipe as a SLURM job array on a real single-node cluster (tests/helpers/slurm_cluster.py):
the same bytes as one process, and a task cancelled half-way leaves nothing half-written and a
resubmission completes it."""

import filecmp
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import REPO, in_blender_executable
from slurm_cluster import Cluster
from test_batch import TINY

ARRAY = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if in_blender_executable():
        pytest.skip("the jobs run the .venv Python with the bpy module, not at hand in Blender")
    running = Cluster(tmp_path_factory.mktemp("slurm")).start()
    yield running
    running.stop()


def _cli(env, *args, timeout=600):
    env = dict(env, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "blendmimic3d_addon", *map(str, args)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def recipe_and_reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    recipe = tmp / "tiny.toml"
    recipe.write_text(TINY)
    _cli(os.environ, "generate", recipe, "--out", tmp / "one")
    return recipe, tmp / "one"


def _files(out):
    found = []
    for root, _dirs, names in os.walk(out):
        found += [os.path.relpath(os.path.join(root, n), out) for n in names]
    return sorted(f for f in found if not f.endswith(".blend") and not f.startswith("slurm"))


def _same(a, b):
    names = _files(a)
    assert names == _files(b)
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)


def _submit(cluster, recipe, out):
    text = _cli(cluster.env, "slurm", recipe, "--out", out, "--array", ARRAY, "--cpus", 1,
                "--time", "0:20:00", "--submit")  # fmt: skip
    jobs = re.search(r"submitted array job (\d+) and finishing job (\d+)", text)
    assert jobs, text
    return jobs.group(1), jobs.group(2)


def _log(out, array_job, task):
    path = os.path.join(out, "slurm", f"bm3d-generate-{array_job}_{task}.out")
    return open(path).read() if os.path.exists(path) else ""


def test_an_array_of_three_gives_the_bytes_of_one_process(cluster, recipe_and_reference, tmp_path):
    recipe, reference = recipe_and_reference
    out = tmp_path / "cluster"
    array_job, finish_job = _submit(cluster, recipe, out)
    cluster.wait_gone(array_job, finish_job)
    finish_log = (out / "slurm" / f"bm3d-generate-finish-{finish_job}.out").read_text()
    assert "validate: OK" in finish_log, finish_log
    for task in range(1, ARRAY + 1):
        assert "generated 1 subject(s)" in _log(out, array_job, task)
    _same(reference, out)


def test_a_cancelled_task_leaves_nothing_half_written(cluster, recipe_and_reference, tmp_path):
    recipe, reference = recipe_and_reference
    out = tmp_path / "cancelled"
    array_job, finish_job = _submit(cluster, recipe, out)
    deadline = time.monotonic() + 600
    while "progress: S2 1/1 export" not in _log(out, array_job, 2):  # task 2 makes S2
        assert time.monotonic() < deadline, _log(out, array_job, 2)
        time.sleep(0.2)
    cluster.command("scancel", f"{array_job}_2")
    cluster.wait_gone(array_job)
    cluster.command("scancel", finish_job)  # its dependency can no longer be satisfied
    cluster.wait_gone(finish_job)
    assert (out / "scenes" / "S1.json").exists() and (out / "scenes" / "S3.json").exists()
    assert not (out / "scenes" / "S2.json").exists() and not (out / "scenes" / "S2.blend").exists()
    assert not (out / "dataset" / "S2").exists() and not (out / "dataset" / "dataset.json").exists()
    visible = [f for f in _files(out) if not f.startswith(".work")]
    assert not [f for f in visible if os.path.basename(f).startswith(".")], visible
    # Resubmitted as it was: tasks 1 and 3 find their subjects complete, task 2 redoes S2.
    array_job, finish_job = _submit(cluster, recipe, out)
    cluster.wait_gone(array_job, finish_job)
    assert "skipped 1 complete" in _log(out, array_job, 1)
    assert "generated 1 subject(s), skipped 0" in _log(out, array_job, 2)
    _same(reference, out)
    assert not (out / ".work").exists()
