"""One way to change settings of the scene for a while and put them back afterwards."""

import contextlib


def _snapshot(value):
    # Vectors, colours and property arrays are live views of the data: keep their values.
    if type(value).__module__ == "mathutils" or type(value).__name__ == "bpy_prop_array":
        return tuple(value)
    return value


class SavedSettings:
    """Values of (owner, attribute) pairs read before they change; ``restore`` puts back those
    that differ then, in the order they were read (Blender 5.0's ``media_type`` before
    ``file_format``, an image format before its colour depth)."""

    def __init__(self, kept=()):
        self._saved = []
        self.keep(kept)

    def keep(self, kept):
        """Read ``(owner, attribute names)`` pairs now; names the owner lacks (another Blender
        version, another engine) are skipped; a value read once is not read again."""
        for owner, names in kept:
            for name in names:
                if hasattr(owner, name) and not self._has(owner, name):
                    self._saved.append((owner, name, _snapshot(getattr(owner, name))))

    def set(self, changes):
        """Keep every ``(owner, attribute, value)`` triple's setting, then set them in order.
        (All are read first: setting one may change another, as an image format its depth.)"""
        changes = list(changes)
        self.keep([(owner, (name,)) for owner, name, _ in changes])
        for owner, name, value in changes:
            setattr(owner, name, value)

    def restore(self):
        saved, self._saved = self._saved, []
        for owner, name, value in saved:
            if _snapshot(getattr(owner, name)) != value:
                setattr(owner, name, value)

    def _has(self, owner, name):
        return any(o == owner and n == name for o, n, _ in self._saved)


@contextlib.contextmanager
def changed(changes=(), kept=()):
    """Within the block, ``changes`` are set (see ``SavedSettings.set``); afterwards they and the
    ``kept`` settings are as before, also after an error."""
    saved = SavedSettings(kept)
    try:
        saved.set(changes)
        yield saved
    finally:
        saved.restore()
