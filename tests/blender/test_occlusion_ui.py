"""In a windowed Blender looking through Camera_0: the occlusion overlay draws each joint in its
label's colour at its projected pixel, follows a moved occluder, and is gone once hidden.

Runs ui_occlusion.py in a real Blender executable on a virtual X display (windowed.py).
"""

import tempfile

import numpy as np
import pytest
from windowed import run_windowed

from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T
from blendmimic3d_addon.core.occlusion.qa_overlay import TYPE_COLOURS

PALETTE = np.array([TYPE_COLOURS[code] for code in range(len(T))], dtype=float)
TOLERANCE = 40  # colour distance (0-255 per channel) still read as that label's colour


@pytest.fixture(scope="module")
def seen():
    return run_windowed("ui_occlusion.py", tempfile.mkdtemp(prefix="bm3d-ui-occlusion-"))


def _separate(positions, codes, radius=8.0):
    """Joints whose pixel no joint of another colour covers (projections can coincide)."""
    positions, codes = np.asarray(positions, float), np.asarray(codes)
    keep = np.isfinite(positions).all(axis=1)
    for j in np.flatnonzero(keep):
        distance = np.linalg.norm(positions - positions[j], axis=1)
        if ((distance < radius) & (codes != codes[j])).any():
            keep[j] = False
    return np.flatnonzero(keep)


def _matches(sample):
    """Per separate joint: whether its pixel has its label's colour."""
    joints = _separate(sample["positions"], sample["codes"])
    out = {}
    for j in joints:
        pixel = np.array(sample["pixels"][j], float)
        out[int(j)] = np.abs(pixel - PALETTE[sample["codes"][j]]).max() <= TOLERANCE
    return out


def test_overlay_draws_each_joint_in_its_labels_colour(seen):
    matches = _matches(seen["shown"])
    assert len(matches) >= 12, "too few joints apart from the others to check"
    assert all(matches.values()), (seen["shown"]["pixels"], seen["shown"]["codes"])
    codes = set(np.asarray(seen["shown"]["codes"])[list(matches)].tolist())
    assert T.VISIBLE in codes and T.OBJECT in codes  # the crate hides person 0's knees


def test_overlay_follows_the_moved_occluder(seen):
    before, after = seen["shown"]["codes"], seen["after_move"]["codes"]
    assert before[2] == before[5] == T.OBJECT  # person 0's knees, behind the crate
    assert T.OBJECT not in after
    matches = _matches(seen["after_move"])
    assert matches[2] and matches[5]  # drawn again, now in the visible colour
    assert seen["after_move"]["pixels"][2] != seen["shown"]["pixels"][2]


def test_overlay_is_gone_once_hidden(seen):
    sample = dict(seen["after_hide"], codes=seen["after_move"]["codes"])
    matches = _matches(sample)
    assert matches and not any(matches.values())


def test_budget_is_computed_in_the_background_and_again_after_the_move(seen):
    assert seen["budget_cameras"] == [0, 1, 2, 3]
    assert seen["budget_after_move"] == [0, 1, 2, 3]
    # Camera 0 saw person 0's legs behind the crate; once it has gone, nothing hides them.
    assert seen["object_share_before"] > 0 and seen["object_share_after"] == 0


def test_the_panels_draw_with_a_budget_targets_and_checkbox_lists(seen):
    assert seen["panel_draws"] >= 3 and seen["panel_errors"] == []


def test_each_cameras_strip_is_drawn_in_the_label_colours(seen):
    """Camera 0's strip, along the bottom of the view, shows the take's hidden joints: with the
    strips on, its bottom row has the colours of the hidden types; off, none of them."""
    hidden = [code for code in range(1, len(T)) if max(b[code] for b in seen["strip_camera_0"])]
    on, off = np.array(seen["strip_on"]["pixels"]), np.array(seen["strip_off"]["pixels"])
    assert not np.array_equal(on, off)

    def labelled(pixels):
        distance = np.abs(pixels[:, None, :] - PALETTE[None, hidden]).max(axis=2)
        return (distance.min(axis=1) <= TOLERANCE).sum()

    assert labelled(on) >= len(on) // 2 and labelled(off) == 0
