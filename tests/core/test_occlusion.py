"""Occlusion classification from hand-made ray-hit arrays (pure core, no Blender)."""

import numpy as np
import pytest

from blendmimic3d_addon.core.labels import OcclusionType as T
from blendmimic3d_addon.core.occlusion import (
    CHUNK,
    NO_HIT,
    OBJECT_HIT,
    agreement,
    all_hits,
    chunk_order,
    classify,
    classify_rays,
    connected_parts,
    first_hits,
    needs_ray,
    outward_triangles,
)


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


def test_all_hits_report_entering_and_leaving():
    # A closed box (person 0) between y=3.9 and y=4.1 on the ray's way: in, then out.
    vertices, triangles, owners = _soup((_box(), 0))
    rays, t, owner, entering = all_hits(
        np.zeros((1, 3)), np.array([[0, 5, 0]]), vertices, triangles, owners
    )
    assert rays.tolist() == [0, 0] and owner.tolist() == [0, 0]
    np.testing.assert_allclose(t, [3.9, 4.1])
    assert entering.tolist() == [True, False]


def _box(centre=(0, 4, 0), half=0.1):
    """A closed cube, faces wound outwards."""
    cube = []
    for axis in range(3):
        for sign in (1, -1):
            face_centre = np.array(centre, float)
            face_centre[axis] += half * sign
            quad = np.array(_quad(face_centre, half, axis))
            cube.extend(quad if sign > 0 else quad[:, ::-1])
    return np.array(cube)


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


def _indexed_cube(low, size, inward):
    """A closed cube of 8 shared vertices; its 12 triangles wound outwards, or all inwards."""
    vertices = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]],
                     )  # fmt: skip
    return vertices * size + low, faces[:, ::-1] if inward else faces


def test_parts_wound_inwards_are_turned_outwards():
    # Two overlapping cubes of one mesh (like the mannequin's segments), the second wound inwards.
    v1, f1 = _indexed_cube((-0.5, 3.5, -0.5), 1.0, inward=False)
    v2, f2 = _indexed_cube((-0.25, 4.25, -0.25), 1.0, inward=True)
    vertices, triangles = np.vstack([v1, v2]), np.vstack([f1, f2 + 8])
    assert connected_parts(triangles, 17).tolist() == [0] * 8 + [8] * 8 + [16]  # 16: loose
    fixed = outward_triangles(vertices, triangles)
    np.testing.assert_array_equal(fixed[:12], f1)  # already outwards: unchanged
    np.testing.assert_array_equal(fixed[12:], f1 + 8)
    # Along +y the ray enters the first cube, enters the second, leaves the first, leaves the
    # second; before the fix, the second cube's crossings read the other way round.
    order = chunk_order(vertices[fixed].mean(axis=1))
    owners = np.zeros(len(order) // CHUNK, int)
    for tris, expected in ((triangles, [True, False, False, True]),
                           (fixed, [True, True, False, False])):  # fmt: skip
        _, t, _, entering = all_hits(
            np.array([[0.1, 0, 0.1]]), np.array([[0.1, 9, 0.1]]), vertices, tris[order], owners
        )
        np.testing.assert_allclose(t, [3.5, 4.25, 4.5, 5.25])
        assert entering.tolist() == expected
    # Mirrored and scaled vertices keep the rule: volumes are signed by the geometry itself.
    assert (outward_triangles(vertices * [-2, 1, 1], fixed)[:12] == f1[:, ::-1]).all()


def test_all_hits_of_several_frames_at_once_match_frame_by_frame():
    # The same triangle soup in three frames, moved differently; rays of all frames cast in one
    # call give exactly the crossings of one call per frame.
    rng = np.random.default_rng(3)
    tris = rng.uniform(-1, 1, (200, 3, 3)) + [0, 3, 0]
    vertices, triangles, owners = _soup((tris[:100], 0), (tris[100:], OBJECT_HIT))
    frames = np.stack([vertices, vertices + [0.3, 0, 0], vertices * [1, 1.2, 1]])
    origins = np.zeros((30, 3))
    ends = rng.uniform(-1, 1, (30, 3)) * [2, 1, 2] + [0, 4, 0]
    ray_frame = np.arange(30) % 3
    batched = all_hits(origins, ends, frames, triangles, owners, ray_frame=ray_frame)
    assert len(batched[0]) > 20  # crossings in every frame are compared
    for frame in range(3):
        among = np.flatnonzero(ray_frame == frame)
        single = all_hits(origins[among], ends[among], frames[frame], triangles, owners)
        mine = np.isin(batched[0], among)
        np.testing.assert_array_equal(among[single[0]], batched[0][mine])
        for expected, got in zip(single[1:], batched[1:], strict=True):
            np.testing.assert_array_equal(expected, got[mine])
