"""Atomic writes: write aside, then rename, so a failure or a cancel never leaves half a file
or half a dataset, and never destroys an older one.

Modes: what is written is readable as the user's umask allows (``tempfile`` makes 0600 files
and 0700 folders, which would otherwise survive the rename); a file written over an existing
one keeps that file's mode. Targets: a symbolic link is written through to what it points at
(the link stays); a target that exists but is not a regular file (a device, a FIFO, a socket, a
folder where a file is meant, a dangling link) is refused, never replaced.
"""

import contextlib
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import IO

from ..errors import DatasetError
from .paths import StrPath


def current_umask():
    """The process's umask, read without changing it where /proc tells it (other threads may be
    creating files); else set and restored at once."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(folder=False):
    """The mode ``open``/``mkdir`` would give a new file or folder under the current umask."""
    return (0o777 if folder else 0o666) & ~current_umask()


def write_target(path, folder=False):
    """The path to replace for a write to ``path``: ``path`` itself, or for a symbolic link what
    it points at. Raises ``DatasetError`` for an existing target of another kind (a device, a
    FIFO, a dangling link, a file where a folder is meant or the reverse)."""
    path = os.path.abspath(os.fspath(path))
    if os.path.islink(path):
        link, path = path, os.path.realpath(path)
        if not os.path.lexists(path):
            raise DatasetError(link, None, "is a link to nothing; nothing written")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return path
    wanted = stat.S_ISDIR if folder else stat.S_ISREG
    if not wanted(info.st_mode):
        kind = "a folder" if folder else "a regular file"
        raise DatasetError(path, None, f"exists and is not {kind}; nothing written")
    return path


@contextlib.contextmanager
def atomic_file(path: StrPath, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename.

    A link is written through (``write_target``); the file gets the replaced file's mode, or the
    umask's default for a new one."""
    path = write_target(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
    try:
        os.chmod(tmp, _mode_of(path, default_mode()))  # by name: Windows has no fchmod
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
def staged_dir(
    path: StrPath, overwrite: bool = False, publish: Callable | None = None
) -> Iterator[str]:
    """Yield a staging folder beside ``path``; on success it takes the place of ``path``.

    An existing ``path`` is kept until the new folder is complete, and only replaced when
    ``overwrite`` is true. On any exception (a cancel included) the staging folder is removed
    and ``path`` is left as it was. What an earlier, killed run left is tidied first
    (``recover_interrupted``). ``publish(put_in_place)``, if given, is called instead of putting
    the folder in place itself: it prepares what must change with it (a manifest), under a lock,
    and calls ``put_in_place()`` once nothing else can fail.
    """
    path = write_target(path, folder=True)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    recover_interrupted(path)
    _refuse_existing(path, overwrite)
    stage = make_stage_dir(path)

    def put_in_place():
        _refuse_existing(path, overwrite)  # another run may have made it meanwhile
        replace_dir(stage, path)

    try:
        yield stage
        (publish or _call)(put_in_place)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _refuse_existing(path, overwrite):
    if os.path.exists(path) and not overwrite:
        raise DatasetError(path, None, "already exists; choose another folder or allow overwrite")


def _call(function):
    function()


def make_stage_dir(path, suffix=".staging"):
    """A hidden folder beside ``path`` named for this process, with the mode ``path`` has (or
    the umask's default): ``mkdtemp``'s 0700 must not become the dataset's."""
    stage = tempfile.mkdtemp(prefix=_hidden_prefix(path), suffix=suffix, dir=os.path.dirname(path))
    os.chmod(stage, _mode_of(path, default_mode(folder=True)))
    return stage


def _mode_of(path, default):
    """The permission bits of ``path`` if it exists, else ``default``."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return default


def replace_dir(new: StrPath, path: StrPath) -> None:
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


def recover_interrupted(path: StrPath) -> list[str]:
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
