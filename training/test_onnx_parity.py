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
from training.models import CentreFrame, GCNRefiner  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
SHIPPED = REPO / "assets" / rf.MODEL_NAME
SHARED = REPO.parent / "shared"


def _trained_a_little(seed=0):
    """A small refiner whose weights, head and BatchNorm statistics are all non-trivial."""
    torch.manual_seed(seed)
    model = GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, channels=16, depth=3)
    torch.nn.init.normal_(model.head.weight, std=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = 0.3 * torch.randn(8, 20, 17, 3)
    for _ in range(3):
        loss = model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _poses(n, seed=1):
    rng = np.random.default_rng(seed)
    poses = (0.3 * rng.standard_normal((n, 17, 3))).astype(np.float32)
    return poses - poses[:, :1]


def test_onnx_runtime_matches_pytorch(tmp_path):
    model = _trained_a_little()
    path = tmp_path / "m.onnx"
    export.to_onnx(model, str(path), {"joint_order": "blendmimic3d"})
    windows = _poses(37)[rf.sliding_windows(37, model.window)]
    with torch.no_grad():
        expected = CentreFrame(model)(torch.from_numpy(windows)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"poses": windows})[0]
    assert np.abs(expected).max() > 0.1  # a real output, not zeros
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
    """Training runs whole chunks; the runtime runs windows: the centre frames must agree."""
    model = _trained_a_little()
    poses = _poses(25)
    whole = train.refine_sequence(model, poses)
    windows = poses[rf.sliding_windows(25, model.window)]
    with torch.no_grad():
        centre = CentreFrame(model)(torch.from_numpy(windows)).numpy()
    np.testing.assert_allclose(whole, centre, atol=1e-5)


def test_shipped_model_matches_its_pytorch_weights(shipped_model):
    """With a training run's weights: the ONNX holds exactly them, and runs as they do."""
    state_path = REPO / "out" / "refiner" / "refiner.pt"
    if not state_path.is_file():
        pytest.skip(f"{state_path} is absent: run python -m training.train to make it")
    state = torch.load(state_path)
    depth = len({k.split(".")[1] for k in state if k.startswith("layers.")})
    channels = state["joint_embedding"].shape[1]
    model = GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, channels=channels, depth=depth)
    model.load_state_dict(state)
    rebuilt = shipped_model.state_dict()
    for key, value in state.items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(rebuilt[key], value), key
    shipped = rf.Refiner()
    poses = _poses(60)
    with torch.no_grad():
        windows = torch.from_numpy(poses[rf.sliding_windows(60, model.window)])
        expected = CentreFrame(model.eval())(windows).numpy()
    np.testing.assert_allclose(shipped.refine(poses, "blendmimic3d"), expected, atol=1e-4)


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
    """The runtime's refined poses equal the PyTorch model's centre frames to 1e-4, and the
    model really corrects them (so a wrong weight could not go unseen)."""
    windows = torch.from_numpy(poses[rf.sliding_windows(len(poses), model.window)])
    with torch.no_grad():
        expected = CentreFrame(model)(windows).numpy()
    np.testing.assert_allclose(runtime.refine(poses, "blendmimic3d"), expected, atol=1e-4, rtol=0)
    assert np.abs(expected - poses).max() > 0.01  # corrections of centimetres, not nothing


def test_shipped_onnx_maps_onto_models_py_exactly(shipped_model):
    """Every tensor of the file has its place in GCNRefiner and every place is filled; the
    architecture is the one the model card describes."""
    meta = onnx.load(str(SHIPPED)).metadata_props
    assert {p.key: p.value for p in meta}["joint_order"] == rf.MODEL_JOINT_ORDER
    card = (REPO / "assets" / "REFINER_MODEL_CARD.md").read_text()
    count = int(re.search(r"([\d,]+) parameters", card).group(1).replace(",", ""))
    assert sum(p.numel() for p in shipped_model.parameters()) == count
    assert (shipped_model.window, shipped_model.joint_embedding.shape[1]) == (9, 64)
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
    """What the parity check catches: one weight of one hidden layer off by 0.05."""
    poses = _walking(60)
    changed, _ = from_onnx.rebuild(SHIPPED)
    with torch.no_grad():
        changed.layers[2].spatial.weight[5, 7] += 0.05
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
    next(p for p in proto.metadata_props if p.key == "window").value = "7"


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
