"""The compiled casting kernel (``native/segment_cast.c``), loaded through ctypes when it has been
built for this machine (``python3 build.py setup`` compiles it, and so do the test, package,
demo and bench commands, which set up first); otherwise the numpy casting, which gives the same
crossings, is used.

The library is loaded only if it is a regular file and was built from the source beside it (its
tag is the source's digest): a stale build after a change to the C file is never used.
"""

import ctypes
import hashlib
import os
import pathlib
import stat
import sys
import threading

import numpy as np

FOLDER = pathlib.Path(__file__).resolve().parent / "native"
SOURCE = FOLDER / "segment_cast.c"
LIBRARY = FOLDER / ("segment_cast.dll" if sys.platform == "win32" else "segment_cast.so")
# Set to false to cast with numpy even where the kernel is built (tests compare the two).
ENABLED = os.environ.get("BM3D_NUMPY_CAST", "") in ("", "0")

_lock = threading.Lock()
_loaded = {}  # library path -> (the ctypes library or None, why not)


def source_tag(source=SOURCE):
    """The tag a build of ``source`` carries: the first 60 bits of the file's SHA-256."""
    return int(hashlib.sha256(pathlib.Path(source).read_bytes()).hexdigest()[:15], 16)


def kernel():
    """The loaded kernel, or None where it is disabled, not built or not this source's build."""
    if not ENABLED:
        return None
    return load(LIBRARY)[0]


def load(path=LIBRARY, source=SOURCE):
    """(library or None, why not) for the build at ``path``; tried once per path."""
    key = str(path)
    with _lock:
        if key not in _loaded:
            _loaded[key] = _try_load(pathlib.Path(path), source)
        return _loaded[key]


def _try_load(path, source):
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None, f"{path} is not a regular file"
        expected = source_tag(source)
        library = ctypes.CDLL(str(path))
        library.bm3d_source_tag.restype = ctypes.c_int64
        library.bm3d_source_tag.argtypes = []
        if library.bm3d_source_tag() != expected:
            return None, f"{path} was built from another version of {pathlib.Path(source).name}"
    except (OSError, AttributeError) as exc:
        return None, f"{path}: {exc}"
    pointer = ctypes.c_void_p
    library.bm3d_cast.restype = ctypes.c_int64
    library.bm3d_cast.argtypes = [
        pointer, ctypes.c_int64, ctypes.c_int64, pointer, pointer, pointer, pointer, pointer,
        pointer, pointer, ctypes.c_int64, pointer, pointer, pointer, pointer, ctypes.c_float,
        pointer, pointer, pointer, pointer, ctypes.c_int64,
    ]  # fmt: skip
    return library, ""


def status():
    """A line saying which casting is used, and why (for the benchmark and the tests)."""
    if not ENABLED:
        return "numpy (BM3D_NUMPY_CAST is set)"
    library, why = load(LIBRARY)
    return f"compiled ({LIBRARY.name})" if library is not None else f"numpy ({why})"


class Layout:
    """What the kernel reads of a ``TriangleChunks`` besides the frame, in the hierarchy's natural
    order (the children of node q are nodes 8q .. 8q + 7 of the level below): the level sizes
    (leaves first), each leaf's triangles (K, CHUNK, 3) and distinct vertices (start (K+1,),
    vertex), and the stored (sibling-major) position of each leaf. Padding leaves have no
    vertices, so no segment meets them."""

    def __init__(self, sizes, stored_position, chunks, padding):
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.stored = np.asarray(stored_position, dtype=np.int64)
        # 32-bit first, then reordered: the fewest bytes held at once.
        self.triangles = np.ascontiguousarray(np.asarray(chunks, dtype=np.int32)[self.stored])
        padding = padding[self.stored]
        corners = self.triangles.reshape(len(self.triangles), -1).copy()
        corners.sort(axis=1)
        distinct = np.ones(corners.shape, dtype=bool)
        distinct[:, 1:] = corners[:, 1:] != corners[:, :-1]
        distinct[padding] = False
        self.start = np.zeros(len(corners) + 1, dtype=np.int32)
        np.cumsum(distinct.sum(axis=1), out=self.start[1:])
        self.vertex = np.ascontiguousarray(corners[distinct])
        # The vertices a frame must have: the kernel reads them without bounds checks.
        self.vertex_count = int(self.triangles.max()) + 1 if self.triangles.size else 0


def cast(library, layout, grow, planar, origins, unit, inverse, length, ray_frame):
    """Crossings (ray, stored leaf position, distance float32, entering) of the segments
    origins[r] + t unit[r], 0 < t < length[r] (float64 (R,3), (R,3), (R,); ``inverse``: the
    box tests' inverse directions, as the numpy descent makes them), with the vertices of
    frame ``ray_frame[r]`` of ``planar`` (F,3,V) float32. The GIL is released while the kernel
    runs."""
    planar = np.ascontiguousarray(planar, dtype=np.float32)
    order = np.argsort(ray_frame, kind="stable")
    frames, first = np.unique(np.asarray(ray_frame)[order], return_index=True)
    group_start = np.append(first, len(order)).astype(np.int64)
    rays = {
        "origin": origins[order].astype(np.float32),
        "unit": unit[order].astype(np.float32),
        "inverse": inverse[order].astype(np.float32),
        "length": length[order].astype(np.float32),
        "length64": np.ascontiguousarray(length[order], dtype=np.float64),
    }
    frames = frames.astype(np.int64)  # kept: the kernel reads it by address
    in_range = not len(frames) or 0 <= frames[0] <= frames[-1] < len(planar)
    if planar.shape[2] < layout.vertex_count or not in_range:
        raise ValueError(
            f"{len(planar)} frames of {planar.shape[2]} vertices, rays in frames "
            f"{frames.min()}-{frames.max()}, triangles of {layout.vertex_count} vertices"
        )
    capacity = 4 * len(order) + 256
    while True:
        out = (
            np.empty(capacity, np.int32), np.empty(capacity, np.int32),
            np.empty(capacity, np.float32), np.empty(capacity, np.uint8),
        )  # fmt: skip
        count = library.bm3d_cast(
            _address(planar), planar.shape[2], len(frames), _address(frames),
            _address(group_start), *(_address(rays[k]) for k in rays), len(layout.sizes),
            _address(layout.sizes), _address(layout.triangles), _address(layout.start),
            _address(layout.vertex), grow, *(_address(a) for a in out), capacity,
        )  # fmt: skip
        if count < 0:
            raise MemoryError("the casting kernel could not allocate its boxes")
        if count <= capacity:
            ray, leaf, t, entering = (a[:count] for a in out)
            return order[ray], layout.stored[leaf], t, entering.view(bool)
        capacity = count


def _address(array):
    assert array.flags.c_contiguous
    return array.ctypes.data
