"""The ceiling experiments' pieces: every refiner starts as the identity (so a result is a change
from the input), the aware lifter takes labels, and the scores split occluded from visible."""

import numpy as np
import pytest
import torch

from training import ceiling


def _poses(rng, frames=50):
    poses = rng.standard_normal((frames, 17, 3)).astype(np.float32)
    return poses - poses[:, :1]


@pytest.mark.parametrize(
    "model",
    [
        ceiling.GRURefiner(hidden=8),
        ceiling.TCNRefiner(hidden=8),
        ceiling.WideGCN(4, (1, 2, 4)),
    ],
    ids=["gru", "tcn", "gcn"],
)
def test_untrained_refiner_returns_its_input(model):
    poses = _poses(np.random.default_rng(0))
    conf = np.ones(poses.shape[:2], np.float32)
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(poses)[None], torch.from_numpy(conf)[None])[0].numpy()
    np.testing.assert_allclose(out, poses, atol=1e-6)


def test_aware_lifter_reads_labels():
    model = ceiling.AwareLifter((3, 9)).eval()
    x = torch.zeros(2, 10 + 2 * model.pad, 17, 3)
    with torch.no_grad():
        blank = model(x)
        x[..., 2] = 1.0  # every joint labelled visible
        labelled = model(x)
    assert blank.shape == (2, 10, 17, 3)
    assert not torch.allclose(blank, labelled)
    assert torch.all(labelled[:, :, 0] == 0)  # root-relative


def test_scores_split_occluded_from_visible():
    gt = np.zeros((4, 17, 3), np.float32)
    pred = gt.copy()
    pred[:, 1:, 0] = 0.010  # 10 mm everywhere
    visible = np.ones((4, 17), bool)
    visible[:2, 5] = False
    pred[:2, 5, 0] = 0.040  # the two occluded joint-frames are off by 40 mm
    result = ceiling.summary(*zip(ceiling.split_errors(pred, gt, visible), strict=True))
    assert result["occluded_mm"] == pytest.approx(40.0)
    assert result["visible_mm"] == pytest.approx(10.0)
    assert result["all_mm"] == pytest.approx((62 * 10 + 2 * 40) / 64, abs=0.05)


def test_big_refiner_reads_only_the_default_lifter_stage(tmp_path):
    """The cached lifter stage is scored only if ``training.train`` with its defaults made it: an
    older stage (another tag) is refused, naming the file, rather than scored."""
    from types import SimpleNamespace

    from training import train

    args = ceiling.parse_args(["big-refiner", "--cache", str(tmp_path)])
    sequences = [SimpleNamespace(name="S1/Walk/Cam_0")]
    stage = {"S1/Walk/Cam_0": [np.ones((3, 17, 3), np.float32)]}
    path = str(tmp_path / "lifted.npz")
    defaults = train.parse_args(["--seed", str(args.seed)])
    train.save_lifted(path, train.lifted_tag(defaults, [args.data]), stage)
    loaded = ceiling.load_predictions(args, sequences)
    np.testing.assert_array_equal(loaded["S1/Walk/Cam_0"][0], stage["S1/Walk/Cam_0"][0])
    train.save_lifted(path, "seed=0 folds=subjects lifter_epochs=15", stage)
    with pytest.raises(SystemExit, match="lifted.npz: no lifter stage"):
        ceiling.load_predictions(args, sequences)
