"""One-line hints for the sidebar's sub-panels: what to do first when a panel has nothing to act
on yet (no people, no dataset cameras), kept short enough for the sidebar's default width."""

from . import scene_model

HINTS = {
    "people": "Add a person first (Characters)",
    "cameras": "Rig the cameras first (Cameras)",
}


def missing(scene, needs):
    """The first of ``needs`` ("people", "cameras") the scene lacks, or None."""
    have = {"people": scene_model.people, "cameras": scene_model.dataset_cameras}
    return next((need for need in needs if not have[need](scene)), None)


def draw(layout, scene, needs=("people",)):
    """The hint for the first missing need; returns whether one was drawn."""
    need = missing(scene, needs)
    if need is not None:
        layout.label(text=HINTS[need], icon="INFO")
    return need is not None
