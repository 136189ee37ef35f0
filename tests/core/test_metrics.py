"""Metrics against hand-worked cases."""

import numpy as np
import pytest

from blendmimic3d_addon.core.joints import PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D
from blendmimic3d_addon.core.refine import metrics as M

RNG = np.random.default_rng(4)
GT = RNG.normal(size=(6, 17, 3))


def _rotation_z(degrees):
    a = np.radians(degrees)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def test_mpjpe_and_per_joint_hand_worked():
    pred = GT + [3.0, 4.0, 0.0]  # every joint 5 away
    assert M.mpjpe(pred, GT) == pytest.approx(5.0)
    pred = GT.copy()
    pred[2, 7] += [0, 0, 17.0]  # one joint of one frame 17 away
    errors = M.per_joint_error(pred, GT)
    assert errors.shape == (6, 17) and errors[2, 7] == pytest.approx(17)
    assert M.mpjpe(pred, GT) == pytest.approx(17 / (6 * 17))
    with pytest.raises(ValueError, match="one shape"):
        M.mpjpe(pred[:, :16], GT)


def test_p_mpjpe_removes_similarity_only():
    pred = 2.5 * GT @ _rotation_z(40).T + [1, -2, 3]
    assert M.mpjpe(pred, GT) > 1
    assert M.p_mpjpe(pred, GT) == pytest.approx(0, abs=1e-12)
    # A reflection is not a similarity: a mirrored pose keeps an error.
    assert M.p_mpjpe(GT * [-1, 1, 1], GT) > 0.1


def test_p_mpjpe_hand_worked_square():
    # Square (+-1, +-1, 0) predicted flattened onto the x axis: (+-1, 0, 0). By symmetry the
    # best similarity is the identity (scale 1), leaving every corner 1 away: P-MPJPE = 1,
    # however the prediction is scaled, turned and moved.
    gt = np.array([[[1.0, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0]]])
    flat = gt * [1, 0, 1]
    assert M.p_mpjpe(flat, gt) == pytest.approx(1.0)
    moved = 3 * flat @ _rotation_z(30).T + [5, 6, 7]
    assert M.mpjpe(moved, gt) > 5
    assert M.p_mpjpe(moved, gt) == pytest.approx(1.0)
    assert M.mpjpe(gt * 3, gt) == pytest.approx(2 * np.sqrt(2))


def test_n_mpjpe_hand_worked():
    assert M.n_mpjpe(2 * GT, GT) == pytest.approx(0, abs=1e-12)
    # One joint at (1,0,0) predicted at (2,0,0): best scale 1/2 maps it exactly.
    assert M.n_mpjpe(np.array([[[2.0, 0, 0]]]), np.array([[[1.0, 0, 0]]])) == pytest.approx(0)
    # Two joints (1,0,0),(0,1,0) predicted (2,0,0),(0,0,0): scale 1/2 -> errors 0 and 1.
    pred, gt = np.array([[[2.0, 0, 0], [0, 0, 0]]]), np.array([[[1.0, 0, 0], [0, 1, 0]]])
    assert M.n_mpjpe(pred, gt) == pytest.approx(0.5)


def test_acceleration_hand_worked():
    gt = np.zeros((7, 17, 3))
    pred = gt.copy()
    pred[3, 5, 0] = 1.0  # one spike: second differences 1, -2, 1 at frames 2, 3, 4
    accel = M.acceleration_per_joint(pred, gt)
    assert accel.shape == (5, 17)
    assert accel[:, 5].tolist() == [0, 1, 2, 1, 0]
    assert M.acceleration_error(pred, gt) == pytest.approx(4 / (5 * 17))
    # Constant velocity has no acceleration error.
    moving = gt + np.arange(7)[:, None, None] * [0.1, 0, 0]
    assert M.acceleration_error(moving, gt) == pytest.approx(0)


def test_bone_length_stats_hand_worked():
    pose = np.zeros((17, 3))
    for child, parent in enumerate(PARENTS_BM3D):
        if parent >= 0:
            pose[child] = pose[parent] + [0, 0, 0.1 * child]  # bone of child c has length 0.1c
    poses = np.stack([pose, pose])
    stats = M.bone_length_stats(poses, symmetric_pairs=SYMMETRIC_PAIRS_BM3D)
    np.testing.assert_allclose(stats["mean"], 0.1 * np.arange(1, 17))
    np.testing.assert_allclose(stats["std"], 0)
    # LeftUpLeg (1) vs RightUpLeg (4): 0.1 vs 0.4.
    assert stats["asymmetry"][(1, 4)] == pytest.approx(0.3)
    stretched = poses.copy()
    stretched[1, 1:] *= 2  # second pose twice as large: lengths l and 2l -> cv 1/3
    np.testing.assert_allclose(M.bone_length_stats(stretched)["cv"][0], 1 / 3)


def test_split_by_label():
    errors = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    types = np.array([[0, 0, 3], [4, 0, 3]], dtype=np.uint8)
    split = M.split_by_label(errors, types)
    assert split["all"] == pytest.approx(3.5)
    assert split["visible"] == pytest.approx((1 + 2 + 5) / 3)
    assert split["object"] == pytest.approx(4.5)
    assert split["out_of_frame"] == pytest.approx(4)
    assert np.isnan(split["self"])
    legacy = M.split_by_label(errors, (types == 0).astype(np.float64))
    assert legacy["occluded"] == pytest.approx((3 + 4 + 6) / 3)
    assert M.split_counts(types)["object"] == 2
    # The split works for any per-joint metric, e.g. P-MPJPE's per-joint errors.
    per_joint = M.p_mpjpe_per_joint(GT + 0.01, GT)
    assert M.split_by_label(per_joint, np.zeros((6, 17), np.uint8))["visible"] < 1e-9
