"""The extension enables in real Blender and shows its sidebar tab."""

import tomllib

from conftest import REPO


def test_enabled_and_tab_registered(addon):
    import bpy

    assert addon in bpy.context.preferences.addons
    panel = bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_main")
    assert panel is not None
    assert panel.bl_category == "BlendMimic3D"
    assert panel.bl_space_type == "VIEW_3D"


def test_version_matches_manifest(addon):
    import importlib

    manifest = tomllib.loads((REPO / "blender_manifest.toml").read_text())
    module = importlib.import_module(addon)
    assert module.__version__ == manifest["version"] == "0.1.0"


def test_preferences_under_package(addon):
    import bpy

    prefs = bpy.context.preferences.addons[addon].preferences
    assert type(prefs).bl_idname == addon
    assert prefs.refiner_threads == 0


def test_disabled_and_enabled_again_works_as_before(addon):
    """Unregister hands the people's PropertyGroup annotations back (the bpy 4.2 teardown crash,
    registration.py); enabling again must restore them, callbacks included."""
    import importlib

    import bpy

    addon_utils = importlib.import_module("addon_utils")
    try:
        addon_utils.disable(addon, default_set=True)
        assert not hasattr(bpy.types.Scene, "bm3d_people")
        assert bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_main") is None
    finally:
        addon_utils.enable(addon, default_set=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.blendmimic3d.add_mannequin() == {"FINISHED"}
    person = bpy.context.scene.bm3d_people.people[0]
    person.start_offset = 7  # a get/set callback of the restored annotations
    assert person.start_offset == 7
    assert person.action != ""  # the items callback lists the mannequin's actions
