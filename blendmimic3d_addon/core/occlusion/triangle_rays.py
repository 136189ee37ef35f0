"""Every crossing of line segments with triangle soups, in numpy: the occlusion rays' casting.

Rebuilding a BVH tree of a deformed character every frame costs more than evaluating the frame.
Instead the triangles are kept in fixed chunks of CHUNK spatial neighbours (Morton order), and a
frame only refits boxes: one per chunk, then boxes around BRANCHING neighbouring boxes, level
upon level up to at most TOP boxes. A segment descends to the chunks whose boxes it passes
through and is tested exactly (Moller-Trumbore) against their triangles. Boxes only cull, so any
grouping, and any box that holds its triangles, gives the same crossings; spatially tight groups
and boxes are faster.

The chunks are padded so that every box has exactly BRANCHING children (padding chunks have NaN
boxes, which no segment meets and their parents ignore), and every level is
stored sibling-major: the children of the box at position q of a level of n boxes sit at q,
q + n, ..., q + (BRANCHING - 1) n of the level below. A level is then the minimum and maximum of
BRANCHING contiguous slices of the one below, and the children of many boxes are gathered as
BRANCHING long rows, against which their rays broadcast. The chunks are stored in leaf order.

The same casting, compiled (``native_cast``, C), runs instead where it is built for the machine:
it gives the same crossings bit for bit, and this numpy one is its reference and fallback.
"""

import numpy as np

from . import native_cast

CHUNK = 8  # triangles per chunk
# Chunks stay within cells of at least 2**CELL_LEVEL steps of the Morton grid (1,024 steps
# across a mesh): 5.6 cm cells on a person 1.8 m tall.
CELL_LEVEL = 5
BRANCHING = 8  # children per box
# Every ray is tested against every box of the coarsest level, of at most TOP boxes: one test of
# a few thousand pairs costs less than the numpy calls of two more levels.
TOP = 128
# Boxes grow by far more than the single-precision rounding of the vertices and of the tests.
GROW = 1e-4
# Leaf boxes are refitted on a grid of this many steps per axis over the frame's vertices (a
# step: 0.2 mm across 12 m), within 65,535 (16 bits).
GRID_STEPS = 60000
_EPS = 1e-12
# A leaf box from its grid cells: one step below the lowest, two above the highest (see boxes).
_CELL_SLACK = np.array([[-1], [-1], [-1], [2], [2], [2]], dtype=np.float32)


def connected_parts(triangles: np.ndarray, vertex_count: int) -> np.ndarray:
    """Part label (V,) of each vertex: vertices joined by triangles share the lowest index among
    them (hooking to the smallest label, then pointer jumping, until nothing changes)."""
    triangles = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    label = np.arange(vertex_count)
    while True:
        before = label.copy()
        labels = label[triangles]
        lowest = np.repeat(labels.min(axis=1), 3)
        np.minimum.at(label, labels.ravel(), lowest)  # hook each part's root to the smaller one
        np.minimum.at(label, triangles.ravel(), lowest)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label, before):
            return label


