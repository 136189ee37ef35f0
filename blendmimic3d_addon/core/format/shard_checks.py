"""The shape of ``shard.json`` (written by ``export --shard``, read by ``merge``), checked field
by field so that a hand-edited or foreign file gives one line naming the field."""

import os

from ..errors import DatasetError
from . import json_checks as jc
from .manifest import check_subject_entry

SHARD_KEYS = ("subject", "shard", "of", "units", "plan", "persons", "fps", "subject_entry")


def check_shard_manifest(path: str | os.PathLike, info: object) -> None:
    jc.expect(path, None, info, dict)
    for key in SHARD_KEYS:
        if key not in info:
            raise DatasetError(path, key, "missing key")
    jc.expect(path, "subject", info["subject"], str)
    of = jc.integer(path, "of", info["of"], minimum=1)
    shard = jc.integer(path, "shard", info["shard"], minimum=1)
    if shard > of:
        raise DatasetError(path, "shard", f"{shard} is more than of ({of})")
    for key in ("units", "plan"):
        for index, unit in enumerate(jc.expect(path, key, info[key], list)):
            _check_unit(path, f"{key}[{index}]", unit)
    persons = jc.expect(path, "persons", info["persons"], list)
    if not persons:
        raise DatasetError(path, "persons", "expected a non-empty list")
    for index, name in enumerate(persons):
        jc.expect(path, f"persons[{index}]", name, str)
    jc.number(path, "fps", info["fps"], positive=True)
    check_subject_entry(path, "subject_entry", info["subject_entry"])


def _check_unit(path, field, unit):
    """One (action, camera, frames) unit: [name, camera index, frame count]."""
    jc.expect(path, field, unit, list)
    if len(unit) != 3:
        raise DatasetError(
            path, field, f"expected [action, camera, frames], found {jc.describe(unit)}"
        )
    jc.expect(path, f"{field}[0]", unit[0], str)
    jc.integer(path, f"{field}[1]", unit[1], minimum=0)
    jc.integer(path, f"{field}[2]", unit[2], minimum=1)
