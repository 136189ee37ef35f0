"""Opening files that may be hostile: regular files only, sizes bounded before reading.

A FIFO, a device (``/dev/zero``) or a socket put where a dataset file belongs would block a
reader or feed it without end; they are refused from ``stat`` before they are opened, and again
from ``fstat`` after (the name may have been swapped in between). Symbolic links are followed
to their target, which must itself be a regular file: a dataset linked from elsewhere works.
"""

import io
import os
import stat

from ..errors import DatasetError

# Largest text file read whole (dataset.json, shard.json, CamView text): real ones are kilobytes.
MAX_TEXT_BYTES = 16 * 2**20


def _kind(mode):
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _refuse(path, mode):
    return DatasetError(path, None, f"{_kind(mode)} where a regular file belongs; refused to read")


def open_regular(path: str | os.PathLike) -> io.BufferedReader:
    """A binary read handle on ``path``, a regular file (DatasetError for anything else)."""
    path = os.fspath(path)
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise DatasetError(path, None, "file is missing") from None
    except OSError as exc:
        raise DatasetError(path, None, f"cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(before.st_mode):
        raise _refuse(path, before.st_mode)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DatasetError(path, None, f"cannot read ({exc.strerror or exc})") from None
    # What was opened is what counts: a name swapped for a FIFO or a device in between is
    # refused here. A regular file renamed into place meanwhile (another writer's atomic
    # replace of dataset.json) is read as it now is: refusing it failed concurrent writers.
    after = os.fstat(fd)
    if not stat.S_ISREG(after.st_mode):
        os.close(fd)
        raise _refuse(path, after.st_mode)
    return os.fdopen(fd, "rb")


def file_size(handle: io.IOBase) -> int:
    return os.fstat(handle.fileno()).st_size


def read_bytes(path: str | os.PathLike, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The whole of a small regular file, refused when it is larger than ``limit``."""
    with open_regular(path) as handle:
        size = file_size(handle)
        if size > limit:
            raise DatasetError(path, None, f"{size:,} bytes; more than the {limit:,} allowed")
        data = handle.read(size + 1)  # not limit + 1: read() allocates what it is asked for
    if len(data) > size:  # it grew while being read
        raise DatasetError(path, None, "changed while being read")
    return data


def read_json(path: str | os.PathLike, limit: int = MAX_TEXT_BYTES) -> object:
    """A small JSON file: one DatasetError for unreadable, non-UTF-8, invalid or too deep JSON."""
    import json

    data = read_bytes(path, limit)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DatasetError(
            path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except RecursionError:
        raise DatasetError(path, None, "JSON nested too deeply") from None
    except ValueError as exc:
        raise DatasetError(path, None, f"not readable JSON ({exc})") from None
