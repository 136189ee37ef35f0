"""The live occlusion overlay and the occlusion budget, through bpy.ops, against an export of the
same scene (test_export's two skinned people, crate and four cameras): the overlay's labels
equal the exported ones frame by frame, and the budget's shares, worst frames and strips equal
sums over the exported labels."""

import importlib

import numpy as np
import pytest
from test_export import build_scene


@pytest.fixture
def LIVE(addon):
    """The live state of the enabled extension (its modules, not this checkout's copies)."""
    live = importlib.import_module(f"{addon}.blender.occlusion_live").LIVE
    live.reset()
    yield live
    live.cancel_budget()
    live.reset()


@pytest.fixture
def scene(LIVE):
    return build_scene()


@pytest.fixture
def exported(scene, tmp_path):
    """Each camera's exported codes (P,N,17) of the take Wave."""
    import bpy

    from blendmimic3d_addon.core.format import dataset_io

    assert bpy.ops.blendmimic3d.export_dataset(directory=str(tmp_path), subject="S1",
                                               actions="Wave") == {"FINISHED"}  # fmt: skip
    persons = dataset_io.read_persons(tmp_path / "S1", "Wave")
    return persons.types_by_cam


def test_overlay_labels_equal_the_exported_labels_frame_by_frame(LIVE, scene, exported):
    import bpy

    scene.bm3d_overlay.show = True
    hidden = 0
    for k, frame in enumerate(range(1, 11)):
        scene.frame_set(frame)
        assert bpy.ops.blendmimic3d.refresh_occlusion() == {"FINISHED"}
        assert LIVE.frame == frame and LIVE.message == ""
        for camera in range(4):
            np.testing.assert_array_equal(LIVE.types[camera], exported[camera][:, k])
            hidden += int((LIVE.types[camera] != 0).sum())
    assert hidden > 0  # occluded joints are compared, not only visible ones
    # The overlay's joints are the people's joints at the frame.
    person = scene.objects["Person1"]
    head = person.matrix_world @ person.pose.bones["mixamorig:Head"].head
    np.testing.assert_allclose(LIVE.joints[1, 9], head, atol=1e-5)


def test_overlay_follows_a_moved_occluder(LIVE, scene):
    import bpy

    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    scene.bm3d_overlay.show = True
    assert bpy.ops.blendmimic3d.refresh_occlusion() == {"FINISHED"}
    assert (LIVE.types[0][0, [2, 5]] == T.OBJECT).all()  # the crate hides person 0's knees
    scene.objects["Crate"].location.z -= 5.0
    bpy.context.view_layer.update()  # what the depsgraph handler sees drops the old sampler
    assert LIVE.sampler is None and LIVE.overlay_due is not None
    LIVE.refresh_overlay(scene)
    assert not (LIVE.types[0] == T.OBJECT).any()


def test_budget_equals_sums_over_the_exported_labels(LIVE, scene, exported):
    import bpy

    from blendmimic3d_addon.core.occlusion import budget as budget_core

    result = bpy.ops.blendmimic3d.compute_occlusion_budget(background=False)
    assert result == {"FINISHED"}
    assert LIVE.budget_action == "Wave" and sorted(LIVE.budget) == [0, 1, 2, 3]
    assert scene.frame_current == 1  # the user's frame is back
    for camera, budget in LIVE.budget.items():
        types = np.moveaxis(exported[camera], 0, 1)  # (N,P,17)
        np.testing.assert_allclose(budget.shares, budget_core.type_shares(types))
        assert budget.worst_frame == 1 + budget_core.worst_frame(types)
        np.testing.assert_allclose(budget.strip, budget_core.strip(types)[0])
    assert budget_core.hidden_share(LIVE.budget[0].shares, budget_core.HIDDEN) > 0


def test_budget_in_slices_equals_the_budget_in_one_go(LIVE, scene):
    import bpy

    assert bpy.ops.blendmimic3d.compute_occlusion_budget(background=False) == {"FINISHED"}
    whole = {c: b.shares.copy() for c, b in LIVE.budget.items()}
    assert bpy.ops.blendmimic3d.compute_occlusion_budget() == {"FINISHED"}
    assert LIVE.job is not None and LIVE.progress[1] == 10
    slices = 0
    scene.frame_set(4)  # the user moves on meanwhile: each slice gives the frame back
    while not LIVE.step_budget(seconds=0.0):  # one frame per slice
        slices += 1
        assert scene.frame_current == 4
    assert slices >= 9
    for camera, shares in whole.items():
        np.testing.assert_array_equal(LIVE.budget[camera].shares, shares)


def test_cancel_and_a_scene_change_stop_the_budget(LIVE, scene):
    import bpy

    scene.bm3d_overlay.show = True
    assert bpy.ops.blendmimic3d.compute_occlusion_budget() == {"FINISHED"}
    LIVE.step_budget(0.0)
    assert bpy.ops.blendmimic3d.cancel_occlusion_budget() == {"FINISHED"}
    assert LIVE.job is None and scene.frame_current == 1
    assert not bpy.ops.blendmimic3d.cancel_occlusion_budget.poll()
    assert bpy.ops.blendmimic3d.compute_occlusion_budget() == {"FINISHED"}
    LIVE.step_budget(0.0)
    scene.objects["Crate"].location.x += 0.5
    bpy.context.view_layer.update()
    assert LIVE.job is None and LIVE.budget_due is not None  # restarted after the debounce


