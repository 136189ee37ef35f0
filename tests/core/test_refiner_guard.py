"""The CI guard of the shipped refiner: it must do no harm to good poses.

A few held-out sequences of the published data (Greeting, both subjects, two cameras, 600 frames
each): the ground truth itself comes back within 3 mm, and poses with 10 or 25 mm of white noise
come back no worse overall and on visible joints. The full sweep is benchmarks/bench_refiner.py.
"""

import numpy as np
import pytest
from conftest import shared_path

from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.geometry import camera
from blendmimic3d_addon.core.refine import runtime as rf

ACTION = "Greeting"  # a held-out action: the refiner never trained on it
FRAMES = 600


@pytest.fixture(scope="module")
def held_out():
    """[(root-relative camera-frame ground truth, visible)] in BlendMimic3D order."""
    out = []
    for subject in ("S1", "S2"):
        folder = str(shared_path("blendmimic3d", subject))
        world = dio.read_positions_3d(folder, ACTION)[:FRAMES]
        labels = [np.asarray(v)[:FRAMES] > 0.5 for v in dio.read_occlusions(folder, ACTION)]
        in_cams = camera.world_to_camera(world, dio.read_cameras(folder, subject).RT)
        for c in (0, 2):
            out.append(((in_cams[c] - in_cams[c][:, :1]).astype(np.float32), labels[c]))
    return out


@pytest.fixture(scope="module")
def model():
    return rf.Refiner(threads=1)


def _errors(model, inputs, held_out):
    """Per-joint errors (mm, root left out) of the inputs and of the refined inputs, and the
    visibility, over all sequences."""
    before, after, visible = [], [], []
    for x, (gt, vis) in zip(inputs, held_out, strict=True):
        refined = model.refine(x, "blendmimic3d")
        before.append(1000 * np.linalg.norm(x - gt, axis=-1)[:, 1:])
        after.append(1000 * np.linalg.norm(refined - gt, axis=-1)[:, 1:])
        visible.append(vis[:, 1:])
    return (np.concatenate(a) for a in (before, after, visible))


def test_ground_truth_comes_back_within_3_mm(model, held_out):
    _, moved, _ = _errors(model, [gt for gt, _ in held_out], held_out)
    assert moved.mean() <= 3.0, f"the ground truth moved {moved.mean():.2f} mm on average"


@pytest.mark.parametrize("rms_mm", [10, 25])
def test_white_noise_is_not_made_worse(model, held_out, rms_mm):
    rng = np.random.default_rng(rms_mm)
    inputs = []
    for gt, _ in held_out:
        noise = rng.standard_normal(gt.shape) * (rms_mm / 1000 / np.sqrt(3))
        noise[:, 0] = 0.0
        inputs.append((gt + noise).astype(np.float32))
    before, after, vis = _errors(model, inputs, held_out)
    assert after.mean() <= before.mean(), (after.mean(), before.mean())
    assert after[vis].mean() <= before[vis].mean(), (after[vis].mean(), before[vis].mean())
