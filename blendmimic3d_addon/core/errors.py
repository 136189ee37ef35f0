"""The one error type users see: it names the file and the field, and says what is wrong."""

import os


class DatasetError(Exception):
    """Bad input or output: ``<file>: <field>: <reason>``, shown as one line, never a traceback."""

    def __init__(self, path, field, reason):
        self.path = os.fspath(path) if path is not None else None
        self.field = field
        self.reason = reason
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [p for p in (self.path, self.field) if p]
        return ": ".join([*parts, self.reason])
