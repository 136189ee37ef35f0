"""The demo, as ``build.py demo`` runs it: a small run, its files read back, its summary checked
against numbers recomputed from the files."""

import argparse
import importlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

FRAMES = 4
SCALE = 10  # 1000 x 1002 at 10 %: 100 x 100


def _command(*args):
    return [sys.executable, "-m", "blendmimic3d_addon", *map(str, args)]


def _run(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        _command(*args), cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def module_mode(addon):
    import bpy

    if bpy.app.binary_path:
        pytest.skip("inside a Blender executable: the demo command is tested with the bpy module")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One small demo run for the tests of this module (it takes a few seconds)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    result = _run("demo", "--out", out, "--frames", FRAMES, "--scale", SCALE)
    return out, result


def test_demo_writes_a_valid_dataset_with_videos(module_mode, demo_run):
    import bpy

    out, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    dataset = out / "dataset"
    assert (out / "scene.blend").is_file()
    assert (dataset / "dataset.json").is_file()
    validate = importlib.import_module("blendmimic3d_addon.core.validate.dataset")
    report = validate.validate_dataset(dataset)
    assert report.ok, report.problems
    videos = dataset / "S1" / "Videos"
    expected = sorted(
        f"{action}_{camera}{kind}.mp4"
        for action in ("Walk", "Wave")
        for camera in range(4)
        for kind in ("", ".qa")
    )
    assert sorted(os.listdir(videos)) == expected
    for name in ("Walk_0.mp4", "Wave_3.qa.mp4"):
        clip = bpy.data.movieclips.load(str(videos / name))
        try:
            assert (clip.frame_duration, tuple(clip.size)) == (FRAMES, (100, 100))
        finally:
            bpy.data.movieclips.remove(clip)
    assert [n for n in os.listdir(out.parent) if n.startswith(".")] == []


def test_demo_summary_numbers_come_from_the_files(module_mode, demo_run):
    out, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout
    subject = out / "dataset" / "S1"
    io = importlib.import_module("blendmimic3d_addon.core.format.dataset_io")
    frames = {a: len(io.read_positions_3d(subject, a)) for a in ("Walk", "Wave")}
    assert f"actions: Walk ({frames['Walk']} frames), Wave ({frames['Wave']} frames)" in text
    assert f"{sum(frames.values())} frames in all" in text
    files = sum(len(names) for _root, _dirs, names in os.walk(out / "dataset"))
    assert f"files: {files} in dataset/" in text
    assert "of which 16 videos" in text
    for camera in range(4):
        labels = np.concatenate([io.read_occlusions(subject, a)[camera] for a in frames])
        share = 100.0 * (1.0 - labels.mean())
        match = re.search(rf"Camera_{camera}: ([0-9.]+)%", text)
        assert match, text
        assert abs(float(match[1]) - share) < 0.051
    timings = re.search(r"time: scene ([0-9.]+) s, export ([0-9.]+) s, videos ([0-9.]+) s", text)
    assert timings and all(float(t) > 0 for t in timings.groups())


def test_demo_cycles_renders_lit_videos_or_says_why_not(module_mode, tmp_path):
    """The bug this replaced: ``demo --engine CYCLES`` wrote black videos and reported success.
    Now the capture room lights the scene (the one-colour check passed on every video), and
    without an environment the run fails in one line and writes nothing."""
    out = tmp_path / "lit"
    result = _run("demo", "--out", out, "--frames", 2, "--scale", 5, "--engine", "CYCLES")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rendering Realistic videos" in result.stdout
    assert len(os.listdir(out / "dataset" / "S1" / "Videos")) == 16
    dark = tmp_path / "dark"
    result = _run("demo", "--out", dark, "--frames", 2, "--scale", 5, "--preset", "REALISTIC",
                  "--environment", "NONE")  # fmt: skip
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.endswith("no world and nothing that emits: add an environment or lighting")
    assert not dark.exists()


def test_demo_refuses_an_existing_folder_in_one_line(module_mode, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = _run("demo", "--out", out, "--frames", FRAMES)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("out: already exists; choose another --out or pass --overwrite")
    )
    assert "Traceback" not in result.stderr
    assert os.listdir(out) == ["keep.txt"]


def test_demo_refuses_bad_numbers_before_building_anything(addon, tmp_path):
    demo = importlib.import_module(f"{addon}.commands.demo")
    errors = importlib.import_module(f"{addon}.core.errors")
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    for argv, message in (
        (["--frames", "1"], "--frames: 1: give at least 2 frames"),
        (["--scale", "0"], "--scale: 0: give a percentage from 1 to 100"),
        (["--engine", "CYCLES", "--preset", "FAST"], "--engine: CYCLES is not --preset FAST"),
    ):
        args = parser.parse_args(["--out", str(tmp_path / "out"), *argv])
        with pytest.raises(errors.DatasetError, match=re.escape(message)):
            demo.run(args)
    assert os.listdir(tmp_path) == []
