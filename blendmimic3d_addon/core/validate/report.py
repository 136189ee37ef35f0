"""The problem list that ``validate`` fills, and how unknown files are reported."""

import dataclasses
import os
import re
from collections.abc import Iterable

from ..errors import DatasetError
from ..format.paths import StrPath

# What the atomic writers leave behind when they are killed (core/atomic.py's names).
TEMPORARY = re.compile(r"^\..*\.(part|staging|old)$")


@dataclasses.dataclass
class Report:
    problems: list = dataclasses.field(default_factory=list)  # "file: field: reason" lines
    subjects: dict = dataclasses.field(default_factory=dict)  # name: summary line

    def add(self, path: StrPath | None, field: str | None, reason: str) -> None:
        self.problems.append(DatasetError(path, field, reason).message)

    def add_error(self, error: DatasetError) -> None:
        self.problems.append(error.message)

    @property
    def ok(self) -> bool:
        return not self.problems

    def unexplained(self, path: StrPath) -> None:
        if TEMPORARY.match(os.path.basename(path)):
            self.add(path, None, "leftover of an interrupted write; remove it")
        else:
            self.add(path, None, "unexpected file or folder, not part of the format")

    def explain(self, folder: StrPath, known: Iterable[str]) -> None:
        """Report every entry of ``folder`` that is not in ``known``."""
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                if name not in known:
                    self.unexplained(os.path.join(folder, name))
