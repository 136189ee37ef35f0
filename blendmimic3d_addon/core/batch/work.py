"""Where a batch run puts things, what is complete, and the dataset's manifest at the end.

    <out>/dataset/dataset.json      written by ``finish`` from the records, subjects in recipe order
    <out>/dataset/<S>/...           each subject's data and Videos/ (renamed in when complete)
    <out>/scenes/<S>.blend          the subject's scene, reopening to what was exported
    <out>/scenes/<S>.json           the record: plan and manifest entry; written last, so a
                                    subject is complete exactly when its record exists
    <out>/.work/                    staging folders of subjects being made (hidden, removed after)

Every file is written aside and renamed in, so a killed process leaves no half-written file where
a complete one is expected; the next run redoes a subject without a record.
"""

import json
import os

from .. import __version__
from ..errors import DatasetError
from ..format import manifest
from ..format.atomic import atomic_file

DATASET_DIR = "dataset"
SCENES_DIR = "scenes"
WORK_DIR = ".work"
MAX_RECORD_BYTES = 64 << 20


def dataset_dir(out):
    return os.path.join(out, DATASET_DIR)


def subject_dir(out, name):
    return os.path.join(out, DATASET_DIR, name)


def blend_path(out, name):
    return os.path.join(out, SCENES_DIR, f"{name}.blend")


def record_path(out, name):
    return os.path.join(out, SCENES_DIR, f"{name}.json")


def work_dir(out):
    return os.path.join(out, WORK_DIR)


def is_complete(out, name):
    return os.path.isfile(record_path(out, name)) and os.path.isdir(subject_dir(out, name))


def write_record(out, name, plan, entry, fps):
    record = {"subject": name, "fps": float(fps), "plan": plan, "entry": entry}
    with atomic_file(record_path(out, name), "w") as handle:
        handle.write(json.dumps(record, indent=1, allow_nan=False) + "\n")


def read_record(out, name):
    path = record_path(out, name)
    if not os.path.isfile(path) or os.path.getsize(path) > MAX_RECORD_BYTES:
        raise DatasetError(path, None, "missing or too large: the subject is not complete")
    try:
        with open(path) as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DatasetError(path, None, f"unreadable ({exc})") from None
    for key in ("subject", "fps", "entry"):
        if key not in record:
            raise DatasetError(path, key, "missing key")
    if record["subject"] != name:
        raise DatasetError(path, "subject", f"{record['subject']!r}, expected {name!r}")
    return record


def finish(out, names):
    """Write ``dataset/dataset.json`` listing ``names`` (in this order) from their records.
    Every one must be complete; the message names the first that is not."""
    missing = [n for n in names if not is_complete(out, n)]
    if missing:
        raise DatasetError(
            out, "subjects", f"{len(missing)} of {len(names)} not complete, for instance "
            f"{missing[0]}: run generate again (it does only what is missing)",
        )  # fmt: skip
    records = [read_record(out, n) for n in names]
    rates = {r["fps"] for r in records}
    if len(rates) > 1:
        raise DatasetError(out, "fps", f"subjects at different frame rates: {sorted(rates)}")
    subjects = {r["subject"]: r["entry"] for r in records}
    fps = records[0]["fps"] if records else 30.0
    manifest.write_manifest(dataset_dir(out), manifest.build_manifest(subjects, fps, __version__))
    return manifest.manifest_path(dataset_dir(out))
