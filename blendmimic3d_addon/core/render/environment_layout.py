"""Environments as closed boxes around the people and the camera rig (pure geometry).

Every part is a closed, outward-wound mesh (like the occluder library's), so the occlusion rays
meet it exactly as the camera's rays do: a wall between a camera and a joint hides the joint, a
wall behind a person is never crossed. Rooms are sized so that every camera and person stands
inside the walls with ``margin`` to spare.
"""

import dataclasses

import numpy as np

from ..errors import DatasetError
from ..geometry import occluder_library

KINDS = {
    "CAPTURE_ROOM": ("Capture Room", "Floor, four walls and a ceiling with lights (as S1/S2)"),
    "SHOP": ("Shop", "Tiled floor, walls lined with shelving, ceiling lights (as S3)"),
    "OUTDOORS": ("Outdoors", "A bundled sky (world HDRI) over a ground that catches shadows"),
}
WALL = 0.15  # wall, floor and ceiling thickness (m)
MIN_HEIGHT = 3.0  # ceiling height at least (m), and 0.5 m above the highest camera
OUTDOOR_GROUND = 80.0  # side of the outdoor ground (m): to the horizon at the rig's scale
MAX_EXTENT = 500.0  # a scene wider than this is a mistake (a stray object), not a room


@dataclasses.dataclass(frozen=True)
class Part:
    name: str  # also says which material it takes: Floor, Wall, Ceiling, Shelf, Ground
    verts: np.ndarray  # (V, 3) in world coordinates
    faces: list


@dataclasses.dataclass(frozen=True)
class Layout:
    kind: str
    extent: tuple  # inner (x0, x1, y0, y1) of the room; the ground's for outdoors
    floor_z: float
    height: float  # ceiling height above the floor (0 outdoors)
    parts: list
    ceiling_lights: list  # (x, y, z) of area lights under the ceiling


def extent_around(points_xy, margin):
    """Inner (x0, x1, y0, y1) of a room holding every point with ``margin`` to spare, at least
    6 m x 6 m."""
    points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    if not len(points) or not np.isfinite(points).all():
        raise DatasetError(None, "environment", "no people or cameras to build it around")
    low, high = points.min(axis=0) - margin, points.max(axis=0) + margin
    centre, half = (low + high) / 2, np.maximum((high - low) / 2, 3.0)
    if (2 * half > MAX_EXTENT).any():
        size = " x ".join(f"{v:.0f}" for v in 2 * half)
        raise DatasetError(None, "environment", f"people and cameras span {size} m: too wide")
    return (centre[0] - half[0], centre[0] + half[0], centre[1] - half[1], centre[1] + half[1])


def room(kind, people_xy, cameras_xyz, floor_z=0.0, margin=1.0):
    """The room ``kind`` (CAPTURE_ROOM or SHOP) around the people and the cameras."""
    cameras = np.asarray(cameras_xyz, dtype=np.float64).reshape(-1, 3)
    points = np.concatenate([np.asarray(people_xy, np.float64).reshape(-1, 2), cameras[:, :2]])
    x0, x1, y0, y1 = extent_around(points, margin)
    top = max(MIN_HEIGHT, (cameras[:, 2].max() - floor_z + 0.5) if len(cameras) else 0.0)
    z0, z1, t = floor_z, floor_z + top, WALL
    parts = [
        Part("Floor", *occluder_library.box_mesh(x0 - t, x1 + t, y0 - t, y1 + t, z0 - t, z0)),
        Part("Ceiling", *occluder_library.box_mesh(x0 - t, x1 + t, y0 - t, y1 + t, z1, z1 + t)),
        Part("Wall_South", *occluder_library.box_mesh(x0 - t, x1 + t, y0 - t, y0, z0, z1)),
        Part("Wall_North", *occluder_library.box_mesh(x0 - t, x1 + t, y1, y1 + t, z0, z1)),
        Part("Wall_West", *occluder_library.box_mesh(x0 - t, x0, y0, y1, z0, z1)),
        Part("Wall_East", *occluder_library.box_mesh(x1, x1 + t, y0, y1, z0, z1)),
    ]
    if kind == "SHOP":
        parts += shelving((x0, x1, y0, y1), floor_z, people_xy, cameras[:, :2])
    lights = [
        (float(x), float(y), z1 - 0.05)
        for x in np.linspace(x0, x1, 4)[1:-1]
        for y in np.linspace(y0, y1, 4)[1:-1]
    ]
    return Layout(kind, (x0, x1, y0, y1), floor_z, top, parts, lights)


def shelving(extent, floor_z, people_xy, cameras_xy, clearance=1.0):
    """Shelf units along the inside of each wall, backs to the wall, leaving ``clearance`` around
    every camera and person (a shelf in front of a camera would hide everything from it)."""
    shape = occluder_library.KINDS["shelf"]
    verts, faces = occluder_library.build("shelf")
    keep_clear = np.concatenate(
        [np.asarray(people_xy, np.float64).reshape(-1, 2), np.asarray(cameras_xy).reshape(-1, 2)]
    )
    x0, x1, y0, y1 = extent
    inset = shape.depth / 2 + 0.02
    # (start, end, fixed coordinate, along x?, yaw turning the shelf's back (+y) to the wall)
    walls = (
        (x0, x1, y0 + inset, True, np.pi),
        (x0, x1, y1 - inset, True, 0.0),
        (y0, y1, x0 + inset, False, np.pi / 2),
        (y0, y1, x1 - inset, False, -np.pi / 2),
    )
    parts = []
    for start, end, fixed, along_x, yaw in walls:
        count = int((end - start - 2 * shape.depth) // (shape.width + 0.1))
        for s in np.linspace(start, end, count + 2)[1:-1]:
            xy = np.array([s, fixed] if along_x else [fixed, s])
            if len(keep_clear) and np.linalg.norm(keep_clear - xy, axis=1).min() < clearance:
                continue
            c, si = np.cos(yaw), np.sin(yaw)
            rotated = verts @ np.array([[c, si, 0], [-si, c, 0], [0, 0, 1.0]])
            placed = rotated + [xy[0], xy[1], floor_z]
            parts.append(Part(f"Shelf_{len(parts)}", placed, faces))
    return parts


def outdoors(people_xy, cameras_xyz, floor_z=0.0):
    """A ground slab under everything (no walls: the sky is the world HDRI)."""
    cameras = np.asarray(cameras_xyz, dtype=np.float64).reshape(-1, 3)
    points = np.concatenate([np.asarray(people_xy, np.float64).reshape(-1, 2), cameras[:, :2]])
    x0, x1, y0, y1 = extent_around(points, OUTDOOR_GROUND / 2)
    ground = Part("Ground", *occluder_library.box_mesh(x0, x1, y0, y1, floor_z - WALL, floor_z))
    return Layout("OUTDOORS", (x0, x1, y0, y1), floor_z, 0.0, [ground], [])


def build(kind, people_xy, cameras_xyz, floor_z=0.0):
    if kind not in KINDS:
        raise DatasetError(None, "environment", f"unknown {kind!r}; one of {', '.join(KINDS)}")
    if kind == "OUTDOORS":
        return outdoors(people_xy, cameras_xyz, floor_z)
    return room(kind, people_xy, cameras_xyz, floor_z)
