"""Readers and writers for every file of a BlendMimic3D subject (FORMAT.md), and the additions.

Legacy files are written exactly as published: same names, keys and key order, dtypes, shapes,
pickled dict fields and order, ``np.savetxt`` text. Additions (typed occlusion codes, every
person of a take) are separate files beside them (docs/FORMAT-ADDITIONS.md). Every write is
atomic; every reader checks what it reads and raises ``DatasetError`` naming file and field.
"""

import dataclasses
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DatasetError
from ..occlusion.labels import LABEL_DTYPE, invalid_codes, legacy_labels

# The camera files, paths and checks live in their own modules; importing them here keeps
# ``dataset_io`` the one place to read and write a subject.
from .camera_files import (  # noqa: F401
    CAMERA_PICKLES,
    EXTRINSIC_FIELDS,
    INTRINSIC_FIELDS,
    Cameras,
    read_camera_params,
    read_cameras,
    read_camview,
    write_cameras,
)
from .checks import (  # noqa: F401
    as_array,
    cam_arrays,
    check_array,
    read_text,
    require_keys,
    write_savetxt,
)
from .paths import (  # noqa: F401
    StrPath,
    action_names,
    cam_key,
    camera_params_path,
    camview_path,
    data3d_txt_path,
    matrices_path,
    occlusion_types_path,
    occlusions_path,
    persons_path,
    positions_2d_path,
    positions_3d_path,
    subject_dirs,
)
from .safe_npz import MAX_ARCHIVE_BYTES, read_npz, write_npz

N_JOINTS = 17


def write_positions_3d(
    subject_dir: StrPath, action: str, positions_3d: ArrayLike, data3d_txt: bool = True
) -> None:
    """D3_Positions/<A>/<A>.npz (positions_3d, float64) and data3D.txt ((17,3N) text)."""
    positions_3d = as_array(positions_3d, np.float64, (None, N_JOINTS, 3), "positions_3d")
    write_npz(positions_3d_path(subject_dir, action), {"positions_3d": positions_3d}, True)
    if data3d_txt:
        stacked = positions_3d.transpose(1, 2, 0).reshape(N_JOINTS, -1)
        write_savetxt(data3d_txt_path(subject_dir, action), stacked)


def read_positions_3d(
    subject_dir: StrPath, action: str, max_bytes: int = MAX_ARCHIVE_BYTES
) -> np.ndarray:
    """(N,17,3) float64. ``max_bytes``: what the file may inflate to (a caller that knows the
    frame count derives it from that), checked before anything is inflated."""
    path = positions_3d_path(subject_dir, action)
    arrays = read_npz(path, shapes={"positions_3d": (None, N_JOINTS, 3)}, max_bytes=max_bytes)
    require_keys(path, arrays, ("positions_3d",), exact=True)
    positions = arrays["positions_3d"]
    positions = check_array(path, "positions_3d", positions, (None, N_JOINTS, 3), dtype=np.float64)
    if not len(positions):
        raise DatasetError(path, "positions_3d", "0 frames; an action has at least one")
    return positions


def read_data3d_txt(subject_dir: StrPath, action: str) -> np.ndarray:
    """data3D.txt back as (N,17,3)."""
    path = data3d_txt_path(subject_dir, action)
    text = read_text(path)
    if text.ndim != 2 or text.shape[0] != N_JOINTS or text.shape[1] % 3:
        raise DatasetError(path, None, f"shape {text.shape} where (17,3N) belongs")
    return check_array(path, None, text.reshape(N_JOINTS, 3, -1).transpose(2, 0, 1), (None, 17, 3))


def write_positions_2d(
    subject_dir: StrPath, action: str, positions_2d_by_cam: Sequence[ArrayLike]
) -> None:
    """D2_Positions/<A>/2D_positions.npz: Cam_i (N,17,2) float64 pixels."""
    arrays = {
        cam_key(i): as_array(uv, np.float64, (None, N_JOINTS, 2), cam_key(i))
        for i, uv in enumerate(positions_2d_by_cam)
    }
    write_npz(positions_2d_path(subject_dir, action), arrays, compressed=True)


def read_positions_2d(
    subject_dir: StrPath, action: str, max_bytes: int = MAX_ARCHIVE_BYTES
) -> list[np.ndarray]:
    path = positions_2d_path(subject_dir, action)
    shape = (None, N_JOINTS, 2)
    arrays = read_npz(path, shapes={"*": shape}, max_bytes=max_bytes)
    return cam_arrays(path, arrays, shape, dtype=np.float64)


def write_occlusions(
    subject_dir: StrPath, action: str, occluded_by_cam: Sequence[ArrayLike]
) -> None:
    """Occlusions/<A>/occluded_kpt.npz: Cam_i (N,17) float64, 1 visible, 0 not."""
    arrays = {
        cam_key(i): as_array(labels, np.float64, (None, N_JOINTS), cam_key(i))
        for i, labels in enumerate(occluded_by_cam)
    }
    write_npz(occlusions_path(subject_dir, action), arrays, compressed=True)


def read_occlusions(
    subject_dir: StrPath, action: str, max_bytes: int = MAX_ARCHIVE_BYTES
) -> list[np.ndarray]:
    path = occlusions_path(subject_dir, action)
    shape = (None, N_JOINTS)
    arrays = read_npz(path, shapes={"*": shape}, max_bytes=max_bytes)
    labels = cam_arrays(path, arrays, shape, dtype=np.float64)
    for index, cam_labels in enumerate(labels):
        bad = (cam_labels != 0) & (cam_labels != 1)
        if bad.any():
            where = tuple(np.argwhere(bad)[0].tolist())
            value = cam_labels[where]
            raise DatasetError(path, cam_key(index), f"label {value} at {where}; only 0/1 belong")
    return labels


