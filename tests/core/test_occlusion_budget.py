"""The occlusion budget's sums, strips, worst frame and targets (pure numpy)."""

import numpy as np
import pytest

from blendmimic3d_addon.core.occlusion import budget
from blendmimic3d_addon.core.occlusion.labels import N_TYPES
from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T


def _take(frames=10, people=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, N_TYPES, size=(frames, people, 17)).astype(np.uint8)


def test_type_shares_count_every_joint_frame_once():
    types = _take()
    shares = budget.type_shares(types)
    assert shares.shape == (N_TYPES,)
    assert shares.sum() == pytest.approx(1.0)
    for code in range(N_TYPES):
        assert shares[code] == pytest.approx((types == code).sum() / types.size)
    assert budget.hidden_share(shares, budget.HIDDEN) == pytest.approx((types != 0).mean())


def test_an_empty_take_has_no_shares_no_worst_frame_and_an_empty_strip():
    empty = np.zeros((0, 1, 17), np.uint8)
    assert budget.type_shares(empty).sum() == 0
    assert budget.worst_frame(empty) is None
    shares, edges = budget.strip(empty)
    assert shares.shape == (0, N_TYPES) and list(edges) == [0]


def test_codes_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="frames, people, joints"):
        budget.type_shares(np.zeros((3, 17), np.uint8))


def test_worst_frame_is_the_first_with_most_hidden_joints():
    types = np.zeros((6, 1, 17), np.uint8)
    types[2, 0, :5] = T.OBJECT
    types[4, 0, :5] = T.SELF
    types[5, 0, :3] = T.OUT_OF_FRAME
    assert budget.worst_frame(types) == 2
    assert list(budget.frame_hidden(types)) == [0, 0, 5, 0, 5, 3]


@pytest.mark.parametrize("frames", [1, 5, 63, 64, 65, 200, 1001])
def test_strip_bins_cover_every_frame_once_and_average_them(frames):
    types = _take(frames, people=1, seed=frames)
    shares, edges = budget.strip(types)
    assert len(shares) == min(frames, budget.STRIP_BINS) and edges[0] == 0 and edges[-1] == frames
    assert (np.diff(edges) >= 1).all()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    for b in range(len(shares)):
        part = types[edges[b] : edges[b + 1]]
        np.testing.assert_allclose(shares[b], budget.type_shares(part))


def test_targets_parse_with_aliases_percent_and_separators():
    targets = budget.parse_targets("2: object 20-40 %; camera 0: visible 60 to 100\n1: hidden 0-10")
    assert [(t.camera, t.code, t.low, t.high) for t in targets] == [
        (2, T.OBJECT, 0.2, 0.4), (0, T.VISIBLE, 0.6, 1.0), (1, budget.HIDDEN, 0.0, 0.1),
    ]  # fmt: skip
    assert str(targets[0]) == "camera 2: object 20-40 %"
    assert budget.parse_targets("  ") == []
    assert budget.parse_targets("3: other person 5-15")[0].code == T.OTHER_PERSON


@pytest.mark.parametrize(
    "text, message",
    [
        ("2 object 20-40", "write targets as"),
        ("2: furniture 20-40", "unknown type 'furniture'"),
        ("2: object 40-20", "go upwards"),
        ("2: object 20-140", "0-100"),
        ("4: object 20-40", "cameras 0..3"),
    ],
)
def test_bad_targets_say_which_entry_and_why(text, message):
    with pytest.raises(ValueError, match=message):
        budget.parse_targets(f"0: visible 0-100; {text}", camera_count=4)


def test_a_target_is_met_inside_its_range_bounds_included():
    types = np.zeros((10, 1, 17), np.uint8)
    types[:3] = T.OBJECT  # 30 % object
    shares = budget.type_shares(types)
    (inside, edge, outside) = budget.parse_targets(
        "0: object 20-40; 0: object 30-30; 0: object 0-29"
    )
    assert inside.met(shares) and edge.met(shares) and not outside.met(shares)
