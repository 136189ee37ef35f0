"""Occlusion labels from ray-cast results: why a joint is or is not seen by a camera.

A joint sits inside its own body, so the ray from the camera to the joint nearly always hits the
person's own skin just before the joint. That hit is the joint's own surface, not an occlusion,
when it lies within the joint's *allowance* (a margin derived from how deep the joint sits under
its skin). The ray is limited to the joint's distance, so nothing behind the joint counts.

All functions take arrays that broadcast together, typically (C, P, J) for cameras, people and
joints, and return ``OcclusionType`` codes (``labels.LABEL_DTYPE``).
"""

import numpy as np

from .labels import LABEL_DTYPE, OcclusionType

# Owner codes of a ray hit besides a person index (>= 0): nothing, or a non-person object.
NO_HIT = -1
OBJECT_HIT = -2

# A ray that enters the limb obliquely travels further than the depth of the joint under the skin
# before reaching it; the factor covers rays up to 60 degrees from the skin normal.
ALLOWANCE_FACTOR = 2.0
ALLOWANCE_MARGIN = 0.02  # metres: mesh faceting and skinning noise


def inside_allowance(surface_distance, factor=ALLOWANCE_FACTOR, margin=ALLOWANCE_MARGIN):
    """How far before the joint a hit on its own body still counts as the joint's own skin.

    ``surface_distance`` is the distance from the joint to the nearest surface of its own body
    (inf when the person has no mesh, which leaves only the margin).
    """
    depth = np.asarray(surface_distance, dtype=np.float64)
    depth = np.where(np.isfinite(depth), depth, 0.0)
    return factor * depth + margin


def classify(joint_distance, hit_distance, hit_owner, own_person, allowance, in_frame, in_front):
    """Occlusion code of each joint-camera ray.

    joint_distance: distance from the camera centre to the joint.
    hit_distance: distance to the first surface hit on that ray before the joint (inf: none).
    hit_owner: what was hit: a person index, ``OBJECT_HIT`` or ``NO_HIT``.
    own_person: the person index the joint belongs to.
    allowance: ``inside_allowance`` of the joint.
    in_frame: the joint projects inside the image; in_front: it lies in front of the camera.
    """
    joint_distance = np.asarray(joint_distance, dtype=np.float64)
    hit_distance = np.asarray(hit_distance, dtype=np.float64)
    hit_owner = np.asarray(hit_owner)
    hit = (hit_owner != NO_HIT) & (hit_distance < joint_distance)
    own = hit & (hit_owner == own_person)
    own_skin = own & (joint_distance - hit_distance <= allowance)

    # Later assignments win: the camera-geometry cases override any hit.
    shape = np.broadcast_shapes(
        joint_distance.shape, hit_distance.shape, hit_owner.shape, np.shape(own_person),
        np.shape(allowance), np.shape(in_frame), np.shape(in_front),
    )  # fmt: skip
    codes = np.full(shape, OcclusionType.VISIBLE, dtype=LABEL_DTYPE)
    codes[np.broadcast_to(hit & (hit_owner == OBJECT_HIT), shape)] = OcclusionType.OBJECT
    other = hit & (hit_owner >= 0) & (hit_owner != own_person)
    codes[np.broadcast_to(other, shape)] = OcclusionType.OTHER_PERSON
    codes[np.broadcast_to(own & ~own_skin, shape)] = OcclusionType.SELF
    codes[np.broadcast_to(~np.asarray(in_frame, dtype=bool), shape)] = OcclusionType.OUT_OF_FRAME
    codes[np.broadcast_to(~np.asarray(in_front, dtype=bool), shape)] = OcclusionType.BEHIND_CAMERA
    return codes


def needs_ray(in_frame, in_front):
    """Rays worth casting: joints that are in front of the camera and inside the image."""
    return np.asarray(in_frame, dtype=bool) & np.asarray(in_front, dtype=bool)


def agreement(labels_visible, reference_visible, mask=None):
    """Share of entries where two visible/occluded verdicts agree (optionally within ``mask``)."""
    same = np.asarray(labels_visible, dtype=bool) == np.asarray(reference_visible, dtype=bool)
    if mask is not None:
        same = same[np.asarray(mask, dtype=bool)]
    return float(same.mean()) if same.size else float("nan")


# ---- ray casting against triangle soups, in numpy ----------------------------------------------
# Rebuilding a BVH tree of a deformed character every frame costs more than evaluating the frame.
# Instead the triangles are kept in fixed spatial chunks of CHUNK; each frame gives every chunk a
# bounding sphere, a ray is tested only against the triangles of the chunks it passes through,
# and those tests are exact (Moller-Trumbore). Chunks only cull, so any grouping is correct;
# spatially tight groups are faster.

CHUNK = 8
_EPS = 1e-12


