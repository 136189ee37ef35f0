"""The occlusion labels cast on a worker thread while the main thread evaluates frames: the same
labels as in turn, errors reach the caller, and no thread outlives a take (finished, cancelled
or failed)."""

import threading

import numpy as np
import pytest
from test_export import add_occluder, build_scene


def _label_threads():
    return [t for t in threading.enumerate() if t.name.startswith("bm3d-labels")]


@pytest.fixture
def sampler(addon, monkeypatch):
    import bpy

    from blendmimic3d_addon.blender.sampling import SceneSampler

    # Batches of two frames: the ten frames of the take make five batches, so parts of the
    # slots are refilled while the others are being cast.
    monkeypatch.setattr("blendmimic3d_addon.blender.sampling.BATCH", 2)
    scene = build_scene()
    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    yield sampler
    sampler.restore()


def test_labels_on_the_worker_equal_labels_in_turn(sampler, monkeypatch):
    from blendmimic3d_addon.blender import sampling

    pipelined = sampler.whole_take("Wave", [0, 1, 2, 3])
    monkeypatch.setattr(sampling, "PIPELINED", False)
    in_turn = sampler.whole_take("Wave", [0, 1, 2, 3])
    assert len(pipelined.frames) == 10
    occluded = 0
    for c in range(4):
        np.testing.assert_array_equal(pipelined.types[c], in_turn.types[c])
        occluded += int((pipelined.types[c] != 0).sum())
    assert occluded > 0  # labels that differ from "visible" are compared too
    assert _label_threads() == []


def test_a_last_partial_batch_labelled_beside_the_worker_equals_labels_in_turn(
    sampler, monkeypatch
):
    from blendmimic3d_addon.blender import sampling

    # Nine frames in batches of two: the ninth is labelled on the main thread while the worker
    # labels the fourth batch, in another part of the slots.
    frames = list(range(1, 10))
    labelled_on = []
    label = sampling._LabelBatch._label

    def recording_label(batch, frames, slots):
        labelled_on.append((len(frames), threading.current_thread().name.startswith("bm3d")))
        return label(batch, frames, slots)

    monkeypatch.setattr(sampling._LabelBatch, "_label", recording_label)
    pipelined = sampler.whole_take("Wave", [0, 1, 2, 3], frames=frames)
    assert sorted(labelled_on) == [(1, False)] + [(2, True)] * 4  # in either order
    monkeypatch.setattr(sampling, "PIPELINED", False)
    in_turn = sampler.whole_take("Wave", [0, 1, 2, 3], frames=frames)
    occluded = 0
    for c in range(4):
        np.testing.assert_array_equal(pipelined.types[c], in_turn.types[c])
        occluded += int((pipelined.types[c][-1] != 0).sum())
    assert occluded > 0  # the last frame has labels that differ from "visible"
    assert _label_threads() == []


def test_the_main_thread_goes_on_while_the_worker_is_two_batches_behind(sampler, monkeypatch):
    from blendmimic3d_addon.blender import sampling

    # The worker is held in its first batch; a timer lets it go after 20 s in any case, so a
    # main thread that waited for it would only see it released.
    release = threading.Event()
    timer = threading.Timer(20.0, release.set)
    held = []
    label = sampling._LabelBatch._label

    def held_label(batch, frames, slots):
        if threading.current_thread().name.startswith("bm3d-labels"):
            held.append(slots.tolist())
            release.wait()
        return label(batch, frames, slots)

    monkeypatch.setattr(sampling._LabelBatch, "_label", held_label)
    timer.start()
    steps = sampler.sample_take("Wave", [0, 1, 2, 3])
    try:
        for _ in range(5):  # batches of two: two submitted, the fifth frame in the third part
            next(steps)
        assert not release.is_set()  # five frames evaluated while the worker was held
        assert held in ([], [[0, 1]])  # the worker has at most begun the first batch
        release.set()
        with pytest.raises(StopIteration) as done:
            while True:
                next(steps)
    finally:
        release.set()
        timer.cancel()
        steps.close()  # ends the worker if the test failed half-way
    pipelined = done.value.value
    monkeypatch.setattr(sampling, "PIPELINED", False)
    in_turn = sampler.whole_take("Wave", [0, 1, 2, 3])
    for c in range(4):
        np.testing.assert_array_equal(pipelined.types[c], in_turn.types[c])
    assert _label_threads() == []


def test_an_error_on_the_worker_reaches_the_caller_and_ends_the_thread(sampler, monkeypatch):
    from blendmimic3d_addon.blender import raycast

    def failing_cast(self, origins, targets, slots):
        raise MemoryError("out of memory while casting")

    monkeypatch.setattr(raycast.FrameRayCaster, "cast", failing_cast)
    with pytest.raises(MemoryError, match="while casting"):
        sampler.whole_take("Wave", [0, 1, 2, 3])
    assert _label_threads() == []


