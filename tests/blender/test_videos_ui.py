"""In a windowed Blender: render_videos runs modal from the panel's button, Esc cancels it half-way
leaving the Videos folder as it was, a short run finishes, and the Videos panel draws.

Runs ui_videos.py in a real Blender executable on a virtual X display (windowed.py).
"""

import pathlib
import tempfile

import pytest
from windowed import run_windowed


@pytest.fixture(scope="module")
def seen():
    dataset = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-ui-videos-")) / "S1"
    (dataset / "Videos").mkdir(parents=True)
    (dataset / "Videos" / "older.txt").write_text("an older file, kept by a cancel")
    return run_windowed("ui_videos.py", dataset)


def test_modal_run_shows_progress_then_esc_leaves_the_folder_as_it_was(seen):
    assert seen["invoke"] == ["RUNNING_MODAL"]
    staging = [n for n in seen["files_during"] if n.startswith(".videos.")]
    assert staging, "mid-run, frames are rendered into a hidden staging folder"
    assert seen["settings_during"][0] == "BLENDER_WORKBENCH"  # the render set up for videos
    assert seen["files_after_escape"] == seen["files_before"] == ["Videos", "Videos/older.txt"]
    assert seen["settings_after_escape"] == seen["before"]
    # One render at a time: a second one is refused while the first runs, allowed after.
    assert seen["render_allowed_during"] is False
    assert seen["render_allowed_after_escape"] is True


def test_short_modal_run_finishes_and_the_panel_draws(seen):
    assert seen["invoke_short"] == ["RUNNING_MODAL"]
    videos = [n for n in seen["files_after_run"] if n.endswith(".mp4")]
    assert videos == [f"Videos/StandIn_0Action_{i}.mp4" for i in range(4)]
    assert "Videos/older.txt" in seen["files_after_run"]
    assert seen["settings_after_run"] == seen["before"]
    assert seen["panel_draws"] > 0 and seen["panel_errors"] == []
