"""In a windowed Blender: render_videos runs modal from the panel's button, Esc cancels it half-way
leaving the Videos folder as it was, a short run finishes, and the Videos panel draws.

Runs ui_videos.py in a real Blender executable on a virtual X display; skips unless Xvfb and a
Blender executable are found (the same ones as test_scene_building_ui.py).
"""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest
from conftest import REPO
from test_scene_building_ui import _blender

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def seen():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed: no virtual display for a windowed Blender")
    blender = _blender()
    work = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-ui-videos-"))
    dataset = work / "S1"
    (dataset / "Videos").mkdir(parents=True)
    (dataset / "Videos" / "older.txt").write_text("an older file, kept by a cancel")
    out = work / "seen.json"
    display = f":{80 + os.getpid() % 9}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
    try:
        time.sleep(2)
        env = dict(os.environ, DISPLAY=display, BLENDER_USER_RESOURCES=str(work / "user"))
        env.pop("BM3D_TEST_USER_RESOURCES", None)
        cmd = [blender, "--factory-startup", "--enable-event-simulate", "--python",
               str(HERE / "ui_videos.py"), "--", str(REPO), str(out), str(dataset)]  # fmt: skip
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    finally:
        xvfb.terminate()
        xvfb.wait()
    if not out.exists():
        pytest.fail(
            f"Blender wrote nothing (exit {run.returncode}):\n"
            f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    data = json.loads(out.read_text())
    assert "error" not in data, data["error"]
    return data


def test_modal_run_shows_progress_then_esc_leaves_the_folder_as_it_was(seen):
    assert seen["invoke"] == ["RUNNING_MODAL"]
    staging = [n for n in seen["files_during"] if n.startswith(".videos.")]
    assert staging, "mid-run, frames are rendered into a hidden staging folder"
    assert seen["settings_during"][0] == "BLENDER_WORKBENCH"  # the render set up for videos
    assert seen["files_after_escape"] == seen["files_before"] == ["Videos", "Videos/older.txt"]
    assert seen["settings_after_escape"] == seen["before"]


def test_short_modal_run_finishes_and_the_panel_draws(seen):
    assert seen["invoke_short"] == ["RUNNING_MODAL"]
    videos = [n for n in seen["files_after_run"] if n.endswith(".mp4")]
    assert videos == [f"Videos/StandIn_0Action_{i}.mp4" for i in range(4)]
    assert "Videos/older.txt" in seen["files_after_run"]
    assert seen["settings_after_run"] == seen["before"]
    assert seen["panel_draws"] > 0 and seen["panel_errors"] == []
