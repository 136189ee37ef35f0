"""Sharded exports: split the work by action and camera, write each part apart, merge them.

A render farm or a job array runs ``export --shard K/N`` for K = 1..N on the same scene. Every
shard plans the same (action, camera) units from the same scene, so the shards agree on who does
what without talking to each other. Each shard writes ``<subject>.shard-K-of-N/``: the cameras,
``shard.json`` and one file per unit; ``merge`` checks that the shards cover every unit exactly
once and writes the subject folder in the published layout.

Also here, because export and merge both use it: ``write_take``, all files of one take from the
arrays of every person.
"""

import json
import os
import re
import shutil

import numpy as np

from .. import __version__
from ..errors import DatasetError
from ..occlusion.labels import LABEL_DTYPE
from . import dataset_io, manifest
from .atomic import atomic_file, staged_dir
from .safe_npz import read_npz, write_npz
from .safe_open import read_json
from .shard_checks import check_shard_manifest

SHARD_FILE = "shard.json"
_SHARD_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text):
    """``"K/N"`` (1 <= K <= N) -> (K, N); DatasetError otherwise."""
    match = _SHARD_SPEC.match(str(text))
    if not match:
        raise DatasetError(None, "--shard", f"{text!r} is not K/N (for instance 2/8)")
    k, n = int(match.group(1)), int(match.group(2))
    if not 1 <= k <= n:
        raise DatasetError(None, "--shard", f"{text!r}: K must be between 1 and N")
    return k, n


def plan_units(action_frames, cameras):
    """Every (action, camera) unit with its frame count, in a fixed order.

    action_frames: {action: frame count}, in export order; cameras: camera indices.
    """
    return [(action, c, int(frames)) for action, frames in action_frames.items() for c in cameras]


def assign_units(units, n):
    """Split ``units`` into ``n`` shards of near-equal frame counts (longest first, each to the
    least loaded shard; ties to the lowest index). Returns one list of units per shard."""
    loads = [0] * n
    shards = [[] for _ in range(n)]
    order = sorted(range(len(units)), key=lambda i: (-units[i][2], i))
    for i in order:
        target = min(range(n), key=lambda s: (loads[s], s))
        shards[target].append(units[i])
        loads[target] += units[i][2]
    return [sorted(shard, key=units.index) for shard in shards]


def shard_dir_name(subject, k, n):
    return f"{subject}.shard-{k}-of-{n}"


def cameras_by_action(units):
    """{action: [camera indices]} of ``units``, actions in first-seen order."""
    out = {}
    for action, camera, _ in units:
        out.setdefault(action, []).append(camera)
    return out


# ---- what one take writes ----------------------------------------------------------------------


def write_take(subject_dir, action, names, positions_3d, positions_2d, types):
    """All files of one take from every person's arrays.

    positions_3d (N,P,17,3); positions_2d and types: one per camera in dataset order, (N,P,17,2)
    and (N,P,17). Person 0 goes to the published files, everyone to Persons/ when P > 1.
    """
    positions_2d = [np.asarray(uv) for uv in positions_2d]
    types = [np.asarray(t, dtype=LABEL_DTYPE) for t in types]
    persons = dataset_io.Persons(
        list(names),
        np.asarray(positions_3d).transpose(1, 0, 2, 3),
        [uv.transpose(1, 0, 2, 3) for uv in positions_2d],
        [t.transpose(1, 0, 2) for t in types],
    )
    dataset_io.write_action(
        subject_dir,
        action,
        np.asarray(positions_3d)[:, 0],
        [uv[:, 0] for uv in positions_2d],
        types_by_cam=[t[:, 0] for t in types],
        persons=persons,
    )


# ---- a shard's own files -----------------------------------------------------------------------


def _unit_path(shard_dir, action, camera):
    return os.path.join(shard_dir, "units", action, f"Cam_{camera}.npz")


def _take_path(shard_dir, action):
    return os.path.join(shard_dir, "units", action, "positions_3d.npz")


def write_shard_take(shard_dir, action, positions_3d, positions_2d_by_cam, types_by_cam):
    """One take of a shard: 3D (N,P,17,3) and {camera: 2D (N,P,17,2)}, {camera: codes}."""
    write_npz(_take_path(shard_dir, action), {"positions_3d": positions_3d}, compressed=True)
    for camera, uv in positions_2d_by_cam.items():
        arrays = {"positions_2d": uv, "types": np.asarray(types_by_cam[camera], LABEL_DTYPE)}
        write_npz(_unit_path(shard_dir, action, camera), arrays, compressed=True)


