"""The Export panel's checkbox lists, through bpy.ops: ticking and unticking rewrites the export's
comma text (empty: all), and the export takes exactly what is ticked."""

import pytest
from test_export import build_scene


@pytest.fixture
def scene(addon):
    return build_scene()


def _toggle(kind, item):
    import bpy

    return bpy.ops.blendmimic3d.toggle_export_choice(kind=kind, item=item)


def test_unticking_and_ticking_rewrite_the_comma_text(scene):
    props = scene.bm3d_export
    assert props.actions == "" and props.cameras == ""  # all ticked
    assert _toggle("ACTIONS", "Walk") == {"FINISHED"}
    assert props.actions == "Wave"
    assert _toggle("CAMERAS", "2") == {"FINISHED"}
    assert _toggle("CAMERAS", "0") == {"FINISHED"}
    assert props.cameras == "1,3"
    assert _toggle("CAMERAS", "2") == {"FINISHED"}
    assert props.cameras == "1,2,3"
    assert _toggle("CAMERAS", "0") == {"FINISHED"}
    assert props.cameras == ""  # every camera ticked again: new cameras will be taken too
    assert _toggle("ACTIONS", "Walk") == {"FINISHED"}
    assert props.actions == ""


def test_text_typed_on_the_command_line_is_what_the_boxes_show(scene):
    from blendmimic3d_addon.blender import export_choices

    props = scene.bm3d_export
    props.cameras = " 3, 1 "
    assert export_choices.chosen(props, scene, "CAMERAS") == ["1", "3"]
    assert _toggle("CAMERAS", "3") == {"FINISHED"}
    assert props.cameras == "1"


def test_the_export_takes_what_is_ticked(scene, tmp_path):
    import bpy

    from blendmimic3d_addon.core.validate.dataset import validate_dataset

    _toggle("ACTIONS", "Walk")
    _toggle("CAMERAS", "1")
    props = scene.bm3d_export
    result = bpy.ops.blendmimic3d.export_dataset(
        directory=str(tmp_path), subject="S1", actions=props.actions, cameras=props.cameras
    )  # what the panel's button passes (pass_settings)
    assert result == {"FINISHED"}
    report = validate_dataset(tmp_path)
    assert report.ok, report.problems
    assert report.subjects["S1"] == "1 actions, 10 frames, 3 cameras"


def test_an_item_the_scene_lacks_is_refused_and_nothing_changes(scene):
    props = scene.bm3d_export
    props.actions = "Wave"
    with pytest.raises(RuntimeError, match="No action 'Run' to export in this scene"):
        _toggle("ACTIONS", "Run")
    with pytest.raises(RuntimeError, match="No camera '7' to export in this scene"):
        _toggle("CAMERAS", "7")
    assert props.actions == "Wave" and props.cameras == ""
