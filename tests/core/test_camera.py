"""Camera model: K, RT and P from Blender numbers, quaternions, transforms and projection."""

import numpy as np
import pytest

from blendmimic3d_addon.core.geometry import camera as cam


def test_intrinsics_hand_worked():
    K = cam.intrinsics_from_blender(50, 36, 24, "AUTO", 0, 0, 1920, 1080)
    np.testing.assert_allclose(K, [[50 / 36 * 1920, 0, 960], [0, 50 / 36 * 1920, 540], [0, 0, 1]])
    # Shift moves the principal point by shift * the fitted dimension; y grows downwards.
    K = cam.intrinsics_from_blender(50, 36, 24, "HORIZONTAL", 0.1, 0.05, 1920, 1080)
    assert K[0, 2] == pytest.approx(960 - 192) and K[1, 2] == pytest.approx(540 + 96)
    # Percentage scales the render size, hence focal and centre.
    K = cam.intrinsics_from_blender(50, 36, 24, "AUTO", 0, 0, 1920, 1080, percentage=50)
    np.testing.assert_allclose(K[[0, 0, 1], [0, 2, 2]], [50 / 36 * 960, 480, 270])


def test_intrinsics_vertical_fits():
    # A tall image: AUTO fits vertically but measures the sensor by its width, as Blender does.
    K = cam.intrinsics_from_blender(50, 36, 24, "AUTO", 0, 0, 1000, 2000)
    assert K[0, 0] == pytest.approx(50 / 36 * 2000)
    K = cam.intrinsics_from_blender(50, 36, 24, "VERTICAL", 0, 0, 1920, 1080)
    assert K[0, 0] == pytest.approx(50 / 24 * 1080) and K[1, 1] == pytest.approx(50 / 24 * 1080)


def test_intrinsics_pixel_aspect():
    # Pixels twice as tall as wide: a = 2, fy = fx / 2; AUTO compares 1000*1 with 500*2.
    K = cam.intrinsics_from_blender(35, 36, 24, "AUTO", 0, 0.1, 1000, 500, 100, 1.0, 2.0)
    fx = 35 / 36 * 1000
    np.testing.assert_allclose(K, [[fx, 0, 500], [0, fx / 2, 250 + 0.1 * 1000 / 2], [0, 0, 1]])


def test_published_focal_lengths_are_reachable():
    # S1's 835 px and 695.83 px at 1000 x 1002 are lenses of 30 and 25 mm on a 36 mm sensor
    # fitted vertically (AUTO, as the image is taller than wide), measured by the sensor width.
    K = cam.intrinsics_from_blender(30, 36, 24, "AUTO", 0, 0, 1000, 1002)
    assert K[0, 0] == pytest.approx(835) and (K[0, 2], K[1, 2]) == (500, 501)
    K = cam.intrinsics_from_blender(25, 36, 24, "AUTO", 0, 0, 1000, 1002)
    assert K[1, 1] == pytest.approx(695.8333129882812, rel=1e-7)


def _world_matrix(rotation, location, scale=1.0):
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * scale
    matrix[:3, 3] = location
    return matrix


ROT_X_90 = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # Blender camera looking along +y


def test_extrinsics_hand_worked_and_scale_removed():
    RT = cam.extrinsics_from_world_matrix(_world_matrix(ROT_X_90, [0, -10, 0]))
    np.testing.assert_allclose(RT, [[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 10]], atol=1e-12)
    scaled = cam.extrinsics_from_world_matrix(
        _world_matrix(ROT_X_90 @ np.diag([2, 3, 0.5]), [0, -10, 0])
    )
    np.testing.assert_allclose(scaled, RT, atol=1e-12)
    np.testing.assert_allclose(cam.camera_centre(RT), [0, -10, 0], atol=1e-12)
    # Right of the camera is +x, up is -y, in front is +z.
    np.testing.assert_allclose(cam.world_to_camera([[1.0, 0, 1]], RT)[0, 0], [1, -1, 10])


def _cameras():
    K = np.stack(
        [cam.intrinsics_from_blender(50, 36, 24, "AUTO", s, 0, 1000, 1002) for s in (0, 0.1)]
    )
    RT = np.stack(
        [
            cam.extrinsics_from_world_matrix(_world_matrix(ROT_X_90, [0, -10, 1])),
            cam.extrinsics_from_world_matrix(_world_matrix(ROT_X_90, [2, -8, 1.5])),
        ]
    )
    return K, RT


def test_project_matches_per_point_and_transforms_compose():
    K, RT = _cameras()
    P = cam.projection_matrix(K, RT)
    points = np.random.default_rng(1).normal(size=(7, 17, 3))
    uv = cam.project(points, P)
    assert uv.shape == (2, 7, 17, 2)
    for c in range(2):
        h = P[c] @ np.append(points[3, 5], 1.0)
        np.testing.assert_allclose(uv[c, 3, 5], h[:2] / h[2])
    in_cam = cam.world_to_camera(points, RT)
    np.testing.assert_allclose(cam.camera_to_pixel(in_cam, K), uv)
    np.testing.assert_allclose(cam.camera_depth(points, RT), in_cam[..., 2])
    np.testing.assert_allclose(
        cam.camera_to_world(in_cam, RT), np.broadcast_to(points, in_cam.shape)
    )
    # A single camera given as (3,4) still gets a camera axis.
    assert cam.project(points[0, 0], P[0]).shape == (1, 2)
    with pytest.raises(ValueError, match=r"\(C,3,4\)"):
        cam.project(points, K)


def test_in_image():
    uv = np.array([[0, 0], [999.9, 1001.9], [1000, 5], [5, -0.1], [np.nan, 3]])
    assert cam.in_image(uv, 1000, 1002).tolist() == [True, True, False, False, False]


def test_quaternion_round_trip_all_branches():
    rng = np.random.default_rng(2)
    q = rng.normal(size=(500, 4))
    # Include the near-180-degree rotations where w is small (the other branches).
    q[:4] = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1e-9, 0.6, 0.8, 0]]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q *= np.where(q[:, :1] < 0, -1, 1)
    R = cam.matrix_from_quaternion(q)
    np.testing.assert_allclose(
        R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    np.testing.assert_allclose(cam.quaternion_from_matrix(R), q, atol=1e-9)
    # 90 degrees about z: w = cos(45 deg), z = sin(45 deg).
    Rz = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(cam.quaternion_from_matrix(Rz), [np.sqrt(0.5), 0, 0, np.sqrt(0.5)])


def test_published_cameras_are_consistent(shared):
    """S1's matrices: P = K RT, R is a rotation, and its quaternion is the stored orientation."""
    folder = shared("blendmimic3d", "S1", "Cameras")
    m = np.load(folder / "matrices_S1.npz")
    np.testing.assert_allclose(cam.projection_matrix(m["K"], m["RT"]), m["P"], rtol=1e-6, atol=1e-3)
    params = np.load(folder / "camera_params_S1.npz", allow_pickle=True)  # trusted test data
    stored = np.array([e["orientation"] for e in params["extrinsic_params"].item()["S1"]])
    np.testing.assert_allclose(cam.quaternion_from_matrix(m["RT"][:, :, :3]), stored, atol=1e-6)
    centres = cam.camera_centre(m["RT"])
    np.testing.assert_allclose(centres[:, 2], 1.747, atol=1e-3)
