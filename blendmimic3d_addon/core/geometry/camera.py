"""Pinhole camera model of the dataset, from Blender's numbers, as pure numpy functions.

Conventions (FORMAT.md): ``RT = [R | t]`` maps world points to the computer-vision camera frame
(x right, y down, z forward), ``P = K @ RT``, pixels have their origin at the image's top-left
corner. Functions that take several cameras take stacked matrices, (C,3,3) / (C,3,4), and return
a leading camera axis, so one call projects a whole take into every camera.
"""

import numpy as np
from numpy.typing import ArrayLike

# Blender's camera looks down its local -z with y up; the CV frame looks down +z with y down.
_BLENDER_TO_CV = np.diag([1.0, -1.0, -1.0])


def resolved_sensor_fit(
    sensor_fit: str,
    res_x: int,
    res_y: int,
    pixel_aspect_x: float = 1.0,
    pixel_aspect_y: float = 1.0,
) -> str:
    """``"HORIZONTAL"`` or ``"VERTICAL"``, resolving ``"AUTO"`` as Blender does."""
    if sensor_fit == "AUTO":
        horizontal = pixel_aspect_x * res_x >= pixel_aspect_y * res_y
        return "HORIZONTAL" if horizontal else "VERTICAL"
    if sensor_fit not in ("HORIZONTAL", "VERTICAL"):
        raise ValueError(f"unknown sensor fit {sensor_fit!r}")
    return sensor_fit


def render_size(res_x: int, res_y: int, percentage: int = 100) -> tuple[int, int]:
    """Output image size in pixels, as Blender computes it from resolution and percentage."""
    return int(res_x * percentage / 100), int(res_y * percentage / 100)


def intrinsics_from_blender(
    lens_mm: float,
    sensor_width: float,
    sensor_height: float,
    sensor_fit: str,
    shift_x: float,
    shift_y: float,
    res_x: int,
    res_y: int,
    percentage: int = 100,
    pixel_aspect_x: float = 1.0,
    pixel_aspect_y: float = 1.0,
) -> np.ndarray:
    """K (3,3) of a perspective Blender camera rendered at ``res * percentage/100`` pixels."""
    width, height = render_size(res_x, res_y, percentage)
    aspect = pixel_aspect_y / pixel_aspect_x
    fit = resolved_sensor_fit(sensor_fit, width, height, pixel_aspect_x, pixel_aspect_y)
    # AUTO measures the sensor by its width even when it fits vertically (Blender does the same).
    sensor_mm = sensor_height if sensor_fit == "VERTICAL" else sensor_width
    view_px = width if fit == "HORIZONTAL" else aspect * height
    fx = lens_mm / sensor_mm * view_px
    fy = fx / aspect
    cx = width / 2.0 - shift_x * view_px
    cy = height / 2.0 + shift_y * view_px / aspect
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def extrinsics_from_world_matrix(matrix_world: ArrayLike) -> np.ndarray:
    """RT (3,4) world -> CV camera frame from a camera's 4x4 world matrix (its scale removed)."""
    matrix_world = np.asarray(matrix_world, dtype=np.float64)
    linear = matrix_world[:3, :3]
    rotation_cam = linear / np.linalg.norm(linear, axis=0, keepdims=True)
    centre = matrix_world[:3, 3]
    rotation = _BLENDER_TO_CV @ rotation_cam.T
    return np.concatenate([rotation, (-rotation @ centre)[:, None]], axis=1)


def projection_matrix(K: np.ndarray, RT: np.ndarray) -> np.ndarray:
    """P = K @ RT; works on single (3,3)/(3,4) matrices and on stacks."""
    return np.asarray(K) @ np.asarray(RT)


def camera_centre(RT: np.ndarray) -> np.ndarray:
    """World position of the camera(s): C = -R^T t. (...,3,4) -> (...,3)."""
    RT = np.asarray(RT)
    return -np.einsum("...ji,...j->...i", RT[..., :3], RT[..., 3])


def _stack(matrices, rows):
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.ndim == 2:
        matrices = matrices[None]
    if matrices.ndim != 3 or matrices.shape[1:] != (3, rows):
        raise ValueError(f"expected (C,3,{rows}) camera matrices, got {matrices.shape}")
    return matrices


