"""Typed occlusion codes and their legacy (published) labels."""

import numpy as np

from blendmimic3d_addon.core.occlusion.labels import (
    LABEL_NAMES,
    OcclusionType,
    invalid_codes,
    legacy_labels,
    type_counts,
)


def test_codes_are_fixed():
    # These numbers are written to disk: changing one breaks every exported dataset.
    assert [(t.name, t.value) for t in OcclusionType] == [
        ("VISIBLE", 0),
        ("SELF", 1),
        ("OTHER_PERSON", 2),
        ("OBJECT", 3),
        ("OUT_OF_FRAME", 4),
        ("BEHIND_CAMERA", 5),
    ]
    assert LABEL_NAMES[3] == "object"


def test_legacy_labels():
    types = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.uint8)
    legacy = legacy_labels(types)
    assert legacy.dtype == np.float64
    assert legacy.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_invalid_codes_and_counts():
    assert invalid_codes(np.array([0, 5, 6, -1])).tolist() == [False, False, True, True]
    assert invalid_codes(np.array([0.0, 1.5, np.nan, 2.0])).tolist() == [False, True, True, False]
    counts = type_counts(np.array([0, 0, 3, 5]))
    assert counts == {"visible": 2, "self": 0, "other_person": 0, "object": 1,
                      "out_of_frame": 0, "behind_camera": 1}  # fmt: skip
