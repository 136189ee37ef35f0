"""Parametric occluders as vertex/face arrays, and where to put them.

Every shape is built from closed boxes (and one closed cylinder), in its local frame: origin at
the centre of its footprint on the floor, x across its width, y through its depth, z up. Placing
an occluder is a floor position and a yaw; the yaw turns local +y towards what it should hide
from (a camera looks at the occluder's -y side).
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DatasetError


@dataclass(frozen=True)
class Shape:
    label: str
    width: float
    depth: float
    height: float
    description: str


# Default sizes (metres) follow common furniture dimensions.
KINDS = {
    "box": Shape("Box", 0.8, 0.6, 0.9, "A crate or a stack of boxes"),
    "pillar": Shape("Pillar", 0.5, 0.5, 2.6, "A round column, floor to ceiling"),
    "table": Shape("Table", 1.4, 0.8, 0.75, "A table: a top on four legs"),
    "shelf": Shape("Shelf", 1.2, 0.45, 1.8, "A shelving unit with five boards"),
    "partition": Shape("Partition", 1.6, 0.05, 1.4, "A free-standing screen on two feet"),
    "chair": Shape("Chair", 0.45, 0.45, 0.9, "A chair with a back rest"),
}


def _box(x0, x1, y0, y1, z0, z1):
    verts = [(x, y, z) for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)]
    # Wound counter-clockwise seen from outside, so normals point outwards.
    faces = [
        (0, 2, 3, 1),  # bottom
        (4, 5, 7, 6),  # top
        (0, 1, 5, 4),  # front (-y)
        (2, 6, 7, 3),  # back (+y)
        (0, 4, 6, 2),  # left (-x)
        (1, 3, 7, 5),  # right (+x)
    ]
    return verts, faces


def box_mesh(x0, x1, y0, y1, z0, z1):
    """A closed, outward-wound box as (V, 3) vertices and faces (for other scene geometry)."""
    verts, faces = _box(x0, x1, y0, y1, z0, z1)
    return np.array(verts, dtype=np.float64), faces


def _cylinder(radius, height, segments=24):
    angles = np.linspace(0.0, 2.0 * math.pi, segments, endpoint=False)
    ring = [(radius * math.cos(a), radius * math.sin(a)) for a in angles]
    verts = [(x, y, 0.0) for x, y in ring] + [(x, y, height) for x, y in ring]
    n = segments
    sides = [(i, (i + 1) % n, n + (i + 1) % n, n + i) for i in range(n)]
    bottom = tuple(reversed(range(n)))
    top = tuple(range(n, 2 * n))
    return verts, [*sides, bottom, top]


def _merge(parts):
    verts, faces = [], []
    for part_verts, part_faces in parts:
        offset = len(verts)
        verts.extend(part_verts)
        faces.extend(tuple(i + offset for i in face) for face in part_faces)
    return np.asarray(verts, dtype=np.float64), faces


def _legs(w, d, top_z, leg):
    """Four square legs at the corners of a w x d footprint, from the floor to top_z."""
    xs = (-w / 2, w / 2 - leg)
    ys = (-d / 2, d / 2 - leg)
    return [_box(x, x + leg, y, y + leg, 0.0, top_z) for x in xs for y in ys]


def _table(w, d, h):
    top = min(0.04, h / 4)
    return [_box(-w / 2, w / 2, -d / 2, d / 2, h - top, h), *_legs(w, d, h - top, 0.05)]


def _shelf(w, d, h):
    side, board, back = 0.03, 0.025, 0.01
    parts = [
        _box(-w / 2, -w / 2 + side, -d / 2, d / 2, 0.0, h),
        _box(w / 2 - side, w / 2, -d / 2, d / 2, 0.0, h),
        _box(-w / 2 + side, w / 2 - side, d / 2 - back, d / 2, 0.0, h),
    ]
    for z in np.linspace(0.0, h - board, 5):
        parts.append(_box(-w / 2 + side, w / 2 - side, -d / 2, d / 2 - back, z, z + board))
    return parts


def _partition(w, d, h):
    foot_h, foot_d = 0.03, max(0.5, 4 * d)
    feet = [
        _box(x - 0.03, x + 0.03, -foot_d / 2, foot_d / 2, 0.0, foot_h)
        for x in (-w / 2 + 0.1, w / 2 - 0.1)
    ]
    return [_box(-w / 2, w / 2, -d / 2, d / 2, foot_h, h), *feet]


def _chair(w, d, h):
    seat_z, seat, back = min(0.45, h / 2), 0.04, 0.04
    return [
        _box(-w / 2, w / 2, -d / 2, d / 2, seat_z - seat, seat_z),
        *_legs(w, d, seat_z - seat, 0.04),
        _box(-w / 2, w / 2, d / 2 - back, d / 2, seat_z, h),
    ]


def _pillar(w, d, h):
    return [_cylinder(min(w, d) / 2, h)]


def _plain_box(w, d, h):
    return [_box(-w / 2, w / 2, -d / 2, d / 2, 0.0, h)]


_BUILDERS = {
    "box": _plain_box,
    "pillar": _pillar,
    "table": _table,
    "shelf": _shelf,
    "partition": _partition,
    "chair": _chair,
}


def build(
    kind: str, width: float | None = None, depth: float | None = None, height: float | None = None
) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Vertices (V,3) float64 and faces (tuples of vertex indices) of one occluder.

    A size left as None (or 0) takes the kind's default.
    """
    if kind not in KINDS:
        raise DatasetError(None, "kind", f"unknown occluder {kind!r}; one of {', '.join(KINDS)}")
    shape = KINDS[kind]
    w, d, h = (
        float(value) if value else default
        for value, default in ((width, shape.width), (depth, shape.depth), (height, shape.height))
    )
    if min(w, d, h) <= 0:
        raise DatasetError(None, "size", f"occluder sizes must be positive, got {w}, {d}, {h}")
    return _merge(_BUILDERS[kind](w, d, h))


