"""ONNX Runtime and PyTorch agree on the exported refiner (to 1e-4); needs torch (skips without).

The shipped ``assets/refiner_gcn.onnx`` is checked against models.py on every run: its PyTorch
model is rebuilt from the ONNX file itself (training/from_onnx.py), so no training output is
needed. ``.venv-train/bin/python -m pytest training/test_onnx_parity.py``
"""

import pathlib
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from blendmimic3d_addon.core import joints  # noqa: E402
from blendmimic3d_addon.core.errors import DatasetError  # noqa: E402
from blendmimic3d_addon.core.format import dataset_io as dio  # noqa: E402
from blendmimic3d_addon.core.geometry import camera  # noqa: E402
from blendmimic3d_addon.core.joints import PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D  # noqa: E402
from blendmimic3d_addon.core.refine import runtime as rf  # noqa: E402
from training import export, from_onnx, train  # noqa: E402
from training.models import (  # noqa: E402
    CONFIDENCE_UNKNOWN,
    CentreFrame,
    GCNRefiner,
    WholeSequence,
)

REPO = pathlib.Path(__file__).resolve().parent.parent
SHIPPED = REPO / "assets" / rf.MODEL_NAME
SHARED = REPO.parent / "shared"


def _trained_a_little(seed=0):
    """A small refiner whose weights, head and BatchNorm statistics are all non-trivial."""
    torch.manual_seed(seed)
    model = GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, channels=16, dilations=(1, 2, 3))
    torch.nn.init.normal_(model.head.weight, std=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = 0.3 * torch.randn(8, 30, 17, 3)
    c = torch.rand(8, 30, 17)
    for _ in range(3):
        loss = model(x, c).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _poses(n, seed=1):
    rng = np.random.default_rng(seed)
    poses = (0.3 * rng.standard_normal((n, 17, 3))).astype(np.float32)
    return poses - poses[:, :1]


def _whole(model, poses, confidence=None):
    """PyTorch's refined sequence, (T, 17, 3), through the graph that ships."""
    if confidence is None:
        confidence = np.full(poses.shape[:2], CONFIDENCE_UNKNOWN, np.float32)
    with torch.no_grad():
        args = (torch.from_numpy(poses)[None], torch.from_numpy(confidence)[None])
        return WholeSequence(model)(*args)[0].numpy()


def test_onnx_runtime_matches_pytorch(tmp_path):
    """Any length in, the same length out, with and without confidence."""
    model = _trained_a_little()
    path = tmp_path / "m.onnx"
    export.to_onnx(model, str(path), {"joint_order": "blendmimic3d"})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    for n in (5, 13, 37, 200):
        poses = _poses(n)
        conf = rng.random((n, 17)).astype(np.float32)
        for c in (conf, np.full((n, 17), CONFIDENCE_UNKNOWN, np.float32)):
            expected = _whole(model, poses, c)
            got = session.run(None, {"poses": poses[None], "confidence": c[None]})[0][0]
            assert got.shape == (n, 17, 3)
            assert np.abs(expected - poses).max() > 0.01  # a real correction, not nothing
            np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    opset = session.get_modelmeta()  # the model loads in onnxruntime with its metadata
    assert opset.custom_metadata_map["joint_order"] == "blendmimic3d"


def test_exported_opset_is_17_or_later(tmp_path):
    import onnx

    path = tmp_path / "m.onnx"
    export.to_onnx(_trained_a_little(), str(path), {})
    opsets = {o.domain: o.version for o in onnx.load(str(path)).opset_import}
    assert opsets.get("", opsets.get("ai.onnx", 0)) >= 17


def test_sequence_pass_equals_sliding_windows():
    """One pass over the sequence gives each frame what its own edge-clamped window gives it,
    the first and last frames included (the edges are padded by repeating the end frames)."""
    model = _trained_a_little()
    poses = _poses(25)
    conf = np.random.default_rng(4).random((25, 17)).astype(np.float32)
    whole = train.refine_sequence(model, poses, conf)
    idx = rf.sliding_windows(25, model.window)
    with torch.no_grad():
        args = (torch.from_numpy(poses[idx]), torch.from_numpy(conf[idx]))
        centre = CentreFrame(model)(*args).numpy()
    np.testing.assert_allclose(whole, centre, atol=1e-5)
    np.testing.assert_allclose(_whole(model, poses, conf), centre, atol=1e-5)


def test_shipped_model_matches_its_pytorch_weights(shipped_model):
    """With a training run's weights: the ONNX holds exactly them, and runs as they do."""
    state_path = REPO / "out" / "refiner" / "refiner.pt"
    if not state_path.is_file():
        pytest.skip(f"{state_path} is absent: run python -m training.train to make it")
    state = torch.load(state_path)
    rebuilt = shipped_model.state_dict()
    if rebuilt["joint_embedding"].shape != state["joint_embedding"].shape or not torch.equal(
        rebuilt["head.weight"], state["head.weight"]
    ):
        pytest.skip(f"{state_path} is from another training run than the shipped model")
    for key, value in state.items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(rebuilt[key], value), key
    channels = shipped_model.joint_embedding.shape[1]
    model = GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, channels, shipped_model.dilations)
    model.load_state_dict(state)
    shipped = rf.Refiner()
    poses = _poses(60)
    expected = _whole(model.eval(), poses)
    got = shipped.refine(poses, "blendmimic3d", keep_proportions=False)
    np.testing.assert_allclose(got, expected, atol=1e-4)


