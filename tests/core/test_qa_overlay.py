"""The QA overlay draws keypoints and bones where the 2D says, coloured by occlusion type."""

import numpy as np
import pytest

from blendmimic3d_addon.core.occlusion.labels import OcclusionType
from blendmimic3d_addon.core.occlusion.qa_overlay import (
    TYPE_COLOURS,
    UNTYPED_OCCLUDED,
    draw_disc,
    draw_keypoints,
    draw_segment,
    pad_to_even,
    types_from_legacy,
)

BLACK = np.zeros((40, 60, 3), np.uint8)
PARENTS = [-1, 0, 1]


def colour_of(code):
    return np.array(TYPE_COLOURS[int(code)], np.uint8)


def test_disc_covers_its_centre_pixel_and_nothing_far_away():
    frame = BLACK.copy()
    draw_disc(frame, (10.5, 20.5), 2.0, (255, 0, 0))
    assert tuple(frame[20, 10]) == (255, 0, 0)
    assert tuple(frame[20, 12]) == (255, 0, 0)  # distance 2: on the rim
    assert tuple(frame[20, 13]) == (0, 0, 0)
    assert tuple(frame[17, 10]) == (0, 0, 0)
    assert (frame.any(axis=2)).sum() == 13  # pixel centres within radius 2 of a centre


def test_pixel_convention_y_down_from_the_top_row():
    frame = BLACK.copy()
    draw_disc(frame, (0.5, 0.5), 0.4, (1, 2, 3))
    assert tuple(frame[0, 0]) == (1, 2, 3)
    assert frame.any(axis=2).sum() == 1


def test_segment_joins_its_ends_and_keeps_its_thickness():
    frame = BLACK.copy()
    draw_segment(frame, (5.5, 10.5), (45.5, 10.5), 1.0, (0, 255, 0))
    row = frame[10, :, 1]
    assert (row[5:46] == 255).all()
    assert row[:5].sum() == 0 and row[47:].sum() == 0
    assert frame[9].sum() == 0 and frame[11].sum() == 0


def test_shapes_outside_the_frame_are_clipped_not_errors():
    frame = BLACK.copy()
    draw_disc(frame, (-100.0, -100.0), 3.0, (255, 0, 0))
    draw_segment(frame, (-1e9, 5.5), (1e9, 5.5), 1.0, (0, 0, 255))
    assert frame[..., 0].sum() == 0
    assert (frame[5, :, 2] == 255).all()


def test_keypoints_coloured_by_type_and_bones_by_child():
    uv = np.array([[10.5, 10.5], [30.5, 10.5], [30.5, 30.5]])
    types = [OcclusionType.VISIBLE, OcclusionType.SELF, OcclusionType.OBJECT]
    out = draw_keypoints(BLACK, uv, types, PARENTS, radius=2.0, thickness=1.0)
    assert (out[10, 10] == colour_of(OcclusionType.VISIBLE)).all()
    assert (out[10, 30] == colour_of(OcclusionType.SELF)).all()
    assert (out[30, 30] == colour_of(OcclusionType.OBJECT)).all()
    assert (out[10, 20] == colour_of(OcclusionType.SELF)).all()  # bone 0-1 takes joint 1's
    assert (out[20, 30] == colour_of(OcclusionType.OBJECT)).all()  # bone 1-2 takes joint 2's
    assert BLACK.sum() == 0, "the input frame must not be changed"


def test_behind_camera_and_nan_joints_are_not_drawn():
    uv = np.array([[10.5, 10.5], [30.5, 10.5], [np.nan, np.nan]])
    types = [OcclusionType.VISIBLE, OcclusionType.BEHIND_CAMERA, OcclusionType.VISIBLE]
    out = draw_keypoints(BLACK, uv, types, PARENTS, radius=2.0, thickness=1.0)
    assert (out[10, 10] == colour_of(OcclusionType.VISIBLE)).all()
    assert out[:, 20:].sum() == 0  # neither joint 1, nor the bone to it, nor joint 2


def test_several_people_and_rgba_frames():
    frame = np.zeros((40, 60, 4), np.uint8)
    frame[..., 3] = 255
    uv = np.array([[[5.5, 5.5]] * 3, [[50.5, 30.5]] * 3])
    types = np.array([[0, 0, 0], [3, 3, 3]])
    out = draw_keypoints(frame, uv, types, PARENTS, radius=1.0)
    assert (out[5, 5, :3] == colour_of(0)).all()
    assert (out[30, 50, :3] == colour_of(3)).all()
    assert (out[..., 3] == 255).all()


def test_legacy_labels_map_to_visible_and_untyped():
    assert types_from_legacy([1.0, 0.0, 1.0]).tolist() == [0, UNTYPED_OCCLUDED, 0]
    assert set(TYPE_COLOURS) >= {int(t) for t in OcclusionType} | {UNTYPED_OCCLUDED}
    assert len(set(TYPE_COLOURS.values())) == len(TYPE_COLOURS), "colours must differ"


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="frame must be"):
        draw_keypoints(np.zeros((4, 4)), np.zeros((3, 2)), [0, 0, 0], PARENTS)
    with pytest.raises(ValueError, match="people"):
        draw_keypoints(BLACK, np.zeros((2, 3, 2)), np.zeros((3, 3)), PARENTS)


def test_pad_to_even_keeps_the_top_left_origin():
    frame = np.arange(5 * 3 * 3, dtype=np.uint8).reshape(5, 3, 3)
    padded = pad_to_even(frame)
    assert padded.shape == (6, 4, 3)
    assert (padded[:5, :3] == frame).all()
    assert padded[5].sum() == 0 and padded[:, 3].sum() == 0
    even = np.zeros((4, 6, 4), np.uint8)
    assert pad_to_even(even) is even
