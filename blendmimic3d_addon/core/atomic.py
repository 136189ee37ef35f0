"""Atomic writes: write aside, then rename, so a failure or a cancel never leaves half a file
or half a dataset, and never destroys an older one."""

import contextlib
import os
import shutil
import tempfile

from .errors import DatasetError


@contextlib.contextmanager
def atomic_file(path, mode="wb"):
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def staged_dir(path, overwrite=False):
    """Yield a staging folder beside ``path``; on success it takes the place of ``path``.

    An existing ``path`` is kept until the new folder is complete, and only replaced when
    ``overwrite`` is true. On any exception (a cancel included) the staging folder is removed
    and ``path`` is left as it was.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise DatasetError(path, None, "already exists; choose another folder or allow overwrite")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".staging", dir=parent)
    try:
        yield stage
        replace_dir(stage, path)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def replace_dir(new, path):
    """Put folder ``new`` at ``path``; an older ``path`` is moved aside first and removed last."""
    old = None
    if os.path.exists(path):
        old = tempfile.mkdtemp(
            prefix=f".{os.path.basename(path)}.", suffix=".old", dir=os.path.dirname(path)
        )
        os.rmdir(old)
        os.replace(path, old)
    try:
        os.replace(new, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
