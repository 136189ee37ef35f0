"""In a windowed Blender: a folder of Mixamo FBX files imports from the file browser as a modal run
(status text, one file per step), Esc half-way through a second import leaves the scene as it was,
a single file imports at once, and undo takes back each import, the layout and each mannequin one
step at a time.

Runs ui_import.py in a real Blender executable on a virtual X display (windowed.py).
"""

import pathlib
import shutil
import tempfile

import pytest
from conftest import shared_path
from windowed import run_windowed

SOURCES = ("mixamo_beta", "samba_dancing")  # both are characters (a skinned body each)


def copies(folder, count):
    """``count`` copies of each shared Mixamo file; their stems become the people's names."""
    folder.mkdir()
    for source in SOURCES:
        for i in range(count):
            shutil.copy(shared_path("mixamo", f"{source}.fbx"), folder / f"{source}_{i}.fbx")
    return sorted(p.stem for p in folder.iterdir())


@pytest.fixture(scope="module")
def seen():
    work = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-ui-import-"))
    try:
        full = copies(work / "full", 2)
        part = copies(work / "part", 3)
        (work / "one").mkdir()
        shutil.copy(shared_path("mixamo", "samba_dancing.fbx"), work / "one" / "solo.fbx")
        data = run_windowed("ui_import.py", work / "full", work / "part", work / "one")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    data["full_stems"], data["part_stems"] = full, part
    return data


IMPORT = "BLENDMIMIC3D_OT_import_mixamo"
MANNEQUINS = ["Mannequin", "Mannequin.001"]


def test_the_scene_before_the_imports(seen):
    assert seen["mannequin_walk"] == seen["mannequin_wave"] == seen["layout"] == ["FINISHED"]
    assert seen["after_layout"]["people"] == MANNEQUINS
    # The layout moved them, so undoing it is seen.
    assert seen["after_layout"]["locations"] != seen["after_mannequin_wave"]["locations"]


def test_a_folder_imports_from_the_file_browser_as_a_modal_run(seen):
    assert seen["full_invoke"] == ["RUNNING_MODAL"]  # the panel's button opens the browser
    assert seen["full_browser"] and seen["full_browser_steps"] == [["FINISHED"], ["FINISHED"]]
    assert seen["full_modal"] == [IMPORT]
    stems = seen["full_stems"]
    assert seen["full_statuses"] == [
        f"Importing {i}/4: {stem}.fbx (Esc to cancel)" for i, stem in enumerate(stems, 1)
    ] + [None]
    assert seen["full_counts"] == [2, 3, 4, 5, 6]  # one character per step, seen in between
    after = seen["after_full"]
    assert after["people"] == MANNEQUINS + stems
    assert set(stems) <= set(after["actions"])


def test_escape_half_way_leaves_the_scene_as_it_was(seen):
    assert seen["part_invoke"] == ["RUNNING_MODAL"] and seen["part_modal"] == [IMPORT]
    assert seen["modal_at_escape"] == [IMPORT]
    imported_at_escape = seen["people_at_escape"] - len(seen["after_full"]["people"])
    assert 2 <= imported_at_escape < len(seen["part_stems"])  # Esc came half-way
    statuses = seen["part_statuses"]
    assert statuses[0] == f"Importing 1/6: {seen['part_stems'][0]}.fbx (Esc to cancel)"
    assert statuses[-1] is None and len(statuses) < 7  # the status cleared, the run ended early
    assert seen["modal_after_escape"] == []
    # Objects, actions, armature/mesh/material counts, frame rate and range: all as before.
    assert seen["after_escape"] == seen["after_full"]


def test_no_second_import_while_one_runs(seen):
    assert seen["second_import_allowed_meanwhile"] is False
    assert seen["import_allowed_after_escape"] is True


def test_a_single_file_imports_at_once(seen):
    assert seen["one_invoke"] == ["RUNNING_MODAL"]  # the browser
    assert seen["one_statuses"] == []  # no modal run for one file
    assert seen["after_one"]["people"] == seen["after_full"]["people"] + ["solo"]


def test_each_step_undoes_one_at_a_time(seen):
    # The cancelled import left no step; each finished import, the layout and each mannequin
    # is one step.
    expected = ["after_full", "after_layout", "after_mannequin_wave", "after_mannequin_walk"]
    assert seen["undos"] == [seen[name] for name in expected] + [seen["empty"]]
    assert seen["empty"]["people"] == [] and seen["empty"]["objects"] == []
