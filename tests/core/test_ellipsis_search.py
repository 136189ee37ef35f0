"""The search for Blender's ellipsis (tests/helpers/ellipsis.py) that the sidebar's windowed test
relies on: drawn dots in a dark picture, found or not."""

import numpy as np
from ellipsis import find_ellipses

BACKGROUND, INK = 60, 230


def picture():
    return np.full((40, 80, 3), BACKGROUND, np.float32)


def dot(image, x, y, size=2):
    image[y : y + size, x : x + size] = INK


def glyph(image, x, y, height=8):
    """A letter's stem ending on the baseline ``y``."""
    image[y - height + 2 : y + 2, x : x + 2] = INK


def test_three_dots_after_a_letter_are_an_ellipsis():
    image = picture()
    glyph(image, 10, 20)
    for x in (14, 17, 20):
        dot(image, x, 20)
    assert find_ellipses(image) == [(17.5, 20.5)]


def test_one_two_or_four_dots_are_not():
    for count in (1, 2, 4):
        image = picture()
        for i in range(count):
            dot(image, 14 + 3 * i, 20)
        assert find_ellipses(image) == [], count


def test_dots_with_anything_under_or_over_them_are_not():
    """The dots of i and j, colons, and the grips' grids of dots."""
    stems, colons, grid = picture(), picture(), picture()
    for x in (14, 17, 20):
        dot(stems, x, 12)
        stems[15:21, x : x + 2] = INK  # i's stem below its dot
        dot(colons, x, 12)
        dot(colons, x, 16)
        dot(grid, x, 20)
        dot(grid, x, 23)
    for image in (stems, colons, grid):
        assert find_ellipses(image) == []


def test_dots_too_far_apart_are_not():
    image = picture()
    for x in (10, 20, 30):  # full stops of separate words
        dot(image, x, 20)
    assert find_ellipses(image) == []


def test_at_twice_the_ui_scale():
    image = picture()
    for x in (14, 20, 26):
        dot(image, x, 20, size=4)
    assert len(find_ellipses(image, scale=2.0)) == 1
    assert find_ellipses(image, scale=1.0) == []  # too big and far apart for scale 1
