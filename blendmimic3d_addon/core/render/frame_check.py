"""Whether a rendered frame shows anything: an unlit Cycles scene, a camera looking at the sky or
a missing world all give frames of (nearly) one colour, which no 2D detector can learn from."""

import numpy as np

# A pixel "differs" when one of its channels is this far (of 255) from the frame's median colour;
# H.264 and render noise stay well below it.
COLOUR_TOLERANCE = 12
# A frame is flat when fewer than this share of its pixels differ (0.1 %: a thousand pixels of a
# 1000 x 1002 frame, three of a 64 x 48 one).
MIN_DIFFERING_SHARE = 0.001


def median_colour(frame):
    """The frame's median colour (RGB, uint8), the colour a flat frame is."""
    rgb = np.asarray(frame)[..., :3].reshape(-1, 3)
    return tuple(int(v) for v in np.median(rgb, axis=0))


def is_flat(frame):
    """Whether a (H, W, C) uint8 frame is (nearly) all one colour."""
    rgb = np.asarray(frame)[..., :3]
    if rgb.size == 0:
        return True
    median = np.median(rgb.reshape(-1, 3), axis=0)
    differs = (np.abs(rgb.astype(np.int16) - median.astype(np.int16)) > COLOUR_TOLERANCE).any(-1)
    return bool(differs.mean() < MIN_DIFFERING_SHARE)


def flat_message(colour):
    """Why a video whose every frame is ``colour`` is an error, and what to do about it."""
    hint = (
        "the scene has no light or world: add an environment or lighting"
        if max(colour) < 8
        else "the camera sees nothing but one surface or the background"
    )
    return f"every frame is one colour {colour}: {hint}"
