"""In a windowed Blender: the Batch panel previews a subject into a scene the window shows,
Generate Locally runs modal, Esc while the background process exports leaves nothing of that
subject, a second run completes it, and the panel draws.

Runs ui_batch.py in a real Blender executable on a virtual X display (windowed.py).
"""

import pathlib
import tempfile

import pytest
from test_batch import TINY
from windowed import run_windowed


@pytest.fixture(scope="module")
def seen():
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-ui-batch-"))
    recipe = folder / "tiny.toml"
    recipe.write_text(TINY)
    return run_windowed("ui_batch.py", recipe, folder / "out", timeout=600)


def test_preview_shows_the_subject_in_a_new_scene(seen):
    assert seen["preview"] == ["FINISHED"]
    assert seen["window_scene"] == "Preview S2" != seen["scene_before"]


def test_esc_while_generating_leaves_nothing_and_a_rerun_completes(seen):
    assert seen["invoke"] == ["RUNNING_MODAL"]
    assert seen["allowed_during"] is False and seen["allowed_after_escape"] is True
    assert any(name.startswith(".work/") for name in seen["files_during"])
    assert not [f for f in seen["files_after_escape"] if "S1" in f], seen["files_after_escape"]
    assert seen["invoke_again"] == ["RUNNING_MODAL"]
    assert {"scenes/S1.json", "scenes/S1.blend", "dataset/S1"} <= set(seen["files_after_run"])


def test_the_panel_draws(seen):
    assert seen["panel_draws"] > 0 and seen["panel_errors"] == []