def world_to_camera(points: ArrayLike, RT: np.ndarray) -> np.ndarray:
    """Points (...,3) in world -> (C,...,3) in each camera's CV frame."""
    RT = _stack(RT, 4)
    points = np.asarray(points, dtype=np.float64)
    return np.einsum("cij,...j->c...i", RT[:, :, :3], points) + _expand(
        RT[:, :, 3], points.ndim - 1
    )


def camera_to_world(points_cam: ArrayLike, RT: np.ndarray) -> np.ndarray:
    """Points (C,...,3) in each camera's CV frame -> world (C,...,3)."""
    RT = _stack(RT, 4)
    points_cam = np.asarray(points_cam, dtype=np.float64)
    shifted = points_cam - _expand(RT[:, :, 3], points_cam.ndim - 2)
    return np.einsum("cji,c...j->c...i", RT[:, :, :3], shifted)


def camera_to_pixel(points_cam: ArrayLike, K: np.ndarray) -> np.ndarray:
    """Points (C,...,3) in each camera's frame -> pixels (C,...,2) through K (C,3,3)."""
    K = _stack(K, 3)
    points_cam = np.asarray(points_cam, dtype=np.float64)
    homogeneous = np.einsum("cij,c...j->c...i", K, points_cam)
    return homogeneous[..., :2] / homogeneous[..., 2:]


def camera_depth(points: ArrayLike, RT: np.ndarray) -> np.ndarray:
    """Depth along each camera's viewing axis, (C,...); negative means behind the camera."""
    RT = _stack(RT, 4)
    points = np.asarray(points, dtype=np.float64)
    return np.einsum("cj,...j->c...", RT[:, 2, :3], points) + _expand(RT[:, 2, 3], points.ndim - 1)


def project(points: ArrayLike, P: np.ndarray) -> np.ndarray:
    """Project world points (...,3) into every camera P (C,3,4) -> pixels (C,...,2).

    Points behind a camera get the mirrored pixel the maths gives (as in the published files);
    use ``camera_depth`` to tell them apart.
    """
    P = _stack(P, 4)
    points = np.asarray(points, dtype=np.float64)
    homogeneous = np.einsum("cij,...j->c...i", P[:, :, :3], points)
    homogeneous += _expand(P[:, :, 3], points.ndim - 1)
    return homogeneous[..., :2] / homogeneous[..., 2:]


def in_image(uv: np.ndarray, res_w: float, res_h: float) -> np.ndarray:
    """True where pixel ``uv`` (...,2) lies inside a ``res_w`` x ``res_h`` image (and is finite)."""
    uv = np.asarray(uv)
    u, v = uv[..., 0], uv[..., 1]
    with np.errstate(invalid="ignore"):
        return (u >= 0) & (u < res_w) & (v >= 0) & (v < res_h)


def _expand(per_camera, point_axes):
    """(C,...) -> (C, 1 x point_axes, ...) so a per-camera value broadcasts over the points."""
    return per_camera.reshape(per_camera.shape[:1] + (1,) * point_axes + per_camera.shape[1:])


def quaternion_from_matrix(R: ArrayLike) -> np.ndarray:
    """Unit quaternion (w,x,y,z), w >= 0, of rotation matrices (...,3,3)."""
    R = np.asarray(R, dtype=np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    # Each of the four candidates is accurate where its own component is the largest.
    candidates = np.stack(
        [
            np.stack([1 + m00 + m11 + m22, R[..., 2, 1] - R[..., 1, 2],
                      R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1),
            np.stack([R[..., 2, 1] - R[..., 1, 2], 1 + m00 - m11 - m22,
                      R[..., 0, 1] + R[..., 1, 0], R[..., 0, 2] + R[..., 2, 0]], -1),
            np.stack([R[..., 0, 2] - R[..., 2, 0], R[..., 0, 1] + R[..., 1, 0],
                      1 - m00 + m11 - m22, R[..., 1, 2] + R[..., 2, 1]], -1),
            np.stack([R[..., 1, 0] - R[..., 0, 1], R[..., 0, 2] + R[..., 2, 0],
                      R[..., 1, 2] + R[..., 2, 1], 1 - m00 - m11 + m22], -1),
        ],
        axis=-2,
    )  # fmt: skip
    diagonal = np.stack([m00 + m11 + m22, m00, m11, m22], -1)
    best = np.argmax(diagonal, axis=-1)
    q = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def matrix_from_quaternion(q: ArrayLike) -> np.ndarray:
    """Rotation matrices (...,3,3) of quaternions (w,x,y,z) (...,4); normalised first."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )
