"""``dataset.json``: the manifest an exported dataset carries at its root (an addition).

It says what the folder holds without opening an array: format and generator versions, frame
rate, joint set and order, units and axes, each subject's cameras (names, K, RT, resolution and
the Blender numbers they came from), persons, and actions with their frame ranges.
"""

import json
import os
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DatasetError
from ..joints import BM3D_JOINTS, LEFT_BM3D, PARENTS_BM3D, RIGHT_BM3D
from ..occlusion.labels import LABEL_NAMES
from .atomic import atomic_file
from .paths import StrPath

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
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(path, None, f"not readable JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise DatasetError(path, None, "expected a JSON object")
    for key in _REQUIRED:
        if key not in manifest:
            raise DatasetError(path, key, "missing field")
    if manifest["format"] != FORMAT_NAME:
        raise DatasetError(path, "format", f"{manifest['format']!r} is not {FORMAT_NAME!r}")
    major = str(manifest["format_version"]).split(".")[0]
    if major != FORMAT_VERSION.split(".")[0]:
        raise DatasetError(path, "format_version", f"{manifest['format_version']} is unsupported")
    fps = manifest["fps"]
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
        raise DatasetError(path, "fps", f"{fps!r} is not a positive number")
    joints = manifest["joints"]
    if not isinstance(joints, dict) or joints.get("names") != list(BM3D_JOINTS):
        raise DatasetError(path, "joints.names", "not the BlendMimic3D-17 joints in their order")
    if not isinstance(manifest["subjects"], dict):
        raise DatasetError(path, "subjects", "expected an object of subjects")
    for subject, content in manifest["subjects"].items():
        for key in ("cameras", "actions"):
            if not isinstance(content, dict) or key not in content:
                raise DatasetError(path, f"subjects.{subject}.{key}", "missing field")
        for action, entry in content["actions"].items():
            field = f"subjects.{subject}.actions.{action}"
            for key in ("frame_start", "frame_end", "n_frames", "persons"):
                if key not in entry:
                    raise DatasetError(path, f"{field}.{key}", "missing field")
            for key in ("frame_start", "frame_end", "n_frames"):
                if isinstance(entry[key], bool) or not isinstance(entry[key], int):
                    raise DatasetError(path, f"{field}.{key}", f"{entry[key]!r} is not an integer")
            if not isinstance(entry["persons"], list) or not entry["persons"]:
                raise DatasetError(path, f"{field}.persons", "expected a non-empty list")
    return manifest