def outward_triangles(
    vertices: np.ndarray, triangles: np.ndarray, parts: np.ndarray | None = None
) -> np.ndarray:
    """``triangles`` (T,3) with every connected part wound outwards (positive enclosed volume).

    The own-body test reads entering/leaving from the winding, and meshes come wound either way
    (imported ones with flipped normals, separate segments each their own way): a part whose
    signed volume is negative gets its triangles reversed. Parts are told apart by shared
    vertices (``connected_parts``, or ``parts`` if already known), so the separate segments of
    one mesh are oriented one by one.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    if not len(triangles):
        return triangles.copy()
    if parts is None:
        parts = connected_parts(triangles, len(vertices))
    part = parts[triangles[:, 0]]
    corners = vertices[triangles]
    centre = vertices.mean(axis=0)  # volume relative to a nearby point: less rounding
    a, b, c = (corners[:, k] - centre for k in range(3))
    volume = _dot(a.T, _cross(b.T, c.T))
    inward = np.bincount(part, weights=volume, minlength=len(vertices)) < 0
    out = triangles.copy()
    flip = inward[part]
    out[flip] = out[flip][:, ::-1]
    return out


def chunk_order(centroids: np.ndarray) -> np.ndarray:
    """Triangle order, in chunks of CHUNK, that keeps spatial neighbours together: the Z-order
    (Morton) curve through the triangles' centroids. A chunk does not span two cells of a
    coarser grid, where the curve may jump far: it ends early instead, padded by repeating its
    last triangle. The grid is the finest from CELL_LEVEL up whose padding adds at most a
    quarter to the chunks (a dense mesh gets tight chunks, a sparse soup few copies)."""
    centroids = np.asarray(centroids, dtype=np.float64)
    if not len(centroids):
        return np.zeros(0, dtype=np.int64)
    low, span = centroids.min(axis=0), np.ptp(centroids, axis=0).max()
    cells = ((centroids - low) / max(span, _EPS) * 1023).astype(np.uint32)
    # Interleave the 10 bits of x, y, z: bit b of axis a goes to bit 3b + a.
    code = np.zeros(len(centroids), dtype=np.uint32)
    for axis in range(3):
        spread = cells[:, axis] & 0x3FF
        for shift, mask in ((16, 0x30000FF), (8, 0x300F00F), (4, 0x30C30C3), (2, 0x9249249)):
            spread = (spread | (spread << shift)) & mask
        code |= spread << axis
    order = np.argsort(code, kind="stable")
    budget = -(-len(order) // CHUNK) * CHUNK * 5 // 4
    for level in range(CELL_LEVEL, 11):  # at 10, one cell: chunks as the curve runs
        cell = code[order] >> (3 * level)
        group = np.concatenate([[0], np.cumsum(cell[1:] != cell[:-1])])
        sizes = np.bincount(group)
        padded = -(-sizes // CHUNK) * CHUNK
        if padded.sum() <= budget:
            break
    first_in, first_out = np.cumsum(sizes) - sizes, np.cumsum(padded) - padded
    out = np.repeat(first_in + sizes - 1, padded)  # padding: the group's last triangle
    out[first_out[group] + np.arange(len(order)) - first_in[group]] = np.arange(len(order))
    return order[out]


class TriangleChunks:
    """A triangle soup laid out for casting: chunks in the hierarchy's leaf order, the corners of
    each chunk's triangles, and the vertex lists its boxes are refitted from.

    triangles (K*CHUNK,3): vertex indices, every CHUNK consecutive ones spatial neighbours
    (``chunk_order`` per mesh, meshes one after the other), wound outwards; chunk_owner (K,): the
    owner code of each chunk. Per topology, not per frame.
    """

    def __init__(self, triangles, chunk_owner, top=TOP):
        triangles = np.asarray(triangles, dtype=np.int64).reshape(-1, CHUNK, 3)
        chunk_owner = np.asarray(chunk_owner)
        count = len(chunk_owner)
        # Level sizes, leaves first: the coarsest has at most ``top`` boxes; the chunks are
        # padded, with copies of the last whose boxes are NaN, so that no ray meets them.
        coarsest, depth = max(count, 1), 0
        while coarsest > top:
            coarsest, depth = -(-coarsest // BRANCHING), depth + 1
        self.sizes = [coarsest * BRANCHING ** (depth - level) for level in range(depth + 1)]
        natural = np.minimum(np.arange(self.sizes[0]), max(count - 1, 0))
        order = np.argsort(_sibling_major(self.sizes))
        stored = natural[order]
        self.padding = order >= count  # (sizes[0],) whether each stored chunk is padding
        self.chunk_owner = chunk_owner[stored] if count else np.zeros(1, np.int64)
        chunks = triangles[stored] if count else np.zeros((1, CHUNK, 3), np.int64)
        self.triangles = chunks.reshape(-1, 3)
        # (corner, triangle, chunk): the chunks' vertex indices gather straight into the rows
        # that the triangle tests run along.
        self.corners = np.ascontiguousarray(chunks.transpose(2, 1, 0))
        self.empty = count == 0
        # What the boxes are refitted from, made for the casting that is used (both are made
        # from the same inputs, so two threads making one at once make the same).
        self._rows, self._native_layout = None, None
        if native_cast.kernel() is not None:
            self._native_layout = self._kernel_layout()

    def _leaf_triangles(self):
        """The chunks' triangles (K, CHUNK, 3) in leaf order: a view of ``corners``."""
        return self.corners.transpose(2, 1, 0)

    def _kernel_layout(self):
        return native_cast.Layout(
            self.sizes, _sibling_major(self.sizes), self._leaf_triangles(), self.padding
        )

    def _refit_columns(self, corners, real):
        """What a leaf box is refitted from: the distinct vertices of the ``real`` chunks, in
        rows. Chunks are taken in order of their count of distinct vertices, most first, so
        that row w, the w-th vertex of every chunk that has one, covers a prefix of them
        (``_rows``; ``_leaf_columns``: each leaf's place in that order). A frame's leaf boxes
        are then running minima and maxima of contiguous prefixes, and gather each distinct
        vertex of a chunk once."""
        corners = corners[real]
        if len(corners) and corners.max() < np.iinfo(np.int32).max:
            corners = corners.astype(np.int32)  # sorted in two thirds of the time
        # (Timsort: fewer steps on these short rows, and on the nearly sorted ones below.)
        corners = np.sort(corners, axis=1, kind="stable")
        distinct = np.ones(corners.shape, dtype=bool)
        distinct[:, 1:] = corners[:, 1:] != corners[:, :-1]
        # Distinct vertices first: each repeat becomes the largest index, sorted to the end.
        corners = np.where(distinct, corners, np.iinfo(corners.dtype).max)
        corners.sort(axis=1, kind="stable")
        counts = distinct.sum(axis=1)
        by_count = np.argsort(-counts, kind="stable")
        counts, corners = counts[by_count], corners[by_count]
        # Column of each leaf among the chunks by count (padding: any, overwritten by NaN).
        self._leaf_columns = np.zeros(len(self.padding), dtype=np.int64)
        self._leaf_columns[real[by_count]] = np.arange(len(by_count))
        self._padding_columns = np.flatnonzero(self.padding)
        self._rows = [
            corners[: np.count_nonzero(counts > w), w].astype(np.intp)
            for w in range(int(counts.max()) if len(counts) else 0)
        ]

    def boxes(self, planar: np.ndarray) -> list[np.ndarray]:
        """Boxes of the frames whose vertices are ``planar`` (F,3,V) float32: one (F,6,n) array
        per level (rows low x, y, z, high x, y, z), coarsest first. Padding chunks get NaN
        boxes: no ray meets them, and their parents ignore them."""
        frames = [self._frame_boxes(points) for points in planar]
        return [np.stack(level) for level in zip(*frames, strict=True)]

    def _frame_boxes(self, points):
        """The boxes (6,n) of each level, coarsest first, of one frame's vertices ``points``
        (3,V): made just before that frame's rays descend them, so that they are still in the
        core's cache."""
        if self._rows is None:
            real = np.flatnonzero(~self.padding)
            self._refit_columns(self._leaf_triangles().reshape(self.sizes[0], -1), real)
        if self._rows:
            cells, low, step = _grid(points)
            top = _take(cells, self._rows[0], axis=1)
            bottom = top.copy()
            for row in self._rows[1:]:
                found = _take(cells, row, axis=1)
                np.minimum(bottom[:, : len(row)], found, out=bottom[:, : len(row)])
                np.maximum(top[:, : len(row)], found, out=top[:, : len(row)])
            # From the chunks' order by count to the leaf order, in the cells' own (narrow)
            # type; the padding chunks take any column, then NaN.
            leaves = _take(np.concatenate([bottom, top]), self._leaf_columns, axis=1)
            leaves = leaves.astype(np.float32, copy=False)
            if step is not None:
                # A vertex in cell c lies in [low + c step, low + (c + 1) step], up to rounding
                # far below a step: one step more on each side holds it.
                leaves += _CELL_SLACK
                leaves *= np.concatenate([step, step])
                leaves += np.concatenate([low, low])
        else:
            leaves = np.empty((6, self.sizes[0]), dtype=np.float32)
        leaves[:3] -= GROW
        leaves[3:] += GROW
        leaves[:, self._padding_columns] = np.nan
        levels = [leaves]
        for size in self.sizes[1:]:
            levels.append(_parent_boxes(levels[-1].reshape(6, BRANCHING, size)))
        return levels[::-1]

    def cast(
        self,
        origins: np.ndarray,
        ends: np.ndarray,
        planar: np.ndarray,
        ray_frame: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every surface crossing on the segments origins[r] -> ends[r] (R,3), end excluded, with
        the vertices of frame ``ray_frame[r]`` of ``planar`` (F,3,V) float32. Returns per
        crossing: ray index, distance from the origin, owner code and whether the ray enters the
        surface there (against its normal). A crossing on an edge shared by two triangles is
        reported once; an exit and an entry at one place (two touching surfaces) both."""
        origins, ends = np.asarray(origins, np.float64), np.asarray(ends, np.float64)
        if not len(origins) or self.empty:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool)
        length = np.linalg.norm(ends - origins, axis=1)
        unit = (ends - origins) / np.maximum(length, _EPS)[:, None]
        kernel = native_cast.kernel()
        if kernel is not None:
            if self._native_layout is None:
                self._native_layout = self._kernel_layout()
            rays, chunks, t, facing = native_cast.cast(
                kernel, self._native_layout, GROW, planar, origins, unit,
                _inverse_direction(unit), length, ray_frame,
            )  # fmt: skip
            t, owner = t.astype(np.float64), _take(self.chunk_owner, chunks)
        else:
            rays, t, owner, facing = self._cast_numpy(origins, unit, length, planar, ray_frame)
        # A ray through an edge meets both triangles (and a chunk's padding repeats its last):
        # keep one. Only crossings facing the same way are one: where one closed surface of a
        # person touches another (skin on a joint mesh), the exit from one and the entry into
        # the other coincide, and both count.
        order = np.lexsort((t, facing, owner, rays))
        rays, t, owner, facing = rays[order], t[order], owner[order], facing[order]
        same = np.zeros(len(t), dtype=bool)
        same[1:] = (
            (rays[1:] == rays[:-1]) & (owner[1:] == owner[:-1]) & (facing[1:] == facing[:-1])
            & (np.abs(t[1:] - t[:-1]) < 1e-5)
        )  # fmt: skip
        keep = np.flatnonzero(~same)
        keep = keep[np.lexsort((t[keep], rays[keep]))]  # by ray, then along it
        return rays[keep], t[keep], owner[keep], facing[keep]

    def _cast_numpy(self, origins, unit, length, planar, ray_frame):
        """``cast``'s crossings, not yet deduplicated, in numpy (the kernel's reference)."""
        # Frame by frame: one frame's boxes and vertices stay in the core's cache, which the
        # gathers of a whole batch at once overflow (twice as slow).
        found = [
            self._cast_frame(among, origins[among], unit[among], length[among], planar[frame])
            for frame, among in _rays_by_frame(ray_frame)
        ]  # fmt: skip
        return (np.concatenate(part) for part in zip(*found, strict=True))

    def _cast_frame(self, ray_index, origins, unit, length, planar):
        """The crossings (ray index, distance, owner, entering) of rays in one frame: vertices
        ``planar`` (3,V)."""
        pairs, chunks = self._descend(origins, unit, length, self._frame_boxes(planar))
        # Rows (CHUNK triangles, pair) of each corner and axis: long contiguous rows, against
        # which each pair's ray broadcasts. Single precision halves the work; at 10 m it still
        # resolves 1 micrometre. Corners (axis, corner, CHUNK, pair).
        corners = _take(planar, _take(self.corners, chunks, axis=2), axis=1)
        ray_origin = _take(origins.T.astype(np.float32), pairs, axis=1)
        ray_unit = _take(unit.T.astype(np.float32), pairs, axis=1)
        t, facing = _ray_triangle(ray_origin, ray_unit, *corners.swapaxes(0, 1))
        hit = (t > 1e-9) & (t < _take(length, pairs))
        triangle, pair = np.nonzero(hit)
        owner = _take(self.chunk_owner, chunks[pair])
        t = t[triangle, pair].astype(np.float64)
        return ray_index[pairs[pair]], t, owner, facing[triangle, pair]

    def _descend(self, origins, unit, length, levels):
        """(ray, chunk) pairs where a segment passes through the chunk's box."""
        # Planar rays: origin (3,R), inverse direction (3,R).
        rays_planar = np.concatenate([origins.T, _inverse_direction(unit).T]).astype(np.float32)
        length = length.astype(np.float32)
        # Every ray against every box of the coarsest level: (3,R,n) without gathering.
        meet = _slab_test(levels[0][:, None, :], rays_planar[:, :, None], length[:, None])
        rays, nodes = np.nonzero(meet)
        for level, parents in zip(levels[1:], levels[:-1], strict=True):
            size = parents.shape[1]
            children = _take(level.reshape(6, BRANCHING, size), nodes, axis=2)  # (6,B,pairs)
            meet = _slab_test(
                children, _take(rays_planar, rays, axis=1)[:, None], _take(length, rays)
            )
            child, pair = np.nonzero(meet)
            rays, nodes = rays[pair], nodes[pair] + child * size
        return rays, nodes


