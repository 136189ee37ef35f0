"""BlendMimic3D data for VideoPose3D's run.py (written by BlendMimic3D Studio).

Copy this file to ``<VideoPose3D>/common/blendmimic3d_dataset.py`` and add to ``run.py``, before
``else: raise KeyError('Invalid dataset')`` (``tools/videopose3d_check.py --patch`` does both):

    elif args.dataset.startswith('blendmimic3d'):
        from common.blendmimic3d_dataset import BlendMimic3DDataset
        dataset = BlendMimic3DDataset(dataset_path)

It reads what ``python -m blendmimic3d_addon to-videopose3d DIR data --name NAME`` writes
(NAME starting with ``blendmimic3d``): ``data_3d_NAME.npz`` (world metres, Human3.6M's 17-joint
order), ``cameras_NAME.json`` (VideoPose3D's camera fields, translation in metres) and the fps
from ``data_2d_NAME_gt.npz``'s metadata. Then ``run.py -d NAME -k gt ...`` trains and tests.
Unlike Human3.6M's class it keeps the 17 joints as they are (no 32-joint skeleton to reduce)
and takes the cameras from the dataset, not from Human3.6M's table.
"""

import json
import os

import numpy as np
from common.mocap_dataset import MocapDataset
from common.skeleton import Skeleton

# Human3.6M's 17 joints as VideoPose3D orders them: index 1-3 right leg, 11-13 left arm.
PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
JOINTS_LEFT = [4, 5, 6, 11, 12, 13]
JOINTS_RIGHT = [1, 2, 3, 14, 15, 16]
_FLOAT_FIELDS = (
    "center",
    "focal_length",
    "radial_distortion",
    "tangential_distortion",
    "orientation",
    "translation",
)


def _camera(entry):
    cam = dict(entry)
    for key in _FLOAT_FIELDS:
        cam[key] = np.array(cam[key], dtype="float32")
    w, h = cam["res_w"], cam["res_h"]
    # As Human36mDataset does: the image's [0, w] mapped to [-1, 1] (normalize_screen_coordinates)
    cam["center"] = (cam["center"] / w * 2 - np.array([1, h / w])).astype("float32")
    cam["focal_length"] = cam["focal_length"] / w * 2
    cam["intrinsic"] = np.concatenate(
        (cam["focal_length"], cam["center"], cam["radial_distortion"], cam["tangential_distortion"])
    )
    return cam  # translation is in metres already (Human3.6M's table is in millimetres)


class BlendMimic3DDataset(MocapDataset):
    def __init__(self, path):
        folder, file_name = os.path.split(path)
        name = file_name[len("data_3d_") : -len(".npz")]
        fps = None
        path_2d = os.path.join(folder, "data_2d_" + name + "_gt.npz")
        if os.path.exists(path_2d):
            fps = np.load(path_2d, allow_pickle=True)["metadata"].item().get("fps")
        skeleton = Skeleton(parents=PARENTS, joints_left=JOINTS_LEFT, joints_right=JOINTS_RIGHT)
        super().__init__(fps=fps, skeleton=skeleton)
        with open(os.path.join(folder, "cameras_" + name + ".json")) as handle:
            cameras = json.load(handle)
        self._cameras = {
            subject: [_camera(e) for e in entries] for subject, entries in cameras.items()
        }
        data = np.load(path, allow_pickle=True)["positions_3d"].item()
        self._data = {}
        for subject, actions in data.items():
            self._data[subject] = {
                action: {"positions": positions, "cameras": self._cameras[subject]}
                for action, positions in actions.items()
            }

    def supports_semi_supervised(self):
        return True
