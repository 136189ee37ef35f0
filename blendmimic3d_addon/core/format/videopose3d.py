"""Conversion to VideoPose3D's npz layout, read as is by VideoPose3D, PoseFormerV2 and D3DP.

``data_3d_<name>.npz``: ``positions_3d`` = {subject: {action: (N,17,3) float32}}, world frame,
metres. ``data_2d_<name>_gt.npz``: ``positions_2d`` = {subject: {action: [(N,17,2) float32 per
camera]}} and ``metadata`` = {layout_name, num_joints, keypoints_symmetry}. Joints are converted to
Human3.6M's order by default, so those tools see left and right where they expect them. The
cameras go to ``cameras_<name>.json`` in VideoPose3D's own convention (orientation: quaternion of
the camera-to-world rotation; translation: the camera centre in metres), with their intrinsics.
"""

import contextlib
import json
import os
import re

import numpy as np

from ..errors import DatasetError
from ..geometry import camera as cam
from ..joints import LEFT_BM3D, LEFT_H36M, RIGHT_BM3D, RIGHT_H36M, convert_joint_order
from . import dataset_io as dio
from . import manifest
from .atomic import atomic_file
from .safe_npz import object_scalar, read_npz, write_npz
from .safe_open import read_json

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
LAYOUTS = {
    "h36m": {"layout_name": "h36m", "symmetry": (LEFT_H36M, RIGHT_H36M)},
    "blendmimic3d": {"layout_name": "blendmimic3d", "symmetry": (LEFT_BM3D, RIGHT_BM3D)},
}


def _name_check(name):
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        # It becomes part of three file names: no folder separators, no hidden or parent names.
        raise DatasetError(None, "--name", f"{name!r}: use letters, digits, '.', '_' and '-'")


def convert_dataset(folder, out, name="blendmimic3d", joint_order="h36m"):
    """Write the three files into ``out``; returns their paths. 2D comes from the dataset's 2D
    files where present and from projecting the 3D otherwise (they are equal in the format).

    Files already at those paths (an earlier conversion of other subjects) are extended: their
    subjects are kept, and a subject present in both is refused, so converting S1 and then S2
    into the same folder and name gives one dataset of both."""
    if joint_order not in LAYOUTS:
        raise DatasetError(None, "joint_order", f"unknown joint order {joint_order!r}")
    _name_check(name)
    positions_3d, positions_2d, cameras = {}, {}, {}
    fps = None
    for subject_dir in dio.subject_dirs(folder):
        subject = os.path.basename(os.path.normpath(subject_dir))
        subject_cameras = dio.read_cameras(subject_dir, subject)
        cameras[subject] = _camera_entries(subject_cameras)
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action in dio.action_names(subject_dir):
            world, uv = _world_and_2d(subject_dir, action, subject_cameras)
            positions_3d[subject][action] = _reorder(world, joint_order)
            positions_2d[subject][action] = list(_reorder(uv, joint_order))
        fps = fps or _fps(subject_dir)
    out = _output_folder(out)
    metadata = _metadata(joint_order, fps)
    paths = [
        os.path.join(out, f"data_3d_{name}.npz"),
        os.path.join(out, f"data_2d_{name}_gt.npz"),
        os.path.join(out, f"cameras_{name}.json"),
    ]
    old_3d, old_2d, old_meta, old_cameras = _existing(paths, metadata)
    for subject in positions_3d:
        if subject in old_3d or subject in old_2d or subject in old_cameras:
            raise DatasetError(paths[0], subject, "already converted into these files; "
                               "give another --name or output folder")  # fmt: skip
    positions_3d = {**old_3d, **positions_3d}
    positions_2d = {**old_2d, **positions_2d}
    cameras = {**old_cameras, **cameras}
    arrays_2d = {"positions_2d": object_scalar(positions_2d), "metadata": object_scalar(metadata)}
    with _all_or_none(paths) as temporary:
        write_npz(temporary[0], {"positions_3d": object_scalar(positions_3d)}, compressed=True)
        write_npz(temporary[1], arrays_2d, compressed=True)
        with atomic_file(temporary[2], "w") as handle:
            json.dump(cameras, handle, indent=1)
    return paths


