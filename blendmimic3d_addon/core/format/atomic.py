"""Atomic writes: write aside, then rename, so a failure or a cancel never leaves half a file
or half a dataset, and never destroys an older one."""

import contextlib
import os
import re
import shutil
import socket
import tempfile

from ..errors import DatasetError


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
    and ``path`` is left as it was. What an earlier, killed run left is tidied first
    (``recover_interrupted``).
    """
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    recover_interrupted(path)
    if os.path.exists(path) and not overwrite:
        raise DatasetError(path, None, "already exists; choose another folder or allow overwrite")
    stage = tempfile.mkdtemp(prefix=_hidden_prefix(path), suffix=".staging", dir=parent)
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
            prefix=_hidden_prefix(path), suffix=".old", dir=os.path.dirname(path)
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


def _host():
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())


def _hidden_prefix(path):
    """Hidden folders beside a target name their maker: ``.<name>.<host>-<pid>.``."""
    return f".{os.path.basename(path)}.{_host()}-{os.getpid()}."


def recover_interrupted(path):
    """Tidy what a killed run left beside ``path``: the hidden folders of a process of this host
    that is gone. An older folder moved aside for a new one that never took its place comes back
    to ``path``; an older folder already replaced, and staging folders, are removed. Folders of
    live processes, and of other hosts (a shared disk), are left alone. Returns their names."""
    path = os.path.abspath(os.fspath(path))
    parent, base = os.path.split(path)
    if not os.path.isdir(parent):
        return []
    prefix = f".{base}."
    gone = [
        name
        for name in sorted(os.listdir(parent))
        if name.startswith(prefix) and name.endswith((".old", ".staging"))
        and _owner_gone(name[len(prefix) :].split(".", 1)[0])
    ]  # fmt: skip
    olds = [name for name in gone if name.endswith(".old")]
    restored = None
    if olds and not os.path.exists(path):  # killed between moving it aside and the new one in
        restored = max(olds, key=lambda name: os.path.getmtime(os.path.join(parent, name)))
        os.replace(os.path.join(parent, restored), path)
    for name in gone:
        if name != restored:
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    return gone


def _owner_gone(owner):
    """Whether ``<host>-<pid>`` names a process of this host that no longer runs."""
    host, _, pid = owner.rpartition("-")
    if not pid.isdigit() or host != _host():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
