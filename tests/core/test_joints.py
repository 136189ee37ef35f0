"""Joint sets and the BlendMimic3D <-> Human3.6M conversion."""

import numpy as np
import pytest

from blendmimic3d_addon.core import joints as J


def test_published_order_and_h36m_semantics():
    assert J.BM3D_JOINTS[1:4] == ("LeftUpLeg", "LeftLeg", "LeftFoot")
    assert J.BM3D_JOINTS[11:14] == ("RightArm", "RightForeArm", "RightHand")
    # Every H36M joint takes the BlendMimic3D joint of the same meaning.
    meaning = {
        "Hip": "Hips", "RHip": "RightUpLeg", "RKnee": "RightLeg", "RFoot": "RightFoot",
        "LHip": "LeftUpLeg", "LKnee": "LeftLeg", "LFoot": "LeftFoot", "Spine": "Spine1",
        "Thorax": "Neck", "Neck/Nose": "Head", "Head": "HeadTop_End",
        "LShoulder": "LeftArm", "LElbow": "LeftForeArm", "LWrist": "LeftHand",
        "RShoulder": "RightArm", "RElbow": "RightForeArm", "RWrist": "RightHand",
    }  # fmt: skip
    for h36m_index, h36m_name in enumerate(J.H36M_JOINTS):
        assert J.BM3D_JOINTS[J.BM3D_TO_H36M[h36m_index]] == meaning[h36m_name]


def test_conversion_round_trip_and_shape():
    poses = np.random.default_rng(0).normal(size=(5, 2, 17, 3))
    h36m = J.convert_joint_order(poses, "blendmimic3d", "h36m")
    np.testing.assert_array_equal(h36m, poses[..., J.BM3D_TO_H36M, :])
    np.testing.assert_array_equal(h36m[..., 1, :], poses[..., 4, :])  # RHip <- RightUpLeg
    np.testing.assert_array_equal(J.convert_joint_order(h36m, "h36m", "blendmimic3d"), poses)
    np.testing.assert_array_equal(J.convert_joint_order(poses, "h36m", "h36m"), poses)
    with pytest.raises(ValueError, match="unknown joint set"):
        J.convert_joint_order(poses, "coco", "h36m")
    with pytest.raises(ValueError, match="17"):
        J.convert_joint_order(np.zeros((4, 16, 3)), "h36m", "blendmimic3d")


def test_parents_and_sides_agree_across_orders():
    # A joint's parent keeps its meaning when both are converted.
    for h, b in enumerate(J.BM3D_TO_H36M):
        parent_h = J.PARENTS_H36M[h]
        parent_b = J.PARENTS_BM3D[b]
        assert (parent_h == -1) == (parent_b == -1)
        if parent_h >= 0:
            assert J.BM3D_TO_H36M[parent_h] == parent_b
    assert all(J.BM3D_JOINTS[i].startswith("Left") for i in J.LEFT_BM3D)
    assert all(J.BM3D_JOINTS[i].startswith("Right") for i in J.RIGHT_BM3D)
    for left, right in J.SYMMETRIC_PAIRS_BM3D:
        assert J.BM3D_JOINTS[left].replace("Left", "Right") == J.BM3D_JOINTS[right]
    assert all(J.H36M_JOINTS[i].startswith("L") for i in J.LEFT_H36M)
    assert all(J.H36M_JOINTS[i].startswith("R") for i in J.RIGHT_H36M)


@pytest.mark.parametrize("prefix", ["mixamorig:", "mixamorig1:", "mixamorig8:", "mixamorig12:", ""])
def test_mixamo_prefixes(prefix):
    bones = ["Armature", *(prefix + n for n in J.BM3D_JOINTS), prefix + "LeftHandIndex1"]
    assert J.mixamo_prefix(bones) == prefix
    assert J.strip_mixamo_prefix(prefix + "LeftForeArm") == "LeftForeArm"
    assert J.bm3d_bone_names(bones) == [prefix + n for n in J.BM3D_JOINTS]


def test_not_a_mixamo_rig():
    assert J.mixamo_prefix(["Bone", "Bone.001"]) is None
    assert J.strip_mixamo_prefix("Character:Hips") == "Character:Hips"
    with pytest.raises(ValueError, match="no Mixamo 'Hips'"):
        J.bm3d_bone_names(["Bone"])
    with pytest.raises(ValueError, match="LeftHand"):
        J.bm3d_bone_names(["mixamorig:" + n for n in J.BM3D_JOINTS if n != "LeftHand"])


def test_published_left_leg_is_left(shared):
    """In S1, joint 1 lies on the character's left: with z up and the pelvis axis pointing from
    the left hip to the right hip, the knees bend forward (up x right), as knees do."""
    poses = np.load(shared("blendmimic3d", "S1", "D3_Positions", "WalkCircle", "WalkCircle.npz"))[
        "positions_3d"
    ]
    right_axis = poses[:, 4] - poses[:, 1]  # RightUpLeg - LeftUpLeg
    forward = np.cross([0.0, 0.0, 1.0], right_axis)
    for hip, knee, foot in ((1, 2, 3), (4, 5, 6)):
        # The knee lies in front of the hip-to-foot line when the leg is bent.
        mid = (poses[:, hip] + poses[:, foot]) / 2
        ahead = np.einsum("ni,ni->n", poses[:, knee] - mid, forward)
        assert np.mean(ahead > 0) > 0.9
