"""Colour helpers for lights and materials: colour temperature, HSV jitter, linear and sRGB."""

import colorsys

import numpy as np

# Approximate blackbody colours in linear RGB, brightest channel 1, at a few temperatures (K):
# warm tungsten at 2000-3000 K, daylight near 6500 K, blue sky above. Light colour variation
# needs the trend, not colorimetric precision; between rows it is interpolated linearly.
_KELVIN = np.array([2000, 2500, 3000, 3500, 4000, 4500, 5000, 5500, 6000, 6500, 7000, 8000, 10000])
_RGB = np.array(
    [
        [1.000, 0.177, 0.000],
        [1.000, 0.304, 0.049],
        [1.000, 0.421, 0.117],
        [1.000, 0.525, 0.209],
        [1.000, 0.618, 0.314],
        [1.000, 0.701, 0.432],
        [1.000, 0.774, 0.556],
        [1.000, 0.838, 0.683],
        [1.000, 0.895, 0.810],
        [1.000, 0.947, 0.939],
        [0.905, 0.904, 1.000],
        [0.769, 0.818, 1.000],
        [0.630, 0.711, 1.000],
    ]
)


def kelvin_to_rgb(kelvin):
    """Linear RGB (brightest channel 1) of a blackbody at ``kelvin`` (clamped to 2000-10000 K)."""
    kelvin = float(np.clip(kelvin, _KELVIN[0], _KELVIN[-1]))
    return tuple(float(np.interp(kelvin, _KELVIN, _RGB[:, c])) for c in range(3))


def srgb_to_linear(value):
    value = np.asarray(value, dtype=np.float64)
    return np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4)


def jitter_hsv(rgb, rng, hue=0.0, saturation=0.0, value=0.0):
    """``rgb`` (0-1) with its hue shifted by up to ``hue`` turns and its saturation and value
    scaled by up to 1 +/- the given amounts, drawn from ``rng``."""
    h, s, v = colorsys.rgb_to_hsv(*(float(c) for c in rgb))
    h = (h + rng.uniform(-hue, hue)) % 1.0
    s = float(np.clip(s * (1 + rng.uniform(-saturation, saturation)), 0, 1))
    v = float(np.clip(v * (1 + rng.uniform(-value, value)), 0, 1))
    return colorsys.hsv_to_rgb(h, s, v)
