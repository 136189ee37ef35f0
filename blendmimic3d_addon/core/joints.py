"""Joint sets: BlendMimic3D-17 (the published order, Mixamo bone names) and Human3.6M-17.

Both sets have the same tree (hip, three joints per leg, spine, thorax, neck/nose, head top, three
joints per arm) but not the same sides: in the published BlendMimic3D files index 1-3 is the
character's LEFT leg and 11-13 its RIGHT arm, where Human3.6M has the right leg and the left arm.
Tools trained in Human3.6M order (VideoPose3D, PoseFormerV2, D3DP) need ``convert_joint_order``.
"""

import re
from collections.abc import Iterable

import numpy as np

# Published order, Mixamo bone names without their prefix.
BM3D_JOINTS = (
    "Hips",
    "LeftUpLeg",
    "LeftLeg",
    "LeftFoot",
    "RightUpLeg",
    "RightLeg",
    "RightFoot",
    "Spine1",
    "Neck",
    "Head",
    "HeadTop_End",
    "RightArm",
    "RightForeArm",
    "RightHand",
    "LeftArm",
    "LeftForeArm",
    "LeftHand",
)

# Human3.6M's 17 joints as VideoPose3D orders them (index 1 = right hip).
H36M_JOINTS = (
    "Hip",
    "RHip",
    "RKnee",
    "RFoot",
    "LHip",
    "LKnee",
    "LFoot",
    "Spine",
    "Thorax",
    "Neck/Nose",
    "Head",
    "LShoulder",
    "LElbow",
    "LWrist",
    "RShoulder",
    "RElbow",
    "RWrist",
)

# h36m = bm3d[..., BM3D_TO_H36M, :]. Swapping the two sides is its own inverse.
BM3D_TO_H36M = np.array([0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13])
H36M_TO_BM3D = BM3D_TO_H36M.copy()

# The two orders share one tree shape, so one parent list serves both.
PARENTS_H36M = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15])
PARENTS_BM3D = PARENTS_H36M.copy()

LEFT_BM3D = np.array([1, 2, 3, 14, 15, 16])
RIGHT_BM3D = np.array([4, 5, 6, 11, 12, 13])
SYMMETRIC_PAIRS_BM3D = tuple(zip(LEFT_BM3D.tolist(), RIGHT_BM3D.tolist(), strict=True))
LEFT_H36M = np.array([4, 5, 6, 11, 12, 13])
RIGHT_H36M = np.array([1, 2, 3, 14, 15, 16])
SYMMETRIC_PAIRS_H36M = tuple(zip(LEFT_H36M.tolist(), RIGHT_H36M.tolist(), strict=True))

JOINT_SETS = {"blendmimic3d": BM3D_JOINTS, "h36m": H36M_JOINTS}
_TO_H36M = {"blendmimic3d": BM3D_TO_H36M, "h36m": np.arange(17)}
_FROM_H36M = {"blendmimic3d": H36M_TO_BM3D, "h36m": np.arange(17)}

# "mixamorig:Hips", "mixamorig1:Hips", "mixamorig8:Hips"; some tools turn ':' into '_'.
_MIXAMO_PREFIX = re.compile(r"^mixamorig\d*[:_]")


def convert_joint_order(poses: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Reorder the joint axis (second to last) of ``poses`` from joint set ``src`` to ``dst``."""
    for name in (src, dst):
        if name not in JOINT_SETS:
            raise ValueError(f"unknown joint set {name!r}; known: {', '.join(JOINT_SETS)}")
    poses = np.asarray(poses)
    if poses.ndim < 2 or poses.shape[-2] != 17:
        raise ValueError(f"expected (..., 17, D) poses, got shape {poses.shape}")
    index = _FROM_H36M[dst][_TO_H36M[src]]
    return poses[..., index, :]


def strip_mixamo_prefix(name: str) -> str:
    """``"mixamorig8:LeftArm"`` -> ``"LeftArm"``; names without a Mixamo prefix are unchanged."""
    return _MIXAMO_PREFIX.sub("", name)


def mixamo_prefix(bone_names: Iterable[str]) -> str:
    """The prefix the armature's Mixamo bones use (``"mixamorig:"``, ``"mixamorig1:"``, ``""``
    for bare names), or None when no bone is the Mixamo ``Hips``."""
    for name in bone_names:
        if strip_mixamo_prefix(name) == "Hips":
            return name[: len(name) - len("Hips")]
    return None


def bm3d_bone_names(bone_names: Iterable[str]) -> list[str]:
    """The armature's bone names for the 17 BlendMimic3D joints, in published order.

    Raises ValueError naming the missing joints when the armature is not a Mixamo rig.
    """
    names = list(bone_names)
    prefix = mixamo_prefix(names)
    if prefix is None:
        raise ValueError("no Mixamo 'Hips' bone (mixamorig:Hips or a numbered variant)")
    present = set(names)
    found = [prefix + joint for joint in BM3D_JOINTS]
    missing = [joint for joint, full in zip(BM3D_JOINTS, found, strict=True) if full not in present]
    if missing:
        raise ValueError(f"Mixamo bones missing (prefix {prefix!r}): {', '.join(missing)}")
    return found
