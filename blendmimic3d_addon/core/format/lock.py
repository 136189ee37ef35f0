"""One writer at a time in a dataset root: exports and merges that finish together must each
keep the other's ``dataset.json`` entry (read, change, write is not atomic on its own).

The lock is an advisory ``flock`` on the root folder itself (no lock file to leave behind), held
only while a subject is put in place and the manifest rewritten: seconds at most, so a waiting
writer just waits. Where ``fcntl`` is missing (Windows) a ``.dataset.lock`` file in the root is
locked with ``msvcrt`` instead.
"""

import contextlib
import os
import time

from ..errors import DatasetError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK_FILE = ".dataset.lock"


@contextlib.contextmanager
def root_lock(root):
    """Hold the exclusive lock of dataset folder ``root`` (created if missing) in the block."""
    root = os.path.abspath(os.fspath(root))
    os.makedirs(root, exist_ok=True)
    if fcntl is None:
        with _windows_lock(root):
            yield
        return
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:  # a file system without locks: say so rather than risk a loss
            raise DatasetError(root, None, f"cannot be locked ({exc.strerror})") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _windows_lock(root):
    import msvcrt

    with open(os.path.join(root, LOCK_FILE), "a+b") as handle:
        handle.seek(0)  # the lock covers the first byte; the file stays empty
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                break
            except OSError:
                time.sleep(0.05)
        try:
            yield
        finally:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
