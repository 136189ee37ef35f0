"""BlendMimic3D-format data as camera-frame sequences for training.

Every (subject, action, camera) becomes one sequence: root-relative camera-frame 3D in metres
(BlendMimic3D joint order), the 2D projection in pixels (computed from 3D, as the published 2D
is), and the occlusion labels (1 visible, 0 occluded or out of frame). Virtual cameras
(training/cameras.py) add sequences of the same takes seen from elsewhere.
"""

import dataclasses
import os

import numpy as np

from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.geometry import camera

from . import cameras as virtual

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
    kind: str = "published"  # "published", "virtual" or "held_out_camera"

    @property
    def name(self):
        prefix = {"published": "Cam", "virtual": "Virtual", "held_out_camera": "HeldOutCam"}
        return f"{self.subject}/{self.action}/{prefix[self.kind]}_{self.camera}"


def load_root(root, virtual_cameras=0, rng=None):
    """All sequences of every subject folder under a dataset root (read with the core readers,
    so a malformed dataset stops with the same one-line error the add-on gives); with
    ``virtual_cameras``, that many virtual views of each training take, and one view from the
    held-out camera geometry of each held-out take."""
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
            if virtual_cameras:
                held = action in VALIDATION_ACTIONS
                geometries = (
                    [virtual.held_out()]
                    if held
                    else [virtual.sample(rng) for _ in range(virtual_cameras)]
                )
                for k, geometry in enumerate(geometries):
                    kind = "held_out_camera" if held else "virtual"
                    rt = virtual.camera_for(world, *geometry)
                    sequences.append(
                        _virtual_sequence(subject, action, k, kind, world, rt, cams, labels)
                    )
    return sequences


def _virtual_sequence(subject, action, index, kind, world, rt, cams, labels):
    """A take through the virtual camera ``rt`` with the first published camera's lens; labels:
    out of frame or behind, else those of the published camera nearest in heading."""
    in_cam = camera.world_to_camera(world, rt)[0]
    pixels = camera.camera_to_pixel(in_cam[None], cams.K[0])[0]
    width, height = (int(v) for v in cams.res[0])
    inside = camera.in_image(pixels, width, height) & (in_cam[..., 2] > 0.1)
    borrowed = labels[virtual.nearest_published(rt, cams.RT, world)] > 0.5
    return Sequence(
        subject=subject,
        action=action,
        camera=index,
        pose3d=(in_cam - in_cam[:, :1]).astype(np.float32),
        pose2d=np.nan_to_num(pixels).astype(np.float32),
        visible=inside & borrowed,
        resolution=(width, height),
        kind=kind,
    )


def split(sequences, validation_actions=VALIDATION_ACTIONS):
    """(training, held-out actions from the published cameras, held-out camera geometry)."""
    train = [s for s in sequences if s.action not in validation_actions]
    val = [s for s in sequences if s.action in validation_actions and s.kind == "published"]
    geometry = [s for s in sequences if s.kind == "held_out_camera"]
    return train, val, geometry
