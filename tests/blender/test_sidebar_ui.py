"""The whole BlendMimic3D tab, every panel and sub-panel open, at the sidebar's default width in
a real Blender window: no text is cut short (Blender's "…"), whatever the scene shows; and in an
empty scene each sub-panel says what to do next.

Runs ui_sidebar.py in a real Blender executable on a virtual X display (windowed.py); the
pictures it looked at are kept in SHOTS (sidebar_<state>.png) for a person to see.
"""

import tempfile

import pytest
from windowed import run_windowed

SHOTS = tempfile.mkdtemp(prefix="bm3d-ui-sidebar-")
# Tall enough for the whole tab with every section open, so nothing is scrolled out of sight.
SCREEN = (1400, 6400)
STATES = ("empty", "full", "other")


@pytest.fixture(scope="module")
def seen():
    return run_windowed("ui_sidebar.py", SHOTS, screen=SCREEN, timeout=600)


@pytest.mark.parametrize("state", STATES)
def test_no_text_is_cut_short_in_the_sidebar(seen, state):
    """Empty scene (hints); people, occluders, environment, cameras, budget with targets,
    overlay, export lists, COCO, QA legend, refined predictions per joint; then the other branch
    of every choice that changes a panel (random layout, around-person occluders, out-of-frame
    scenario, ring cameras, a lighting preset, dataset ground truth, a denoising preset, a
    target that does not parse)."""
    shot = seen[state]
    assert shot["ellipses"] == [], f"cut short at (x, y) {shot['ellipses']}: see {SHOTS}"


@pytest.mark.parametrize("state", STATES)
def test_every_panel_draws_without_an_error(seen, state):
    """(An error in a panel's draw would leave it half drawn, with nothing cut short.)"""
    assert seen[state]["errors"] == []
    assert len(seen[state]["texts"]) == 13  # every panel drew


@pytest.mark.parametrize("state", STATES)
def test_the_whole_tab_was_in_the_picture(seen, state):
    assert seen[state]["blank_rows_at_bottom"] > 20, "the tab runs past the window: make it taller"


def test_the_search_finds_a_label_cut_short(seen):
    """A probe panel with a label far too long for the sidebar: its ellipsis is found, and only
    it (the check can fail)."""
    assert len(seen["probe"]["ellipses"]) == 1


def test_each_panel_says_what_to_do_in_an_empty_scene(seen):
    from blendmimic3d_addon.blender.panel_hints import HINTS, PANEL_NEEDS

    texts = seen["empty"]["texts"]
    for panel, needs in PANEL_NEEDS.items():
        assert HINTS[needs[0]] in texts[panel], (panel, texts[panel])
    assert "0 people in the scene" not in texts["BM3D_PT_characters"]  # the hint says it
