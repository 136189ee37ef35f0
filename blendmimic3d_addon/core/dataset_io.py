"""Readers and writers for every file of a BlendMimic3D subject (FORMAT.md), and the additions.

Legacy files are written exactly as published: same names, keys and key order, dtypes, shapes,
pickled dict fields and order, ``np.savetxt`` text. Additions (typed occlusion codes, every
person of a take) are separate files beside them (docs/FORMAT-ADDITIONS.md). Every write is
atomic; every reader checks what it reads and raises ``DatasetError`` naming file and field.
"""

import dataclasses
import io
import os

import numpy as np

from . import camera as cam
from .atomic import atomic_file
from .errors import DatasetError
from .labels import LABEL_DTYPE, invalid_codes, legacy_labels
from .safe_npz import object_array, object_scalar, read_npz, write_npz

N_JOINTS = 17
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


# ---- paths -------------------------------------------------------------------------------------


def camview_path(subject_dir, index):
    return os.path.join(subject_dir, "Cameras", f"CamView{index}_P3x4.txt")


def camera_params_path(subject_dir, subject):
    return os.path.join(subject_dir, "Cameras", f"camera_params_{subject}.npz")


def matrices_path(subject_dir, subject):
    return os.path.join(subject_dir, "Cameras", f"matrices_{subject}.npz")


def positions_3d_path(subject_dir, action):
    return os.path.join(subject_dir, "D3_Positions", action, f"{action}.npz")


def data3d_txt_path(subject_dir, action):
    return os.path.join(subject_dir, "D3_Positions", action, "data3D.txt")


def positions_2d_path(subject_dir, action):
    return os.path.join(subject_dir, "D2_Positions", action, "2D_positions.npz")


def occlusions_path(subject_dir, action):
    return os.path.join(subject_dir, "Occlusions", action, "occluded_kpt.npz")


def occlusion_types_path(subject_dir, action):
    """Addition: typed occlusion codes of the primary person, beside the legacy labels."""
    return os.path.join(subject_dir, "Occlusions", action, "occlusion_types.npz")


def persons_path(subject_dir, action):
    """Addition: every person of a multi-person take."""
    return os.path.join(subject_dir, "Persons", action, "persons.npz")


def cam_key(index):
    return f"Cam_{index}"


def subject_dirs(folder):
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


def action_names(subject_dir):
    """The actions of a subject: the folders of its D3_Positions/, sorted."""
    folder = os.path.join(subject_dir, "D3_Positions")
    if not os.path.isdir(folder):
        raise DatasetError(folder, None, "required folder is missing")
    return sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)))


# ---- checks ------------------------------------------------------------------------------------


def check_array(path, field, array, shape, kind="f", finite=True):
    """Raise DatasetError unless ``array`` has ``shape`` (None = any size), dtype kind ``kind``
    ('f' float, 'iu' integer) and, for floats, only finite values."""
    array = np.asarray(array)
    if array.dtype.kind not in kind:
        raise DatasetError(path, field, f"dtype {array.dtype} where {_kind_name(kind)} belongs")
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=False)
    ):
        want = "(" + ",".join("N" if s is None else str(s) for s in shape) + ")"
        raise DatasetError(path, field, f"shape {array.shape} where {want} belongs")
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise DatasetError(path, field, f"non-finite value (NaN or inf) at index {tuple(bad)}")
    return array


def _kind_name(kind):
    return {"f": "a float array", "iu": "an integer array"}.get(kind, kind)


def _require_keys(path, arrays, keys):
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DatasetError(path, missing[0], "missing key")


def _cam_arrays(path, arrays, shape, kind="f"):
    """Cam_0, Cam_1, ... in order; every other key is an error."""
    keys = list(arrays)
    expected = [cam_key(i) for i in range(len(keys))]
    if keys != expected or not keys:
        raise DatasetError(path, None, f"keys {keys} where {expected or ['Cam_0', '...']} belong")
    return [check_array(path, key, arrays[key], shape, kind) for key in keys]


# ---- cameras -----------------------------------------------------------------------------------


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
    def from_blender(cls, specs):
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

    def intrinsic_dicts(self):
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

    def extrinsic_dicts(self, subject):
        if self.extrinsic_params is not None:
            return self.extrinsic_params
        quaternions = cam.quaternion_from_matrix(self.RT[:, :, :3])
        return {
            subject: [
                {"orientation": [float(v) for v in q], "translation": [float(v) for v in RT[:, 3]]}
                for q, RT in zip(quaternions, self.RT, strict=True)
            ]
        }


