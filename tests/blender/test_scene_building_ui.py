"""In a windowed Blender: a modal fit is cancelled by Esc, another finishes, and every step of
scene building (rig, occluder, scenario, fit) is undone one by one.

Runs ui_scene_building.py in a real Blender executable on a virtual X display (windowed.py).
"""

import pytest
from windowed import run_windowed


@pytest.fixture(scope="module")
def seen():
    return run_windowed("ui_scene_building.py")


def test_every_step_finishes(seen):
    assert seen["rig"] == seen["occluder"] == seen["scenario"] == ["FINISHED"]
    assert seen["fit_invoke"] == seen["fit_again"] == ["RUNNING_MODAL"]
    assert seen["after_rig"]["cameras"] == ["Camera_0", "Camera_1", "Camera_2", "Camera_3"]
    assert seen["after_occluder"]["occluders"] == ["table"]
    assert seen["after_scenario"]["occluders"] == ["box", "chair", "partition", "table"]


def test_escape_cancels_the_fit_and_leaves_the_cameras(seen):
    assert seen["frame_during_fit"] > 1  # Esc came while the modal was sampling frames
    before, after = seen["after_scenario"], seen["after_escape"]
    assert after["lenses"] == before["lenses"] and after["locations"] == before["locations"]
    assert after["frame"] == before["frame"]


def test_a_modal_fit_runs_to_the_end(seen):
    assert seen["after_fit"]["locations"] != seen["after_scenario"]["locations"]
    assert seen["after_fit"]["frame"] == seen["after_scenario"]["frame"]


def test_each_step_undoes(seen):
    assert seen["undo_fit"]["locations"] == seen["after_scenario"]["locations"]
    assert seen["undo_scenario"]["occluders"] == ["table"]
    assert seen["undo_occluder"]["occluders"] == []
    assert seen["undo_occluder"]["cameras"] == seen["after_rig"]["cameras"]
    assert seen["undo_rig"]["cameras"] == []


def test_the_panels_draw_in_every_variant(seen):
    assert seen["panel_errors"] == []
    assert seen["panels"] == [
        f"{panel}:{variant}"
        for panel in ("BM3D_PT_cameras", "BM3D_PT_occluders")
        for variant in ("BLENDMIMIC3D/BETWEEN", "RING/AROUND")
    ]


def test_a_scenario_from_the_panel_leaves_the_fit_to_the_modal(seen):
    assert seen["scenario_invoke"] == ["FINISHED"]
    rigged = seen["after_scenario_invoke"]
    assert rigged["cameras"] == ["Camera_0", "Camera_1", "Camera_2", "Camera_3"]
    assert rigged["occluders"] and set(rigged["occluders"]) == {"shelf"}
    fitted = seen["after_scenario_fit"]
    assert fitted["locations"] != rigged["locations"]  # the modal fit ran to its end
    assert fitted["lenses"] == rigged["lenses"] == [30.0, 25.0, 30.0, 25.0]
