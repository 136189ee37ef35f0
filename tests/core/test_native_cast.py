"""The compiled casting kernel (pure core, no Blender): the same crossings as the numpy casting,
bit for bit, over the inputs that meet its edge cases; and a build that is not this source's, or
not a regular file, is never loaded."""

import os
import pathlib
import shutil

import numpy as np
import pytest

from blendmimic3d_addon.core.occlusion import native_cast
from blendmimic3d_addon.core.occlusion.triangle_rays import CHUNK, TriangleChunks, chunk_order


@pytest.fixture
def kernel():
    library, why = native_cast.load()
    if library is None:
        pytest.skip(f"the casting kernel is not built ({why}); python3 build.py setup builds it")
    return library


def _both(monkeypatch, chunks, origins, ends, planar, ray_frame):
    """The crossings of both castings on the same chunks."""
    found = {}
    for compiled in (True, False):
        monkeypatch.setattr(native_cast, "ENABLED", compiled)
        found[compiled] = chunks.cast(origins, ends, planar, ray_frame)
    return found[True], found[False]


def _assert_same(compiled, numpy_found):
    for a, b in zip(compiled, numpy_found, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)  # NaN equal to NaN, every bit of the distances


def _random_scene(rng, frames, vertices, triangles, spread=1.0):
    points = (rng.normal(size=(frames, vertices, 3)) * spread).astype(np.float32)
    tris = rng.integers(0, vertices, size=(triangles, 3))
    tris = tris[chunk_order(points[0][tris].mean(axis=1))]
    owners = rng.integers(0, 4, size=len(tris) // CHUNK)
    return points, tris, owners


@pytest.mark.parametrize("seed", range(12))
def test_same_crossings_as_numpy_on_random_soups(kernel, monkeypatch, seed):
    rng = np.random.default_rng(seed)
    frames = int(rng.integers(1, 5))
    points, tris, owners = _random_scene(
        rng, frames, int(rng.integers(3, 3000)), int(rng.integers(1, 5000)), rng.uniform(0.1, 5)
    )
    rays = int(rng.integers(1, 400))
    origins = rng.normal(size=(rays, 3)) * 4
    ends = rng.normal(size=(rays, 3))
    ends[: rays // 4, 1] = origins[: rays // 4, 1]  # along a plane of the axes
    ends[rays // 4 : rays // 4 + 3] = origins[rays // 4 : rays // 4 + 3]  # of no length
    ray_frame = rng.integers(0, frames, size=rays)
    planar = np.ascontiguousarray(points.transpose(0, 2, 1))
    chunks = TriangleChunks(tris, owners, top=int(rng.choice([8, 20, 128])))
    compiled, numpy_found = _both(monkeypatch, chunks, origins, ends, planar, ray_frame)
    assert len(compiled[0]) > 0 or seed % 2  # most draws have crossings
    _assert_same(compiled, numpy_found)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_same_crossings_with_a_vertex_that_is_not_finite(kernel, monkeypatch, value):
    """NaN leaves the chunks that hold it without crossings, infinity turns off the grid: as in
    numpy."""
    rng = np.random.default_rng(7)
    points, tris, owners = _random_scene(rng, 2, 500, 2000)
    points[0, tris[5, 0]] = value
    origins = rng.normal(size=(300, 3)) * 3
    ends = -origins
    ray_frame = np.arange(300) % 2
    planar = np.ascontiguousarray(points.transpose(0, 2, 1))
    chunks = TriangleChunks(tris, owners)
    compiled, numpy_found = _both(monkeypatch, chunks, origins, ends, planar, ray_frame)
    assert len(compiled[0]) > 100
    _assert_same(compiled, numpy_found)


def test_more_crossings_than_the_first_buffer_holds(kernel, monkeypatch):
    """Rays through a stack of 400 parallel squares: far more crossings than the buffer first
    made (four per ray), which is then made large enough."""
    squares = []
    for k in range(400):
        z = k * 0.01
        a, b, c, d = (-1, -1, z), (1, -1, z), (1, 1, z), (-1, 1, z)
        squares += [[a, b, c], [a, c, d]]
    corners = np.array(squares, dtype=np.float32).reshape(-1, 3)
    tris = np.arange(len(corners)).reshape(-1, 3)
    order = chunk_order(corners[tris].mean(axis=1))
    tris = tris[order]
    owners = np.zeros(len(tris) // CHUNK, dtype=np.int64)
    rng = np.random.default_rng(3)
    origins = np.column_stack([rng.uniform(-0.9, 0.9, (50, 2)), np.full(50, -1.0)])
    ends = origins + [0, 0, 6.0]
    planar = np.ascontiguousarray(corners.T[None])
    chunks = TriangleChunks(tris, owners)
    compiled, numpy_found = _both(monkeypatch, chunks, origins, ends, planar, np.zeros(50, int))
    assert len(compiled[0]) == 50 * 400
    _assert_same(compiled, numpy_found)


def test_a_build_of_another_source_is_refused(kernel, tmp_path):
    library = tmp_path / native_cast.LIBRARY.name
    shutil.copyfile(native_cast.LIBRARY, library)
    source = tmp_path / native_cast.SOURCE.name
    source.write_bytes(native_cast.SOURCE.read_bytes() + b"\n/* changed */\n")
    loaded, why = native_cast.load(library, source)
    assert loaded is None
    assert why == f"{library} was built from another version of segment_cast.c"
    # The same build beside its own source loads.
    shutil.copyfile(native_cast.SOURCE, source)
    assert native_cast.load(library.rename(tmp_path / "copy.so"), source)[0] is not None


def test_a_library_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "segment_cast.so"
    os.mkfifo(fifo)
    loaded, why = native_cast.load(fifo)
    assert loaded is None and why == f"{fifo} is not a regular file"
    missing = tmp_path / "absent.so"
    loaded, why = native_cast.load(missing)
    assert loaded is None and str(missing) in why


def test_switched_off_it_casts_with_numpy(monkeypatch):
    monkeypatch.setattr(native_cast, "ENABLED", False)
    assert native_cast.kernel() is None
    assert native_cast.status() == "numpy (BM3D_NUMPY_CAST is set)"


def test_a_tree_of_one_level_whose_leaves_fill_no_whole_group(kernel, monkeypatch):
    """Fewer chunks than a group of eight siblings: the lanes past the last leaf are empty."""
    rng = np.random.default_rng(11)
    points, tris, owners = _random_scene(rng, 1, 40, 5 * CHUNK)
    chunks = TriangleChunks(tris, owners)
    assert chunks.sizes == [len(owners)]
    origins = rng.normal(size=(200, 3)) * 2
    planar = np.ascontiguousarray(points.transpose(0, 2, 1))
    compiled, numpy_found = _both(
        monkeypatch, chunks, origins, -origins, planar, np.zeros(200, int)
    )
    assert len(compiled[0]) > 0
    _assert_same(compiled, numpy_found)


def _build_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build", pathlib.Path(native_cast.__file__).parents[3] / "build.py"
    )
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


def test_the_source_tag_is_the_digest_build_py_compiles_in():
    build = _build_script()
    assert build.native_tag() == native_cast.source_tag()
    assert build.NATIVE_LIBRARY == native_cast.LIBRARY


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
def test_the_kernel_is_built_where_a_compiler_is(monkeypatch):
    """``build.py setup`` compiles the kernel before the tests: with a compiler here, a missing
    or stale build is a failure, not a quiet fall back to numpy."""
    monkeypatch.setattr(native_cast, "ENABLED", True)  # whatever BM3D_NUMPY_CAST says
    library, why = native_cast.load()
    assert library is not None, why
    assert native_cast.status() == "compiled (segment_cast.so)"


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
def test_the_portable_build_gives_the_same_crossings(monkeypatch, tmp_path):
    """The kernel without its SSE2 paths (what a platform without them compiles: the scalar
    refit, grid and box tests) gives the same crossings as numpy too."""
    import subprocess

    build = _build_script()
    library = tmp_path / "segment_cast.so"
    subprocess.run(
        ["cc", *build.NATIVE_FLAGS, "-U__SSE2__", f"-DSOURCE_TAG={build.native_tag()}LL",
         "-o", library, build.NATIVE_SOURCE, "-lm"],
        check=True,
    )  # fmt: skip
    monkeypatch.setattr(native_cast, "LIBRARY", library)
    monkeypatch.setattr(native_cast, "ENABLED", True)
    assert native_cast.kernel() is not None
    rng = np.random.default_rng(21)
    points, tris, owners = _random_scene(rng, 3, 2000, 4000, 2.0)
    points[1, tris[3, 1]] = np.inf  # one frame without the grid
    origins = rng.normal(size=(300, 3)) * 4
    ends = rng.normal(size=(300, 3))
    planar = np.ascontiguousarray(points.transpose(0, 2, 1))
    chunks = TriangleChunks(tris, owners)
    compiled, numpy_found = _both(monkeypatch, chunks, origins, ends, planar, np.arange(300) % 3)
    assert len(compiled[0]) > 100
    _assert_same(compiled, numpy_found)


def test_frames_that_do_not_fit_the_triangles_are_refused_before_the_kernel_reads(
    kernel, monkeypatch
):
    """The kernel reads vertices and frames without bounds checks: too few vertices, or a ray in
    a frame that is not there, is an error raised first."""
    rng = np.random.default_rng(5)
    points, tris, owners = _random_scene(rng, 2, 100, 80)
    monkeypatch.setattr(native_cast, "ENABLED", True)
    chunks = TriangleChunks(tris, owners)
    planar = np.ascontiguousarray(points.transpose(0, 2, 1))
    origins = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match="2 frames of 50 vertices, rays in frames 0-1"):
        chunks.cast(origins, -origins, planar[:, :, :50], np.array([0, 1, 1, 0]))
    with pytest.raises(ValueError, match="rays in frames 0-2, triangles of 100 vertices"):
        chunks.cast(origins, -origins, planar, np.array([0, 1, 2, 0]))