@contextlib.contextmanager
def _all_or_none(paths):
    """Hidden names beside ``paths`` to write to; renamed onto ``paths`` only when every one is
    written, removed otherwise, so the three files always belong to one conversion."""
    temporary = [os.path.join(os.path.dirname(p), f".{os.path.basename(p)}.writing") for p in paths]
    try:
        yield temporary
        for tmp, path in zip(temporary, paths, strict=True):
            os.replace(tmp, path)
    finally:
        for tmp in temporary:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)


def convert_custom(folder, out, name="blendmimic3d", joint_order="h36m"):
    """VideoPose3D's inference path (``run.py -d custom -k <name>``):
    ``data_2d_custom_<name>.npz`` with one entry per subject, action and camera, named after
    the dataset's video (``<subject>/Videos/<action>_<i>.mp4``): ``positions_2d[video] =
    {"custom": [(N,17,2) float32]}``, and ``metadata["video_metadata"][video] = {"w", "h"}``.
    ``joint_order`` "coco" gives COCO-17 (face points from ``FacePoints/``), what VideoPose3D's
    pretrained in-the-wild model reads. An existing file is extended, as ``convert_dataset``."""
    if joint_order not in (*LAYOUTS, "coco"):
        raise DatasetError(None, "joint_order", f"unknown joint order {joint_order!r}")
    _name_check(name)
    out = _output_folder(out)
    positions_2d, videos, fps = {}, {}, None
    for subject_dir in dio.subject_dirs(folder):
        subject = os.path.basename(os.path.normpath(subject_dir))
        subject_cameras = dio.read_cameras(subject_dir, subject)
        for action in dio.action_names(subject_dir):
            world, uv = _world_and_2d(subject_dir, action, subject_cameras)
            if joint_order == "coco":
                uv = _coco_2d(subject_dir, action, uv)
            else:
                uv = _reorder(uv, joint_order)
            for index, keypoints in enumerate(uv):
                video = f"{subject}/Videos/{action}_{index}.mp4"
                positions_2d[video] = {"custom": [np.ascontiguousarray(keypoints, np.float32)]}
                res_w, res_h = (int(v) for v in subject_cameras.res[index])
                videos[video] = {"w": res_w, "h": res_h}
        fps = fps or _fps(subject_dir)
    metadata = dict(_metadata(joint_order, fps), video_metadata=videos)
    path = os.path.join(out, f"data_2d_custom_{name}.npz")
    if os.path.exists(path):
        old_2d, old_meta = _existing_2d(path, metadata)
        clash = sorted(set(old_2d) & set(positions_2d))
        if clash:
            raise DatasetError(path, clash[0], "already converted into this file; "
                               "give another --name or output folder")  # fmt: skip
        positions_2d = {**old_2d, **positions_2d}
        metadata["video_metadata"] = {**old_meta.get("video_metadata", {}), **videos}
    arrays_2d = {"positions_2d": object_scalar(positions_2d), "metadata": object_scalar(metadata)}
    write_npz(path, arrays_2d, compressed=True)
    return [path]


def _world_and_2d(subject_dir, action, cameras):
    world = dio.read_positions_3d(subject_dir, action)
    if os.path.exists(dio.positions_2d_path(subject_dir, action)):
        return world, _checked_2d(subject_dir, action, len(world), len(cameras))
    return world, cam.project(world, cameras.P)


def _coco_2d(subject_dir, action, uv):
    from . import coco, coco_dataset

    face = coco_dataset.read_face_points(subject_dir, action, _persons(subject_dir, action),
                                         uv.shape[1], len(uv))  # fmt: skip
    if face is None:
        raise DatasetError(coco_dataset.face_points_path(subject_dir, action), None,
                           "missing: COCO joints need the face points of an export")  # fmt: skip
    return coco.coco17(uv, np.stack([face_uv[0] for face_uv in face[1]]))


def _persons(subject_dir, action):
    path = dio.persons_path(subject_dir, action)
    return len(dio.read_persons(subject_dir, action).names) if os.path.isfile(path) else 1


def _fps(subject_dir):
    content = manifest.read_manifest(os.path.dirname(os.path.normpath(subject_dir)))
    return None if content is None else content["fps"]


