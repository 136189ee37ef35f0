"""The export from the command line: headless runs, shards and merge, a killed export."""

import os
import signal
import subprocess
import sys

import pytest
from conftest import REPO, in_blender_executable
from test_export import _tree, _validate, build_scene


def _save_scene(path, long_take=None):
    import bpy

    build_scene()
    if long_take:
        action = bpy.data.actions["Wave"]
        action.use_frame_range = True
        action.frame_start, action.frame_end = 1, long_take
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def _command(*args):
    if in_blender_executable():  # its Python is Blender's, which has no bpy module of its own
        pytest.skip(
            "the .venv Python with the bpy module is not at hand inside a Blender executable"
        )
    return [sys.executable, "-m", "blendmimic3d_addon", *map(str, args)]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    return env


def test_headless_export_with_the_venv_python(addon, tmp_path):
    blend = _save_scene(tmp_path / "scene.blend")
    out = tmp_path / "data"
    result = subprocess.run(
        _command("export", "--blend", blend, "--out", out, "--subject", "S1"),
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "exported 2 action(s), 18 frames, 8 (action, camera) units" in result.stdout
    _validate(out)
    # A second run without --overwrite: one line naming the folder, exit code 1, no traceback.
    again = subprocess.run(
        _command("export", "--blend", blend, "--out", out, "--subject", "S1"),
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 1
    assert again.stderr.strip().endswith(
        "S1: already exists; choose another folder or allow overwrite"
    )
    assert "Traceback" not in again.stderr


_BUILD_SCENE = """
import sys
import bpy
sys.path[:0] = [{repo!r}, {tests!r}]
from test_export import build_scene
build_scene()
bpy.ops.wm.save_as_mainfile(filepath={blend!r})
"""


def test_headless_export_with_blender(installed_blender, tmp_path):
    """``blender -b scene.blend -c blendmimic3d export`` in a real Blender with the built zip
    installed. The scene is built and saved by that same Blender: a file saved by a newer
    Blender (this bpy) may not open in it."""
    prefix, env = installed_blender
    blend, script = tmp_path / "scene.blend", tmp_path / "build_scene.py"
    tests = REPO / "tests" / "blender"
    script.write_text(_BUILD_SCENE.format(repo=str(REPO), tests=str(tests), blend=str(blend)))
    built = subprocess.run(
        [*prefix, "--python-exit-code", "1", "--python", str(script)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0 and blend.exists(), built.stdout[-2000:] + built.stderr[-2000:]
    out = tmp_path / "data"
    result = subprocess.run(
        [*prefix, str(blend), "-c", "blendmimic3d", "export", "--out", str(out), "--subject",
         "S2"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "exported 2 action(s), 18 frames, 8 (action, camera) units" in result.stdout
    report = _validate(out)
    assert report.subjects["S2"] == "2 actions, 18 frames, 4 cameras"


def test_shards_merge_into_the_same_files(addon, tmp_path):
    from blendmimic3d_addon import cli

    blend = _save_scene(tmp_path / "scene.blend")
    full, sharded = tmp_path / "full", tmp_path / "sharded"
    assert cli.main(["export", "--blend", str(blend), "--out", str(full)]) == 0
    for k in (1, 2, 3):
        argv = ["export", "--blend", str(blend), "--out", str(sharded), "--shard", f"{k}/3"]
        assert cli.main(argv) == 0
    parts = sorted(str(p) for p in sharded.iterdir())
    assert [os.path.basename(p) for p in parts] == [f"S1.shard-{k}-of-3" for k in (1, 2, 3)]
    # Without every shard: a clear error, nothing written.
    assert cli.main(["merge", *parts[:2], "--out", str(sharded)]) == 1
    assert not (sharded / "S1").exists()
    assert cli.main(["merge", *parts, "--out", str(sharded)]) == 0
    assert sorted(os.listdir(sharded)) == ["S1", "dataset.json"]
    _validate(sharded)
    assert _tree(sharded) == _tree(full)


def test_killed_export_leaves_the_older_dataset(addon, tmp_path):
    blend = _save_scene(tmp_path / "scene.blend", long_take=4000)
    out = tmp_path / "data"
    args = ("export", "--blend", blend, "--out", out, "--cameras", "0", "--actions", "Walk")
    done = subprocess.run(_command(*args), cwd=REPO, env=_env(), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    before = _tree(out)
    process = subprocess.Popen(
        _command(*args[:-1], "Wave", "--overwrite"), cwd=REPO, env=_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Wait until it is well into the long take (two progress lines), then kill it.
        assert process.stderr.readline().startswith("frame 1 of 4000")
        assert process.stderr.readline().startswith("frame ")
        staging = [n for n in os.listdir(out) if n.endswith(".staging")]
        assert staging, "the export did not stage its folder"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    # The older dataset is as it was; only the killed run's hidden staging folder is new.
    assert {k: v for k, v in _tree(out).items() if ".staging" not in k} == before
    assert [n for n in os.listdir(out) if n.endswith(".staging")] == staging
    _validate_ignoring_staging(out)
    # The next export to that folder starts by removing what the killed one left.
    from blendmimic3d_addon.core.format.atomic import recover_interrupted

    assert recover_interrupted(out / "S1") == staging
    assert _tree(out) == before
    _validate(out)


def _validate_ignoring_staging(out):
    from blendmimic3d_addon.core.validate.dataset import validate_dataset

    report = validate_dataset(out)
    assert all("leftover of an interrupted write" in p for p in report.problems), report.problems
