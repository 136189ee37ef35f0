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
