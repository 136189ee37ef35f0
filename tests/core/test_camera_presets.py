"""Camera presets reproduce the published geometry; ring, aiming and re-centring work."""

import numpy as np
import pytest
from conftest import shared_path

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.geometry import camera_presets as cp


def _world_to_cv(cam):
    r = cp.BLENDER_TO_CV @ cam.rotation.T
    return np.column_stack([r, -r @ cam.location])


def test_blendmimic3d_preset_matches_published_s1_cameras():
    published = np.load(shared_path("blendmimic3d", "S1", "Cameras", "matrices_S1.npz"))
    rig = cp.preset("BLENDMIMIC3D")
    assert rig.resolution == (1000, 1002)
    assert len(rig.cameras) == 4
    for cam, k, rt in zip(rig.cameras, published["K"], published["RT"], strict=True):
        ours_k = np.array(
            [[cam.focal_px, 0, cam.principal[0]], [0, cam.focal_px, cam.principal[1]], [0, 0, 1]]
        )
        np.testing.assert_allclose(ours_k, k, rtol=1e-7)  # published K is float32-rounded
        centre = -rt[:, :3].T @ rt[:, 3]
        np.testing.assert_allclose(cam.location, centre, atol=0.002)  # within 2 mm
        np.testing.assert_allclose(_world_to_cv(cam)[:, :3], rt[:, :3], atol=2e-6)
        np.testing.assert_allclose(_world_to_cv(cam), rt, atol=2e-5)


def test_human36m_preset_is_the_s1_calibration_facing_the_capture_area():
    rig = cp.preset("HUMAN36M")
    assert len(rig.cameras) == 4
    np.testing.assert_allclose(
        rig.cameras[0].location, [1.8411070556640625, 4.95528466796875, 1.5634454345703125]
    )
    assert rig.cameras[0].focal_px == pytest.approx((1145.0494384765625 + 1143.7811279296875) / 2)
    assert rig.cameras[2].principal == (519.8158569335938, 501.40264892578125)
    for cam in rig.cameras:
        np.testing.assert_allclose(cam.rotation @ cam.rotation.T, np.eye(3), atol=1e-6)
        to_centre = -cam.location / np.linalg.norm(cam.location)
        assert np.dot(cam.forward, to_centre) > 0.9  # all four look at the middle of the room
        assert cam.rotation[2, 1] > 0.9  # upright: the image's up is the world's up
        assert 1.4 < cam.location[2] < 1.7


def test_ring_cameras_are_evenly_spaced_and_aimed():
    rig = cp.ring(6, 3.0, 2.0, 900.0, (640, 480), target=(1.0, -1.0, 1.0))
    assert len(rig.cameras) == 6 and rig.resolution == (640, 480)
    target = np.array([1.0, -1.0, 1.0])
    for cam in rig.cameras:
        assert np.linalg.norm(cam.location[:2] - target[:2]) == pytest.approx(3.0)
        assert cam.location[2] == 2.0
        aim = (target - cam.location) / np.linalg.norm(target - cam.location)
        np.testing.assert_allclose(cam.forward, aim, atol=1e-12)
        assert abs(cam.rotation[2, 0]) < 1e-12  # no roll: camera x stays level
        assert cam.principal == (320, 240)
    # Camera 0 in front of a person facing -Y.
    np.testing.assert_allclose(rig.cameras[0].location[:2], [1.0, -4.0], atol=1e-12)
    with pytest.raises(DatasetError, match="count"):
        cp.ring(0, 3.0, 2.0, 900.0, (640, 480))


def test_convergence_moved_and_aimed():
    rig = cp.ring(4, 3.0, 1.0, 900.0, (640, 480), target=(2.0, 3.0, 1.0))
    np.testing.assert_allclose(cp.convergence(rig), [2.0, 3.0, 1.0], atol=1e-9)
    shifted = cp.moved(rig, (-1.0, 0.5))
    np.testing.assert_allclose(cp.convergence(shifted), [-1.0, 0.5, 1.0], atol=1e-9)
    turned = cp.aimed(rig, (0.0, 0.0, 0.0))
    for cam in turned.cameras:
        np.testing.assert_allclose(
            cam.forward, -cam.location / np.linalg.norm(cam.location), atol=1e-12
        )


def test_look_at_straight_down_and_on_target():
    rot = cp.look_at((0, 0, 5), (0, 0, 0))
    np.testing.assert_allclose(-rot[:, 2], [0, 0, -1])
    assert np.linalg.det(rot) == pytest.approx(1.0)
    with pytest.raises(DatasetError, match="camera: stands on its target"):
        cp.look_at((1, 1, 1), (1, 1, 1))
