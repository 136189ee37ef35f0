"""Training is one command and reproducible from its seed: two small runs give the same model."""

import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "blendmimic3d"

SMALL = ["--limit", "6", "--lifter-epochs", "1", "--refiner-epochs", "1", "--draws", "1",
         "--channels", "8", "--dilations", "1,2", "--virtual-cameras", "1",
         "--chunks-per-epoch", "64"]  # fmt: skip


def _train(out, seed):
    cmd = [sys.executable, "-m", "training.train", "--seed", str(seed), "--out", str(out)]
    cmd += ["--cache", str(out / "cache.npz"), "--data", str(SHARED), *SMALL]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, timeout=600)
    return (out / "refiner_gcn.onnx").read_bytes()


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent: no training data")
def test_same_seed_same_model_other_seed_other_model(tmp_path):
    first = _train(tmp_path / "a", 0)
    assert first == _train(tmp_path / "b", 0)
    assert first != _train(tmp_path / "c", 1)
