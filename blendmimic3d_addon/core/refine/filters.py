"""Classical temporal smoothing of pose sequences, the baselines the refiner is measured against.

Both work on (T, ..., D) arrays along the first axis, numpy only.
"""

import numpy as np


def savgol_coefficients(window: int, order: int) -> np.ndarray:
    """Weights fitting a polynomial of ``order`` to ``window`` samples, read at the centre."""
    if window % 2 == 0 or window < 1:
        raise ValueError(f"Savitzky-Golay window must be odd and positive, got {window}")
    if not 0 <= order < window:
        raise ValueError(f"Savitzky-Golay order must be in [0, window), got {order}")
    half = window // 2
    vander = np.vander(np.arange(-half, half + 1, dtype=np.float64), order + 1, increasing=True)
    return np.linalg.pinv(vander)[0]


def savgol(poses: np.ndarray, window: int = 9, order: int = 2) -> np.ndarray:
    """Savitzky-Golay smoothing; the sequence is edge-padded so every frame gets a full window."""
    poses = np.asarray(poses, dtype=np.float64)
    if window == 1 or len(poses) == 0:
        return poses.copy()
    weights = savgol_coefficients(window, order)
    half = window // 2
    idx = np.clip(np.arange(len(poses))[:, None] + np.arange(-half, half + 1), 0, len(poses) - 1)
    return np.tensordot(weights, poses[idx], axes=([0], [1]))


def _alpha(cutoff, rate):
    tau = 1.0 / (2 * np.pi * cutoff)
    return 1.0 / (1.0 + tau * rate)


def one_euro(
    poses: np.ndarray,
    fps: float = 30.0,
    min_cutoff: float = 1.0,
    beta: float = 0.0,
    d_cutoff: float = 1.0,
) -> np.ndarray:
    """One-euro filter (Casiez et al., CHI 2012): a low-pass whose cutoff rises with speed, so
    slow motion is smoothed and fast motion lags little. Causal, one pass over frames."""
    poses = np.asarray(poses, dtype=np.float64)
    out = np.empty_like(poses)
    if len(poses) == 0:
        return out
    a_d = _alpha(d_cutoff, fps)
    x_prev, dx_prev = poses[0], np.zeros_like(poses[0])
    out[0] = x_prev
    for t in range(1, len(poses)):
        dx = (poses[t] - x_prev) * fps
        dx_prev = a_d * dx + (1 - a_d) * dx_prev
        a = _alpha(min_cutoff + beta * np.abs(dx_prev), fps)
        x_prev = a * poses[t] + (1 - a) * x_prev
        out[t] = x_prev
    return out
