"""The focal and distance fits frame every point with the margin, tightly, or say why not."""

import numpy as np
import pytest

from blendmimic3d_addon.core.geometry import camera_fit as fit

W, H, PP = 1000, 1002, (500.0, 501.0)


def _cloud(seed=0, n=300):
    rng = np.random.default_rng(seed)
    return rng.normal([0.3, -0.2, 5.0], [0.6, 0.9, 0.4], size=(n, 3))


def _inside(points_cam, width, height, principal, focal_px, margin=0.0, aspect=1.0, near=1e-9):
    """The oracle: which points project inside the image less ``margin``."""
    p = np.asarray(points_cam, float).reshape(-1, 3)
    z = p[:, 2]
    front = z > near
    safe = np.where(front, z, 1.0)
    u = focal_px * p[:, 0] / safe + principal[0]
    v = focal_px / aspect * p[:, 1] / safe + principal[1]
    mx, my = margin * width, margin * height
    return front & (u >= mx) & (u <= width - mx) & (v >= my) & (v <= height - my)


def _pixels(points, f, principal=PP, aspect=1.0):
    return np.column_stack(
        [
            f * points[:, 0] / points[:, 2] + principal[0],
            f / aspect * points[:, 1] / points[:, 2] + principal[1],
        ]
    )


@pytest.mark.parametrize("margin", [0.0, 0.05, 0.2])
def test_fit_focal_keeps_points_inside_and_is_tight(margin):
    points = _cloud()
    result = fit.fit_focal(points, W, H, PP, margin=margin)
    assert result.ok
    uv = _pixels(points, result.value)
    lo, hi = (margin * W, margin * H), (W - margin * W, H - margin * H)
    assert (uv >= np.array(lo) - 1e-6).all() and (uv <= np.array(hi) + 1e-6).all()
    # Tight: some point touches the margin, and 1 % more focal length pushes it out.
    assert _inside(points, W, H, PP, result.value, margin=margin - 1e-9).all()
    assert not _inside(points, W, H, PP, result.value * 1.01, margin=margin).all()


def test_fit_focal_with_off_centre_principal_point_and_aspect():
    points = _cloud(1)
    principal, aspect = (300.0, 700.0), 1.25
    result = fit.fit_focal(points, W, H, principal, margin=0.05, aspect=aspect)
    assert result.ok
    assert _inside(points, W, H, principal, result.value, margin=0.05 - 1e-9, aspect=aspect).all()
    assert not _inside(
        points, W, H, principal, result.value * 1.01, margin=0.05, aspect=aspect
    ).all()


def test_fit_focal_refuses_points_behind_and_empty_sets():
    points = _cloud()
    points[5, 2] = -1.0
    result = fit.fit_focal(points, W, H, PP)
    assert not result.ok and "behind the camera" in result.reason
    assert not fit.fit_focal(np.zeros((0, 3)), W, H, PP).ok
    squeezed = fit.fit_focal(_cloud(), W, H, PP, margin=0.5)
    assert not squeezed.ok and "margin" in squeezed.reason


@pytest.mark.parametrize("start_depth", [0.5, 5.0, 40.0])
def test_fit_distance_frames_from_any_start(start_depth):
    points = _cloud(2) + [0.0, 0.0, start_depth - 5.0]
    result = fit.fit_distance(points, W, H, PP, 835.0, margin=0.05)
    assert result.ok
    moved = points + [0.0, 0.0, result.value]
    assert (moved[:, 2] > 0).all()
    assert _inside(moved, W, H, PP, 835.0, margin=0.05 - 1e-9).all()
    # Tight: 1 cm less and a point leaves the framed window.
    closer = points + [0.0, 0.0, result.value - 0.01]
    assert not _inside(closer, W, H, PP, 835.0, margin=0.05).all()


def test_fit_distance_moves_back_past_points_behind():
    points = _cloud(3)
    points[0] = [0.0, 0.0, -2.0]  # behind the camera but on its axis
    result = fit.fit_distance(points, W, H, PP, 835.0, margin=0.05)
    assert result.ok and result.value >= 2.0
    assert _inside(points + [0, 0, result.value], W, H, PP, 835.0, margin=0.05 - 1e-9).all()


def test_frame_centre_is_the_box_centre():
    pts = np.array([[0, 0, 0], [2, 4, 1], [1, -2, 3.0]])
    np.testing.assert_allclose(fit.frame_centre(pts), [1.0, 1.0, 1.5])