def _metadata(joint_order, fps):
    if joint_order == "coco":
        from .coco import COCO_KEYPOINTS

        left = [i for i, n in enumerate(COCO_KEYPOINTS) if n.startswith("left")]
        symmetry = (left, [i + 1 for i in left])
        name = "coco"
    else:
        layout = LAYOUTS[joint_order]
        symmetry, name = [side.tolist() for side in layout["symmetry"]], layout["layout_name"]
    metadata = {"layout_name": name, "num_joints": 17,
                "keypoints_symmetry": [list(side) for side in symmetry]}  # fmt: skip
    if fps is not None:
        metadata["fps"] = fps
    return metadata


def _existing(paths, metadata):
    """The subjects already in the three files (3D, 2D, metadata, cameras), checked to be one
    earlier conversion in the same joint order; empty where there are none."""
    present = [os.path.exists(p) for p in paths]
    if not any(present):
        return {}, {}, None, {}
    if not all(present):
        missing = paths[present.index(False)]
        raise DatasetError(missing, None, "missing while the other converted files exist; "
                           "remove them or choose another --name")  # fmt: skip
    old_3d = read_npz(paths[0], pickled=("positions_3d",))["positions_3d"].item()
    old_2d, old_meta = _existing_2d(paths[1], metadata)
    old_cameras = read_json(paths[2])  # a regular file of bounded size, or one message
    if not all(isinstance(d, dict) for d in (old_3d, old_cameras)):
        raise DatasetError(paths[0], None, "not a VideoPose3D dataset of subjects")
    return old_3d, old_2d, old_meta, old_cameras


def _existing_2d(path, metadata):
    """(positions_2d, metadata) of an earlier 2D file, checked to hold dicts of the same joints
    (the dataset and the custom layout both extend such a file)."""
    arrays = read_npz(path, pickled=("positions_2d", "metadata"))
    old_2d, old_meta = arrays["positions_2d"].item(), arrays["metadata"].item()
    if not (isinstance(old_2d, dict) and isinstance(old_meta, dict)):
        raise DatasetError(path, None, "not a VideoPose3D 2D file (positions_2d, metadata dicts)")
    if old_meta.get("layout_name") != metadata["layout_name"]:
        raise DatasetError(path, "metadata", f"holds {old_meta.get('layout_name')!r} joints, "
                           f"not {metadata['layout_name']!r}")  # fmt: skip
    return old_2d, old_meta


def _checked_2d(subject_dir, action, frames, cameras):
    """The action's stored 2D as (C,N,17,2): one array per camera, each as long as the 3D."""
    path = dio.positions_2d_path(subject_dir, action)
    uv = dio.read_positions_2d(subject_dir, action)
    if len(uv) != cameras:
        raise DatasetError(path, None, f"{len(uv)} cameras where the subject has {cameras}")
    for index, array in enumerate(uv):
        if len(array) != frames:
            raise DatasetError(
                path, dio.cam_key(index), f"{len(array)} frames where 3D has {frames}"
            )
    return np.stack(uv)


def _output_folder(out):
    """``out`` as a folder to write into: created if missing, refused if it is something else."""
    out = os.fspath(out)
    if os.path.lexists(out) and not os.path.isdir(out):
        raise DatasetError(out, None, "exists and is not a folder; give a folder for the npz files")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise DatasetError(out, None, f"cannot create the folder ({exc.strerror or exc})") from None
    return out


def _reorder(poses, joint_order):
    poses = convert_joint_order(poses, "blendmimic3d", joint_order)
    return np.ascontiguousarray(poses, dtype=np.float32)


def _camera_entries(cameras):
    """Per camera: VideoPose3D's intrinsic fields and its extrinsic convention."""
    R = cameras.RT[:, :, :3]
    to_world = cam.quaternion_from_matrix(np.swapaxes(R, 1, 2))
    centres = cam.camera_centre(cameras.RT)
    entries = []
    for index, name in enumerate(cameras.names):
        K = cameras.K[index]
        entries.append(
            {
                "id": name,
                "center": [float(K[0, 2]), float(K[1, 2])],
                "focal_length": [float(K[0, 0]), float(K[1, 1])],
                "radial_distortion": [0.0, 0.0, 0.0],
                "tangential_distortion": [0.0, 0.0],
                "res_w": int(cameras.res[index, 0]),
                "res_h": int(cameras.res[index, 1]),
                "azimuth": 0,
                "orientation": to_world[index].tolist(),
                "translation": centres[index].tolist(),
            }
        )
    return entries
