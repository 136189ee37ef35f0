"""Checks and small I/O helpers shared by the subject-file readers and writers."""

import io
from collections.abc import Iterable, Mapping

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..errors import DatasetError
from .atomic import atomic_file
from .paths import StrPath, cam_key
from .safe_open import read_bytes


def check_array(
    path: StrPath | None,
    field: str | None,
    array: np.ndarray,
    shape: tuple,
    kind: str = "f",
    finite: bool = True,
    dtype: np.dtype | None = None,
) -> np.ndarray:
    """Raise DatasetError unless ``array`` has ``shape`` (None = any size), dtype kind ``kind``
    ('f' float, 'iu' integer) or exactly ``dtype`` (byte order included) and, for floats, only
    finite values."""
    array = np.asarray(array)
    if array.dtype.kind not in kind:
        raise DatasetError(path, field, f"dtype {array.dtype} where {_kind_name(kind)} belongs")
    if dtype is not None and array.dtype != np.dtype(dtype):
        want = np.dtype(dtype)
        reason = f"dtype {array.dtype.str} where {want.str} ({want}) belongs"
        raise DatasetError(path, field, reason)
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=False)
    ):
        want = "(" + ",".join("N" if s is None else str(s) for s in shape) + ")"
        raise DatasetError(path, field, f"shape {array.shape} where {want} belongs")
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = tuple(np.argwhere(~np.isfinite(array))[0].tolist())
        raise DatasetError(path, field, f"non-finite value (NaN or inf) at index {bad}")
    return array


def _kind_name(kind):
    return {"f": "a float array", "iu": "an integer array"}.get(kind, kind)


def require_keys(
    path: StrPath, arrays: Mapping[str, np.ndarray], keys: Iterable[str], exact: bool = False
) -> None:
    """Every key of ``keys`` present; with ``exact``, no other."""
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DatasetError(path, missing[0], "missing key")
    extra = [k for k in arrays if k not in keys]
    if exact and extra:
        raise DatasetError(path, extra[0], f"unexpected member; the file holds {', '.join(keys)}")


def cam_arrays(
    path: StrPath,
    arrays: Mapping[str, np.ndarray],
    shape: tuple,
    kind: str = "f",
    dtype: np.dtype | None = None,
) -> list[np.ndarray]:
    """Cam_0, Cam_1, ... in order; every other key is an error."""
    keys = list(arrays)
    expected = [cam_key(i) for i in range(len(keys))]
    if keys != expected or not keys:
        raise DatasetError(path, None, f"keys {keys} where {expected or ['Cam_0', '...']} belong")
    return [check_array(path, key, arrays[key], shape, kind, dtype=dtype) for key in keys]


def as_array(array: ArrayLike, dtype: DTypeLike, shape: tuple, field: str) -> np.ndarray:
    """Writer-side check: programming errors raise ValueError before anything is written."""
    array = np.asarray(array)
    try:
        return check_array(None, field, array, shape, kind="fiu").astype(dtype, copy=False)
    except DatasetError as exc:
        raise ValueError(exc.message) from None


def write_savetxt(path: StrPath, matrix: np.ndarray) -> None:
    """np.savetxt's default text ('%.18e', space separated), written atomically."""
    buffer = io.BytesIO()
    np.savetxt(buffer, matrix)
    with atomic_file(path) as handle:
        handle.write(buffer.getvalue())


def read_text(path: StrPath) -> np.ndarray:
    data = read_bytes(path)  # a regular file of bounded size
    try:
        # np.savetxt writes ASCII; read as Latin-1, a stray byte such as 0xA0 would pass as a
        # space and a changed file as the same numbers.
        return np.loadtxt(io.StringIO(data.decode("ascii")), dtype=np.float64, ndmin=2)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, None, f"not a numeric text matrix ({exc})") from None
