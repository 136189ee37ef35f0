"""The camera files of a subject: CamView{i}_P3x4.txt, camera_params_<S>.npz, matrices_<S>.npz."""

import dataclasses
import math
import os
import reprlib
from collections.abc import Sequence

import numpy as np

from ..errors import DatasetError
from ..geometry import camera as cam
from .checks import check_array, read_text, require_keys, write_savetxt
from .paths import StrPath, camera_params_path, camview_path, matrices_path
from .safe_npz import object_array, object_scalar, read_npz, write_npz

CAMERA_PICKLES = ("intrinsic_params", "extrinsic_params")
INTRINSIC_FIELDS = (
    "id",
    "center",
    "focal_length",
    "radial_distortion",
    "tangential_distortion",
    "res_w",
    "res_h",
    "azimuth",
)
EXTRINSIC_FIELDS = ("orientation", "translation")
DISTORTION_FIELDS = (("radial_distortion", 3), ("tangential_distortion", 2))
MAX_RESOLUTION = 2**20  # pixels a side; past it a resolution is a corrupt number


@dataclasses.dataclass
class Cameras:
    """The cameras of a subject, in dataset order.

    ``intrinsic_params`` / ``extrinsic_params`` hold the published dicts when read from disk,
    so that writing back reproduces them exactly; when None they are derived from K, RT, res.
    """

    names: list
    K: np.ndarray  # (C,3,3)
    RT: np.ndarray  # (C,3,4)
    res: np.ndarray  # (C,2) int: res_w, res_h
    P: np.ndarray = None  # (C,3,4); K @ RT unless read from disk
    intrinsic_params: list = None
    extrinsic_params: dict = None

    def __post_init__(self):
        self.K = np.asarray(self.K, dtype=np.float64).reshape(-1, 3, 3)
        self.RT = np.asarray(self.RT, dtype=np.float64).reshape(-1, 3, 4)
        self.res = np.asarray(self.res, dtype=np.int64).reshape(-1, 2)
        self.P = cam.projection_matrix(self.K, self.RT) if self.P is None else np.asarray(self.P)
        self.names = [str(name) for name in self.names]
        count = len(self.names)
        if not (self.K.shape[0] == self.RT.shape[0] == self.res.shape[0] == count):
            raise ValueError("names, K, RT and res must describe the same number of cameras")

    def __len__(self):
        return len(self.names)

    @classmethod
    def from_blender(cls, specs: Sequence[dict]) -> "Cameras":
        """From Blender numbers: each spec a dict with ``name``, ``matrix_world`` (4x4) and the
        keyword arguments of ``camera.intrinsics_from_blender``."""
        names, Ks, RTs, res = [], [], [], []
        for spec in specs:
            spec = dict(spec)
            names.append(spec.pop("name"))
            RTs.append(cam.extrinsics_from_world_matrix(spec.pop("matrix_world")))
            Ks.append(cam.intrinsics_from_blender(**spec))
            res.append(cam.render_size(spec["res_x"], spec["res_y"], spec.get("percentage", 100)))
        return cls(names, np.array(Ks), np.array(RTs), np.array(res))

    def intrinsic_dicts(self) -> list[dict]:
        if self.intrinsic_params is not None:
            return self.intrinsic_params
        return [
            {
                "id": name,
                "center": [float(K[0, 2]), float(K[1, 2])],
                "focal_length": [float(K[0, 0]), float(K[1, 1])],
                "radial_distortion": [0, 0, 0],
                "tangential_distortion": [0, 0],
                "res_w": int(res[0]),
                "res_h": int(res[1]),
                "azimuth": 0,
            }
            for name, K, res in zip(self.names, self.K, self.res, strict=True)
        ]

    def extrinsic_dicts(self, subject: str) -> dict[str, list[dict]]:
        stored = self.extrinsic_params
        if stored is not None and list(stored) == [subject]:
            return stored
        if stored is not None and len(stored) == 1:
            # Cameras read from one subject and written as another keep their published values.
            return {subject: next(iter(stored.values()))}
        quaternions = cam.quaternion_from_matrix(self.RT[:, :, :3])
        return {
            subject: [
                {"orientation": [float(v) for v in q], "translation": [float(v) for v in RT[:, 3]]}
                for q, RT in zip(quaternions, self.RT, strict=True)
            ]
        }


def write_cameras(subject_dir: StrPath, subject: str, cameras: Cameras) -> None:
    """Cameras/CamView{i}_P3x4.txt, camera_params_<S>.npz and matrices_<S>.npz."""
    for index, P in enumerate(cameras.P):
        write_savetxt(camview_path(subject_dir, index), P)
    params = {
        "intrinsic_params": object_array(cameras.intrinsic_dicts()),
        "extrinsic_params": object_scalar(cameras.extrinsic_dicts(subject)),
    }
    write_npz(camera_params_path(subject_dir, subject), params, compressed=False)
    matrices = {"K": cameras.K, "RT": cameras.RT, "P": cameras.P}
    write_npz(matrices_path(subject_dir, subject), matrices, compressed=False)


