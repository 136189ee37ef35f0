"""Per-joint confidence for the refiner, read from a file: (T, 17) in [0, 1] (1 visible or sure,
0 occluded or unsure), e.g. a dataset's occlusion labels or a 2D detector's scores.

Accepted: ``.npy`` or ``.npz`` holding a (T, 17) or (T, 1, 17) numeric array; an .npz with
several arrays needs ``key``. Read with the same safe readers as the poses (no pickles).
"""

import os

import numpy as np

from ..errors import DatasetError
from ..format.safe_npz import read_npy, read_npz
from .runtime import check_confidence


def load_confidence(path: str, n_frames: int, key: str | None = None) -> np.ndarray:
    """(n_frames, 17) float32 confidence from ``path``, or a DatasetError saying what is wrong."""
    path = os.fspath(path)
    if path.endswith(".npz"):
        members = read_npz(path)
        if key is None and len(members) == 1:
            key = next(iter(members))
        if key not in members:
            names = ", ".join(members) or "nothing"
            raise DatasetError(path, key, f"choose the confidence array with a key (holds {names})")
        value = members[key]
    elif path.endswith(".npy"):
        value = read_npy(path)
    else:
        raise DatasetError(path, None, "confidence must be a .npy or .npz file")
    value = np.asarray(value)
    if value.ndim == 3 and value.shape[1] == 1:
        value = value[:, 0]  # (T, 1, 17), as VideoPose3D-style files keep one person
    return check_confidence(value, n_frames, path)
