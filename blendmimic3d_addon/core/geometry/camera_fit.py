"""Framing: the lens or the distance that keeps a set of points inside an image, with a margin.

Points are in a camera's computer-vision frame (x right, y down, z forwards, metres; see
``camera.world_to_camera``), the image is ``width`` x ``height`` pixels with principal point
(cx, cy), and ``fy = fx / aspect``. Both fits are closed form: each point bounds the focal
length (or the distance) on its own, and the fit takes the tightest bound, so the whole
animation is one ``min`` or ``max`` over its joints.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Fit:
    ok: bool
    value: float  # the focal length in pixels (fit_focal) or the dolly distance in metres
    reason: str = ""


def _window(width, height, principal, margin):
    """Room (pixels) from the principal point to each edge of the image less the margin."""
    cx, cy = principal
    mx, my = margin * width, margin * height
    return (cx - mx, width - mx - cx), (cy - my, height - my - cy)


def fit_focal(
    points_cam: np.ndarray,
    width: float,
    height: float,
    principal: tuple[float, float],
    margin: float = 0.05,
    aspect: float = 1.0,
    near: float = 0.05,
) -> Fit:
    """The largest focal length (px) that keeps every point inside the image less ``margin``
    (a fraction of the width and height on each side); the camera does not move."""
    p = np.asarray(points_cam, float).reshape(-1, 3)
    if len(p) == 0:
        return Fit(False, 0.0, "no joints to frame")
    if (p[:, 2] < near).any():
        return Fit(False, 0.0, "a joint is behind the camera or too close to it")
    (left, right), (top, bottom) = _window(width, height, principal, margin)
    if min(left, right, top, bottom) <= 0:
        return Fit(False, 0.0, "the margin leaves no room around the principal point")
    u, v = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
    # fx * u must lie in [-left, right]; fy * v = fx * v / aspect in [-top, bottom].
    bounds = np.concatenate(
        [
            right / u[u > 0],
            left / -u[u < 0],
            aspect * bottom / v[v > 0],
            aspect * top / -v[v < 0],
        ]
    )
    if len(bounds) == 0:  # every point on the optical axis: any lens frames it
        return Fit(False, 0.0, "the joints lie on the optical axis: nothing to fit")
    return Fit(True, float(bounds.min()))


def fit_distance(
    points_cam: np.ndarray,
    width: float,
    height: float,
    principal: tuple[float, float],
    focal_px: float,
    margin: float = 0.05,
    aspect: float = 1.0,
    near: float = 0.05,
) -> Fit:
    """How far to move the camera back along its optical axis (metres; negative: forwards) so
    that every point is inside the image less ``margin``, with the lens unchanged.

    Moving back by d adds d to every point's depth and leaves x and y as they are.
    """
    p = np.asarray(points_cam, float).reshape(-1, 3)
    if len(p) == 0:
        return Fit(False, 0.0, "no joints to frame")
    (left, right), (top, bottom) = _window(width, height, principal, margin)
    if min(left, right, top, bottom) <= 0:
        return Fit(False, 0.0, "the margin leaves no room around the principal point")
    fx, fy = focal_px, focal_px / aspect
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    # fx * x / (z + d) <= right  <=>  d >= fx * x / right - z   (x > 0), and so on.
    need = np.concatenate(
        [
            fx * x[x > 0] / right - z[x > 0],
            fx * -x[x < 0] / left - z[x < 0],
            fy * y[y > 0] / bottom - z[y > 0],
            fy * -y[y < 0] / top - z[y < 0],
            near - z,
        ]
    )
    return Fit(True, float(need.max()))


def frame_centre(points: ArrayLike) -> np.ndarray:
    """Centre of the axis-aligned box around world points (..., 3): where a rig should look."""
    p = np.asarray(points, float).reshape(-1, 3)
    return (p.min(axis=0) + p.max(axis=0)) / 2
