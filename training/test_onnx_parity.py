"""ONNX Runtime and PyTorch agree on the exported refiner (to 1e-4); needs torch (skips without).

.venv-train/bin/python -m pytest training/test_onnx_parity.py
"""

import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from blendmimic3d_addon.core import refiner as rf  # noqa: E402
from blendmimic3d_addon.core.joints import PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D  # noqa: E402
from training import export, train  # noqa: E402
from training.models import CentreFrame, GCNRefiner  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent


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


def test_shipped_model_matches_its_pytorch_weights():
    state_path = REPO / "out" / "refiner" / "refiner.pt"
    if not state_path.is_file():
        pytest.skip(f"{state_path} is absent: run python -m training.train to make it")
    state = torch.load(state_path)
    depth = len({k.split(".")[1] for k in state if k.startswith("layers.")})
    channels = state["joint_embedding"].shape[1]
    model = GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, channels=channels, depth=depth)
    model.load_state_dict(state)
    shipped = rf.Refiner()
    poses = _poses(60)
    with torch.no_grad():
        windows = torch.from_numpy(poses[rf.sliding_windows(60, model.window)])
        expected = CentreFrame(model.eval())(windows).numpy()
    np.testing.assert_allclose(shipped.refine(poses, "blendmimic3d"), expected, atol=1e-4)