def write_occlusion_types(
    subject_dir: StrPath, action: str, types_by_cam: Sequence[ArrayLike]
) -> None:
    """Addition: Occlusions/<A>/occlusion_types.npz, Cam_i (N,17) uint8 OcclusionType codes."""
    arrays = {}
    for index, types in enumerate(types_by_cam):
        types = np.asarray(types)
        if invalid_codes(types).any():
            raise ValueError(f"{cam_key(index)}: values outside the OcclusionType codes")
        arrays[cam_key(index)] = as_array(types, LABEL_DTYPE, (None, N_JOINTS), cam_key(index))
    write_npz(occlusion_types_path(subject_dir, action), arrays, compressed=True)


def read_occlusion_types(
    subject_dir: StrPath, action: str, max_bytes: int = MAX_ARCHIVE_BYTES
) -> list[np.ndarray]:
    path = occlusion_types_path(subject_dir, action)
    shape = (None, N_JOINTS)
    arrays = read_npz(path, shapes={"*": shape}, max_bytes=max_bytes)
    types = cam_arrays(path, arrays, shape, kind="iu", dtype=LABEL_DTYPE)
    for index, cam_types in enumerate(types):
        if invalid_codes(cam_types).any():
            raise DatasetError(path, cam_key(index), "values outside the OcclusionType codes 0-5")
    return types


@dataclasses.dataclass
class Persons:
    """Every person of a take (addition). Person 0 is the primary, the one the legacy files
    carry. Arrays: positions_3d (P,N,17,3); per camera positions_2d (P,N,17,2) and types
    (P,N,17)."""

    names: list
    positions_3d: np.ndarray
    positions_2d_by_cam: list
    types_by_cam: list


def write_persons(subject_dir: StrPath, action: str, persons: Persons) -> None:
    """Addition: Persons/<A>/persons.npz with names, positions_3d, Cam_i_2d and Cam_i_types."""
    count = len(persons.names)
    arrays = {
        "names": np.array([str(n) for n in persons.names], dtype=str),
        "positions_3d": as_array(
            persons.positions_3d, np.float64, (count, None, 17, 3), "positions_3d"
        ),
    }
    for index, (uv, types) in enumerate(
        zip(persons.positions_2d_by_cam, persons.types_by_cam, strict=True)
    ):
        arrays[f"{cam_key(index)}_2d"] = as_array(uv, np.float64, (count, None, 17, 2), "2d")
        arrays[f"{cam_key(index)}_types"] = as_array(types, LABEL_DTYPE, (count, None, 17), "types")
    write_npz(persons_path(subject_dir, action), arrays, compressed=True)


def read_persons(subject_dir: StrPath, action: str) -> Persons:
    path = persons_path(subject_dir, action)
    arrays = read_npz(path)
    require_keys(path, arrays, ("names", "positions_3d"))
    names = arrays.pop("names")
    if names.dtype.kind != "U" or names.ndim != 1:
        raise DatasetError(path, "names", "expected a 1-d array of strings")
    count = len(names)
    positions_3d = check_array(
        path, "positions_3d", arrays.pop("positions_3d"), (count, None, 17, 3), dtype=np.float64
    )
    frames = positions_3d.shape[1]
    uv, types = [], []
    while arrays:
        index = len(uv)
        key_2d, key_types = f"{cam_key(index)}_2d", f"{cam_key(index)}_types"
        require_keys(path, arrays, (key_2d, key_types))
        shape_2d, shape_types = (count, frames, 17, 2), (count, frames, 17)
        uv.append(check_array(path, key_2d, arrays.pop(key_2d), shape_2d, dtype=np.float64))
        types.append(
            check_array(
                path, key_types, arrays.pop(key_types), shape_types, "iu", dtype=LABEL_DTYPE
            )
        )
        if invalid_codes(types[-1]).any():
            raise DatasetError(path, key_types, "values outside the OcclusionType codes 0-5")
    return Persons(names.tolist(), positions_3d, uv, types)


def write_action(
    subject_dir: StrPath,
    action: str,
    positions_3d: ArrayLike,
    positions_2d_by_cam: Sequence[ArrayLike],
    occluded_by_cam: Sequence[ArrayLike] | None = None,
    types_by_cam: Sequence[ArrayLike] | None = None,
    persons: Persons | None = None,
    data3d_txt: bool = True,
) -> None:
    """Every file of one action: 3D (+ data3D.txt), 2D, legacy labels and the additions.

    Give typed codes (``types_by_cam``) and the legacy labels are derived from them; give both
    and they must agree. ``persons`` (a ``Persons``) is written only for multi-person takes.
    """
    if types_by_cam is not None:
        derived = [legacy_labels(t) for t in types_by_cam]
        if occluded_by_cam is not None and not all(
            np.array_equal(a, b) for a, b in zip(derived, occluded_by_cam, strict=True)
        ):
            raise ValueError("legacy occlusion labels disagree with the typed codes")
        occluded_by_cam = derived
    if occluded_by_cam is None:
        raise ValueError("give occluded_by_cam or types_by_cam")
    write_positions_3d(subject_dir, action, positions_3d, data3d_txt)
    write_positions_2d(subject_dir, action, positions_2d_by_cam)
    write_occlusions(subject_dir, action, occluded_by_cam)
    if types_by_cam is not None:
        write_occlusion_types(subject_dir, action, types_by_cam)
    if persons is not None and len(persons.names) > 1:
        write_persons(subject_dir, action, persons)