def chunk_order(centroids):
    """Triangle order (padded to a multiple of CHUNK by repeating the last) that keeps spatial
    neighbours together: the Z-order (Morton) curve through the triangles' centroids."""
    centroids = np.asarray(centroids, dtype=np.float64)
    if not len(centroids):
        return np.zeros(0, dtype=np.int64)
    low, span = centroids.min(axis=0), np.ptp(centroids, axis=0).max()
    cells = ((centroids - low) / max(span, _EPS) * 1023).astype(np.uint64)
    code = np.zeros(len(centroids), dtype=np.uint64)
    for bit in range(10):
        for axis in range(3):
            code |= ((cells[:, axis] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(3 * bit + axis)
    order = np.argsort(code, kind="stable")
    pad = (-len(order)) % CHUNK
    return np.concatenate([order, np.repeat(order[-1:], pad)])


GROUP = 16  # chunks per group: rays are tested against group spheres first


def chunk_vertices(triangles):
    """The distinct vertices of each chunk, flat, and where each chunk starts: computed once per
    topology, so that the chunk bounds of a frame read each vertex about once, not six times."""
    corners = np.sort(np.asarray(triangles).reshape(-1, CHUNK * 3), axis=1)
    first = np.ones(corners.shape, dtype=bool)
    first[:, 1:] = corners[:, 1:] != corners[:, :-1]
    counts = first.sum(axis=1)
    return corners[first], np.concatenate([[0], np.cumsum(counts)[:-1]])


def chunk_spheres(vertices, flat, starts):
    """Bounding spheres (K,3), (K,) of the chunks from their vertices (``chunk_vertices``)."""
    # Planar layout and np.take along axis 1 are several times faster than (N,3) fancy indexing.
    points = np.take(np.ascontiguousarray(vertices.T), flat, axis=1)
    low = np.minimum.reduceat(points, starts, axis=1).T
    high = np.maximum.reduceat(points, starts, axis=1).T
    return 0.5 * (low + high), 0.5 * np.linalg.norm(high - low, axis=1)


def _group_spheres(centres, radii):
    """Spheres around consecutive GROUP chunk spheres (the last group may be short)."""
    count = len(centres)
    starts = np.arange(0, count, GROUP)
    low = np.minimum.reduceat(centres - radii[:, None], starts)
    high = np.maximum.reduceat(centres + radii[:, None], starts)
    return 0.5 * (low + high), 0.5 * np.linalg.norm(high - low, axis=1)


def segments_meet_spheres(origins, ends, centres, radii):
    """(ray, sphere) index pairs where segment origins[r] -> ends[r] passes within the sphere."""
    direction = ends - origins  # (R,3)
    length2 = np.maximum(np.einsum("ri,ri->r", direction, direction), _EPS)
    to_centre = centres[None] - origins[:, None]  # (R,K,3)
    along = np.clip(np.einsum("rki,ri->rk", to_centre, direction) / length2[:, None], 0.0, 1.0)
    gap = to_centre - along[..., None] * direction[:, None]
    return np.nonzero(np.einsum("rki,rki->rk", gap, gap) <= (radii**2)[None])


def _segments_meet_spheres_limited(origins, unit, limits, centres, radii):
    """(ray, sphere) pairs where the segment of ray r, limits[r, k] long, meets sphere k."""
    to_centre = centres[None] - origins[:, None]  # (R,K,3)
    along = np.clip(np.einsum("rki,ri->rk", to_centre, unit), 0.0, limits)
    gap = to_centre - along[..., None] * unit[:, None]
    return np.nonzero(np.einsum("rki,rki->rk", gap, gap) <= (radii**2)[None])


def _pairs_meet_spheres(origins, unit, lengths, centres, radii):
    """Which segments (origins[i], unit[i], lengths[i]) meet sphere i; one pair per row."""
    to_centre = centres - origins
    along = np.clip(np.einsum("ni,ni->n", to_centre, unit), 0.0, lengths)
    gap = to_centre - along[:, None] * unit
    return np.einsum("ni,ni->n", gap, gap) <= radii**2


def first_hits(
    origins, ends, vertices, triangles, chunk_owner, own=None, own_length=None, chunk_index=None
):
    """First surface on each segment origins[r] -> ends[r] (R,3), excluding the end point.

    vertices (V,3) world positions; triangles (K*CHUNK,3) their indices in chunk order;
    chunk_owner (K,) the owner code of each chunk; chunk_index: ``chunk_vertices(triangles)``
    if already known. With ``own`` (R,) and ``own_length`` (R,),
    surfaces of owner own[r] only count up to own_length[r] from the origin (the joint's own
    skin past that point cannot hide it, so it is not even tested). Returns distance (R,) from
    the origin (inf: nothing) and owner (R,) (NO_HIT where nothing).
    """
    origins, ends = np.asarray(origins, np.float64), np.asarray(ends, np.float64)
    count = len(origins)
    distance = np.full(count, np.inf)
    owner = np.full(count, NO_HIT, dtype=np.int64)
    if not count or not len(triangles):
        return distance, owner
    chunk_owner = np.asarray(chunk_owner)
    length = np.linalg.norm(ends - origins, axis=1)
    unit = (ends - origins) / np.maximum(length, _EPS)[:, None]
    centres, radii = chunk_spheres(vertices, *(chunk_index or chunk_vertices(triangles)))
    # Rays against groups of chunks, then against the chunks of the groups they meet. A ray's
    # segment is shorter against its own person's surfaces (own_length).
    group_centres, group_radii = _group_spheres(centres, radii)
    starts = np.arange(0, len(centres), GROUP)
    group_owner = np.where(
        np.minimum.reduceat(chunk_owner, starts) == np.maximum.reduceat(chunk_owner, starts),
        chunk_owner[starts], NO_HIT - 1,  # mixed groups use the full segment
    )  # fmt: skip
    group_limit = np.broadcast_to(length[:, None], (count, len(starts)))
    if own is not None:
        own, own_length = np.asarray(own), np.asarray(own_length, np.float64)
        mine = group_owner[None] == own[:, None]
        group_limit = np.where(mine, own_length[:, None], group_limit)
    rays, groups = _segments_meet_spheres_limited(
        origins, unit, group_limit, group_centres, group_radii
    )
    chunks = (groups[:, None] * GROUP + np.arange(GROUP)).ravel()
    rays = np.repeat(rays, GROUP)
    keep = chunks < len(centres)
    rays, chunks = rays[keep], chunks[keep]
    limit = np.take(length, rays)
    if own is not None:
        mine = np.take(chunk_owner, chunks) == np.take(own, rays)
        limit = np.where(mine, np.take(own_length, rays), limit)
    keep = _pairs_meet_spheres(
        np.take(origins, rays, axis=0), np.take(unit, rays, axis=0), limit,
        np.take(centres, chunks, axis=0), np.take(radii, chunks),
    )  # fmt: skip
    rays, chunks, limit = rays[keep], chunks[keep], limit[keep]
    if not len(rays):
        return distance, owner
    rays, limit = np.repeat(rays, CHUNK), np.repeat(limit, CHUNK)
    tris = (chunks[:, None] * CHUNK + np.arange(CHUNK)).ravel()
    corners = np.take(vertices, np.take(triangles, tris, axis=0), axis=0)
    t = _ray_triangle(np.take(origins, rays, axis=0), np.take(unit, rays, axis=0), corners)
    hit = (t > 1e-9) & (t < limit)
    rays, tris, t = rays[hit], tris[hit], t[hit]
    np.minimum.at(distance, rays, t)
    first = t == distance[rays]
    owner[rays[first]] = chunk_owner[tris[first] // CHUNK]
    return distance, owner


def _cross(a, b):
    """Row-wise cross product (numpy's np.cross is several times slower on small rows)."""
    return np.stack(
        [
            a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
            a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
        ],
        axis=1,
    )


def _ray_triangle(origin, unit, triangle):
    """Distance along each ray to its triangle (Moller-Trumbore, two-sided); nan if missed."""
    v0, e1, e2 = triangle[:, 0], triangle[:, 1] - triangle[:, 0], triangle[:, 2] - triangle[:, 0]
    p = _cross(unit, e2)
    det = np.einsum("ni,ni->n", e1, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(np.abs(det) > _EPS, 1.0 / det, np.nan)
        s = origin - v0
        u = np.einsum("ni,ni->n", s, p) * inv
        q = _cross(s, e1)
        v = np.einsum("ni,ni->n", unit, q) * inv
        t = np.einsum("ni,ni->n", e2, q) * inv
        inside = (u >= 0) & (v >= 0) & (u + v <= 1)
    return np.where(inside, t, np.nan)


def skin_depth(points, triangles, reach=0.25):
    """How deep each point (N,3) sits under the surface ``triangles`` (M,3,3), outward wound.

    The depth is the distance to the nearest triangle the point lies straight under: the foot of
    its perpendicular falls inside the triangle and the point is on the triangle's inner side.
    Faces of other parts the point is outside of therefore do not count. inf where none lies
    within ``reach``.
    """
    points = np.asarray(points, np.float64)
    triangles = np.asarray(triangles, np.float64)
    depth = np.full(len(points), np.inf)
    if not len(triangles):
        return depth
    v0 = triangles[:, 0]
    e1, e2 = triangles[:, 1] - v0, triangles[:, 2] - v0
    normal = np.cross(e1, e2)
    normal /= np.maximum(np.linalg.norm(normal, axis=1), _EPS)[:, None]
    for i, point in enumerate(points):
        offset = point - v0  # (M,3)
        height = np.einsum("mi,mi->m", offset, normal)  # < 0: inside
        near = (height < 0) & (height > -reach)
        foot = offset[near] - height[near, None] * normal[near]
        u, v = _barycentric(foot, e1[near], e2[near])
        inside = (u >= 0) & (v >= 0) & (u + v <= 1)
        if inside.any():
            depth[i] = float(-height[near][inside].max())
    return depth


def _barycentric(point, e1, e2):
    d00, d01, d11 = (np.einsum("mi,mi->m", a, b) for a, b in ((e1, e1), (e1, e2), (e2, e2)))
    d20, d21 = np.einsum("mi,mi->m", point, e1), np.einsum("mi,mi->m", point, e2)
    denominator = np.where(np.abs(d00 * d11 - d01 * d01) > _EPS, d00 * d11 - d01 * d01, np.nan)
    v = (d11 * d20 - d01 * d21) / denominator
    w = (d00 * d21 - d01 * d20) / denominator
    return v, w