def write_shard_manifest(
    shard_dir, subject, k, n, units, all_units, person_names, subject_entry, fps
):
    """shard.json: who did what, and the subject's ``dataset.json`` entry for the merge."""
    info = {
        "subject": subject,
        "shard": k,
        "of": n,
        "units": [[a, c, f] for a, c, f in units],
        "plan": [[a, c, f] for a, c, f in all_units],
        "persons": list(person_names),
        "fps": fps,
        "subject_entry": subject_entry,
    }
    with atomic_file(os.path.join(shard_dir, SHARD_FILE), "w") as handle:
        json.dump(info, handle, indent=1)


def read_shard_manifest(shard_dir):
    path = os.path.join(shard_dir, SHARD_FILE)
    if not os.path.lexists(path):
        raise DatasetError(path, None, "missing: not the folder of an export --shard run")
    info = read_json(path)
    check_shard_manifest(path, info)
    info["units"] = [tuple(u) for u in info["units"]]
    info["plan"] = [tuple(u) for u in info["plan"]]
    return info


# ---- merge -------------------------------------------------------------------------------------


def merge(shard_dirs, out_dir, overwrite=False, keep_shards=False):
    """Write ``out_dir/<subject>`` and update ``out_dir/dataset.json`` from all shards' folders,
    then remove the shard folders (unless ``keep_shards``). Returns the subject folder."""
    if not shard_dirs:
        raise DatasetError(None, "shards", "no shard folder given")
    infos = [read_shard_manifest(d) for d in shard_dirs]
    first = infos[0]
    owner = {}
    for shard_dir, info in zip(shard_dirs, infos, strict=True):
        path = os.path.join(shard_dir, SHARD_FILE)
        for key in ("subject", "of", "plan", "persons", "fps"):
            if info[key] != first[key]:
                raise DatasetError(path, key, f"differs from {shard_dirs[0]}: not the same export")
        for action, camera, _ in info["units"]:
            if (action, camera) in owner:
                unit = (action, camera)
                raise DatasetError(path, "units", f"{unit} is also in {owner[unit]}")
            owner[(action, camera)] = shard_dir
    missing = [u for u in first["plan"] if u[:2] not in owner]
    if missing:
        shards = sorted({info["shard"] for info in infos})
        raise DatasetError(
            None,
            "shards",
            f"{len(missing)} of {len(first['plan'])} (action, camera) units are missing, for "
            f"instance {missing[0][:2]}; shards given: {shards} of {first['of']}",
        )
    subject = first["subject"]
    cameras = dataset_io.read_cameras(shard_dirs[0], subject)
    subject_dir = os.path.join(out_dir, subject)
    actions = {}
    with staged_dir(subject_dir, overwrite=overwrite) as stage:
        dataset_io.write_cameras(stage, subject, cameras)
        for action, units in cameras_by_action(first["plan"]).items():
            _merge_take(stage, action, units, owner, first["persons"])
            for info in infos:
                actions.update(info["subject_entry"]["actions"])
    entry = dict(first["subject_entry"], actions=actions)
    update_root_manifest(out_dir, subject, entry, first["fps"])
    if not keep_shards:
        for shard_dir in shard_dirs:
            shutil.rmtree(shard_dir, ignore_errors=True)
    return subject_dir


def update_root_manifest(root, subject, subject_entry, fps):
    """Put ``subject``'s entry into ``root/dataset.json``, keeping the other subjects."""
    current = manifest.read_manifest(root)
    subjects = dict(current["subjects"]) if current else {}
    subjects[subject] = subject_entry
    manifest.write_manifest(root, manifest.build_manifest(subjects, fps, __version__))


def _merge_take(stage, action, cameras, owner, names):
    positions_3d = None
    positions_2d, types = [], []
    for camera in cameras:
        shard_dir = owner[(action, camera)]
        take = read_npz(_take_path(shard_dir, action))["positions_3d"]
        if positions_3d is None:
            positions_3d = take
        elif take.shape != positions_3d.shape or not np.array_equal(take, positions_3d):
            raise DatasetError(
                _take_path(shard_dir, action), "positions_3d", "differs between shards"
            )
        path = _unit_path(shard_dir, action, camera)
        unit = read_npz(path)
        frames, people = positions_3d.shape[:2]
        positions_2d.append(
            dataset_io.check_array(
                path, "positions_2d", unit["positions_2d"], (frames, people, 17, 2)
            )
        )
        types.append(
            dataset_io.check_array(path, "types", unit["types"], (frames, people, 17), "iu")
        )
    write_take(stage, action, names, positions_3d, positions_2d, types)
