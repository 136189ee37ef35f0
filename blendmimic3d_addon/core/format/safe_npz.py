"""Reading and writing .npz archives without trusting them.

Numeric members are read with pickling refused. The only pickled members the format has (the two
camera-parameter objects, and VideoPose3D's dicts) go through ``SafeUnpickler``, which can build
dicts, lists, numbers, strings and numpy arrays and nothing else, so a crafted file cannot run
code. Every failure becomes one ``DatasetError`` naming the file and the member.
"""

import io
import os
import pickle
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, NoReturn

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import ArrayLike

from ..errors import DatasetError
from .atomic import atomic_file
from .paths import StrPath

# The callables numpy's array pickles name, taken from numpy itself so that they are found under
# either spelling of their module (numpy.core before numpy 2, numpy._core since).
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
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
)


class SafeUnpickler(pickle.Unpickler):
    """Unpickles plain containers, numbers, strings and numpy arrays; refuses any other global."""

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


def read_npz(path: StrPath, pickled: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """All members of an .npz, in archive order: {key: array}.

    Members named in ``pickled`` may hold object arrays (read through ``SafeUnpickler``);
    any other member holding pickled objects is refused.
    """
    path = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise DatasetError(path, None, "file is missing") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DatasetError(path, None, f"not a readable .npz archive ({exc})") from None
    arrays = {}
    with archive:
        for info in archive.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if key == info.filename:
                raise DatasetError(path, key, "unexpected member: not a .npy array")
            arrays[key] = _read_member(archive, info, path, key, key in pickled)
    return arrays


def _read_member(archive, info, path, key, allow_objects):
    try:
        with archive.open(info) as stream:
            array = read_npy_stream(stream, allow_objects)
            stream.read()  # reach the end so that the zip's CRC check runs
        return array
    except UNTRUSTED_ERRORS as exc:
        raise _bad_input(path, key, exc) from None


def read_npy(path: StrPath, allow_objects: bool = False) -> np.ndarray:
    """One .npy file, checked as ``read_npz`` checks a member."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            return read_npy_stream(stream, allow_objects)
    except FileNotFoundError:
        raise DatasetError(path, None, "file is missing") from None
    except UNTRUSTED_ERRORS as exc:
        raise _bad_input(path, None, exc) from None


def _bad_input(path, key, exc):
    if isinstance(exc, ValueError) and "allow_pickle" in str(exc):
        reason = "holds pickled objects where a numeric array belongs; refused to unpickle"
        return DatasetError(path, key, reason)
    return DatasetError(path, key, f"corrupt, truncated or unsafe array ({exc})")


def read_npy_stream(stream: IO[bytes], allow_objects: bool) -> np.ndarray:
    """One array in .npy format from ``stream``; object arrays only when ``allow_objects``,
    and then through ``SafeUnpickler``."""
    if not allow_objects:
        return npy_format.read_array(stream, allow_pickle=False)
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = npy_format.read_array_header_1_0(stream)
    else:
        shape, fortran_order, dtype = npy_format.read_array_header_2_0(stream)
    if dtype.hasobject:
        array = SafeUnpickler(stream).load()
        if not isinstance(array, np.ndarray) or array.shape != shape:
            raise ValueError("pickled data does not hold the array its header announces")
        return array
    size = int(np.prod(shape)) * dtype.itemsize
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("array data is truncated")
    order = "F" if fortran_order else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


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
