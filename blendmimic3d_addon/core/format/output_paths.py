"""Checking where a command is told to write one file, before any work is done."""

import os

from ..errors import DatasetError


def check_output_file(
    out: str | os.PathLike,
    suffix: str,
    source: str | os.PathLike | None = None,
    in_place: bool = False,
) -> str:
    """``out`` as a file path a command may write: it ends in ``suffix``, its folder exists and
    is writable, it is not a folder or another non-regular file, and it is not ``source`` (the
    input) unless ``in_place``. Raises one DatasetError naming the path otherwise."""
    out = os.fspath(out)
    if not out.strip():
        raise DatasetError(None, "--out", "empty; give a file name")
    if os.path.isdir(out):
        raise DatasetError(out, None, "is a folder; give a file name")
    if not out.endswith(suffix):
        raise DatasetError(out, None, f"must end in {suffix} like IN (written in IN's layout)")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.exists(folder):
        parent = _existing_ancestor(folder)
        if not os.path.isdir(parent):
            raise DatasetError(parent, None, "is not a folder")
        raise DatasetError(folder, None, "folder does not exist")
    if not os.path.isdir(folder):
        raise DatasetError(folder, None, "is not a folder")
    if not os.access(folder, os.W_OK):
        raise DatasetError(folder, None, "folder is not writable")
    if os.path.lexists(out) and not os.path.isfile(out):
        raise DatasetError(out, None, "exists and is not a regular file")
    same = source is not None and os.path.exists(source) and os.path.exists(out)
    if same and os.path.samefile(source, out):
        if not in_place:
            raise DatasetError(out, None, "is IN itself; pass --in-place to replace IN")
    return out


def _existing_ancestor(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path