def write_cameras(subject_dir, subject, cameras):
    """Cameras/CamView{i}_P3x4.txt, camera_params_<S>.npz and matrices_<S>.npz."""
    for index, P in enumerate(cameras.P):
        _write_savetxt(camview_path(subject_dir, index), P)
    params = {
        "intrinsic_params": object_array(cameras.intrinsic_dicts()),
        "extrinsic_params": object_scalar(cameras.extrinsic_dicts(subject)),
    }
    write_npz(camera_params_path(subject_dir, subject), params, compressed=False)
    matrices = {"K": cameras.K, "RT": cameras.RT, "P": cameras.P}
    write_npz(matrices_path(subject_dir, subject), matrices, compressed=False)


def read_cameras(subject_dir, subject=None):
    """The subject's cameras from its Cameras/ folder (subject: the folder's name by default)."""
    subject = subject or os.path.basename(os.path.normpath(subject_dir))
    path = matrices_path(subject_dir, subject)
    matrices = read_npz(path)
    _require_keys(path, matrices, ("K", "RT", "P"))
    K = check_array(path, "K", matrices["K"], (None, 3, 3))
    count = K.shape[0]
    RT = check_array(path, "RT", matrices["RT"], (count, 3, 4))
    P = check_array(path, "P", matrices["P"], (count, 3, 4))
    intrinsic, extrinsic = read_camera_params(subject_dir, subject, count)
    names = [entry["id"] for entry in intrinsic]
    res = [(entry["res_w"], entry["res_h"]) for entry in intrinsic]
    return Cameras(names, K, RT, res, P, intrinsic, extrinsic)


def read_camera_params(subject_dir, subject, count):
    """The two pickled objects of camera_params_<S>.npz, checked field by field."""
    path = camera_params_path(subject_dir, subject)
    params = read_npz(path, pickled=CAMERA_PICKLES)
    _require_keys(path, params, CAMERA_PICKLES)
    intrinsic = params["intrinsic_params"]
    if intrinsic.dtype != object or intrinsic.shape != (count,):
        raise DatasetError(path, "intrinsic_params", f"expected {count} camera dicts")
    for index, entry in enumerate(intrinsic):
        field = f"intrinsic_params[{index}]"
        _check_dict(path, field, entry, INTRINSIC_FIELDS)
        for key, size in (("center", 2), ("focal_length", 2)):
            _check_numbers(path, f"{field}.{key}", entry[key], size)
        for key in ("res_w", "res_h"):
            if not isinstance(entry[key], (int, np.integer)) or entry[key] <= 0:
                raise DatasetError(path, f"{field}.{key}", "must be a positive integer")
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
    values = np.asarray(value)
    if values.shape != (size,) or values.dtype.kind not in "iuf" or not np.isfinite(values).all():
        raise DatasetError(path, field, f"expected {size} finite numbers, found {value!r}")


def read_camview(subject_dir, index):
    path = camview_path(subject_dir, index)
    return check_array(path, "P", _read_text(path), (3, 4))


# ---- one action --------------------------------------------------------------------------------


def write_positions_3d(subject_dir, action, positions_3d, data3d_txt=True):
    """D3_Positions/<A>/<A>.npz (positions_3d, float64) and data3D.txt ((17,3N) text)."""
    positions_3d = _as(positions_3d, np.float64, (None, N_JOINTS, 3), "positions_3d")
    write_npz(positions_3d_path(subject_dir, action), {"positions_3d": positions_3d}, True)
    if data3d_txt:
        stacked = positions_3d.transpose(1, 2, 0).reshape(N_JOINTS, -1)
        _write_savetxt(data3d_txt_path(subject_dir, action), stacked)


def read_positions_3d(subject_dir, action):
    path = positions_3d_path(subject_dir, action)
    arrays = read_npz(path)
    _require_keys(path, arrays, ("positions_3d",))
    return check_array(path, "positions_3d", arrays["positions_3d"], (None, N_JOINTS, 3))


def read_data3d_txt(subject_dir, action):
    """data3D.txt back as (N,17,3)."""
    path = data3d_txt_path(subject_dir, action)
    text = _read_text(path)
    if text.ndim != 2 or text.shape[0] != N_JOINTS or text.shape[1] % 3:
        raise DatasetError(path, None, f"shape {text.shape} where (17,3N) belongs")
    return check_array(path, None, text.reshape(N_JOINTS, 3, -1).transpose(2, 0, 1), (None, 17, 3))


def write_positions_2d(subject_dir, action, positions_2d_by_cam):
    """D2_Positions/<A>/2D_positions.npz: Cam_i (N,17,2) float64 pixels."""
    arrays = {
        cam_key(i): _as(uv, np.float64, (None, N_JOINTS, 2), cam_key(i))
        for i, uv in enumerate(positions_2d_by_cam)
    }
    write_npz(positions_2d_path(subject_dir, action), arrays, compressed=True)


def read_positions_2d(subject_dir, action):
    path = positions_2d_path(subject_dir, action)
    return _cam_arrays(path, read_npz(path), (None, N_JOINTS, 2))