def yaw_facing(from_xy: ArrayLike, to_xy: ArrayLike) -> float:
    """Yaw (radians about z) that turns local +y from ``from_xy`` towards ``to_xy``."""
    dx, dy = np.asarray(to_xy, float)[:2] - np.asarray(from_xy, float)[:2]
    return math.atan2(-dx, dy)


def between(
    camera_xy: ArrayLike, person_xy: ArrayLike, fraction: float
) -> tuple[np.ndarray, float]:
    """Floor position a ``fraction`` of the way from a camera to a person, and its yaw."""
    camera_xy = np.asarray(camera_xy, float)[:2]
    person_xy = np.asarray(person_xy, float)[:2]
    if not 0.0 < fraction < 1.0:
        raise DatasetError(None, "fraction", f"must lie between 0 and 1, got {fraction}")
    if np.linalg.norm(person_xy - camera_xy) < 1e-6:
        raise DatasetError(None, "camera", "stands on the person: nothing lies between them")
    xy = camera_xy + fraction * (person_xy - camera_xy)
    return xy, yaw_facing(camera_xy, person_xy)


def around(
    centre_xy: ArrayLike, count: int, r_min: float, r_max: float, seed: int = 0
) -> list[tuple[np.ndarray, float]]:
    """``count`` floor positions on a ring around a person, spread in angle, each facing them.

    Angles are evenly spaced with a random turn and jitter so that occluders rarely collide;
    the same seed gives the same layout.
    """
    if count < 1:
        raise DatasetError(None, "count", f"must be at least 1, got {count}")
    if not 0.0 < r_min <= r_max:
        raise DatasetError(None, "radius", f"need 0 < minimum <= maximum, got {r_min}, {r_max}")
    rng = np.random.default_rng(seed)
    centre_xy = np.asarray(centre_xy, float)[:2]
    step = 2.0 * math.pi / count
    turn = rng.uniform(0.0, 2.0 * math.pi)
    placements = []
    for i in range(count):
        angle = turn + i * step + rng.uniform(-0.25, 0.25) * step
        radius = rng.uniform(r_min, r_max)
        xy = centre_xy + radius * np.array([math.cos(angle), math.sin(angle)])
        placements.append((xy, yaw_facing(xy, centre_xy)))
    return placements


def aisle(
    people_xy: np.ndarray,
    aisle_width: float = 2.4,
    unit_width: float | None = None,
    margin: float = 1.0,
) -> list[tuple[np.ndarray, float]]:
    """Shelf units lining both sides of an aisle that runs through the people.

    The aisle follows the people's principal direction (x for one person); shelves stand
    ``aisle_width`` apart, their fronts facing the aisle, and extend ``margin`` past the people
    at each end. Returns ``(xy, yaw)`` per unit.
    """
    points = np.asarray(people_xy, float).reshape(-1, 2)
    if len(points) == 0:
        raise DatasetError(None, "people", "an aisle needs at least one person")
    unit_width = unit_width or KINDS["shelf"].width
    depth = KINDS["shelf"].depth
    centre = points.mean(axis=0)
    direction = np.array([1.0, 0.0])
    if len(points) > 1:
        _, _, vt = np.linalg.svd(points - centre)
        if np.ptp((points - centre) @ vt[0]) > 1e-6:
            direction = vt[0]
    normal = np.array([-direction[1], direction[0]])
    along = (points - centre) @ direction
    start, end = along.min() - margin, along.max() + margin
    units = max(1, math.ceil((end - start) / unit_width))
    mid = (start + end) / 2
    offsets = mid + (np.arange(units) - (units - 1) / 2) * unit_width
    placements = []
    for side in (-1.0, 1.0):
        row = centre + side * (aisle_width / 2 + depth / 2) * normal
        for offset in offsets:
            xy = row + offset * direction
            placements.append((xy, yaw_facing(xy, xy + side * normal)))  # backs to the walls
    return placements