def read_cameras(subject_dir: StrPath, subject: str | None = None) -> Cameras:
    """The subject's cameras from its Cameras/ folder (subject: the folder's name by default)."""
    subject = subject or os.path.basename(os.path.normpath(subject_dir))
    path = matrices_path(subject_dir, subject)
    matrices = read_npz(path)
    require_keys(path, matrices, ("K", "RT", "P"), exact=True)
    K = check_array(path, "K", matrices["K"], (None, 3, 3), dtype=np.float64)
    count = K.shape[0]
    if count == 0:
        raise DatasetError(path, "K", "no camera")
    RT = check_array(path, "RT", matrices["RT"], (count, 3, 4), dtype=np.float64)
    P = check_array(path, "P", matrices["P"], (count, 3, 4), dtype=np.float64)
    intrinsic, extrinsic = read_camera_params(subject_dir, subject, count)
    names = [entry["id"] for entry in intrinsic]
    res = [(entry["res_w"], entry["res_h"]) for entry in intrinsic]
    return Cameras(names, K, RT, res, P, intrinsic, extrinsic)


def read_camera_params(subject_dir: StrPath, subject: str, count: int) -> tuple[list[dict], dict]:
    """The two pickled objects of camera_params_<S>.npz, checked field by field."""
    path = camera_params_path(subject_dir, subject)
    params = read_npz(path, pickled=CAMERA_PICKLES)
    require_keys(path, params, CAMERA_PICKLES, exact=True)
    intrinsic = params["intrinsic_params"]
    if intrinsic.dtype != object or intrinsic.shape != (count,):
        raise DatasetError(path, "intrinsic_params", f"expected {count} camera dicts")
    for index, entry in enumerate(intrinsic):
        field = f"intrinsic_params[{index}]"
        _check_dict(path, field, entry, INTRINSIC_FIELDS)
        if not isinstance(entry["id"], str):
            raise DatasetError(path, f"{field}.id", f"{_short(entry['id'])} is not a name")
        for key, size in DISTORTION_FIELDS + (("center", 2), ("focal_length", 2)):
            _check_numbers(path, f"{field}.{key}", entry[key], size)
        for key in ("res_w", "res_h"):
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise DatasetError(path, f"{field}.{key}", f"{_short(value)} is not an integer")
            if not 0 < value <= MAX_RESOLUTION:
                reason = f"{value} is not a resolution (1 to {MAX_RESOLUTION} pixels)"
                raise DatasetError(path, f"{field}.{key}", reason)
    extrinsic = params["extrinsic_params"]
    if extrinsic.dtype != object or extrinsic.shape != () or not isinstance(extrinsic[()], dict):
        raise DatasetError(path, "extrinsic_params", "expected a 0-d object holding a dict")
    extrinsic = extrinsic[()]
    if subject not in extrinsic:
        raise DatasetError(path, "extrinsic_params", f"no entry for subject {subject!r}")
    entries = extrinsic[subject]
    if not isinstance(entries, list) or len(entries) != count:
        raise DatasetError(path, f"extrinsic_params.{subject}", f"expected {count} camera dicts")
    for index, entry in enumerate(entries):
        field = f"extrinsic_params.{subject}[{index}]"
        _check_dict(path, field, entry, EXTRINSIC_FIELDS)
        _check_numbers(path, f"{field}.orientation", entry["orientation"], 4)
        _check_numbers(path, f"{field}.translation", entry["translation"], 3)
    return list(intrinsic), extrinsic


def _check_dict(path, field, entry, fields):
    if not isinstance(entry, dict):
        raise DatasetError(path, field, f"expected a dict, found {type(entry).__name__}")
    if tuple(entry) != fields:
        raise DatasetError(path, field, f"keys {list(entry)} where {list(fields)} belong")


def _check_numbers(path, field, value, size):
    """``size`` finite numbers (a list or a 1-d numeric array); structured, ragged, nested or
    boolean values are refused with their description, never a numpy exception."""
    items = value.tolist() if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" else value
    numbers = (
        isinstance(items, (list, tuple))
        and len(items) == size
        and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in items
        )
    )
    if not numbers or not all(_finite(v) for v in items):
        raise DatasetError(path, field, f"expected {size} finite numbers, found {_short(value)}")


def _finite(number):
    try:
        return math.isfinite(float(number))
    except OverflowError:  # an integer past float range
        return False


def _short(value):
    """A bounded description of an untrusted value for a message."""
    return reprlib.repr(value)


def read_camview(subject_dir: StrPath, index: int) -> np.ndarray:
    path = camview_path(subject_dir, index)
    return check_array(path, "P", read_text(path), (3, 4))
