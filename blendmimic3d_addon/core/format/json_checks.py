"""Checking JSON a user or another tool may have written (dataset.json, shard.json).

Each check names the file and the dotted field, and says what was expected and what was found
(described in a bounded length), so any malformed shape gives one line instead of a
``KeyError`` or ``TypeError`` deep inside a reader.
"""

import math
import os
import reprlib

from ..errors import DatasetError

Path = str | os.PathLike
_TYPES = {dict: "an object", list: "a list", str: "a string"}


def describe(value: object) -> str:
    """A short description of a JSON value: its type and a bounded repr."""
    kind = {bool: "boolean", dict: "object", list: "list", str: "string", type(None): "null"}
    return f"{kind.get(type(value), type(value).__name__)} {reprlib.repr(value)}"


def expect(path: Path, field: str | None, value: object, kind: type) -> object:
    """``value`` when it is a ``kind`` (dict, list or str), else one DatasetError."""
    if not isinstance(value, kind):
        raise DatasetError(path, field, f"expected {_TYPES[kind]}, found {describe(value)}")
    return value


def member(
    path: Path, field: str | None, container: dict, key: str, kind: type | None = None
) -> object:
    """``container[key]`` (checked to be a ``kind`` when given); a missing key is named."""
    name = f"{field}.{key}" if field else key
    if key not in container:
        raise DatasetError(path, name, "missing field")
    value = container[key]
    return expect(path, name, value, kind) if kind else value


def integer(path: Path, field: str, value: object, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DatasetError(path, field, f"{reprlib.repr(value)} is not an integer")
    if minimum is not None and value < minimum:
        raise DatasetError(path, field, f"{value} is below {minimum}")
    return value


def number(path: Path, field: str, value: object, positive: bool = False) -> float:
    """A finite JSON number (Python's json reads Infinity, NaN and 1e999 as floats)."""
    finite = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        finite = finite and math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        raise DatasetError(path, field, f"{reprlib.repr(value)} is not a finite number")
    if positive and not value > 0:
        raise DatasetError(path, field, f"{value!r} is not a positive number")
    return value


def matrix(path: Path, field: str, value: object, rows: int, cols: int) -> list:
    """A rows x cols list of lists of finite numbers."""
    expect(path, field, value, list)
    if len(value) != rows:
        raise DatasetError(path, field, f"expected {rows} rows, found {len(value)}")
    for index, row in enumerate(value):
        expect(path, f"{field}[{index}]", row, list)
        if len(row) != cols:
            raise DatasetError(path, f"{field}[{index}]", f"expected {cols} numbers")
        for column, item in enumerate(row):
            number(path, f"{field}[{index}][{column}]", item)
    return value
