"""Occlusion-dependent 2D keypoint errors, so the lifter's 3D output looks like a real estimator's.

A 2D detector is accurate on visible joints and wrong in structured ways on hidden ones: it
drifts smoothly, confuses left with right, snaps a hidden hand onto the elbow, and cannot put a
keypoint outside the image. Errors are drawn per run of consecutive occluded frames.
"""

import numpy as np

VISIBLE_SIGMA_PX = 2.5  # white noise on visible joints
VISIBLE_SMOOTH_PX = 2.0  # slow wobble on visible joints
DRIFT_SIGMA_PX = (15.0, 60.0)  # range of the smooth offset on a hidden joint
MODE_P = {"drift": 0.5, "swap": 0.2, "snap": 0.3}


def smooth_noise(rng, n, shape, width):
    """Unit-variance Gaussian noise low-passed over ``width`` frames along axis 0."""
    white = rng.standard_normal((n + 4 * width, *shape))
    x = np.arange(-2 * width, 2 * width + 1)
    kernel = np.exp(-0.5 * (x / width) ** 2)
    kernel /= np.sqrt((kernel**2).sum())
    out = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), 0, white)
    return out[:n]


def corrupt(pose2d, visible, resolution, parents, symmetric, rng, occlusion=True):
    """Noisy copy of (N,17,2) pixel keypoints; with ``occlusion``, hidden joints get structured
    errors."""
    n, joints, _ = pose2d.shape
    out = pose2d + VISIBLE_SIGMA_PX * rng.standard_normal(pose2d.shape)
    out += VISIBLE_SMOOTH_PX * smooth_noise(rng, n, (joints, 2), width=8)
    if not occlusion:
        return out.astype(np.float32)
    partner = {a: b for pair in symmetric for a, b in (pair, pair[::-1])}
    for j in range(joints):
        hidden = ~visible[:, j]
        if not hidden.any():
            continue
        starts = np.flatnonzero(hidden & ~np.concatenate([[False], hidden[:-1]]))
        run_id = np.cumsum(np.isin(np.arange(n), starts)) - 1
        for run in range(len(starts)):
            frames = np.flatnonzero(hidden & (run_id == run))
            out[frames, j] = _hidden_run(pose2d, frames, j, parents, partner, rng)
    width, height = resolution
    out[..., 0] = np.where(visible, out[..., 0], np.clip(out[..., 0], 0, width - 1))
    out[..., 1] = np.where(visible, out[..., 1], np.clip(out[..., 1], 0, height - 1))
    return out.astype(np.float32)


def _hidden_run(pose2d, frames, j, parents, partner, rng):
    modes = list(MODE_P)
    p = np.array([MODE_P[m] for m in modes])
    if j not in partner:
        p[modes.index("swap")] = 0.0
    if parents[j] < 0:
        p[modes.index("snap")] = 0.0
    mode = modes[rng.choice(len(modes), p=p / p.sum())]
    m = len(frames)
    sigma = rng.uniform(*DRIFT_SIGMA_PX)
    drift = smooth_noise(rng, m, (2,), width=int(rng.integers(5, 20)))
    if mode == "drift":
        return pose2d[frames, j] + sigma * drift + 6.0 * rng.standard_normal((m, 2))
    if mode == "swap":
        return pose2d[frames, partner[j]] + 5.0 * rng.standard_normal((m, 2))
    toward = rng.uniform(0.5, 1.0)
    base = (1 - toward) * pose2d[frames, j] + toward * pose2d[frames, parents[j]]
    return base + 10.0 * drift


# ---------------------------------------------------------------- 3D input qualities
# The refiner also sees inputs better than the lifter's, so that it learns to leave good poses
# alone. A level is the RMS 3D displacement of a non-root joint, in metres.


def white_3d(rng, n, rms, joints=17):
    """(n, joints, 3) independent noise per frame and joint; the root gets none."""
    out = rng.standard_normal((n, joints, 3)) * (rms / np.sqrt(3))
    out[:, 0] = 0.0
    return out.astype(np.float32)


def drift_3d(rng, n, rms, width, joints=17):
    """(n, joints, 3) smooth drift, correlated over about ``width`` frames; the root gets none."""
    out = smooth_noise(rng, n, (joints, 3), int(width)) * (rms / np.sqrt(3))
    out[:, 0] = 0.0
    return out.astype(np.float32)
