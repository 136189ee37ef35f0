"""Occlusion classification from hand-made ray-hit arrays (pure core, no Blender)."""

import numpy as np
import pytest

from blendmimic3d_addon.core.labels import OcclusionType as T
from blendmimic3d_addon.core.occlusion import (
    CHUNK,
    NO_HIT,
    OBJECT_HIT,
    agreement,
    chunk_order,
    classify,
    first_hits,
    inside_allowance,
    needs_ray,
    skin_depth,
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


# ---- ray casting against triangles -------------------------------------------------------------


def _quad(centre, half, axis):
    """Two triangles of a square facing +axis, wound counter-clockwise seen from +axis."""
    u, v = [a for a in range(3) if a != axis]
    corners = []
    for du, dv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        point = np.array(centre, float)
        point[u] += du * half
        point[v] += dv * half
        corners.append(point)
    if (u, v) == (0, 2):  # keep the winding's normal along +axis
        corners = corners[::-1]
    return [[corners[0], corners[1], corners[2]], [corners[0], corners[2], corners[3]]]


def _soup(*parts):
    """Vertices, chunk-ordered triangle indices and chunk owners of (triangles, owner) parts."""
    vertices, triangles, owners = [], [], []
    for tris, owner in parts:
        tris = np.asarray(tris, float).reshape(-1, 3, 3)
        order = chunk_order(tris.mean(axis=1))
        base = len(vertices) * 3
        vertices.extend(tris)
        index = (base + np.arange(len(tris) * 3).reshape(-1, 3))[order]
        triangles.append(index)
        owners.append(np.full(len(order) // CHUNK, owner))
    return np.concatenate(vertices), np.concatenate(triangles), np.concatenate(owners)


def test_first_hits_nearest_surface_before_the_end_only():
    # A wall (object) at y=2 and a body panel (person 0) at y=4, rays along +y from the origin.
    vertices, triangles, owners = _soup(
        (_quad((0, 2, 0), 1.0, 1), OBJECT_HIT), (_quad((0, 4, 0), 1.0, 1), 0)
    )
    origins = np.zeros((4, 3))
    ends = np.array([[0, 5, 0], [0, 3, 0], [0, 1.5, 0], [3, 5, 0]], float)
    distance, owner = first_hits(origins, ends, vertices, triangles, owners)
    np.testing.assert_allclose(distance[:2], [2.0, 2.0])
    assert owner.tolist() == [OBJECT_HIT, OBJECT_HIT, NO_HIT, NO_HIT]
    assert np.isinf(distance[2:]).all()  # ends before the wall; passes beside both panels


def test_first_hits_skips_own_surface_past_own_length():
    # Only the person's own panel at y=4; the ray ends at y=4.05 (the joint just behind it).
    vertices, triangles, owners = _soup((_quad((0, 4, 0), 1.0, 1), 0))
    origins, ends = np.zeros((2, 3)), np.array([[0, 4.05, 0], [0, 4.05, 0]])
    own, own_length = np.array([0, 1]), np.array([3.95, 3.95])
    distance, owner = first_hits(origins, ends, vertices, triangles, owners, own, own_length)
    # Ray 0 belongs to person 0: its skin within the allowance is not a hit; ray 1 (another
    # person's joint) is hidden by that panel.
    assert np.isinf(distance[0]) and owner[0] == NO_HIT
    assert distance[1] == pytest.approx(4.0) and owner[1] == 0


def test_first_hits_matches_brute_force_on_random_triangles():
    rng = np.random.default_rng(7)
    tris = rng.uniform(-1, 1, (300, 3, 3)) * [1, 1, 1] + [0, 3, 0]
    vertices, triangles, owners = _soup((tris[:150], 0), (tris[150:], OBJECT_HIT))
    origins = np.zeros((40, 3))
    ends = rng.uniform(-1, 1, (40, 3)) * [3, 1, 3] + [0, 4, 0]
    distance, _ = first_hits(origins, ends, vertices, triangles, owners)
    assert 10 < np.isfinite(distance).sum() < 40  # both hits and misses are checked
    for r in range(40):
        length = np.linalg.norm(ends[r])
        unit = ends[r] / length
        best = np.inf
        for a, b, c in tris:
            t = _brute_ray_triangle(unit, a, b, c)
            if t is not None and 1e-9 < t < length:
                best = min(best, t)
        assert distance[r] == pytest.approx(best)


def _brute_ray_triangle(unit, a, b, c):
    """Ray from the origin: solve origin + t*unit = a + u(b-a) + v(c-a) directly."""
    matrix = np.column_stack([unit, a - b, a - c])
    if abs(np.linalg.det(matrix)) < 1e-12:
        return None
    t, u, v = np.linalg.solve(matrix, a)
    return t if u >= 0 and v >= 0 and u + v <= 1 else None


def test_skin_depth_counts_only_surfaces_the_point_is_under():
    # A closed cube of half size 0.1 around the origin, faces wound outwards.
    cube = []
    for axis in range(3):
        for sign in (1, -1):
            centre = np.zeros(3)
            centre[axis] = 0.1 * sign
            quad = np.array(_quad(centre, 0.1, axis))
            cube.extend(quad if sign > 0 else quad[:, ::-1])
    cube = np.array(cube)
    depth = skin_depth(np.array([[0, 0, 0], [0.06, 0, 0], [0.5, 0, 0]]), cube)
    np.testing.assert_allclose(depth[:2], [0.1, 0.04])
    assert np.isinf(depth[2])  # outside the cube: no face has it on its inner side
