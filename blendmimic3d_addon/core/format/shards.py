"""Sharded exports: split the work by action and camera, write each part apart, merge them.

A render farm or a job array runs ``export --shard K/N`` for K = 1..N on the same scene. Every
shard plans the same (action, camera) units from the same scene, so the shards agree on who does
what without talking to each other. Each shard writes ``<subject>.shard-K-of-N/``: the cameras,
``shard.json`` and one file per unit; ``merge`` checks that the shards cover every unit exactly
once and writes the subject folder in the published layout.

Also here, because export and merge both use it: ``write_take``, all files of one take from the
arrays of every person.
"""

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .. import __version__
from ..errors import DatasetError
from ..occlusion.labels import LABEL_DTYPE
from . import dataset_io, paths
from .atomic import atomic_file
from .paths import StrPath
from .publish import staged_subject
from .safe_npz import read_npz, write_npz
from .safe_open import read_json
from .shard_checks import check_shard_manifest

SHARD_FILE = "shard.json"
_SHARD_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1 <= K <= N) -> (K, N); DatasetError otherwise."""
    match = _SHARD_SPEC.match(str(text))
    if not match:
        raise DatasetError(None, "--shard", f"{text!r} is not K/N (for instance 2/8)")
    k, n = int(match.group(1)), int(match.group(2))
    if not 1 <= k <= n:
        raise DatasetError(None, "--shard", f"{text!r}: K must be between 1 and N")
    return k, n


def plan_units(
    action_frames: Mapping[str, int], cameras: Sequence[int]
) -> list[tuple[str, int, int]]:
    """Every (action, camera) unit with its frame count, in a fixed order.

    action_frames: {action: frame count}, in export order; cameras: camera indices.
    """
    return [(action, c, int(frames)) for action, frames in action_frames.items() for c in cameras]


def assign_units(units: list[tuple[str, int, int]], n: int) -> list[list[tuple[str, int, int]]]:
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


def shard_dir_name(subject: str, k: int, n: int) -> str:
    return f"{subject}.shard-{k}-of-{n}"


def cameras_by_action(units: Iterable[tuple[str, int, int]]) -> dict[str, list[int]]:
    """{action: [camera indices]} of ``units``, actions in first-seen order."""
    out = {}
    for action, camera, _ in units:
        out.setdefault(action, []).append(camera)
    return out


# ---- what one take writes ----------------------------------------------------------------------


def write_take(
    subject_dir: StrPath,
    action: str,
    names: Sequence[str],
    positions_3d: np.ndarray,
    positions_2d: Sequence[np.ndarray],
    types: Sequence[np.ndarray],
) -> None:
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


def write_shard_take(shard_dir, action, positions_3d, positions_2d_by_cam, types_by_cam,
                     face=None):  # fmt: skip
    """One take of a shard: 3D (N,P,17,3) and {camera: 2D (N,P,17,2)}, {camera: codes};
    ``face``: COCO's face points as (3D (N,P,5,3), {camera: 2D}, {camera: codes}), or None."""
    take = {"positions_3d": positions_3d}
    if face is not None:
        take["face_positions_3d"] = face[0]
    write_npz(_take_path(shard_dir, action), take, compressed=True)
    for camera, uv in positions_2d_by_cam.items():
        arrays = {"positions_2d": uv, "types": np.asarray(types_by_cam[camera], LABEL_DTYPE)}
        if face is not None:
            arrays["face_2d"] = face[1][camera]
            arrays["face_types"] = np.asarray(face[2][camera], LABEL_DTYPE)
        write_npz(_unit_path(shard_dir, action, camera), arrays, compressed=True)


def write_shard_manifest(
    shard_dir: StrPath,
    subject: str,
    k: int,
    n: int,
    units: list[tuple[str, int, int]],
    all_units: list[tuple[str, int, int]],
    person_names: Sequence[str],
    subject_entry: dict,
    fps: float,
) -> None:
    """shard.json: who did what, the subject's ``dataset.json`` entry for the merge, and the
    fingerprint of what every shard of one export must share (call once the cameras are
    written: their fingerprint is taken from the files)."""
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
    cameras = dataset_io.read_cameras(shard_dir, subject)
    info["fingerprint"] = fingerprint(cameras, info["persons"], fps, info["plan"])
    with atomic_file(os.path.join(shard_dir, SHARD_FILE), "w") as handle:
        json.dump(info, handle, indent=1)


def fingerprint(cameras, persons, fps, plan, version=__version__):
    """What must agree between the shards of one export, each part a short digest: the cameras
    (names, resolutions, K and RT to 1e-6), the persons, the frame rate, the plan of units and
    the extension's version."""
    camera_numbers = {
        "names": [str(name) for name in cameras.names],
        "res": [[int(w), int(h)] for w, h in cameras.res],
        "K": _rounded(cameras.K),
        "RT": _rounded(cameras.RT),
    }
    parts = {"cameras": camera_numbers, "persons": list(persons), "fps": float(fps),
             "plan": [list(unit) for unit in plan]}  # fmt: skip
    digests = {key: _digest(value) for key, value in parts.items()}
    return dict(digests, version=str(version))


def _rounded(numbers):
    """To 1e-6, as lists; + 0.0 turns a -0.0 (noise around zero) into 0.0."""
    return (np.round(np.asarray(numbers, dtype=float), 6) + 0.0).tolist()


