"""Reading and writing .npz archives without trusting them.

Numeric members are read with pickling refused. The only pickled members the format has (the two
camera-parameter objects, and VideoPose3D's dicts) go through ``SafeUnpickler``, which can build
dicts, lists, numbers, strings and numpy arrays and nothing else, so a crafted file cannot run
code. Every failure becomes one ``DatasetError`` naming the file and the member.
"""

import io
import math
import os
import pickle
import tokenize
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from typing import NoReturn

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import ArrayLike

from ..errors import DatasetError
from .atomic import atomic_file
from .paths import StrPath
from .safe_open import file_size, open_regular

# The callables numpy's array pickles name, taken from numpy itself so that they are found under
# either spelling of their module (numpy.core before numpy 2, numpy._core since).
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]


def _empty_reconstruct(subtype, shape, dtype):
    """numpy's ``_reconstruct`` for what numpy pickles hold: an empty ndarray that BUILD then
    fills. Any other shape would make numpy allocate it before a single data byte is read."""
    if subtype is not np.ndarray or not isinstance(shape, tuple) or 0 not in shape:
        raise pickle.UnpicklingError(f"refused an array placeholder of shape {shape!r}")
    return _RECONSTRUCT(subtype, shape, dtype)


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _empty_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _empty_reconstruct,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): __import__("codecs").encode,  # protocol-2 pickles of raw bytes
}


# What parsing an untrusted archive, header or pickle can raise: all of it is bad input.
UNTRUSTED_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    pickle.UnpicklingError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    SyntaxError,
    tokenize.TokenError,  # numpy tokenizes a version 1 header that a flipped bit unbalanced
    NotImplementedError,  # zipfile: a "version needed" or flag it does not know
    RuntimeError,  # zipfile: a member marked encrypted in its local header
)


def _check_array_state(state):
    """An ndarray's pickled state, (version,) shape, dtype, fortran, data: the data must be all
    there before numpy allocates the shape (an object array's list, a numeric array's bytes)."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise pickle.UnpicklingError("array state is not numpy's")
    shape, dtype, _, data = state[-4:]
    if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple):
        raise pickle.UnpicklingError("array state is not numpy's")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise pickle.UnpicklingError(f"array shape {shape!r}")
    count = math.prod(shape)
    if dtype.hasobject:
        if not isinstance(data, list) or len(data) != count:
            raise pickle.UnpicklingError(f"object array of shape {shape} without its {count} items")
    elif not isinstance(data, (bytes, bytearray)) or len(data) != count * dtype.itemsize:
        raise pickle.UnpicklingError(f"array of shape {shape} {dtype} without its data")


class SafeUnpickler(pickle._Unpickler):
    """Unpickles plain containers, numbers, strings and numpy arrays; refuses any other global.

    The pure-Python unpickler, so that BUILD can be checked: an ndarray's state must carry all
    of its data before numpy allocates the shape it announces.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def load_build(self):
        if isinstance(self.stack[-2], np.ndarray):
            _check_array_state(self.stack[-1])
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}") from None

    def persistent_load(self, pid: object) -> NoReturn:
        raise pickle.UnpicklingError("refused a persistent id")


