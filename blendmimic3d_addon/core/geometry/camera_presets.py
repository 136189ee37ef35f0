"""Camera rigs as numbers: the published BlendMimic3D geometry, Human3.6M's calibrated cameras
and a ring of N cameras, plus the aiming and re-centring a rig needs.

A camera here is where Blender puts it: ``location`` (world, metres) and ``rotation``, the 3x3
rotation of its ``matrix_world`` (Blender's camera looks down its local -Z with +Y up). Its lens
is in pixels (``focal_px``, square pixels) with the principal point ``principal`` (cx, cy) in
pixels of a ``resolution`` (width, height) image.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DatasetError
from .camera import matrix_from_quaternion

# Blender camera axes (x right, y up, z backwards) to computer-vision axes (x right, y down,
# z forwards) and back: the same diagonal either way.
BLENDER_TO_CV = np.diag([1.0, -1.0, -1.0])

BLENDMIMIC3D_RESOLUTION = (1000, 1002)  # as Human3.6M


@dataclass(frozen=True)
class CameraSpec:
    location: np.ndarray  # (3,)
    rotation: np.ndarray  # (3, 3) camera-to-world, Blender camera axes
    focal_px: float
    principal: tuple  # (cx, cy) pixels

    @property
    def forward(self) -> np.ndarray:
        return -self.rotation[:, 2]


@dataclass(frozen=True)
class Rig:
    name: str
    resolution: tuple  # (width, height) pixels
    cameras: tuple  # CameraSpec in dataset order


def euler_xyz(degrees: Sequence[float]) -> np.ndarray:
    """Rotation matrix of Blender's XYZ Euler angles (R = Rz @ Ry @ Rx)."""
    x, y, z = np.radians(degrees)
    cx, sx, cy, sy, cz, sz = (
        math.cos(x),
        math.sin(x),
        math.cos(y),
        math.sin(y),
        math.cos(z),
        math.sin(z),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def look_at(eye: ArrayLike, target: ArrayLike, up: Sequence[float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera-to-world rotation of a Blender camera at ``eye`` looking at ``target``, no roll."""
    eye, target, up = (np.asarray(v, float) for v in (eye, target, up))
    forward = target - eye
    norm = np.linalg.norm(forward)
    if norm < 1e-9:
        raise DatasetError(None, "camera", "stands on its target: no direction to look in")
    forward /= norm
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight up or down
        right = np.cross(forward, (0.0, 1.0, 0.0))
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    return np.column_stack([right, cam_up, -forward])


def _blendmimic3d():
    # Read off the published S1 cameras (../shared/blendmimic3d/S1/Cameras): Blender lenses of
    # 30 mm (cameras 0, 2) and 25 mm (1, 3) on the default 36 mm sensor at 1000 x 1002 px give
    # 835 px and 695.83 px; the Euler angles reproduce the published RT (cameras 1 and 3 have
    # a 2.28 degree roll, so they are not plain look-at cameras).
    size = BLENDMIMIC3D_RESOLUTION
    principal = (size[0] / 2, size[1] / 2)
    wide = 25.0 / 36.0 * 1002  # 695.833... px
    rows = (
        ((4.09885, 8.76371, 1.74672), (77.84736, 0.0, 159.67848), 835.0),
        ((4.09885, 0.0, 1.74672), (70.24401, -2.27725, 22.91817), wide),
        ((1.04588, 8.76371, 1.74672), (77.84737, 0.00006, -166.81855), 835.0),
        ((1.04588, 0.0, 1.74672), (70.24400, -2.27725, -21.94481), wide),
    )
    cameras = tuple(
        CameraSpec(np.array(loc), euler_xyz(angles), focal, principal)
        for loc, angles, focal in rows
    )
    return Rig("BlendMimic3D", size, cameras)


# Human3.6M's calibration for subject S1, as published in VideoPose3D's common/h36m_dataset.py
# (facebookresearch/VideoPose3D, h36m_cameras_intrinsic_params and
# h36m_cameras_extrinsic_params['S1']): per camera the centre (px), focal lengths (px), the
# camera-to-world quaternion [w, x, y, z] of its computer-vision frame and its centre in mm.
_H36M_S1 = (
    (
        (512.54150390625, 515.4514770507812),
        (1145.0494384765625, 1143.7811279296875),
        (0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088),
        (1841.1070556640625, 4955.28466796875, 1563.4454345703125),
    ),
    (
        (508.8486328125, 508.0649108886719),
        (1149.6756591796875, 1147.5916748046875),
        (0.6157187819480896, -0.764836311340332, -0.14833825826644897, 0.11794740706682205),
        (1761.278564453125, -5078.0068359375, 1606.2650146484375),
    ),
    (
        (519.8158569335938, 501.40264892578125),
        (1149.1407470703125, 1148.7989501953125),
        (0.14651472866535187, -0.14647851884365082, 0.7653023600578308, -0.6094175577163696),
        (-1846.7777099609375, 5215.04638671875, 1491.972412109375),
    ),
    (
        (514.9682006835938, 501.88201904296875),
        (1145.5113525390625, 1144.77392578125),
        (0.5834008455276489, -0.7853162288665771, 0.14548823237419128, -0.14749594032764435),
        (-1794.7896728515625, -3722.698974609375, 1574.8927001953125),
    ),
)


def _human36m():
    # Blender renders square pixels at one resolution per scene: the focal length is the mean of
    # fx and fy (they differ by < 0.2 %), and all four use 1000 x 1002 (two H3.6M cameras are
    # 1000 x 1000; their principal points are kept in pixels from the top-left corner).
    cameras = tuple(
        CameraSpec(
            np.array(centre_mm) / 1000.0,
            matrix_from_quaternion(q) @ BLENDER_TO_CV,
            float(np.mean(focal)),
            tuple(principal),
        )
        for principal, focal, q, centre_mm in _H36M_S1
    )
    return Rig("Human3.6M", (1000, 1002), cameras)


def ring(
    count: int,
    radius: float,
    height: float,
    focal_px: float,
    resolution: tuple[int, int],
    target: Sequence[float] = (0.0, 0.0, 1.0),
    start_deg: float = -90.0,
) -> Rig:
    """``count`` cameras evenly around ``target`` at ``radius`` and ``height``, aimed at it.

    Camera 0 stands at ``start_deg`` (default: in front of a person facing -Y), the others
    follow counter-clockwise.
    """
    if count < 1:
        raise DatasetError(None, "count", f"a ring needs at least one camera, got {count}")
    if radius <= 0:
        raise DatasetError(None, "radius", f"must be positive, got {radius}")
    target = np.asarray(target, float)
    principal = (resolution[0] / 2, resolution[1] / 2)
    cameras = []
    for i in range(count):
        angle = math.radians(start_deg) + 2.0 * math.pi * i / count
        eye = np.array(
            [target[0] + radius * math.cos(angle), target[1] + radius * math.sin(angle), height]
        )
        cameras.append(CameraSpec(eye, look_at(eye, target), float(focal_px), principal))
    return Rig("Ring", tuple(resolution), tuple(cameras))


PRESETS = {"BLENDMIMIC3D": _blendmimic3d, "HUMAN36M": _human36m}


def preset(name: str) -> Rig:
    if name not in PRESETS:
        raise DatasetError(None, "preset", f"unknown camera preset {name!r}")
    return PRESETS[name]()


def convergence(rig: Rig) -> np.ndarray:
    """The point nearest to every camera's optical axis (least squares): what the rig looks at."""
    a = np.zeros((3, 3))
    b = np.zeros(3)
    for cam in rig.cameras:
        # Projector onto the plane orthogonal to the axis: distance of x to the line.
        m = np.eye(3) - np.outer(cam.forward, cam.forward)
        a += m
        b += m @ cam.location
    return np.linalg.lstsq(a, b, rcond=None)[0]


def moved(rig: Rig, target_xy: ArrayLike) -> Rig:
    """The rig shifted on the floor so that what it looks at lands above ``target_xy``."""
    shift = np.zeros(3)
    shift[:2] = np.asarray(target_xy, float)[:2] - convergence(rig)[:2]
    cameras = tuple(replace(cam, location=cam.location + shift) for cam in rig.cameras)
    return replace(rig, cameras=cameras)


def aimed(rig: Rig, target: ArrayLike) -> Rig:
    """The rig with every camera turned to look at ``target`` (no roll)."""
    cameras = tuple(replace(cam, rotation=look_at(cam.location, target)) for cam in rig.cameras)
    return replace(rig, cameras=cameras)
