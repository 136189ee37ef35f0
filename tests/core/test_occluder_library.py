"""Parametric occluders are closed, outward-facing meshes of the asked size, placed where asked."""

import math
from collections import Counter

import numpy as np
import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.geometry import occluder_library as lib


def _signed_volume(verts, faces):
    volume = 0.0
    for face in faces:
        a = verts[face[0]]
        for b, c in zip(face[1:-1], face[2:], strict=True):
            volume += np.dot(a, np.cross(verts[b], verts[c])) / 6.0
    return volume


@pytest.mark.parametrize("kind", sorted(lib.KINDS))
def test_default_shape_is_closed_outward_and_sized(kind):
    verts, faces = lib.build(kind)
    shape = lib.KINDS[kind]
    assert verts.dtype == np.float64 and verts.shape[1] == 3
    assert all(0 <= i < len(verts) for face in faces for i in face)
    # Every edge is shared by exactly two faces, once in each direction: closed and consistent.
    edges = Counter((f[i], f[(i + 1) % len(f)]) for f in faces for i in range(len(f)))
    assert all(edges[(b, a)] == 1 for (a, b) in edges)
    assert set(edges.values()) == {1}
    assert _signed_volume(verts, faces) > 0  # normals point outwards
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    size = hi - lo
    if kind == "partition":  # its feet reach out beyond the thin screen so that it stands
        assert size[1] > shape.depth
        size[1] = shape.depth
    np.testing.assert_allclose(size, [shape.width, shape.depth, shape.height], atol=0.02)
    np.testing.assert_allclose((lo + hi)[:2] / 2, [0, 0], atol=1e-9)  # footprint centred
    assert lo[2] == pytest.approx(0.0)  # stands on the floor


def test_sizes_override_defaults_and_box_volume_is_exact():
    verts, faces = lib.build("box", width=2.0, depth=0.5, height=1.5)
    assert _signed_volume(verts, faces) == pytest.approx(2.0 * 0.5 * 1.5)
    verts, _ = lib.build("table", height=1.1)
    assert verts[:, 2].max() == pytest.approx(1.1)
    assert np.ptp(verts[:, 0]) == pytest.approx(lib.KINDS["table"].width)


def test_bad_kind_and_size_are_named():
    with pytest.raises(DatasetError, match="kind: unknown occluder 'sofa'"):
        lib.build("sofa")
    with pytest.raises(DatasetError, match="size: occluder sizes must be positive"):
        lib.build("box", width=-1.0)


def test_between_is_on_the_line_and_faces_the_person():
    xy, yaw = lib.between((0.0, 0.0), (4.0, 2.0), 0.25)
    np.testing.assert_allclose(xy, [1.0, 0.5])
    local_y = np.array([-math.sin(yaw), math.cos(yaw)])  # where local +y points after the yaw
    np.testing.assert_allclose(local_y, np.array([4.0, 2.0]) / math.hypot(4, 2), atol=1e-12)
    with pytest.raises(DatasetError, match="fraction"):
        lib.between((0, 0), (1, 0), 1.0)
    with pytest.raises(DatasetError, match="camera: stands on the person"):
        lib.between((1, 1), (1, 1), 0.5)


def test_around_is_reproducible_within_radius_and_facing():
    first = lib.around((1.0, 2.0), 5, 1.0, 2.0, seed=7)
    again = lib.around((1.0, 2.0), 5, 1.0, 2.0, seed=7)
    other = lib.around((1.0, 2.0), 5, 1.0, 2.0, seed=8)
    assert len(first) == 5
    for (xy, yaw), (xy2, yaw2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(xy, xy2)
        assert yaw == yaw2
        r = np.linalg.norm(xy - [1.0, 2.0])
        assert 1.0 <= r <= 2.0
        to_centre = ([1.0, 2.0] - xy) / r
        np.testing.assert_allclose([-math.sin(yaw), math.cos(yaw)], to_centre, atol=1e-12)
    assert not np.allclose(first[0][0], other[0][0])
    with pytest.raises(DatasetError, match="radius"):
        lib.around((0, 0), 2, 2.0, 1.0)


def test_aisle_lines_both_sides_of_the_people():
    people = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    units = lib.aisle(people, aisle_width=2.0, margin=1.0)
    xy = np.array([p for p, _ in units])
    sides = np.sign(xy[:, 1])
    assert (sides != 0).all() and (sides > 0).sum() == (sides < 0).sum()
    depth = lib.KINDS["shelf"].depth
    np.testing.assert_allclose(np.abs(xy[:, 1]), 1.0 + depth / 2)
    # Shelving covers the people's extent plus the margin at each end.
    half = lib.KINDS["shelf"].width / 2
    assert xy[:, 0].min() - half <= -1.0 + 1e-9 and xy[:, 0].max() + half >= 5.0 - 1e-9
    # Open fronts (local -y) face the aisle: local +y points away from it.
    for p, yaw in units:
        local_y = np.array([-math.sin(yaw), math.cos(yaw)])
        assert np.dot(local_y, [0.0, np.sign(p[1])]) == pytest.approx(1.0)
    with pytest.raises(DatasetError, match="people"):
        lib.aisle(np.zeros((0, 2)))
