"""Put a subject folder and its ``dataset.json`` entry in place together.

Order (issue 11): the root's manifest is read and checked, and the new one written aside, before
the staged subject replaces the older one; the manifest is renamed into place last. A manifest
that cannot be read, or belongs to another tool, therefore stops the run with the older subject
and manifest as they were. The whole step holds the root's lock, so that an export and a merge
finishing together each keep the other's entry.
"""

import contextlib
import os

from .. import __version__
from . import manifest
from .atomic import atomic_file, staged_dir
from .lock import root_lock


@contextlib.contextmanager
def staged_subject(root, name, overwrite=False, entry=None):
    """``staged_dir`` for folder ``name`` of dataset folder ``root``.

    ``entry``: None (a shard folder: no manifest), or a callable returning ``(subject,
    subject_entry, fps)`` once the stage is complete, for ``root/dataset.json``. Its manifest is
    also checked up front, so that a foreign one stops the run before any work.
    """
    root = os.path.abspath(os.fspath(root))
    if entry is not None:
        manifest.read_manifest(root)

    def publish(put_in_place):
        with root_lock(root):
            if entry is None:
                put_in_place()
                return
            text = _manifest_text(root, *entry())
            with atomic_file(manifest.manifest_path(root), "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
                put_in_place()  # the last step that can fail before the manifest's rename

    with staged_dir(os.path.join(root, name), overwrite, publish) as stage:
        yield stage


def _manifest_text(root, subject, subject_entry, fps):
    """``root/dataset.json`` with ``subject``'s entry put in, the other subjects kept."""
    current = manifest.read_manifest(root)
    subjects = dict(current["subjects"]) if current else {}
    subjects[subject] = subject_entry
    return manifest.manifest_text(manifest.build_manifest(subjects, fps, __version__))
