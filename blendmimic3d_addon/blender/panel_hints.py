"""One-line hints for the sidebar's sub-panels: what to do next when a panel has nothing to act
on yet (no people, no dataset cameras, no predictions, no recipe), kept short enough for the
sidebar's default width (tests/blender/test_sidebar_ui.py checks that nothing is cut short)."""

from . import scene_model
from .refine_job import KIND as PREDICTIONS_KIND

HINTS = {
    "characters": "Add a mannequin or import an FBX",
    "people": "Add a person first (Characters)",
    "people_or_cameras": "Add people or cameras first",
    "cameras": "Rig the cameras first (Cameras)",
    "predictions": "Import predictions first (.npy)",
    "recipe": "Choose a recipe file (TOML)",
}

# What each panel needs before it can act, in the order a user gets them.
PANEL_NEEDS = {
    "BM3D_PT_characters": ("characters",),
    "BM3D_PT_people": ("people",),
    "BM3D_PT_appearance": ("people",),
    "BM3D_PT_occluders": ("people", "cameras"),
    "BM3D_PT_environment": ("people_or_cameras",),
    "BM3D_PT_cameras": ("people",),
    "BM3D_PT_occlusion": ("people", "cameras"),
    "BM3D_PT_export": ("people", "cameras"),
    "BM3D_PT_coco": ("people", "cameras"),
    "BM3D_PT_videos": ("people", "cameras"),
    "BM3D_PT_refiner": ("predictions",),
    "BM3D_PT_batch": ("recipe",),
}


def _has(scene, need):
    if need in ("characters", "people"):
        return bool(scene_model.people(scene))
    if need == "cameras":
        return bool(scene_model.dataset_cameras(scene))
    if need == "people_or_cameras":
        return bool(scene_model.people(scene) or scene_model.dataset_cameras(scene))
    if need == "predictions":
        return any(obj.get(PREDICTIONS_KIND) == "input" for obj in scene.objects)
    if need == "recipe":
        return bool(scene.bm3d_batch.recipe.strip())
    raise KeyError(need)


def hint(scene, panel):
    """The hint ``panel`` (a bl_idname) shows for ``scene``, or None when it can act."""
    need = next((n for n in PANEL_NEEDS[panel] if not _has(scene, n)), None)
    return None if need is None else HINTS[need]


def draw(layout, scene, panel):
    """Draw ``panel``'s hint if it has one; returns whether it did."""
    text = hint(scene, panel)
    if text is not None:
        layout.label(text=text, icon="INFO")
    return text is not None
