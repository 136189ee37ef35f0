"""Checks and small I/O helpers shared by the subject-file readers and writers."""

import io
from collections.abc import Iterable, Mapping

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..errors import DatasetError
from .atomic import atomic_file
from .paths import StrPath, cam_key


def check_array(
    path: StrPath | None,
    field: str | None,
    array: np.ndarray,
    shape: tuple,
    kind: str = "f",
    finite: bool = True,
) -> np.ndarray:
    """Raise DatasetError unless ``array`` has ``shape`` (None = any size), dtype kind ``kind``
    ('f' float, 'iu' integer) and, for floats, only finite values."""
    array = np.asarray(array)
    if array.dtype.kind not in kind:
        raise DatasetError(path, field, f"dtype {array.dtype} where {_kind_name(kind)} belongs")
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


def require_keys(path: StrPath, arrays: Mapping[str, np.ndarray], keys: Iterable[str]) -> None:
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DatasetError(path, missing[0], "missing key")


def cam_arrays(
    path: StrPath, arrays: Mapping[str, np.ndarray], shape: tuple, kind: str = "f"
) -> list[np.ndarray]:
    """Cam_0, Cam_1, ... in order; every other key is an error."""
    keys = list(arrays)
    expected = [cam_key(i) for i in range(len(keys))]
    if keys != expected or not keys:
        raise DatasetError(path, None, f"keys {keys} where {expected or ['Cam_0', '...']} belong")
    return [check_array(path, key, arrays[key], shape, kind) for key in keys]


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
    try:
        with open(path, "rb") as handle:
            return np.loadtxt(handle, dtype=np.float64, ndmin=2)
    except FileNotFoundError:
        raise DatasetError(path, None, "file is missing") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, None, f"not a numeric text matrix ({exc})") from None
