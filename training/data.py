"""BlendMimic3D-format data as camera-frame sequences for training.

Every (subject, action, camera) becomes one sequence: root-relative camera-frame 3D in metres
(BlendMimic3D joint order), the 2D projection in pixels (computed from 3D, as the published 2D
is), and the occlusion labels (1 visible, 0 occluded or out of frame).
"""

import dataclasses
import os

import numpy as np

from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.geometry import camera

# Actions held out of training (both subjects); the benchmark and the model card report on them.
VALIDATION_ACTIONS = ("Greeting", "PhonePacing", "SittingTalk")


@dataclasses.dataclass
class Sequence:
    subject: str
    action: str
    camera: int
    pose3d: np.ndarray  # (N,17,3) float32, root-relative camera frame, metres
    pose2d: np.ndarray  # (N,17,2) float32, pixels
    visible: np.ndarray  # (N,17) bool
    resolution: tuple  # (width, height) in pixels

    @property
    def name(self):
        return f"{self.subject}/{self.action}/Cam_{self.camera}"


def load_root(root):
    """All sequences of every subject folder under a dataset root (read with the core readers,
    so a malformed dataset stops with the same one-line error the add-on gives)."""
    sequences = []
    for subject_dir in dio.subject_dirs(root):
        subject = os.path.basename(os.path.normpath(subject_dir))
        cams = dio.read_cameras(subject_dir, subject)
        for action in dio.action_names(subject_dir):
            world = dio.read_positions_3d(subject_dir, action)
            labels = dio.read_occlusions(subject_dir, action)
            in_cams = camera.world_to_camera(world, cams.RT)
            pixels = camera.project(world, cams.P)
            for c in range(len(cams)):
                sequences.append(
                    Sequence(
                        subject=subject,
                        action=action,
                        camera=c,
                        pose3d=(in_cams[c] - in_cams[c][:, :1]).astype(np.float32),
                        pose2d=pixels[c].astype(np.float32),
                        visible=labels[c] > 0.5,
                        resolution=tuple(int(v) for v in cams.res[c]),
                    )
                )
    return sequences


def split(sequences, validation_actions=VALIDATION_ACTIONS):
    train = [s for s in sequences if s.action not in validation_actions]
    val = [s for s in sequences if s.action in validation_actions]
    return train, val
