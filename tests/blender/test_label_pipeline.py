"""The occlusion labels cast on a worker thread while the main thread evaluates frames: the same
labels as in turn, errors reach the caller, and no thread outlives a take (finished, cancelled
or failed)."""

import threading

import numpy as np
import pytest
from test_export import _run, build_scene


def _label_threads():
    return [t for t in threading.enumerate() if t.name.startswith("bm3d-labels")]


@pytest.fixture
def sampler(addon, monkeypatch):
    import bpy

    from blendmimic3d_addon.blender.sampling import SceneSampler

    # Batches of two frames: the ten frames of the take make five batches, so both halves of
    # the slots are refilled while the other is being cast.
    monkeypatch.setattr("blendmimic3d_addon.blender.sampling.BATCH", 2)
    scene = build_scene()
    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    yield sampler
    sampler.restore()


def test_labels_on_the_worker_equal_labels_in_turn(sampler, monkeypatch):
    from blendmimic3d_addon.blender import sampling

    pipelined = _run(sampler.sample_take("Wave", [0, 1, 2, 3]))
    monkeypatch.setattr(sampling, "PIPELINED", False)
    in_turn = _run(sampler.sample_take("Wave", [0, 1, 2, 3]))
    assert len(pipelined.frames) == 10
    occluded = 0
    for c in range(4):
        np.testing.assert_array_equal(pipelined.types[c], in_turn.types[c])
        occluded += int((pipelined.types[c] != 0).sum())
    assert occluded > 0  # labels that differ from "visible" are compared too
    assert _label_threads() == []


def test_an_error_on_the_worker_reaches_the_caller_and_ends_the_thread(sampler, monkeypatch):
    from blendmimic3d_addon.blender import raycast

    def failing_cast(self, origins, targets, slots):
        raise MemoryError("out of memory while casting")

    monkeypatch.setattr(raycast.FrameRayCaster, "cast", failing_cast)
    with pytest.raises(MemoryError, match="while casting"):
        _run(sampler.sample_take("Wave", [0, 1, 2, 3]))
    assert _label_threads() == []


def test_closing_the_take_half_way_waits_for_the_batch_and_ends_the_thread(sampler):
    steps = sampler.sample_take("Wave", [0, 1, 2, 3])
    for _ in range(5):  # two batches submitted, the third half-filled
        next(steps)
    assert len(_label_threads()) == 1
    steps.close()  # what a cancel (Esc) does
    assert _label_threads() == []