def test_jump_goes_to_the_worst_frame_of_that_camera(LIVE, scene):
    import bpy

    assert bpy.ops.blendmimic3d.compute_occlusion_budget(background=False) == {"FINISHED"}
    worst = LIVE.budget[2].worst_frame
    scene.frame_set(5 if worst != 5 else 6)
    assert bpy.ops.blendmimic3d.jump_to_worst_frame(camera=2) == {"FINISHED"}
    assert scene.frame_current == worst and scene.bm3d_overlay.camera == 2


def test_errors_say_what_to_do_and_change_nothing(LIVE):
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    LIVE.reset()
    scene = bpy.context.scene
    with pytest.raises(RuntimeError, match="no person in the scene"):
        bpy.ops.blendmimic3d.refresh_occlusion()
    with pytest.raises(RuntimeError, match="no person in the scene"):
        bpy.ops.blendmimic3d.compute_occlusion_budget(background=False)
    with pytest.raises(RuntimeError, match="No occlusion budget for camera 1: compute it first"):
        bpy.ops.blendmimic3d.jump_to_worst_frame(camera=1)
    assert scene.frame_current == 1 and LIVE.budget == {} and LIVE.job is None
    assert len(bpy.data.objects) == 0


def test_budget_needs_a_take(LIVE, scene):
    import bpy

    from blendmimic3d_addon.blender import people

    people.set_take(scene.objects["Person0"], None)
    with pytest.raises(RuntimeError, match="Person0 plays no action: give it a take first"):
        bpy.ops.blendmimic3d.compute_occlusion_budget(background=False)


def test_the_panel_lists_hidden_shares_largest_first():
    from blendmimic3d_addon.blender.ui import shares_text

    shares = np.array([0.7, 0.1, 0.0, 0.15, 0.05, 0.0])
    assert shares_text(shares) == ("hidden 30 %", "object 15, self 10, out 5")
    assert shares_text(np.array([1.0, 0, 0, 0, 0, 0])) == ("hidden 0 %", "")


def test_another_file_drops_what_was_computed_for_the_old_one(LIVE, scene):
    import bpy

    scene.bm3d_overlay.show = True
    assert bpy.ops.blendmimic3d.compute_occlusion_budget(background=False) == {"FINISHED"}
    assert bpy.ops.blendmimic3d.compute_occlusion_budget() == {"FINISHED"}  # one in flight
    assert LIVE.job is not None and LIVE.budget
    bpy.ops.wm.read_homefile(use_empty=True)  # load_post: the old objects are gone
    assert LIVE.job is None and LIVE.sampler is None and LIVE.budget == {}
    assert LIVE.joints is None and LIVE.types == {}


def test_live_work_waits_while_an_export_or_a_render_runs(addon, LIVE, scene):
    modal_progress = importlib.import_module(f"{addon}.blender.modal_progress")
    live_module = importlib.import_module(f"{addon}.blender.occlusion_live")
    scene.bm3d_overlay.show = True
    LIVE.request_overlay()
    modal_progress.RUNNING.add(object)  # what modal_progress.start does for a modal export
    try:
        assert live_module._tick() == 0.5
        assert LIVE.joints is None and LIVE.overlay_due is not None  # nothing labelled yet
    finally:
        modal_progress.RUNNING.discard(object)
    live_module._tick()
    assert LIVE.joints is not None and LIVE.frame == scene.frame_current


def test_disabling_removes_handlers_and_settings_and_enabling_brings_them_back(addon, LIVE):
    import bpy

    addon_utils = importlib.import_module("addon_utils")

    def ours():
        lists = ("frame_change_post", "depsgraph_update_post", "load_post", "undo_post")
        return [h for name in lists for h in getattr(bpy.app.handlers, name)
                if "occlusion_live" in getattr(h, "__module__", "")]  # fmt: skip

    assert len(ours()) == 4
    try:
        addon_utils.disable(addon, default_set=True)
        assert ours() == [] and not hasattr(bpy.types.Scene, "bm3d_overlay")
        assert bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_occlusion") is None
    finally:
        addon_utils.enable(addon, default_set=True)
    assert len(ours()) == 4
    live = importlib.import_module(f"{addon}.blender.occlusion_live").LIVE
    scene = build_scene()
    scene.bm3d_overlay.show = True
    assert bpy.ops.blendmimic3d.refresh_occlusion() == {"FINISHED"}
    assert sorted(live.types) == [0, 1, 2, 3]


def test_a_deleted_occluder_is_noticed_by_the_overlay_and_the_budget(LIVE, scene):
    import bpy

    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    scene.bm3d_overlay.show = True
    assert bpy.ops.blendmimic3d.refresh_occlusion() == {"FINISHED"}
    assert bpy.ops.blendmimic3d.compute_occlusion_budget() == {"FINISHED"}
    LIVE.step_budget(0.0)
    bpy.data.objects.remove(scene.objects["Crate"])
    bpy.context.view_layer.update()
    assert LIVE.sampler is None and LIVE.job is None and LIVE.budget_due is not None
    LIVE.refresh_overlay(scene)
    assert LIVE.message == "" and not (LIVE.types[0] == T.OBJECT).any()
    assert LIVE.start_budget(scene)
    while not LIVE.step_budget(1.0):
        pass
    assert LIVE.budget[0].shares[T.OBJECT] == 0


def test_a_person_deleted_while_the_budget_runs_restarts_it(LIVE, scene):
    import bpy

    assert bpy.ops.blendmimic3d.compute_occlusion_budget() == {"FINISHED"}
    LIVE.step_budget(0.0)
    bpy.data.objects.remove(scene.objects["Person1"])  # no depsgraph update seen yet
    assert LIVE.step_budget(0.0) is True  # the job met the deleted person and ended
    assert LIVE.job is None and LIVE.budget_due is not None and LIVE.budget_message == ""
    assert scene.frame_current == 1
