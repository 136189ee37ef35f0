"""In a windowed Blender: export_dataset runs modal from the panel's button over an older dataset
(status line with the frame count, a hidden staging folder, the older dataset untouched), refuses
a second export meanwhile, Esc cancels it leaving the older dataset byte for byte and the scene's
frame and takes as they were, a write error half-way does the same and frees the UI, and a short
export runs to the end and validates.

Runs ui_export.py in a real Blender executable on a virtual X display (windowed.py).
"""

import re
import shutil

import pytest
from windowed import run_windowed

EXPORT = "BLENDMIMIC3D_OT_export_dataset"
STAGING = re.compile(r"^\.S1\.[\w.-]+\.staging$")
STATUS = re.compile(r"^Exporting S1: frame (\d+) of 30010, Esc cancels$")
SCENE = {
    "frame": 7,
    "takes": {"StandIn_0": ["StandIn_0Action", 2], "StandIn_1": ["StandIn_1Action", 3]},
}


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bm3d-ui-export")
    try:
        data = run_windowed("ui_export.py", folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    data["folder"] = str(folder)
    return data


def _without_staging(tree):
    return {path: digest for path, digest in tree.items() if not path.startswith(".S1.")}


def test_the_older_dataset_and_the_scene_before_the_export(seen):
    assert seen["rig"] == seen["older_export"] == ["FINISHED"]
    before = seen["before"]
    assert "S1/older_marker.txt" in before["tree"] and "dataset.json" in before["tree"]
    assert before["scene"] == SCENE  # the primary plays its short take 2 frames late


def test_modal_run_shows_progress_and_keeps_the_older_dataset_meanwhile(seen):
    assert seen["invoke"] == ["RUNNING_MODAL"] and seen["modal_after_invoke"] == [EXPORT]
    during = seen["during"]
    assert during["modal"] == [EXPORT]
    staging = [path for path in during["tree"] if "/" not in path and STAGING.match(path)]
    assert len(staging) == 1, "mid-run, takes are written into one hidden staging folder"
    assert _without_staging(during["tree"]) == seen["before"]["tree"]  # byte for byte
    # Neither the progress bar nor the status line can be read back from Python, so the run's
    # status lines are recorded as the operator sets them.
    assert seen["readable_ui_state"] == []
    frames = [int(STATUS.match(text).group(1)) for text in during["statuses"]]
    assert len(frames) >= 2 and frames == sorted(set(frames))  # counting up, one line per tick
    assert 200 <= frames[-1] < 30010  # well into the long take, far from its end


def test_no_second_export_while_one_runs(seen):
    during = seen["during"]
    assert during["second_export_allowed"] is False
    assert during["second_invoke"] == (
        "RuntimeError: Operator bpy.ops.blendmimic3d.export_dataset.poll() "
        "An export is running: wait for it, or press Esc to cancel it"
    )
    assert during["modal_after_second"] == [EXPORT]
    assert seen["after_escape"]["export_allowed"] is True


def test_escape_leaves_the_older_dataset_and_the_scene_as_they_were(seen):
    after = seen["after_escape"]
    assert after["modal"] == []
    assert after["tree"] == seen["before"]["tree"]  # the same files, byte for byte; no staging
    assert after["scene"] == SCENE  # current frame, each person's action and start offset
    assert after["statuses"][-1] is None  # the status line is cleared
    assert all(STATUS.match(text) for text in after["statuses"][:-1])
    assert after["reports"].count("Export cancelled: nothing was written") == 1


def test_an_error_half_way_frees_the_ui_and_keeps_the_older_dataset(seen):
    assert seen["invoke_failing"] == ["RUNNING_MODAL"]
    after = seen["after_failure"]
    assert after["tree"] == seen["before"]["tree"]  # the same files, byte for byte; no staging
    assert after["scene"] == SCENE
    assert after["statuses"][-1] is None and after["export_allowed"] is True
    # One clear message naming the target, no Python traceback.
    reports = "\n".join(seen["after_run"]["reports"])
    assert re.search(r"S1: writing: No space left on device \(injected\)", reports)
    assert "OSError" not in reports and "Traceback" not in reports


def test_short_modal_export_runs_to_the_end_and_validates(seen):
    assert seen["invoke_short"] == ["RUNNING_MODAL"]
    after = seen["after_run"]
    assert after["valid"], after["problems"]
    assert after["subjects"] == {"S1": "2 actions, 40 frames, 4 cameras"}
    tree = after["tree"]
    assert "S1/D3_Positions/Long/Long.npz" in tree and "dataset.json" in tree
    assert "S1/older_marker.txt" not in tree  # the older subject folder was replaced whole
    assert not [path for path in tree if STAGING.match(path.split("/")[0])]
    assert after["scene"] == SCENE
    assert after["statuses"][-1] is None
    done = f"Exported 2 action(s), 40 frames, 4 camera(s) to {seen['folder']}/S1"
    assert after["reports"][-1] == done
