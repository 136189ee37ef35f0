"""Conversion to VideoPose3D's npz layout, read as is by VideoPose3D, PoseFormerV2 and D3DP.

``data_3d_<name>.npz``: ``positions_3d`` = {subject: {action: (N,17,3) float32}}, world frame,
metres. ``data_2d_<name>_gt.npz``: ``positions_2d`` = {subject: {action: [(N,17,2) float32 per
camera]}} and ``metadata`` = {layout_name, num_joints, keypoints_symmetry}. Joints are converted to
Human3.6M's order by default, so those tools see left and right where they expect them. The
cameras go to ``cameras_<name>.json`` in VideoPose3D's own convention (orientation: quaternion of
the camera-to-world rotation; translation: the camera centre in metres), with their intrinsics.
"""

import json
import os
import re

import numpy as np

from ..errors import DatasetError
from ..geometry import camera as cam
from ..joints import LEFT_BM3D, LEFT_H36M, RIGHT_BM3D, RIGHT_H36M, convert_joint_order
from . import dataset_io as dio
from .atomic import atomic_file
from .safe_npz import object_scalar, write_npz

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
LAYOUTS = {
    "h36m": {"layout_name": "h36m", "symmetry": (LEFT_H36M, RIGHT_H36M)},
    "blendmimic3d": {"layout_name": "blendmimic3d", "symmetry": (LEFT_BM3D, RIGHT_BM3D)},
}


def convert_dataset(folder, out, name="blendmimic3d", joint_order="h36m"):
    """Write the three files into ``out``; returns their paths. 2D comes from the dataset's 2D
    files where present and from projecting the 3D otherwise (they are equal in the format)."""
    if joint_order not in LAYOUTS:
        raise DatasetError(None, "joint_order", f"unknown joint order {joint_order!r}")
    if not _NAME.fullmatch(name):
        # It becomes part of three file names: no folder separators, no hidden or parent names.
        raise DatasetError(None, "--name", f"{name!r}: use letters, digits, '.', '_' and '-'")
    positions_3d, positions_2d, cameras = {}, {}, {}
    for subject_dir in dio.subject_dirs(folder):
        subject = os.path.basename(os.path.normpath(subject_dir))
        subject_cameras = dio.read_cameras(subject_dir, subject)
        cameras[subject] = _camera_entries(subject_cameras)
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action in dio.action_names(subject_dir):
            world = dio.read_positions_3d(subject_dir, action)
            if os.path.exists(dio.positions_2d_path(subject_dir, action)):
                uv = _checked_2d(subject_dir, action, len(world), len(subject_cameras))
            else:
                uv = cam.project(world, subject_cameras.P)
            positions_3d[subject][action] = _reorder(world, joint_order)
            positions_2d[subject][action] = list(_reorder(uv, joint_order))
    out = _output_folder(out)
    layout = LAYOUTS[joint_order]
    metadata = {
        "layout_name": layout["layout_name"],
        "num_joints": 17,
        "keypoints_symmetry": [side.tolist() for side in layout["symmetry"]],
    }
    paths = [
        os.path.join(out, f"data_3d_{name}.npz"),
        os.path.join(out, f"data_2d_{name}_gt.npz"),
        os.path.join(out, f"cameras_{name}.json"),
    ]
    write_npz(paths[0], {"positions_3d": object_scalar(positions_3d)}, compressed=True)
    arrays_2d = {"positions_2d": object_scalar(positions_2d), "metadata": object_scalar(metadata)}
    write_npz(paths[1], arrays_2d, compressed=True)
    with atomic_file(paths[2], "w") as handle:
        json.dump(cameras, handle, indent=1)
    return paths


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
