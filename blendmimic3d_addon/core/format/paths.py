"""Where each file of a subject lives (FORMAT.md's layout, and the additions beside it)."""

import os
import re

from ..errors import DatasetError

# A path as these functions take it: a string or a path-like object.
StrPath = str | os.PathLike

# Names that become one path component: no separator, no leading dot (so never "." or ".."),
# nothing a shell or another system would read differently. Checked with a full match: "$"
# alone would let a trailing newline through.
SUBJECT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
ACTION_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def check_subject_name(name: str, path: StrPath | None = None, field: str = "subject") -> str:
    """``name`` if it is a subject folder name (letters, digits, _ or -); DatasetError if not."""
    if not isinstance(name, str) or not SUBJECT_NAME.fullmatch(name):
        raise DatasetError(path, field, f"{name!r}: use letters, digits, _ or - (e.g. S1)")
    return name


def check_action_name(name: str, path: StrPath | None = None, field: str = "action") -> str:
    """``name`` if it is an action folder name (as ``action_folder_name`` makes them)."""
    if not isinstance(name, str) or not ACTION_NAME.fullmatch(name):
        raise DatasetError(
            path, field, f"{name!r} is not an action folder name (letters, digits, ., _ or -)"
        )
    return name


def camview_path(subject_dir: StrPath, index: int) -> str:
    return os.path.join(subject_dir, "Cameras", f"CamView{index}_P3x4.txt")


def camera_params_path(subject_dir: StrPath, subject: str) -> str:
    return os.path.join(subject_dir, "Cameras", f"camera_params_{subject}.npz")


def matrices_path(subject_dir: StrPath, subject: str) -> str:
    return os.path.join(subject_dir, "Cameras", f"matrices_{subject}.npz")


def positions_3d_path(subject_dir: StrPath, action: str) -> str:
    return os.path.join(subject_dir, "D3_Positions", action, f"{action}.npz")


def data3d_txt_path(subject_dir: StrPath, action: str) -> str:
    return os.path.join(subject_dir, "D3_Positions", action, "data3D.txt")


def positions_2d_path(subject_dir: StrPath, action: str) -> str:
    return os.path.join(subject_dir, "D2_Positions", action, "2D_positions.npz")


def occlusions_path(subject_dir: StrPath, action: str) -> str:
    return os.path.join(subject_dir, "Occlusions", action, "occluded_kpt.npz")


def occlusion_types_path(subject_dir: StrPath, action: str) -> str:
    """Addition: typed occlusion codes of the primary person, beside the legacy labels."""
    return os.path.join(subject_dir, "Occlusions", action, "occlusion_types.npz")


def persons_path(subject_dir: StrPath, action: str) -> str:
    """Addition: every person of a multi-person take."""
    return os.path.join(subject_dir, "Persons", action, "persons.npz")


def cam_key(index: int) -> str:
    return f"Cam_{index}"


def subject_dirs(folder: StrPath) -> list[str]:
    """Subject folders of a dataset root (those with a Cameras/ folder), or [folder] itself."""
    folder = os.fspath(folder)
    if os.path.isdir(os.path.join(folder, "Cameras")):
        return [folder]
    if not os.path.isdir(folder):
        raise DatasetError(folder, None, "not a folder")
    found = [
        os.path.join(folder, name)
        for name in sorted(os.listdir(folder))
        if os.path.isdir(os.path.join(folder, name, "Cameras"))
    ]
    if not found:
        raise DatasetError(folder, None, "no subject folder (a folder with Cameras/) found")
    return found


def action_names(subject_dir: StrPath) -> list[str]:
    """The actions of a subject: the folders of its D3_Positions/, sorted."""
    folder = os.path.join(subject_dir, "D3_Positions")
    if not os.path.isdir(folder):
        raise DatasetError(folder, None, "required folder is missing")
    return sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)))
