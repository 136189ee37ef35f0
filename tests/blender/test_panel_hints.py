"""Each sidebar sub-panel says what to do next while it has nothing to act on (the panels draw
these lines; tests/blender/test_sidebar_ui.py reads them as drawn in a real window)."""

import numpy as np


def _hints(scene):
    from blendmimic3d_addon.blender import panel_hints

    return {panel: panel_hints.hint(scene, panel) for panel in panel_hints.PANEL_NEEDS}


def test_every_feature_panel_decides_its_hint(addon):
    import bpy

    from blendmimic3d_addon.blender import panel_hints, ui

    panels = {c.bl_idname for c in ui.CLASSES if issubclass(c, bpy.types.Panel)}
    assert panels - {ui.BM3D_PT_main.bl_idname} == set(panel_hints.PANEL_NEEDS)


def test_hints_follow_what_the_scene_has(addon, tmp_path):
    import bpy
    from test_export import add_cameras, add_person

    from blendmimic3d_addon.blender.panel_hints import HINTS

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    person, cameras = HINTS["people"], HINTS["cameras"]
    assert _hints(scene) == {
        "BM3D_PT_characters": HINTS["characters"],
        "BM3D_PT_people": person,
        "BM3D_PT_appearance": person,
        "BM3D_PT_occluders": person,
        "BM3D_PT_environment": HINTS["people_or_cameras"],
        "BM3D_PT_cameras": person,
        "BM3D_PT_occlusion": person,
        "BM3D_PT_export": person,
        "BM3D_PT_coco": person,
        "BM3D_PT_videos": person,
        "BM3D_PT_refiner": HINTS["predictions"],
        "BM3D_PT_batch": HINTS["recipe"],
    }
    add_person(0, (0.0, 0.0, 0.0))
    after_person = _hints(scene)
    for panel in ("BM3D_PT_characters", "BM3D_PT_people", "BM3D_PT_appearance",
                  "BM3D_PT_environment", "BM3D_PT_cameras"):  # fmt: skip
        assert after_person[panel] is None, panel
    for panel in ("BM3D_PT_occluders", "BM3D_PT_occlusion", "BM3D_PT_export", "BM3D_PT_coco",
                  "BM3D_PT_videos"):  # fmt: skip
        assert after_person[panel] == cameras, panel
    add_cameras()
    after_cameras = _hints(scene)
    assert after_cameras["BM3D_PT_refiner"] == HINTS["predictions"]
    assert after_cameras["BM3D_PT_batch"] == HINTS["recipe"]
    assert [p for p, h in after_cameras.items() if h] == ["BM3D_PT_refiner", "BM3D_PT_batch"]

    path = tmp_path / "walk.npy"
    np.save(path, np.random.default_rng(0).normal(size=(8, 17, 3)).astype(np.float32))
    assert bpy.ops.blendmimic3d.import_predictions(filepath=str(path)) == {"FINISHED"}
    scene.bm3d_batch.recipe = str(tmp_path / "recipe.toml")
    assert not any(_hints(scene).values())


def test_cameras_alone_let_the_environment_be_built(addon):
    import bpy
    from test_export import add_cameras

    from blendmimic3d_addon.blender.panel_hints import HINTS

    bpy.ops.wm.read_homefile(use_empty=True)
    add_cameras()
    hints = _hints(bpy.context.scene)
    assert hints["BM3D_PT_environment"] is None
    assert hints["BM3D_PT_occlusion"] == HINTS["people"]
