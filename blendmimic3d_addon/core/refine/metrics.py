"""Pose-error metrics, vectorized over any leading axes, and their split by occlusion label.

Poses are (..., J, 3) arrays in one unit (the dataset's metres; multiply by 1000 for the
millimetres papers report). Definitions follow VideoPose3D's: MPJPE is the mean Euclidean joint
error, P-MPJPE the same after a per-pose similarity (Procrustes) alignment, N-MPJPE after a
per-pose scale alignment. Per-joint variants return the errors before averaging, so that any of
them can be split by a label array of the same (..., J) shape with ``split_by_label``.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from ..joints import PARENTS_BM3D
from ..occlusion.labels import LABEL_NAMES


def _pair(pred, gt):
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim < 2 or pred.shape[-1] != 3:
        raise ValueError(
            f"expected two (...,J,3) arrays of one shape, got {pred.shape}, {gt.shape}"
        )
    return pred, gt


def per_joint_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean error of each joint, (...,J)."""
    pred, gt = _pair(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(per_joint_error(pred, gt).mean())


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred`` moved onto ``gt`` pose by pose by the best scale, rotation and translation."""
    pred, gt = _pair(pred, gt)
    mu_gt, mu_pred = gt.mean(-2, keepdims=True), pred.mean(-2, keepdims=True)
    x, y = gt - mu_gt, pred - mu_pred
    norm_x = np.sqrt((x**2).sum((-2, -1), keepdims=True))
    norm_y = np.sqrt((y**2).sum((-2, -1), keepdims=True))
    # Degenerate poses (all joints at one point) keep a zero norm; guard the division.
    x, y = x / np.where(norm_x > 0, norm_x, 1), y / np.where(norm_y > 0, norm_y, 1)
    u, s, vt = np.linalg.svd(np.swapaxes(x, -1, -2) @ y)
    v = np.swapaxes(vt, -1, -2)
    # No reflections: flip the weakest axis when the best orthogonal map has det -1.
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))[..., None]
    v[..., :, -1] *= sign
    s[..., -1] *= sign[..., 0]
    rotation = v @ np.swapaxes(u, -1, -2)
    scale = s.sum(-1)[..., None, None] * norm_x / np.where(norm_y > 0, norm_y, 1)
    return scale * ((pred - mu_pred) @ rotation) + mu_gt


def scale_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred`` scaled pose by pose to best fit ``gt`` (least squares)."""
    pred, gt = _pair(pred, gt)
    dot = (pred * gt).sum((-2, -1), keepdims=True)
    power = (pred * pred).sum((-2, -1), keepdims=True)
    return pred * (dot / np.where(power > 0, power, 1))


def p_mpjpe_per_joint(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    return per_joint_error(procrustes_align(pred, gt), gt)


def p_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(p_mpjpe_per_joint(pred, gt).mean())


def n_mpjpe_per_joint(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    return per_joint_error(scale_align(pred, gt), gt)


def n_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(n_mpjpe_per_joint(pred, gt).mean())


def acceleration_per_joint(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """|second difference of pred - that of gt| over time (axis -3): (..., T-2, J), aligned with
    frames 1..T-2 (use ``labels[..., 1:-1, :]`` to split it)."""
    pred, gt = _pair(pred, gt)
    if pred.ndim < 3 or pred.shape[-3] < 3:
        raise ValueError("acceleration needs (..., T, J, 3) with at least 3 frames")
    accel = np.diff(pred, n=2, axis=-3) - np.diff(gt, n=2, axis=-3)
    return np.linalg.norm(accel, axis=-1)


def acceleration_error(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(acceleration_per_joint(pred, gt).mean())


def bone_lengths(poses: np.ndarray, parents: Sequence[int] = PARENTS_BM3D) -> np.ndarray:
    """Length of each bone (joint to its parent), (..., B) for the J-1 non-root joints."""
    poses = np.asarray(poses, dtype=np.float64)
    parents = np.asarray(parents)
    children = np.flatnonzero(parents >= 0)
    return np.linalg.norm(poses[..., children, :] - poses[..., parents[children], :], axis=-1)


def bone_length_stats(
    poses: np.ndarray,
    parents: Sequence[int] = PARENTS_BM3D,
    symmetric_pairs: Sequence[tuple[int, int]] | None = None,
) -> dict:
    """Mean, std and coefficient of variation of each bone over all poses, and for symmetric
    joint pairs the mean |left - right| bone-length difference. A real skeleton keeps its bones;
    a pose estimator's output often does not."""
    lengths = bone_lengths(poses, parents).reshape(-1, int((np.asarray(parents) >= 0).sum()))
    mean, std = lengths.mean(0), lengths.std(0)
    stats = {"mean": mean, "std": std, "cv": std / np.where(mean > 0, mean, 1)}
    if symmetric_pairs:
        children = list(np.flatnonzero(np.asarray(parents) >= 0))
        stats["asymmetry"] = {
            (left, right): float(
                np.abs(lengths[:, children.index(left)] - lengths[:, children.index(right)]).mean()
            )
            for left, right in symmetric_pairs
        }
    return stats


def split_by_label(
    errors: np.ndarray, labels: np.ndarray, names: Mapping[int, str] | None = None
) -> dict[str, float]:
    """Mean of ``errors`` (...,J) for each label value in ``labels`` (same shape): {name: mean},
    plus "all"; a label with no entry gets NaN. ``names`` maps values to names (default: the
    OcclusionType names; the legacy 0/1 labels read as 1 = "visible", 0 = "occluded")."""
    errors, labels = np.asarray(errors, dtype=np.float64), np.asarray(labels)
    if errors.shape != labels.shape:
        raise ValueError(f"errors {errors.shape} and labels {labels.shape} differ in shape")
    if names is None:
        names = (
            LABEL_NAMES
            if np.issubdtype(labels.dtype, np.integer)
            else {1: "visible", 0: "occluded"}
        )
    result = {"all": float(errors.mean()) if errors.size else float("nan")}
    for value, name in names.items():
        chosen = errors[labels == value]
        result[name] = float(chosen.mean()) if chosen.size else float("nan")
    return result


def split_counts(labels: np.ndarray, names: Mapping[int, str] | None = None) -> dict[str, int]:
    """How many entries each label has, with the same names as ``split_by_label``."""
    labels = np.asarray(labels)
    if names is None:
        names = (
            LABEL_NAMES
            if np.issubdtype(labels.dtype, np.integer)
            else {1: "visible", 0: "occluded"}
        )
    return {name: int((labels == value).sum()) for value, name in names.items()}
