"""Classical smoothing baselines: Savitzky-Golay and the one-euro filter."""

import numpy as np
import pytest

from blendmimic3d_addon.core.refine import filters


def test_savgol_keeps_polynomials_of_its_order():
    t = np.arange(40, dtype=float)
    quad = (0.5 * t**2 - 3 * t + 2)[:, None]
    out = filters.savgol(quad, window=7, order=2)
    # inside (full windows, no edge padding) a quadratic passes unchanged
    np.testing.assert_allclose(out[3:-3], quad[3:-3], atol=1e-8)


def test_savgol_reduces_white_noise():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((500, 17, 3))
    out = filters.savgol(noise, window=11, order=2)
    assert out.shape == noise.shape
    assert out.std() < 0.7 * noise.std()


def test_savgol_rejects_bad_parameters():
    with pytest.raises(ValueError, match="odd"):
        filters.savgol(np.zeros((10, 3)), window=4)
    with pytest.raises(ValueError, match="order"):
        filters.savgol(np.zeros((10, 3)), window=5, order=5)


def test_one_euro_passes_constants_and_smooths_noise():
    const = np.full((50, 17, 3), 0.3)
    np.testing.assert_allclose(filters.one_euro(const), const)
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((400, 4, 3))
    smooth = filters.one_euro(noise, fps=30, min_cutoff=1.0, beta=0.0)
    assert smooth.std() < 0.6 * noise.std()


def test_one_euro_beta_lets_fast_motion_through():
    t = np.arange(100) / 30.0
    ramp = (10 * t)[:, None]  # fast, steady motion
    lag_slow = np.abs(filters.one_euro(ramp, 30, min_cutoff=0.5, beta=0.0) - ramp)[-1]
    lag_fast = np.abs(filters.one_euro(ramp, 30, min_cutoff=0.5, beta=5.0) - ramp)[-1]
    assert lag_fast < 0.5 * lag_slow
