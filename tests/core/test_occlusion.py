"""Occlusion classification from hand-made ray-hit arrays (pure core, no Blender)."""

import numpy as np

from blendmimic3d_addon.core.occlusion.classify import (
    OBJECT_HIT,
    agreement,
    classify,
    classify_rays,
    needs_ray,
)
from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T


def _code(crossings, own=0, joint_distance=5.0):
    """Code of one ray from its crossings: (distance, owner, entering) triples."""
    rays = np.zeros(len(crossings), dtype=int)
    t = np.array([c[0] for c in crossings], float)
    owner = np.array([c[1] for c in crossings], int)
    entering = np.array([c[2] for c in crossings], bool)
    codes = classify_rays(rays, t, owner, entering, np.array([own]), np.array([joint_distance]))
    return T(int(codes[0]))


def test_nothing_hit_is_visible():
    assert _code([]) == T.VISIBLE


def test_seen_through_its_own_skin():
    # The joint sits 6 cm (or 18 cm: the hip from the side) inside the body it is part of.
    assert _code([(4.94, 0, True)]) == T.VISIBLE
    assert _code([(4.82, 0, True)]) == T.VISIBLE
    # Inside an overlapping second part (a joint cap inside the skin): still one body.
    assert _code([(4.9, 0, True), (4.95, 0, True), (4.97, 0, False)]) == T.VISIBLE


def test_own_body_in_front_is_self_occlusion():
    # An arm 30 cm in front: the ray enters and leaves it, then enters the torso.
    assert _code([(4.6, 0, True), (4.7, 0, False), (4.93, 0, True)]) == T.SELF
    # Along a whole limb: entered 30 cm before the joint without leaving.
    assert _code([(4.7, 0, True)]) == T.SELF
    # A joint just outside the skin, behind an own part (the ray left the body before it).
    assert _code([(4.9, 0, True), (4.97, 0, False)]) == T.SELF


def test_faceting_tolerances():
    # Grazing another person's edge for 1 mm is no occlusion; an arm pressed against the chest
    # (a 1 cm air gap) is one body; the joint 5 mm outside its own skin is still seen.
    assert _code([(3.0, 1, True), (3.001, 1, False), (4.95, 0, True)]) == T.VISIBLE
    assert _code([(4.85, 0, True), (4.9, 0, False), (4.91, 0, True)]) == T.VISIBLE
    assert _code([(4.9, 0, True), (4.995, 0, False)]) == T.VISIBLE


def test_other_person_and_object():
    assert _code([(3.0, 1, True), (4.95, 0, True)]) == T.OTHER_PERSON
    assert _code([(3.0, OBJECT_HIT, True)]) == T.OBJECT
    # An object touching the skin in front of the joint still hides it...
    assert _code([(4.93, OBJECT_HIT, True), (4.95, 0, True)]) == T.OBJECT
    # ...but one behind the skin does not (a bag held against the belly, seen from behind).
    assert _code([(4.93, 0, True), (4.96, OBJECT_HIT, True)]) == T.VISIBLE


def test_many_rays_at_once_and_camera_geometry():
    # Ray 1 of person 1 is hidden by person 0; rays are unordered in the crossing lists.
    codes = classify_rays(
        np.array([1, 0, 1]), np.array([4.95, 4.9, 2.0]), np.array([1, 0, 0]),
        np.array([True, True, True]), np.array([0, 1]), np.array([5.0, 5.0]),
    )  # fmt: skip
    assert codes.tolist() == [T.VISIBLE, T.OTHER_PERSON] and codes.dtype == np.uint8
    in_frame = np.array([[True, False], [True, True]])
    in_front = np.array([[True, True], [False, True]])
    ray_codes = np.array([T.SELF, T.OBJECT], dtype=np.uint8)  # for the two entries in view
    codes = classify(ray_codes, in_frame, in_front)
    assert codes.tolist() == [[T.SELF, T.OUT_OF_FRAME], [T.BEHIND_CAMERA, T.OBJECT]]


def test_needs_ray_and_agreement():
    np.testing.assert_array_equal(
        needs_ray([True, True, False], [True, False, True]), [True, False, False]
    )
    assert agreement([1, 0, 1, 1], [1, 0, 0, 1]) == 0.75
    assert agreement([1, 0, 1, 1], [1, 0, 0, 1], mask=[1, 1, 0, 1]) == 1.0


# ---- ray casting against triangles -------------------------------------------------------------
