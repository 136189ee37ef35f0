"""In a windowed Blender: Refine Predictions runs modal (progress, status line), Esc cancels it
half-way leaving no refined skeleton and the input as it was, and a full run adds the refined
skeleton.

Runs ui_refine.py in a real Blender executable on a virtual X display (windowed.py).
"""

import numpy as np
import pytest
from windowed import run_windowed

FRAMES = 2000  # about 60 steps of 32 frames, one per timer tick: Esc lands half-way


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    rng = np.random.default_rng(0)
    walk = np.cumsum(0.003 * rng.standard_normal((FRAMES, 17, 3)), 0) + rng.normal(
        0, 0.3, (1, 17, 3)
    )
    walk -= walk[:, :1]
    path = tmp_path_factory.mktemp("refine-ui") / "vp3d.npy"
    np.save(path, walk.astype(np.float32))
    return run_windowed("ui_refine.py", path)


def test_refine_runs_modal_and_esc_changes_nothing(seen):
    assert seen["invoke"] == ["RUNNING_MODAL"]
    assert seen["refined_during"] == []
    assert seen["refine_allowed_during"] is False  # a second run is refused meanwhile
    assert seen["refined_after_escape"] == []
    assert seen["input_after_escape"] == seen["input_before"]
    assert seen["refine_allowed_after_escape"] is True


def test_a_full_modal_run_adds_the_refined_skeleton(seen):
    assert seen["invoke_full"] == ["RUNNING_MODAL"]
    assert seen["refined_after_run"] == ["vp3d refined"]