def _digest(value):
    text = json.dumps(value, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_shard_manifest(shard_dir: StrPath) -> dict:
    path = os.path.join(shard_dir, SHARD_FILE)
    if not os.path.lexists(path):
        raise DatasetError(path, None, "missing: not the folder of an export --shard run")
    info = read_json(path)
    check_shard_manifest(path, info)
    _check_path_names(path, info)
    info["units"] = [tuple(u) for u in info["units"]]
    info["plan"] = [tuple(u) for u in info["plan"]]
    return info


def _check_path_names(path, info):
    """Every name of shard.json that becomes a path, checked as export checks them: the subject,
    the actions (of units, plan and the manifest entry) and the camera indices."""
    paths.check_subject_name(info["subject"], path, "subject")
    for key in ("units", "plan"):
        if not isinstance(info[key], list):
            raise DatasetError(path, key, "expected a list of [action, camera, frames]")
        for index, unit in enumerate(info[key]):
            field = f"{key}[{index}]"
            if not isinstance(unit, list) or len(unit) != 3:
                raise DatasetError(path, field, f"{unit!r} is not [action, camera, frames]")
            paths.check_action_name(unit[0], path, field)
            for number, what in ((unit[1], "camera index"), (unit[2], "frame count")):
                if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                    raise DatasetError(path, field, f"{number!r} is not a {what}")
    entry = info["subject_entry"]
    if not isinstance(entry, dict) or not isinstance(entry.get("actions"), dict):
        raise DatasetError(path, "subject_entry.actions", "expected an object of actions")
    for action in entry["actions"]:
        paths.check_action_name(action, path, "subject_entry.actions")


# ---- merge -------------------------------------------------------------------------------------


def merge(
    shard_dirs: Sequence[StrPath],
    out_dir: StrPath,
    overwrite: bool = False,
    keep_shards: bool = False,
) -> str:
    """Write ``out_dir/<subject>`` and update ``out_dir/dataset.json`` from all shards' folders,
    then remove the shard folders (unless ``keep_shards``). Returns the subject folder."""
    if not shard_dirs:
        raise DatasetError(None, "shards", "no shard folder given")
    infos = [read_shard_manifest(d) for d in shard_dirs]
    first = infos[0]
    subject = first["subject"]
    subject_dir = os.path.join(out_dir, subject)
    _refuse_overlap(shard_dirs, out_dir, subject_dir)
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
    cameras = _check_fingerprints(shard_dirs, infos)
    actions = {}
    for info in infos:
        actions.update(info["subject_entry"]["actions"])
    entry = dict(first["subject_entry"], actions=actions)
    root_entry = lambda: (subject, entry, first["fps"])  # noqa: E731
    with staged_subject(out_dir, subject, overwrite, root_entry) as stage:
        dataset_io.write_cameras(stage, subject, cameras)
        for action, units in cameras_by_action(first["plan"]).items():
            _merge_take(stage, action, units, owner, first["persons"])
    if not keep_shards:
        for shard_dir in shard_dirs:
            shutil.rmtree(shard_dir, ignore_errors=True)
    return subject_dir


def _refuse_overlap(shard_dirs, out_dir, subject_dir):
    """The merged subject must be neither inside a shard folder (the clean-up would delete it)
    nor hold one (putting it in place would delete an input)."""
    result = os.path.realpath(subject_dir)
    root = os.path.realpath(out_dir)
    for shard_dir in shard_dirs:
        shard = os.path.realpath(shard_dir)
        if _within(root, shard) or _within(shard, result):
            raise DatasetError(
                out_dir, "--out", f"overlaps the shard folder {shard_dir}: merge into a folder "
                "that neither holds a shard's subject nor lies inside a shard",
            )  # fmt: skip


def _within(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _check_fingerprints(shard_dirs, infos):
    """Every shard's fingerprint (and its camera files) must match the first shard's; names the
    shard and what differs. Returns the cameras."""
    cameras = None
    expected = None
    for shard_dir, info in zip(shard_dirs, infos, strict=True):
        path = os.path.join(shard_dir, SHARD_FILE)
        recorded = info.get("fingerprint")
        if not isinstance(recorded, dict):
            raise DatasetError(path, "fingerprint", "missing: export the shard again")
        own = dataset_io.read_cameras(shard_dir, info["subject"])
        actual = fingerprint(
            own, info["persons"], info["fps"], info["plan"], recorded.get("version")
        )
        if actual != recorded:
            raise DatasetError(path, "fingerprint", "does not match the shard's own files")
        if expected is None:
            cameras, expected = own, recorded
            continue
        differ = [key for key in sorted(expected) if expected[key] != recorded.get(key)]
        if differ:
            raise DatasetError(
                path, "fingerprint", f"{', '.join(differ)} differ from {shard_dirs[0]}: the shards "
                "come from different scenes or versions; export them again from one scene",
            )  # fmt: skip
    return cameras


def _merge_take(stage, action, cameras, owner, names):
    positions_3d = None
    positions_2d, types = [], []
    face = ([], [], [])  # COCO's face points, when every shard has them
    for camera in cameras:
        shard_dir = owner[(action, camera)]
        take_arrays = read_npz(_take_path(shard_dir, action))
        take = take_arrays["positions_3d"]
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
        if "face_positions_3d" in take_arrays and "face_2d" in unit:
            face[0].append(take_arrays["face_positions_3d"])
            face[1].append(unit["face_2d"])
            face[2].append(unit["face_types"])
    write_take(stage, action, names, positions_3d, positions_2d, types)
    if len(face[0]) == len(cameras):
        from .coco_dataset import write_face_points

        write_face_points(stage, action, face[0][0].transpose(1, 0, 2, 3),
                          [a.transpose(1, 0, 2, 3) for a in face[1]],
                          [a.transpose(1, 0, 2) for a in face[2]])  # fmt: skip