def write_occlusions(subject_dir, action, occluded_by_cam):
    """Occlusions/<A>/occluded_kpt.npz: Cam_i (N,17) float64, 1 visible, 0 not."""
    arrays = {
        cam_key(i): _as(labels, np.float64, (None, N_JOINTS), cam_key(i))
        for i, labels in enumerate(occluded_by_cam)
    }
    write_npz(occlusions_path(subject_dir, action), arrays, compressed=True)


def read_occlusions(subject_dir, action):
    path = occlusions_path(subject_dir, action)
    labels = _cam_arrays(path, read_npz(path), (None, N_JOINTS))
    for index, cam_labels in enumerate(labels):
        bad = (cam_labels != 0) & (cam_labels != 1)
        if bad.any():
            where = tuple(np.argwhere(bad)[0])
            value = cam_labels[where]
            raise DatasetError(path, cam_key(index), f"label {value} at {where}; only 0/1 belong")
    return labels


def write_occlusion_types(subject_dir, action, types_by_cam):
    """Addition: Occlusions/<A>/occlusion_types.npz, Cam_i (N,17) uint8 OcclusionType codes."""
    arrays = {}
    for index, types in enumerate(types_by_cam):
        types = np.asarray(types)
        if invalid_codes(types).any():
            raise ValueError(f"{cam_key(index)}: values outside the OcclusionType codes")
        arrays[cam_key(index)] = _as(types, LABEL_DTYPE, (None, N_JOINTS), cam_key(index))
    write_npz(occlusion_types_path(subject_dir, action), arrays, compressed=True)


def read_occlusion_types(subject_dir, action):
    path = occlusion_types_path(subject_dir, action)
    types = _cam_arrays(path, read_npz(path), (None, N_JOINTS), kind="iu")
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


def write_persons(subject_dir, action, persons):
    """Addition: Persons/<A>/persons.npz with names, positions_3d, Cam_i_2d and Cam_i_types."""
    count = len(persons.names)
    arrays = {
        "names": np.array([str(n) for n in persons.names], dtype=str),
        "positions_3d": _as(persons.positions_3d, np.float64, (count, None, 17, 3), "positions_3d"),
    }
    for index, (uv, types) in enumerate(
        zip(persons.positions_2d_by_cam, persons.types_by_cam, strict=True)
    ):
        arrays[f"{cam_key(index)}_2d"] = _as(uv, np.float64, (count, None, 17, 2), "2d")
        arrays[f"{cam_key(index)}_types"] = _as(types, LABEL_DTYPE, (count, None, 17), "types")
    write_npz(persons_path(subject_dir, action), arrays, compressed=True)


def read_persons(subject_dir, action):
    path = persons_path(subject_dir, action)
    arrays = read_npz(path)
    _require_keys(path, arrays, ("names", "positions_3d"))
    names = arrays.pop("names")
    if names.dtype.kind != "U" or names.ndim != 1:
        raise DatasetError(path, "names", "expected a 1-d array of strings")
    count = len(names)
    positions_3d = check_array(
        path, "positions_3d", arrays.pop("positions_3d"), (count, None, 17, 3)
    )
    frames = positions_3d.shape[1]
    uv, types = [], []
    while arrays:
        index = len(uv)
        key_2d, key_types = f"{cam_key(index)}_2d", f"{cam_key(index)}_types"
        _require_keys(path, arrays, (key_2d, key_types))
        uv.append(check_array(path, key_2d, arrays.pop(key_2d), (count, frames, 17, 2)))
        types.append(check_array(path, key_types, arrays.pop(key_types), (count, frames, 17), "iu"))
        if invalid_codes(types[-1]).any():
            raise DatasetError(path, key_types, "values outside the OcclusionType codes 0-5")
    return Persons(names.tolist(), positions_3d, uv, types)


def write_action(
    subject_dir,
    action,
    positions_3d,
    positions_2d_by_cam,
    occluded_by_cam=None,
    types_by_cam=None,
    persons=None,
    data3d_txt=True,
):
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


# ---- helpers -----------------------------------------------------------------------------------


def _as(array, dtype, shape, field):
    """Writer-side check: programming errors raise ValueError before anything is written."""
    array = np.asarray(array)
    try:
        return check_array(None, field, array, shape, kind="fiu").astype(dtype, copy=False)
    except DatasetError as exc:
        raise ValueError(exc.message) from None


def _write_savetxt(path, matrix):
    """np.savetxt's default text ('%.18e', space separated), written atomically."""
    buffer = io.BytesIO()
    np.savetxt(buffer, matrix)
    with atomic_file(path) as handle:
        handle.write(buffer.getvalue())


def _read_text(path):
    try:
        with open(path, "rb") as handle:
            return np.loadtxt(handle, dtype=np.float64, ndmin=2)
    except FileNotFoundError:
        raise DatasetError(path, None, "file is missing") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, None, f"not a numeric text matrix ({exc})") from None
