"""Occlusion classification from hand-made ray-hit arrays (pure core, no Blender)."""

import numpy as np

from blendmimic3d_addon.core.labels import OcclusionType as T
from blendmimic3d_addon.core.occlusion import (
    NO_HIT,
    OBJECT_HIT,
    agreement,
    classify,
    inside_allowance,
    needs_ray,
)


def _one(joint_distance=5.0, hit_distance=np.inf, hit_owner=NO_HIT, own=0, allowance=0.1,
         in_frame=True, in_front=True):  # fmt: skip
    code = classify(joint_distance, hit_distance, hit_owner, own, allowance, in_frame, in_front)
    return T(int(code))


def test_nothing_hit_is_visible():
    assert _one() == T.VISIBLE


def test_own_skin_just_before_joint_is_visible():
    # The joint sits 6 cm under its own skin: the ray meets the skin 6 cm before the joint.
    assert _one(hit_distance=4.94, hit_owner=0, allowance=0.1) == T.VISIBLE


def test_own_body_far_before_joint_is_self_occlusion():
    # The ray meets the person's own body 40 cm before the joint (an arm across the chest).
    assert _one(hit_distance=4.6, hit_owner=0, allowance=0.1) == T.SELF


def test_other_person_and_object():
    assert _one(hit_distance=3.0, hit_owner=1, own=0) == T.OTHER_PERSON
    assert _one(hit_distance=3.0, hit_owner=OBJECT_HIT) == T.OBJECT
    # An object touching the skin in front of the joint still hides it.
    assert _one(hit_distance=4.97, hit_owner=OBJECT_HIT, allowance=0.1) == T.OBJECT


def test_hits_behind_the_joint_do_not_count():
    # A wall 1 m behind the joint, and the person's own back behind it.
    assert _one(hit_distance=6.0, hit_owner=OBJECT_HIT) == T.VISIBLE
    assert _one(hit_distance=5.2, hit_owner=0) == T.VISIBLE


def test_camera_geometry_wins_over_hits():
    assert _one(in_frame=False, hit_distance=1.0, hit_owner=OBJECT_HIT) == T.OUT_OF_FRAME
    assert _one(in_front=False, in_frame=False) == T.BEHIND_CAMERA
    assert _one(in_front=False, in_frame=True) == T.BEHIND_CAMERA


def test_broadcast_cameras_people_joints():
    # 2 cameras, 2 people, 3 joints; person 1 hides person 0's joint 2 from camera 1 only.
    joint_distance = np.full((2, 2, 3), 5.0)
    hit_distance = np.full((2, 2, 3), np.inf)
    hit_owner = np.full((2, 2, 3), NO_HIT)
    hit_distance[1, 0, 2], hit_owner[1, 0, 2] = 2.0, 1
    own = np.arange(2)[None, :, None]
    allowance = inside_allowance(np.full((2, 3), 0.05))[None]
    codes = classify(joint_distance, hit_distance, hit_owner, own, allowance, True, True)
    assert codes.shape == (2, 2, 3) and codes.dtype == np.uint8
    expected = np.zeros((2, 2, 3), np.uint8)
    expected[1, 0, 2] = T.OTHER_PERSON
    np.testing.assert_array_equal(codes, expected)


def test_allowance_grows_with_depth_under_skin():
    allowance = inside_allowance(np.array([0.0, 0.05, np.inf]))
    np.testing.assert_allclose(allowance, [0.02, 0.12, 0.02])
    # The same hit is own skin for a deep joint (hip) and self-occlusion for a shallow one.
    deep, shallow = inside_allowance(0.08), inside_allowance(0.01)
    assert _one(hit_distance=4.85, hit_owner=0, allowance=deep) == T.VISIBLE
    assert _one(hit_distance=4.85, hit_owner=0, allowance=shallow) == T.SELF


def test_needs_ray_and_agreement():
    np.testing.assert_array_equal(
        needs_ray([True, True, False], [True, False, True]), [True, False, False]
    )
    assert agreement([1, 0, 1, 1], [1, 0, 0, 1]) == 0.75
    assert agreement([1, 0, 1, 1], [1, 0, 0, 1], mask=[1, 1, 0, 1]) == 1.0