# The shipped model, rebuilt from its ONNX file: runs without out/ (a fresh clone, CI).

# A standing person facing the camera (camera frame: x right, y down, z forward; metres).
REST_POSE = np.array(
    [
        [0.0, 0.0, 0.0], [0.10, 0.03, 0.0], [0.10, 0.45, 0.0], [0.10, 0.87, 0.03],
        [-0.10, 0.03, 0.0], [-0.10, 0.45, 0.0], [-0.10, 0.87, 0.03],
        [0.0, -0.25, 0.0], [0.0, -0.50, 0.0], [0.0, -0.60, 0.02], [0.0, -0.78, 0.02],
        [-0.17, -0.46, 0.0], [-0.19, -0.19, 0.0], [-0.20, 0.05, 0.0],
        [0.17, -0.46, 0.0], [0.19, -0.19, 0.0], [0.20, 0.05, 0.0],
    ]
)  # fmt: skip


def _walking(n, seed=0):
    """(n, 17, 3) float32 estimator-like poses, BlendMimic3D order, root-relative: a walk cycle
    (legs and arms swing in opposition, knees and elbows bend) turning slowly about the vertical,
    with 15 mm jitter and one hand drifting 8 cm away as an occluded joint would."""
    parents = joints.PARENTS_BM3D
    phase = 2 * np.pi * np.arange(n) / 30.0  # one stride a second at 30 fps
    angles = np.zeros((n, 17))
    for j, amplitude in ((1, 0.4), (4, -0.4), (11, -0.35), (14, 0.35)):
        angles[:, j] = amplitude * np.sin(phase)
    angles[:, [2, 5]] = 0.3 * (1 - np.cos(phase[:, None] + [0, np.pi]))
    angles[:, [12, 15]] = 0.3 + 0.1 * np.sin(phase[:, None] + [0, np.pi])
    swing = _rotations(angles, axis=0)  # each joint turns the bones below it about x
    offsets = REST_POSE - REST_POSE[np.maximum(parents, 0)]
    pose, turned = np.zeros((n, 17, 3)), np.empty_like(swing)
    turned[:, 0] = swing[:, 0]
    for j in range(1, 17):  # parents come before their children
        pose[:, j] = pose[:, parents[j]] + turned[:, parents[j]] @ offsets[j]
        turned[:, j] = turned[:, parents[j]] @ swing[:, j]
    turn = _rotations(0.8 * np.sin(phase / 8), axis=1)  # about y, the camera's vertical
    pose = np.einsum("nij,nkj->nki", turn, pose)
    rng = np.random.default_rng(seed)
    pose += rng.normal(0.0, 0.015, pose.shape)
    hidden = slice(n // 3, n // 3 + 20)
    pose[hidden, 13] += np.linspace(0.0, 0.08, 20)[:, None] * [1.0, -0.5, 0.3]
    return (pose - pose[:, :1]).astype(np.float32)


def _rotations(angles, axis):
    """Rotation matrices (..., 3, 3) about the camera's ``axis`` by ``angles`` (radians)."""
    c, s = np.cos(angles), np.sin(angles)
    i, k = [a for a in range(3) if a != axis]
    out = np.zeros((*np.shape(angles), 3, 3))
    out[..., axis, axis] = 1.0
    out[..., i, i], out[..., i, k], out[..., k, i], out[..., k, k] = c, -s, s, c
    return out


@pytest.fixture(scope="module")
def shipped_model():
    model, _ = from_onnx.rebuild(SHIPPED)
    return model


@pytest.fixture(scope="module")
def shipped_runtime():
    return rf.Refiner(str(SHIPPED))


def _check_parity(model, runtime, poses):
    """The runtime's refined poses (without the bone-length step, which is numpy's) equal the
    PyTorch model's to 1e-4, without and with a confidence, in one pass and in short chunks; and
    the model really corrects them (so a wrong weight could not go unseen)."""
    conf = (np.arange(poses.size // 3).reshape(poses.shape[:2]) % 3 > 0).astype(np.float32)
    for c in (None, conf):
        expected = _whole(model, poses, c)
        for chunk in (rf.CHUNK_FRAMES, 50):
            got = runtime.refine(
                poses, "blendmimic3d", batch_size=chunk, confidence=c, keep_proportions=False
            )
            np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
        # the shipped model moves good poses little (at most 0.28 mm here): the corrections must
        # still stand above twice the tolerance, so that an ONNX file that left them out (an
        # identity) could not pass; test_a_changed_weight_breaks_parity checks a wrong weight
        assert np.abs(expected - poses).max() > 2e-4


def test_shipped_onnx_maps_onto_models_py_exactly(shipped_model):
    """Every tensor of the file has its place in GCNRefiner and every place is filled; the
    architecture is the one the model card describes."""
    meta = onnx.load(str(SHIPPED)).metadata_props
    assert {p.key: p.value for p in meta}["joint_order"] == rf.MODEL_JOINT_ORDER
    card = (REPO / "assets" / "REFINER_MODEL_CARD.md").read_text()
    count = int(re.search(r"([\d,]+) parameters", card).group(1).replace(",", ""))
    assert sum(p.numel() for p in shipped_model.parameters()) == count
    assert shipped_model.window == int({p.key: p.value for p in meta}["window"]) >= 27
    assert all(bool(v.abs().sum() > 0) for k, v in shipped_model.state_dict().items()
               if not k.endswith("num_batches_tracked"))  # fmt: skip


def test_shipped_onnx_matches_pytorch_on_synthesized_poses(shipped_model, shipped_runtime):
    _check_parity(shipped_model, shipped_runtime, _walking(150))


def test_shipped_onnx_matches_pytorch_on_real_poses(shipped_model, shipped_runtime):
    """A real VideoPose3D output (H36M order) and a BlendMimic3D ground-truth sequence."""
    vp3d = SHARED / "predictions" / "vp3d_predictions.npy"
    subject = SHARED / "blendmimic3d" / "S2"
    for path in (vp3d, subject):
        if not path.exists():
            pytest.skip(f"{path} is absent: the shared data folder is not beside this checkout")
    predicted = joints.convert_joint_order(np.load(vp3d)[:, 0], "h36m", "blendmimic3d")
    world = dio.read_positions_3d(str(subject), "Greeting")[:300]
    in_camera = camera.world_to_camera(world, dio.read_cameras(str(subject)).RT)[1]
    for poses in (predicted, in_camera):
        local = (poses - poses[:, :1]).astype(np.float32)
        _check_parity(shipped_model, shipped_runtime, local)


def test_a_changed_weight_breaks_parity(shipped_model, shipped_runtime):
    """What the parity check catches: one weight of a hidden layer off by 0.5 and one of the
    output layer off by 0.05 (the shipped output layer is small: it corrects good poses little,
    so a hidden weight alone moves the output by less than the tolerance)."""
    poses = _walking(60)
    changed, _ = from_onnx.rebuild(SHIPPED)
    with torch.no_grad():
        changed.layers[2].spatial.weight[5, 7] += 0.5
        changed.head.weight[1, 5] += 0.05
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        _check_parity(changed, shipped_runtime, poses)
    _check_parity(shipped_model, shipped_runtime, poses)


def test_a_changed_skeleton_in_the_model_code_is_refused(monkeypatch):
    """models.py builds its neighbour matrices from the joint tree: if those change, the file no
    longer describes the model, and the rebuild names the tensor."""
    parents, symmetric = from_onnx.SKELETONS["blendmimic3d"]
    monkeypatch.setitem(from_onnx.SKELETONS, "blendmimic3d", (parents, symmetric[1:]))
    with pytest.raises(DatasetError, match=r"refiner\.layers\.0\.gather: differs"):
        from_onnx.rebuild(SHIPPED)


def _edited_copy(tmp_path, edit):
    proto = onnx.load(str(SHIPPED))
    edit(proto)
    path = tmp_path / "edited.onnx"
    onnx.save(proto, str(path))
    return path


def _drop_head_bias(proto):
    kept = [t for t in proto.graph.initializer if t.name != "refiner.head.bias"]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)


def _add_tensor(proto):
    extra = onnx.numpy_helper.from_array(np.zeros(3, np.float32), "refiner.head.scale")
    proto.graph.initializer.append(extra)


def _set_window(proto):
    next(p for p in proto.metadata_props if p.key == "window").value = "7"  # not 2*sum(dil)+1


def _widen_head(proto):
    head = next(t for t in proto.graph.initializer if t.name == "refiner.head.bias")
    head.CopyFrom(onnx.numpy_helper.from_array(np.zeros(4, np.float32), head.name))


@pytest.mark.parametrize(
    "edit, message",
    [
        (_drop_head_bias, r"refiner\.head\.bias: missing"),
        (_add_tensor, r"refiner\.head\.scale: not in the GCNRefiner"),
        (_set_window, r"window: metadata window 7"),
        (_widen_head, r"refiner\.head\.bias: shape \(4,\), models\.py builds \(3,\)"),
    ],
)
def test_a_file_that_is_not_this_model_is_refused(tmp_path, edit, message):
    path = _edited_copy(tmp_path, edit)
    with pytest.raises(DatasetError, match=str(path).replace(".", r"\.") + ": " + message):
        from_onnx.rebuild(path)