def _inverse_direction(unit):
    """1 / unit (R,3), what the box tests multiply by: huge, not infinite, along an axis the ray
    does not move along, so that 0 times it stays 0."""
    safe = np.where(np.abs(unit) < 1e-12, np.where(unit < 0, -1e-12, 1e-12), unit)
    return 1.0 / safe


def _sibling_major(sizes):
    """Leaf position (K,) of each chunk in natural order, levels of ``sizes`` (leaves first): the
    parent of natural chunk c is c // BRANCHING, and c sits at (c % BRANCHING) * (size of the
    level above) + the position of its parent, recursively; the coarsest level is in order."""
    natural = np.arange(sizes[0])
    position = natural // BRANCHING ** (len(sizes) - 1)
    for level in range(len(sizes) - 1):
        digit = (natural // BRANCHING**level) % BRANCHING
        position += digit * sizes[level + 1]
    return position


def _grid(points):
    """The vertices ``points`` (3,V) float32 as cells of a grid of GRID_STEPS steps per axis over
    their extent: cells (3,V) uint16, the grid's origin (3,1) and step (3,1). The leaf boxes are
    refitted from the cells: their gathers, the bulk of the refit, read half the bytes and stay
    in the core's cache. With a vertex that is not finite there is no grid (step None): the
    cells are the vertices themselves."""
    low = points.min(axis=1, keepdims=True)
    high = points.max(axis=1, keepdims=True)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        return points, None, None
    step = np.maximum((high - low) / np.float32(GRID_STEPS), np.float32(1e-7))
    cells = np.subtract(points, low)
    np.divide(cells, step, out=cells)
    return cells.astype(np.uint16), low, step


def _parent_boxes(children):
    """Boxes (6,n) around their children (6,BRANCHING,n): running minima and maxima over
    contiguous slices, NaN (padding) children ignored: a box of padding only is NaN."""
    low, high = children[:3], children[3:]
    out = np.empty((6, children.shape[2]), dtype=children.dtype)
    np.fmin(low[:, 0], low[:, 1], out=out[:3])
    np.fmax(high[:, 0], high[:, 1], out=out[3:])
    for k in range(2, BRANCHING):
        np.fmin(out[:3], low[:, k], out=out[:3])
        np.fmax(out[3:], high[:, k], out=out[3:])
    return out


def _rays_by_frame(ray_frame):
    """(frame, its ray indices) for each frame that has rays."""
    ray_frame = np.asarray(ray_frame)
    order = np.argsort(ray_frame, kind="stable")
    frames, starts = np.unique(ray_frame[order], return_index=True)
    return list(zip(frames, np.split(order, starts[1:]), strict=True))


def _slab_test(box, ray, length):
    """Whether each ray (origin, inverse direction: ray[:3], ray[3:]) passes through its box
    (box[:3] low, box[3:] high corner) within [0, length]; the three axes at once, in place
    where it can (fewer fresh arrays)."""
    t1 = np.subtract(box[:3], ray[:3])
    t1 *= ray[3:]
    t2 = np.subtract(box[3:], ray[:3])
    t2 *= ray[3:]
    near = np.minimum(t1, t2)
    far = np.maximum(t1, t2, out=t2)
    entry = np.maximum(near[0], near[1])
    np.maximum(entry, near[2], out=entry)
    np.maximum(entry, 0, out=entry)
    leave = np.minimum(far[0], far[1])
    np.minimum(leave, far[2], out=leave)
    np.minimum(leave, length, out=leave)
    return entry <= leave


def all_hits(
    origins: np.ndarray,
    ends: np.ndarray,
    vertices: np.ndarray,
    triangles: np.ndarray,
    chunk_owner: np.ndarray,
    ray_frame: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every surface crossing on the segments origins[r] -> ends[r] (R,3) (``TriangleChunks.cast``)
    against vertices (V,3), or (F,V,3) in F frames with ``ray_frame`` (R,) the frame of each ray;
    triangles (K*CHUNK,3) in chunk order, wound outwards; chunk_owner (K,)."""
    vertices = np.asarray(vertices)
    if vertices.ndim == 2:
        vertices = vertices[None]
    ray_frame = np.zeros(len(origins), np.int64) if ray_frame is None else ray_frame
    planar = np.ascontiguousarray(np.swapaxes(vertices, 1, 2), dtype=np.float32)
    return TriangleChunks(triangles, chunk_owner).cast(origins, ends, planar, ray_frame)


def first_hits(
    origins: np.ndarray,
    ends: np.ndarray,
    vertices: np.ndarray,
    triangles: np.ndarray,
    chunk_owner: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The first crossing of each segment: distance (R,) (inf: none) and owner (R,) (-1)."""
    rays, t, owner, _ = all_hits(origins, ends, vertices, triangles, chunk_owner)
    distance = np.full(len(origins), np.inf)
    first_owner = np.full(len(origins), -1, dtype=np.int64)
    np.minimum.at(distance, rays, t)
    first = t == distance[rays]
    first_owner[rays[first]] = owner[first]
    return distance, first_owner


def _take(array, indices, axis=None):
    """``ndarray.take`` of indices that are valid by construction: "clip" skips the bounds
    check, a quarter of the cost of the gathers that dominate the casting (the method, not
    ``np.take``, whose dispatch costs as much as a small gather)."""
    return array.take(indices, axis=axis, mode="clip")


def _cross(a, b):
    """Cross products of planar vectors (3 rows), as three rows (no stacking copy)."""
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _ray_triangle(origin, unit, v0, v1, v2):
    """Distance along each ray to its triangle (Moller-Trumbore, two-sided; nan if missed), and
    whether the ray meets the triangle's front (enters the surface). Each argument is three rows
    (x, y, z) that broadcast together; the rows of v1 and v2 are overwritten."""
    e1 = [np.subtract(a, b, out=a) for a, b in zip(v1, v0, strict=True)]  # fresh gathers: reused
    e2 = [np.subtract(a, b, out=a) for a, b in zip(v2, v0, strict=True)]
    p = _cross(unit, e2)
    det = _dot(e1, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(np.abs(det) > _EPS, 1.0 / det, np.nan)
        s = [a - b for a, b in zip(origin, v0, strict=True)]
        u = _dot(s, p) * inv
        q = _cross(s, e1)
        v = _dot(unit, q) * inv
        t = _dot(e2, q) * inv
        inside = (u >= 0) & (v >= 0) & (u + v <= 1)
    # det = e1 . (unit x e2) = -unit . (e1 x e2): positive when the ray runs against the normal.
    return np.where(inside, t, np.nan), det > 0
