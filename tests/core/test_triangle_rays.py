"""Every crossing of segments with triangle soups (pure core, no Blender): against brute force,
over several frames at once, through a hierarchy of several levels, with padded chunks."""

import warnings

import numpy as np
import pytest

from blendmimic3d_addon.core.occlusion import native_cast
from blendmimic3d_addon.core.occlusion.classify import NO_HIT, OBJECT_HIT
from blendmimic3d_addon.core.occlusion.triangle_rays import (
    CELL_LEVEL,
    CHUNK,
    GRID_STEPS,
    GROW,
    TriangleChunks,
    all_hits,
    chunk_order,
    connected_parts,
    first_hits,
    outward_triangles,
)


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def casting(request, monkeypatch):
    """Every test of this module on both castings: the compiled kernel (where it is built) and
    numpy."""
    if request.param == "compiled" and native_cast.load()[0] is None:
        pytest.skip(f"the casting kernel is not built: {native_cast.load()[1]}")
    monkeypatch.setattr(native_cast, "ENABLED", request.param == "compiled")
    return request.param


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


def _brute_all_crossings(origins, ends, tris):
    """Every (ray, distance, enters) of segments against separate triangles, in float64."""
    found = []
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    e1, e2 = b - a, c - a
    normal = np.cross(e1, e2)
    for r, (origin, end) in enumerate(zip(origins, ends, strict=True)):
        length = np.linalg.norm(end - origin)
        unit = (end - origin) / length
        p = np.cross(unit, e2)
        det = np.einsum("ij,ij->i", e1, p)
        s = origin - a
        u = np.einsum("ij,ij->i", s, p) / det
        q = np.cross(s, e1)
        v = (q @ unit) / det
        t = np.einsum("ij,ij->i", e2, q) / det
        hit = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9) & (t < length)
        found += [(r, t[k], normal[k] @ unit < 0) for k in np.flatnonzero(hit)]
    return sorted(found)


def test_a_hierarchy_of_several_levels_and_padded_chunks_finds_every_crossing():
    # 3,000 small triangles in clusters; top=4 makes four levels of boxes (375 chunks padded to
    # 512), and the default one level: both give every crossing of a brute-force search.
    rng = np.random.default_rng(11)
    centres = rng.uniform(-1, 1, (60, 3)) + [0, 4, 0]
    tris = centres[rng.integers(0, 60, 3000)][:, None] + rng.normal(0, 0.08, (3000, 3, 3))
    vertices, triangles, owners = _soup((tris[:1500], 0), (tris[1500:], OBJECT_HIT))
    origins = rng.uniform(-0.2, 0.2, (50, 3))
    ends = centres[rng.integers(0, 60, 50)] + rng.normal(0, 0.05, (50, 3))
    planar = np.ascontiguousarray(vertices.T[None], dtype=np.float32)
    deep = TriangleChunks(triangles, owners, top=4)
    assert deep.sizes == [512, 64, 8, 1]
    expected = _brute_all_crossings(origins, ends, tris)
    assert len(expected) > 100
    for chunks in (deep, TriangleChunks(triangles, owners)):
        rays, t, owner, entering = chunks.cast(origins, ends, planar, np.zeros(50, int))
        assert len(rays) == len(expected)
        got = sorted(zip(rays.tolist(), t.tolist(), entering.tolist(), strict=True))
        assert [(r, e) for r, _, e in got] == [(r, e) for r, _, e in expected]
        np.testing.assert_allclose([g[1] for g in got], [e[1] for e in expected], atol=1e-5)
        assert set(owner.tolist()) == {0, OBJECT_HIT}