class _StablePickler(pickle._Pickler):
    """Pickles arrays as numpy 1.x does (``numpy.core.multiarray._reconstruct``), whatever the
    installed numpy, so that the files load in the older numpy of the tools that read them."""

    def save_global(self, obj, name=None):
        if obj is _RECONSTRUCT or obj is _SCALAR:
            attribute = "_reconstruct" if obj is _RECONSTRUCT else "scalar"
            self.write(pickle.GLOBAL + f"numpy.core.multiarray\n{attribute}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


# Bounds on what one archive may make this process hold, checked from the zip directory and the
# .npy headers before anything is inflated or allocated. The largest published member is 1 MB; an
# hour of 60 fps 3D is 88 MB. A pickled member (camera dicts, VideoPose3D's dict of poses) may
# hold at most MAX_PICKLE_NODES objects, counted as a reader walks them (shared sub-lists counted
# each time they are reached: a "billion laughs" pickle stops here, not in a later loop).
MAX_ARCHIVE_BYTES = 512 * 2**20
MAX_MEMBERS = 4096
MAX_PICKLE_NODES = 100_000
MAX_PICKLE_DEPTH = 32
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def read_npz(
    path: StrPath,
    pickled: tuple | bool = (),
    shapes: dict | None = None,
    max_bytes: int = MAX_ARCHIVE_BYTES,
) -> dict[str, np.ndarray]:
    """All members of an .npz, in archive order: {key: array}.

    Members named in ``pickled`` (every member when it is True) may hold object arrays (read
    through ``SafeUnpickler``); any other member holding pickled objects is refused. ``shapes``
    ({key: shape, None a free size; "*" any other member}) is checked against each member's
    header before its data is read; all members together may inflate to at most ``max_bytes``.
    """
    path = os.fspath(path)
    handle = open_regular(path)
    try:
        archive = zipfile.ZipFile(handle)
    except UNTRUSTED_ERRORS as exc:
        handle.close()
        raise DatasetError(path, None, f"not a readable .npz archive ({exc})") from None
    arrays = {}
    with handle, archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DatasetError(path, None, f"{len(infos)} members; at most {MAX_MEMBERS} allowed")
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            reason = f"members inflate to {declared:,} bytes; at most {max_bytes:,} allowed"
            raise DatasetError(path, None, reason)
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if key == info.filename:
                raise DatasetError(path, key, "unexpected member: not a .npy array")
            if key in arrays:
                raise DatasetError(path, key, "member appears twice in the archive")
            _check_zip_entry(path, key, info)
            shape = (shapes or {}).get(key, (shapes or {}).get("*"))
            objects = pickled is True or key in pickled
            arrays[key] = _read_member(archive, info, path, key, objects, shape)
    return arrays


def _check_zip_entry(path, key, info):
    if info.flag_bits & 0x1:
        raise DatasetError(path, key, "encrypted member; the format stores arrays in the clear")
    if info.compress_type not in _ZIP_METHODS:
        method = info.compress_type
        raise DatasetError(path, key, f"compression method {method} (only stored or deflated)")


def _read_member(archive, info, path, key, allow_objects, shape):
    try:
        with archive.open(info) as stream:
            array = read_npy_stream(stream, allow_objects, info.file_size, shape)
            if stream.read(1):
                raise ValueError("data after the array")
        return array
    except UNTRUSTED_ERRORS as exc:
        raise _bad_input(path, key, exc) from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise _bad_input(path, key, exc) from None


def read_npy(path: StrPath, allow_objects: bool = False, shape: tuple | None = None) -> np.ndarray:
    """One .npy file, checked as ``read_npz`` checks a member."""
    path = os.fspath(path)
    with open_regular(path) as stream:
        try:
            array = read_npy_stream(stream, allow_objects, file_size(stream), shape)
            if stream.read(1):
                raise ValueError("data after the array")
            return array
        except (*UNTRUSTED_ERRORS, RecursionError, MemoryError, OverflowError) as exc:
            raise _bad_input(path, None, exc) from None


def _bad_input(path, key, exc):
    if isinstance(exc, ValueError) and "allow_pickle" in str(exc):
        reason = "holds pickled objects where a numeric array belongs; refused to unpickle"
        return DatasetError(path, key, reason)
    if isinstance(exc, BoundsError):
        return DatasetError(path, key, str(exc))
    return DatasetError(path, key, f"corrupt, truncated or unsafe array ({exc})")


class BoundsError(ValueError):
    """An array or pickle larger, deeper or shaped otherwise than what may be read."""


def read_npy_header(stream: io.IOBase) -> tuple:
    """(shape, fortran_order, dtype) of the .npy at ``stream`` (any format version)."""
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(stream)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(stream)
    return npy_format._read_array_header(stream, version)  # 3.0: a UTF-8 header


def read_npy_stream(
    stream: io.IOBase, allow_objects: bool, available: int, shape: tuple | None = None
) -> np.ndarray:
    """One array in .npy format from ``stream``, which holds at most ``available`` bytes.

    The header's shape is checked against ``shape`` and its byte size against ``available``
    before anything is allocated. Object arrays only when ``allow_objects``, and then through
    ``SafeUnpickler`` and a walk that bounds what the pickle holds.
    """
    declared, fortran_order, dtype = read_npy_header(stream)
    if any(size < 0 for size in declared):
        raise BoundsError(f"header declares a negative size {declared}")
    if dtype.hasobject and not allow_objects:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    if shape is not None and not _shape_fits(declared, shape):
        want = "(" + ",".join("N" if s is None else str(s) for s in shape) + ")"
        raise BoundsError(f"shape {declared} where {want} belongs")
    if dtype.hasobject:
        array = SafeUnpickler(stream).load()
        if not isinstance(array, np.ndarray) or array.shape != declared:
            raise ValueError("pickled data does not hold the array its header announces")
        check_pickled(array)
        return array
    size = math.prod(declared) * dtype.itemsize
    if size > available:
        # Checked before reading: a 100-byte file may not make this process allocate terabytes.
        raise EOFError(f"header declares {declared} {dtype}: {size:,} bytes in {available:,}")
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("array data is truncated")
    order = "F" if fortran_order else "C"
    return np.frombuffer(data, dtype=dtype).reshape(declared, order=order).copy()


def _shape_fits(declared, shape):
    return len(declared) == len(shape) and all(
        want is None or got == want for got, want in zip(declared, shape, strict=True)
    )


_LEAVES = (str, bytes, int, float, bool, complex, type(None), np.generic)


def check_pickled(value: object) -> None:
    """Walk what a pickle built; BoundsError past MAX_PICKLE_NODES visits or MAX_PICKLE_DEPTH
    levels, or on an object that is not a container, number, string or array."""
    pending = [(value, 0)]
    visited = 0
    while pending:
        item, depth = pending.pop()
        visited += 1
        if visited > MAX_PICKLE_NODES:
            raise BoundsError(f"pickle holds more than {MAX_PICKLE_NODES:,} objects")
        if depth > MAX_PICKLE_DEPTH:
            raise BoundsError(f"pickle nested deeper than {MAX_PICKLE_DEPTH} levels")
        if isinstance(item, dict):
            pending.extend((v, depth + 1) for v in (*item.keys(), *item.values()))
        elif isinstance(item, (list, tuple)):
            pending.extend((v, depth + 1) for v in item)
        elif isinstance(item, np.ndarray):
            if item.dtype.hasobject:
                if item.size > MAX_PICKLE_NODES:
                    raise BoundsError(f"pickle holds more than {MAX_PICKLE_NODES:,} objects")
                pending.extend((v, depth + 1) for v in item.flat)
        elif not isinstance(item, _LEAVES):
            raise BoundsError(f"pickle holds a {type(item).__name__}")


def write_npz(path: StrPath, arrays: Mapping[str, ArrayLike], compressed: bool) -> None:
    """Write {key: array} as an .npz in the given key order, atomically.

    Numeric arrays are stored as ``np.save`` stores them; object arrays are pickled (protocol 3,
    as numpy does) with numpy 1.x's global names.
    """
    compression = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with atomic_file(path) as handle, zipfile.ZipFile(handle, "w", compression) as archive:
        for key, value in arrays.items():
            array = np.asanyarray(value)
            member = io.BytesIO()
            if array.dtype.hasobject:
                npy_format.write_array_header_1_0(
                    member, npy_format.header_data_from_array_1_0(array)
                )
                _StablePickler(member, protocol=3).dump(array)
            else:
                npy_format.write_array(member, array, allow_pickle=False)
            # A fixed date keeps the archive's bytes a function of its contents (as np.savez).
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            archive.writestr(info, member.getvalue())


def object_array(items: Sequence) -> np.ndarray:
    """A 1-d object array of ``items`` (dicts stay dicts: np.array would try to nest them)."""
    array = np.empty(len(items), dtype=object)
    for index, item in enumerate(items):
        array[index] = item
    return array


def object_scalar(item: object) -> np.ndarray:
    """A 0-d object array holding ``item``."""
    array = np.empty((), dtype=object)
    array[()] = item
    return array
