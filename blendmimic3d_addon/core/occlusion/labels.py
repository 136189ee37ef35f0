"""Typed occlusion labels: why a joint is not seen by a camera in a frame.

The published files only say visible (1.0) or not (0.0); the typed codes say why, and are written
beside them (``occlusion_types.npz``, see docs/FORMAT-ADDITIONS.md). ``legacy_labels`` turns the
codes back into the published labels, so both always agree.
"""

import enum

import numpy as np
from numpy.typing import ArrayLike


class OcclusionType(enum.IntEnum):
    VISIBLE = 0
    SELF = 1  # hidden by the person's own body
    OTHER_PERSON = 2  # hidden by another person of the take
    OBJECT = 3  # hidden by an object of the scene
    OUT_OF_FRAME = 4  # projects outside the image
    BEHIND_CAMERA = 5  # behind the camera's image plane


LABEL_DTYPE = np.uint8
LABEL_NAMES = {t.value: t.name.lower() for t in OcclusionType}
N_TYPES = len(OcclusionType)


def legacy_labels(types: ArrayLike) -> np.ndarray:
    """The published per-joint label of typed codes: float64, 1.0 visible, 0.0 otherwise."""
    return (np.asarray(types) == OcclusionType.VISIBLE).astype(np.float64)


def invalid_codes(types: ArrayLike) -> np.ndarray:
    """Boolean mask of entries that are not an OcclusionType code."""
    types = np.asarray(types)
    if not np.issubdtype(types.dtype, np.integer):
        finite = np.isfinite(types)
        whole = finite & (np.mod(np.where(finite, types, 0), 1) == 0)
        return ~whole | (types < 0) | (types >= N_TYPES)
    return (types < 0) | (types >= N_TYPES)


def type_counts(types: ArrayLike) -> dict[str, int]:
    """How many entries carry each code: {name: count} in code order."""
    counts = np.bincount(np.asarray(types, dtype=np.int64).ravel(), minlength=N_TYPES)
    return {LABEL_NAMES[code]: int(counts[code]) for code in range(N_TYPES)}
