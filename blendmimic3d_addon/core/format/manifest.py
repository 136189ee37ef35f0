"""``dataset.json``: the manifest an exported dataset carries at its root (an addition).

It says what the folder holds without opening an array: format and generator versions, frame
rate, joint set and order, units and axes, each subject's cameras (names, K, RT, resolution and
the Blender numbers they came from), persons, and actions with their frame ranges.
"""

import json
import os
import reprlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DatasetError
from ..joints import BM3D_JOINTS, LEFT_BM3D, PARENTS_BM3D, RIGHT_BM3D
from ..occlusion.labels import LABEL_NAMES
from . import json_checks as jc
from .atomic import atomic_file
from .paths import StrPath
from .safe_open import read_json

MANIFEST_NAME = "dataset.json"
FORMAT_NAME = "blendmimic3d"
FORMAT_VERSION = "1.1"  # 1.0: the published files; 1.1: + typed labels, persons, manifest
GENERATOR = "BlendMimic3D Studio"

UNITS = {"positions_3d": "metre", "positions_2d": "pixel", "time": "frame"}
AXES = {
    "world": "Blender world: right-handed, z up",
    "camera": "computer vision: x right, y down, z forward (RT maps world to camera)",
    "image": "origin at the top-left corner of the image, u right, v down",
}


def manifest_path(root: StrPath) -> str:
    return os.path.join(root, MANIFEST_NAME)


def camera_entry(
    name: str, K: ArrayLike, RT: ArrayLike, res_w: int, res_h: int, blender: dict | None = None
) -> dict:
    """One camera of a subject: what the legacy files hold, plus the Blender numbers if known."""
    entry = {
        "name": str(name),
        "K": np.asarray(K, dtype=float).tolist(),
        "RT": np.asarray(RT, dtype=float).tolist(),
        "res_w": int(res_w),
        "res_h": int(res_h),
    }
    if blender:
        entry["blender"] = {
            k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in blender.items()
        }
    return entry


def action_entry(
    frame_start: int, frame_end: int, persons: Sequence[str], extra: dict | None = None
) -> dict:
    """One action: its frame range (inclusive, in scene frames) and its persons, primary first.

    ``persons``: names, or dicts with at least ``name``.
    """
    people = [p if isinstance(p, dict) else {"name": str(p)} for p in persons]
    entry = {
        "frame_start": int(frame_start),
        "frame_end": int(frame_end),
        "n_frames": int(frame_end) - int(frame_start) + 1,
        "persons": people,
        "primary_person": 0,
    }
    entry.update(extra or {})
    return entry


def build_manifest(
    subjects: dict, fps: float, generator_version: str, typed_labels: bool = True
) -> dict:
    """The manifest dict. ``subjects``: {name: {"cameras": [camera_entry...],
    "actions": {action: action_entry}}}."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "generator": {"name": GENERATOR, "version": str(generator_version)},
        "fps": float(fps),
        "units": UNITS,
        "axes": AXES,
        "joints": {
            "set": "blendmimic3d-17",
            "names": list(BM3D_JOINTS),
            "parents": PARENTS_BM3D.tolist(),
            "left": LEFT_BM3D.tolist(),
            "right": RIGHT_BM3D.tolist(),
            "note": "index 1-3 is the LEFT leg (mirrored against Human3.6M's order)",
        },
        "occlusion_types": {str(code): name for code, name in LABEL_NAMES.items()}
        if typed_labels
        else None,
        "subjects": subjects,
    }


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=1, allow_nan=False) + "\n"


def write_manifest(root: StrPath, manifest: dict) -> None:
    text = manifest_text(manifest)
    with atomic_file(manifest_path(root), "w") as handle:
        handle.write(text)


_REQUIRED = ("format", "format_version", "generator", "fps", "joints", "subjects")


def read_manifest(root: StrPath) -> dict | None:
    """The manifest of a dataset root, checked; None when the folder has none (legacy data)."""
    path = manifest_path(root)
    if not os.path.lexists(path):
        return None
    manifest = read_json(path)
    check_manifest(path, manifest)
    return manifest


def check_manifest(path: str | os.PathLike, manifest: object) -> None:
    """Every field a reader uses, of the type it uses: one DatasetError naming the field."""
    jc.expect(path, None, manifest, dict)
    for key in _REQUIRED:
        jc.member(path, None, manifest, key)
    if manifest["format"] != FORMAT_NAME:
        raise DatasetError(
            path, "format", f"{reprlib.repr(manifest['format'])} is not {FORMAT_NAME!r}"
        )
    version = manifest["format_version"]
    if not isinstance(version, (str, int, float)) or isinstance(version, bool):
        raise DatasetError(
            path, "format_version", f"expected a string, found {jc.describe(version)}"
        )
    if str(version).split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise DatasetError(path, "format_version", f"{version} is unsupported")
    jc.expect(path, "generator", manifest["generator"], dict)
    jc.number(path, "fps", manifest["fps"], positive=True)
    joints = jc.expect(path, "joints", manifest["joints"], dict)
    if joints.get("names") != list(BM3D_JOINTS):
        raise DatasetError(path, "joints.names", "not the BlendMimic3D-17 joints in their order")
    if manifest.get("occlusion_types") is not None:
        jc.expect(path, "occlusion_types", manifest["occlusion_types"], dict)
    for subject, content in jc.expect(path, "subjects", manifest["subjects"], dict).items():
        check_subject_entry(path, f"subjects.{subject}", content)


def check_subject_entry(path: str | os.PathLike, field: str, content: object) -> None:
    """One subject's entry: its cameras and its actions (also carried by shard.json)."""
    jc.expect(path, field, content, dict)
    cameras = jc.member(path, field, content, "cameras", list)
    for index, camera in enumerate(cameras):
        name = f"{field}.cameras[{index}]"
        jc.expect(path, name, camera, dict)
        jc.expect(path, f"{name}.name", jc.member(path, name, camera, "name"), str)
        jc.matrix(path, f"{name}.K", jc.member(path, name, camera, "K"), 3, 3)
        jc.matrix(path, f"{name}.RT", jc.member(path, name, camera, "RT"), 3, 4)
        for key in ("res_w", "res_h"):
            jc.integer(path, f"{name}.{key}", jc.member(path, name, camera, key), minimum=1)
    for action, entry in jc.member(path, field, content, "actions", dict).items():
        name = f"{field}.actions.{action}"
        jc.expect(path, name, entry, dict)
        for key in ("frame_start", "frame_end"):
            jc.integer(path, f"{name}.{key}", jc.member(path, name, entry, key))
        jc.integer(path, f"{name}.n_frames", jc.member(path, name, entry, "n_frames"), minimum=1)
        persons = jc.member(path, name, entry, "persons", list)
        if not persons:
            raise DatasetError(path, f"{name}.persons", "expected a non-empty list")
        for index, person in enumerate(persons):
            jc.expect(path, f"{name}.persons[{index}]", person, dict)
