"""Layout presets: where people stand and which way they face."""

import math

import numpy as np
import pytest

from blendmimic3d_addon.core.geometry import layout as lay


def test_facing_convention():
    # Heading 0 faces -Y (an imported Mixamo character's front); +90 degrees turns it to +X.
    np.testing.assert_allclose(lay.facing(0.0), (0.0, -1.0), atol=1e-12)
    np.testing.assert_allclose(lay.facing(math.pi / 2), (1.0, 0.0), atol=1e-12)
    for h in np.linspace(-3.0, 3.0, 13):
        assert lay.heading_towards(lay.facing(h)) == pytest.approx(h)


def test_single():
    result = lay.layout("SINGLE", 1, centre=(2.0, 3.0))
    np.testing.assert_allclose(result.positions, [[2.0, 3.0]])
    np.testing.assert_allclose(result.headings, [0.0])


def test_single_refuses_more_people():
    with pytest.raises(ValueError, match="single preset places one person, not 3"):
        lay.layout("SINGLE", 3)


@pytest.mark.parametrize("preset", ["SIDE_BY_SIDE", "FACING_PAIR", "CIRCLE", "QUEUE"])
@pytest.mark.parametrize("count", [2, 3, 5])
def test_regular_presets_keep_spacing_and_centre(preset, count):
    result = lay.layout(preset, count, spacing=1.5, centre=(1.0, -2.0))
    assert result.positions.shape == (count, 2)
    assert result.headings.shape == (count,)
    assert lay.min_distance(result.positions) == pytest.approx(1.5)
    if preset != "FACING_PAIR" or count % 2 == 0:
        np.testing.assert_allclose(result.positions.mean(axis=0), (1.0, -2.0), atol=1e-9)


def test_side_by_side_is_a_row_facing_front():
    result = lay.layout("SIDE_BY_SIDE", 3, spacing=1.0)
    np.testing.assert_allclose(result.positions, [[-1, 0], [0, 0], [1, 0]], atol=1e-12)
    np.testing.assert_allclose(result.headings, 0.0)


def test_facing_pair_faces_each_other():
    result = lay.layout("FACING_PAIR", 2, spacing=2.0)
    a, b = result.positions
    np.testing.assert_allclose(lay.facing(result.headings[0]), (b - a) / 2.0, atol=1e-12)
    np.testing.assert_allclose(lay.facing(result.headings[1]), (a - b) / 2.0, atol=1e-12)


def test_circle_faces_centre():
    result = lay.layout("CIRCLE", 4, spacing=1.0, centre=(5.0, 5.0))
    inward = (5.0, 5.0) - result.positions
    inward /= np.linalg.norm(inward, axis=1, keepdims=True)
    np.testing.assert_allclose(lay.facing(result.headings), inward, atol=1e-12)
    radii = np.linalg.norm(result.positions - (5.0, 5.0), axis=1)
    np.testing.assert_allclose(radii, 1.0 / (2 * math.sin(math.pi / 4)))


def test_queue_each_faces_the_one_ahead():
    result = lay.layout("QUEUE", 3, spacing=1.0)
    for ahead, behind in zip(result.positions[:-1], result.positions[1:], strict=True):
        direction = (ahead - behind) / np.linalg.norm(ahead - behind)
        np.testing.assert_allclose(direction, lay.facing(0.0), atol=1e-12)


def test_random_keeps_minimum_distance_and_is_reproducible():
    first = lay.layout("RANDOM", 6, seed=7, area=(5.0, 5.0), min_gap=1.0)
    again = lay.layout("RANDOM", 6, seed=7, area=(5.0, 5.0), min_gap=1.0)
    other = lay.layout("RANDOM", 6, seed=8, area=(5.0, 5.0), min_gap=1.0)
    assert lay.min_distance(first.positions) >= 1.0
    assert np.all(np.abs(first.positions) <= 2.5)
    np.testing.assert_array_equal(first.positions, again.positions)
    np.testing.assert_array_equal(first.headings, again.headings)
    assert not np.array_equal(first.positions, other.positions)


def test_random_impossible_request_says_why():
    with pytest.raises(ValueError, match=r"cannot place 10 people at least 2 m apart in a 2 x 2 m"):
        lay.layout("RANDOM", 10, area=(2.0, 2.0), min_gap=2.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("DIAMOND", 2), "unknown layout preset 'DIAMOND'"),
        (("QUEUE", 0), "at least one person"),
        (("QUEUE", 2, 0.0), "spacing must be positive"),
    ],
)
def test_bad_requests(args, message):
    with pytest.raises(ValueError, match=message):
        lay.layout(*args)


def test_min_distance_of_one_person_is_infinite():
    assert lay.min_distance(np.zeros((1, 2))) == math.inf