def test_closing_the_take_half_way_waits_for_the_batch_and_ends_the_thread(sampler):
    steps = sampler.sample_take("Wave", [0, 1, 2, 3])
    for _ in range(5):  # two batches submitted, the third half-filled
        next(steps)
    assert len(_label_threads()) == 1
    steps.close()  # what a cancel (Esc) does
    assert _label_threads() == []


def _fresh_codes(scene, frame):
    """Codes of one frame from a sampler (and ray caster) made at that frame."""
    import bpy

    from blendmimic3d_addon.blender.sampling import SceneSampler

    sampler = SceneSampler(scene, bpy.context.evaluated_depsgraph_get())
    try:
        take = sampler.whole_take("Wave", [0, 1, 2, 3], frames=[frame])
    finally:
        sampler.restore()
    return np.stack([take.types[c][0] for c in range(4)])


def test_geometry_that_changes_during_the_take_is_read_again(sampler, monkeypatch):
    """A mirrored person (the winding flips) and an occluder whose modifiers change its shape and
    its vertex count every frame: each frame's labels are those of a caster made at that frame,
    so the surfaces were read again and the shared triangle list laid out anew."""
    import bpy

    from blendmimic3d_addon.blender import raycast
    from blendmimic3d_addon.core.occlusion import triangle_rays

    scene = sampler.scene
    person = scene.objects["Person0"]
    for frame, sign in ((5, 1.0), (6, -1.0)):  # mirrored from frame 6 on
        person.scale.x = sign
        person.keyframe_insert("scale", index=0, frame=frame)
    blob = add_occluder(location=(0.0, -1.0, 1.0))
    blob.modifiers.new("Subdivide", "SUBSURF").levels = 2
    displace = blob.modifiers.new("Displace", "DISPLACE")
    decimate = blob.modifiers.new("Decimate", "DECIMATE")
    for frame, strength, ratio in ((1, 0.0, 1.0), (10, 0.4, 0.3)):
        displace.strength, decimate.ratio = strength, ratio
        blob.keyframe_insert('modifiers["Displace"].strength', frame=frame)
        blob.keyframe_insert('modifiers["Decimate"].ratio', frame=frame)
    layouts = []
    lay_out = raycast.FrameRayCaster.lay_out

    def counting_lay_out(caster):
        layouts.append(len(caster.chunks.triangles) if hasattr(caster, "chunks") else None)
        return lay_out(caster)

    monkeypatch.setattr(raycast.FrameRayCaster, "lay_out", counting_lay_out)
    sampler = type(sampler)(scene, bpy.context.evaluated_depsgraph_get())
    take = sampler.whole_take("Wave", [0, 1, 2, 3])
    # The layout of the last frame (mirrored) is wound outwards in the world: a caster made
    # at that frame would share the same mistake, so this is checked on its own.
    caster = sampler.caster
    caster.store(0)
    world = caster.vertices[0].astype(np.float64)
    # Each triangle once: chunks are padded with copies, which would count twice in a volume.
    triangles = np.unique(caster.chunks.triangles, axis=0)
    np.testing.assert_array_equal(triangle_rays.outward_triangles(world, triangles), triangles)
    sampler.restore()
    assert len(layouts) >= 5  # the first, then again as the occluder's vertex count changes
    hidden_by_object = 0
    for k, frame in enumerate(take.frames):
        codes = np.stack([take.types[c][k] for c in range(4)])
        np.testing.assert_array_equal(codes, _fresh_codes(scene, int(frame)), err_msg=str(frame))
        hidden_by_object += int((codes == 3).sum())
    assert hidden_by_object > 0  # the changing occluder does hide joints


def test_copies_of_a_topology_in_one_shape_are_laid_out_once(addon):
    from blendmimic3d_addon.blender import raycast
    from blendmimic3d_addon.core.occlusion import triangle_rays

    rng = np.random.default_rng(3)
    local = rng.normal(size=(40, 3)).astype(np.float32)
    triangles = rng.integers(0, 40, size=(60, 3))
    turned = np.array([[0.0, -1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0, 0, 1, 0], [0, 0, 0, 1]])
    moved = np.eye(4)
    moved[:3, 3] = (5.0, 0.0, 0.0)
    bent = local.copy()
    bent[7] += 0.5
    cases = [(local, np.eye(4)), (local, moved), (bent, moved), (local, turned)]
    copies = [raycast._Topology(triangles, shape, matrix) for shape, matrix in cases]
    known = {}
    chunked = [topology.chunked(known) for topology in copies]
    assert chunked[1] is chunked[0]  # moved only: the same layout, made once
    assert chunked[2] is not chunked[0] and chunked[3] is not chunked[0]
    for got, (shape, matrix) in zip(chunked, cases, strict=True):
        wound = triangle_rays.outward_triangles(shape, triangles)
        centroids = shape[wound].mean(axis=1) @ matrix[:3, :3].T
        np.testing.assert_array_equal(got, wound[triangle_rays.chunk_order(centroids)])
