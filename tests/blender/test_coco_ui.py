"""In a windowed Blender: render_frames runs modal from the COCO panel's button, Esc cancels it
half-way leaving the subject folder and the render settings as they were, a short run writes the
frames, masks and depth, and the COCO panel (inside the Export panel) draws.

Runs ui_coco.py in a real Blender executable on a virtual X display (windowed.py).
"""

import pathlib
import tempfile

import pytest
from windowed import run_windowed


@pytest.fixture(scope="module")
def seen():
    dataset = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-ui-coco-")) / "S1"
    dataset.mkdir(parents=True)
    (dataset / "older.txt").write_text("an older file, kept by a cancel")
    return run_windowed("ui_coco.py", dataset)


def test_modal_run_then_esc_leaves_the_folder_and_settings_as_they_were(seen):
    assert seen["invoke"] == ["RUNNING_MODAL"]
    assert [n for n in seen["files_during"] if n.startswith(".passes.")]
    assert seen["settings_during"][0] == "CYCLES" and seen["settings_during"][-2:] == [True, True]
    assert seen["files_after_escape"] == seen["files_before"] == ["older.txt"]
    assert seen["settings_after_escape"] == seen["before"]
    assert seen["render_allowed_during"] is False
    assert seen["render_allowed_after_escape"] is True


def test_short_run_writes_frames_masks_depth_and_the_panel_draws(seen):
    assert seen["invoke_short"] == ["RUNNING_MODAL"]
    files = seen["files_after_run"]
    for kind in ("Frames", "Masks", "Depth"):
        for camera in range(4):
            names = [f"{kind}/StandIn_0Action_{camera}/{k:06d}.png" for k in range(3)]
            assert all(name in files for name in names), (kind, camera)
    assert not [n for n in files if n.startswith(".passes.")]
    assert seen["settings_after_run"] == seen["before"]
    assert seen["panel_parent"] == "BM3D_PT_export"
    assert seen["panel_draws"] > 0 and seen["panel_errors"] == []