def test_boxes_hold_their_triangles_and_their_children():
    rng = np.random.default_rng(5)
    tris = rng.uniform(-1, 1, (600, 3, 3))
    vertices, triangles, owners = _soup((tris, 0))
    chunks = TriangleChunks(triangles, owners, top=4)
    assert chunks.sizes == [128, 16, 2]
    assert chunks.padding.sum() == 128 - len(owners)  # 600 triangles: 75 to 93 chunks
    frames = np.stack([vertices, vertices * 2 + 1])
    levels = chunks.boxes(np.ascontiguousarray(frames.transpose(0, 2, 1), dtype=np.float32))
    assert [level.shape for level in levels] == [(2, 6, size) for size in chunks.sizes[::-1]]
    real = ~chunks.padding
    for frame in range(2):
        corners = frames[frame][chunks.triangles].reshape(len(chunks.chunk_owner), -1, 3)[real]
        leaves = levels[-1][frame]
        assert np.isnan(leaves[:, chunks.padding]).all()  # no ray meets a padding chunk
        low, high = leaves[:3, real].T[:, None], leaves[3:, real].T[:, None]
        assert (low <= corners).all() and (corners <= high).all()
        # Each leaf is tight around its triangles: grown by GROW and at most three steps of the
        # grid it is refitted on (GRID_STEPS over the frame's extent on each axis).
        step = np.ptp(frames[frame], axis=0) / GRID_STEPS
        slack = leaves[:3, real].T - (corners.min(axis=1) - GROW)
        assert (slack <= 0).all() and (slack >= -3 * step).all()
        slack = leaves[3:, real].T - (corners.max(axis=1) + GROW)
        assert (slack >= 0).all() and (slack <= 3 * step).all()
        for parent, child in zip(levels[:-1], levels[1:], strict=True):
            below = child[frame].reshape(6, 8, -1)  # the children of box q: [:, :, q]
            # Each box is the tightest around its children, padding left out; a box of padding
            # only is NaN like its children.
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
                np.testing.assert_array_equal(parent[frame, :3], np.nanmin(below[:3], axis=1))
                np.testing.assert_array_equal(parent[frame, 3:], np.nanmax(below[3:], axis=1))
        above = np.isnan(levels[-2][frame]).all(axis=0)  # 16 boxes, 8 chunks each
        assert above.sum() == 16 - -(-len(owners) // 8)


def test_vertices_that_are_not_finite_leave_the_other_boxes_exact():
    # A vertex at infinity (a broken mesh) spoils the grid: the leaves are refitted from the
    # vertices themselves, and the crossings of the finite triangles are all found.
    rng = np.random.default_rng(8)
    tris = rng.uniform(-1, 1, (200, 3, 3)) + [0, 4, 0]
    vertices, triangles, owners = _soup((tris, 0))
    chunks = TriangleChunks(triangles, owners, top=4)
    broken = vertices.copy()
    broken[0] = np.inf  # a vertex of the first triangle
    planar = np.ascontiguousarray(broken.T[None], dtype=np.float32)
    leaves = chunks.boxes(planar)[-1][0]
    finite = np.isfinite(leaves).all(axis=0)
    corners = broken[chunks.triangles].reshape(len(chunks.chunk_owner), -1, 3)
    single = corners[finite].astype(np.float32)
    np.testing.assert_array_equal(leaves[:3, finite].T, single.min(axis=1) - np.float32(GROW))
    assert finite.sum() == len(finite) - chunks.padding.sum() - 1  # only the broken one
    origins = rng.uniform(-0.2, 0.2, (40, 3))
    ends = tris[rng.integers(1, 200, 40)].mean(axis=1) + rng.normal(0, 0.05, (40, 3))
    expected = _brute_all_crossings(origins, ends, tris[1:])
    assert len(expected) > 10
    with np.errstate(invalid="ignore"):  # the broken triangle's test
        rays, t, _, entering = chunks.cast(origins, ends, planar, np.zeros(40, int))
    got = sorted(zip(rays.tolist(), t.tolist(), entering.tolist(), strict=True))
    assert [(r, e) for r, _, e in got] == [(r, e) for r, _, e in expected]
    np.testing.assert_allclose([g[1] for g in got], [e[1] for e in expected], atol=1e-5)


def test_chunks_are_tight_on_dense_meshes_and_cheap_on_sparse_soups():
    rng = np.random.default_rng(3)
    # A dense surface: a 60 x 60 grid of small triangles on a 1.8 m sheet. No chunk spans more
    # than a cell of its Morton grid (2**CELL_LEVEL of 1,024 steps across the sheet).
    u, v = np.meshgrid(np.arange(60), np.arange(60))
    centroids = np.c_[u.ravel(), v.ravel(), np.zeros(u.size)] * (1.8 / 60)
    centroids = np.repeat(centroids, 2, axis=0)  # two triangles per square
    order = chunk_order(centroids)
    assert len(order) % CHUNK == 0 and set(order.tolist()) == set(range(len(centroids)))
    assert len(order) <= -(-len(centroids) // CHUNK) * CHUNK * 5 // 4
    extent = np.ptp(centroids[order].reshape(-1, CHUNK, 3), axis=1).max()
    assert extent <= 1.8 * 2**CELL_LEVEL / 1024
    # A sparse soup: every triangle alone in its cell; the grid coarsens until the padding adds
    # at most a quarter.
    soup = rng.uniform(-1, 1, (1000, 3))
    order = chunk_order(soup)
    assert set(order.tolist()) == set(range(1000))
    assert 1000 <= len(order) <= 1000 * 5 // 4 and len(order) % CHUNK == 0


def test_no_triangles_no_crossings():
    chunks = TriangleChunks(np.zeros((0, 3), int), np.zeros(0, int))
    rays, t, owner, entering = chunks.cast(
        np.zeros((2, 3)), np.ones((2, 3)), np.zeros((1, 3, 0), np.float32), [0, 0]
    )
    assert len(rays) == len(t) == len(owner) == len(entering) == 0
    assert NO_HIT == -1  # what first_hits reports for a ray that meets nothing


@pytest.mark.parametrize("side", [1, -1])
def test_touching_meshes_of_one_person_keep_the_exit_and_the_entry(side):
    """A skin (person 0) whose back face touches a joint mesh (person 0) behind it: the ray
    leaves the skin where it enters the joint mesh. Both crossings must stay (only crossings
    facing the same way are one), else an air gap is invented in front of the joint, which is
    then labelled hidden by its own body (issue 11, item 10). Seen from both sides: which of the
    two coinciding crossings sorted first differed."""
    from blendmimic3d_addon.core.occlusion.classify import classify_rays
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType

    camera_y = 4.15 - side * 4.15
    skin, joint_mesh = _box((0, 4.15 - side * 0.1, 0), 0.05), _box((0, 4.15, 0), 0.05)
    vertices, triangles, owners = _soup((skin, 0), (joint_mesh, 0))
    origin, joint = np.array([[0.01, camera_y, -0.02]]), np.array([[0.01, 4.15, -0.02]])
    rays, t, owner, entering = all_hits(origin, joint, vertices, triangles, owners)
    order = np.lexsort((entering, t))
    np.testing.assert_allclose(t[order], [4.0, 4.1, 4.1], atol=1e-5)
    assert entering[order].tolist() == [True, False, True]
    codes = classify_rays(rays, t, owner, entering, np.array([0]), np.array([4.15]))
    assert codes.tolist() == [OcclusionType.VISIBLE]


def test_a_ray_through_a_shared_edge_crosses_once():
    """Through the diagonal two triangles of a quad share, and through a box's edge: once per
    surface, entering then leaving."""
    vertices, triangles, owners = _soup((_box(), 0))
    # (0, y, 0) runs along the diagonal of the y faces (corners (-1,-1) to (1,1)).
    rays, t, _, entering = all_hits(
        np.array([[0.0, 0, 0], [0.05, 0, 0.05]]), np.array([[0.0, 5, 0], [0.05, 5, 0.05]]),
        vertices, triangles, owners,
    )  # fmt: skip
    for ray in (0, 1):
        np.testing.assert_allclose(t[rays == ray], [3.9, 4.1], atol=1e-6)
        assert entering[rays == ray].tolist() == [True, False]
