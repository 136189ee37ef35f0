"""Ceiling experiments for the refiner's occluded-joint target (issue 10): how far can any model
that sees the lifter's 3D (and the occlusion labels) bring the occluded joints down?

    .venv-train/bin/python -m training.ceiling clean-lifter [--fold 1]
    .venv-train/bin/python -m training.ceiling aware-lifter [--fold 1] [--lifter-dilations 3,9]
    .venv-train/bin/python -m training.ceiling big-refiner [--arch gru|tcn|gcn] [--steps 2500]

``clean-lifter``: trains one cross-fitted lifter as ``training.train`` does (the other fold's
training actions, published and virtual views, 24 epochs) and lifts its fold's held-out actions
(published cameras) from 2D with the occlusion errors (the benchmark's "lifter predictions") and
from 2D without them (visible-joint noise only): what the hidden joints would cost if the 2D
detector saw them.

``aware-lifter``: a lifter of the same size and budget that learns from the occlusion-corrupted
2D itself with the labels as a third input per joint. A 3D refiner's input is a function of the
same corrupted 2D (through the standard lifter) plus the labels, so this lifter has at least the
information a refiner has, with a lifter's direct access to it.

``big-refiner``: an unconstrained refiner (no latency, no do-no-harm term) trained only on the
cached lifter predictions (``out/refiner/lifted.npz``, as ``training.train`` leaves it) with the
ground truth as target and plain MPJPE, the labels as input half of the time: a bidirectional
GRU over the whole sequence, a wide temporal convolution (receptive field 127 frames) or the
shipped graph network wider and deeper. Scored on the held-out actions and the held-out camera
with and without labels.

Each prints one JSON line with its result; nothing here ships (see the model card's "Ceiling").
"""

import argparse
import json
import os
import pathlib
import time

import numpy as np
import torch
from torch import nn

from blendmimic3d_addon.core.joints import PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D

from . import data, noise, train
from .models import CONFIDENCE_UNKNOWN, GCNRefiner, Lifter, WholeSequence

REPO = pathlib.Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m training.ceiling", description=__doc__.split("\n")[0]
    )
    p.add_argument("experiment", choices=("clean-lifter", "aware-lifter", "big-refiner"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(REPO.parent / "shared" / "blendmimic3d"))
    p.add_argument("--cache", default=str(REPO / "out" / "refiner"))
    p.add_argument("--fold", type=int, default=1, help="clean-lifter: the fold it predicts")
    p.add_argument("--epochs", type=int, default=24, help="clean-lifter: lifter epochs")
    p.add_argument("--draws", type=int, default=3, help="noisy 2D draws per held-out sequence")
    p.add_argument(
        "--lifter-dilations", default="3,9", help="aware-lifter: 3,9 is 27 frames, 3,9,27 is 81"
    )
    p.add_argument("--arch", choices=("gru", "tcn", "gcn"), default="gru")
    p.add_argument("--hidden", type=int, default=128, help="units (gru, tcn) or channels (gcn)")
    p.add_argument("--dilations", default="1,2,4,8,16,32", help="gcn: dilation per graph layer")
    p.add_argument("--steps", type=int, default=3000, help="big-refiner: optimiser steps")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def split_errors(pred, gt, visible):
    """Per-joint errors (metres) of the non-root joints, and the visibility mask."""
    return np.linalg.norm(pred - gt, axis=-1)[:, 1:], visible[:, 1:]


def summary(errors, masks):
    err, vis = np.concatenate(errors), np.concatenate(masks)
    return {
        "all_mm": round(1000 * float(err.mean()), 1),
        "occluded_mm": round(1000 * float(err[~vis].mean()), 1),
        "visible_mm": round(1000 * float(err[vis].mean()), 1),
    }


# ---------------------------------------------------------------- clean-lifter


def fold_split(sequences, fold_index):
    """The training sequences a cross-fitted lifter learns from (the other fold's) and the
    held-out sequences it predicts (its own fold's), as ``training.train`` splits them."""
    training, val, _ = data.split(sequences)
    fold = train.folds_of(sequences)[fold_index]
    return [s for s in training if s.name not in fold], [s for s in val if s.name in fold]


def clean_lifter(args, sequences, log):
    fit_on, held = fold_split(sequences, args.fold)
    log(f"lifter for fold {args.fold}: {len(fit_on)} training sequences, {len(held)} held-out")
    rng = np.random.default_rng([args.seed, 10 + args.fold])
    lifter = train.train_lifter(fit_on, args.epochs, rng, log)
    results = {}
    for occlusion in (True, False):
        errors, masks = [], []
        for s in held:
            for _ in range(args.draws):
                p2 = noise.corrupt(
                    s.pose2d,
                    s.visible,
                    s.resolution,
                    PARENTS_BM3D,
                    SYMMETRIC_PAIRS_BM3D,
                    rng,
                    occlusion,
                )
                e, m = split_errors(train.lift(lifter, s, p2), s.pose3d, s.visible)
                errors.append(e)
                masks.append(m)
        key = "occlusion_errors" if occlusion else "clean_2d"
        results[key] = summary(errors, masks)
    return {"experiment": "clean-lifter", "fold": args.fold, "sequences": len(held), **results}


# ---------------------------------------------------------------- aware-lifter


class AwareLifter(Lifter):
    """The lifter with the occlusion labels as a third input per joint: (B, L, J, 3) = x, y of
    the 2D keypoint and its label (1 visible, 0 occluded)."""

    def __init__(self, dilations, joints=17, channels=128):
        super().__init__(joints, channels, dilations)
        self.expand[0] = nn.Conv1d(joints * 3, channels, 3, bias=False)


def aware_inputs(s, rng, pad):
    p2 = noise.corrupt(s.pose2d, s.visible, s.resolution, PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, rng)
    x = np.concatenate([train.normalise_2d(p2, s.resolution), s.visible[..., None]], axis=-1)
    return train.edge_pad(x.astype(np.float32), pad)


def aware_lifter(args, sequences, log):
    """A lifter that learns from the occlusion-corrupted 2D and the labels themselves: everything
    a 3D refiner of the standard lifter's output could know (its input is a function of the
    same corrupted 2D, plus the labels), with a lifter's full access to it."""
    fit_on, held = fold_split(sequences, args.fold)
    dilations = tuple(int(d) for d in args.lifter_dilations.split(","))
    log(f"aware lifter {dilations}, fold {args.fold}: {len(fit_on)} training, {len(held)} held-out")
    rng = np.random.default_rng([args.seed, 30 + args.fold])
    model = train.train_lifter(fit_on, args.epochs, rng, log, AwareLifter(dilations), aware_inputs)
    errors, masks = [], []
    with torch.no_grad():
        for s in held:
            for _ in range(args.draws):
                x = torch.from_numpy(aware_inputs(s, rng, model.pad))[None]
                e, m = split_errors(model(x)[0].numpy(), s.pose3d, s.visible)
                errors.append(e)
                masks.append(m)
    return {
        "experiment": "aware-lifter",
        "fold": args.fold,
        "dilations": list(dilations),
        "sequences": len(held),
        "occlusion_errors_with_labels": summary(errors, masks),
    }


# ---------------------------------------------------------------- big-refiner


class GRURefiner(nn.Module):
    """Two bidirectional GRU layers over the whole sequence; a residual correction per joint."""

    def __init__(self, hidden=128, joints=17):
        super().__init__()
        self.gru = nn.GRU(joints * 4, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, joints * 3)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, poses, confidence):
        b, t, j, _ = poses.shape
        x = torch.cat([poses.reshape(b, t, -1), confidence], dim=-1)
        h, _ = self.gru(x)
        out = poses + self.head(h).reshape(b, t, j, 3)
        return out - out[:, :, :1]


class TCNRefiner(nn.Module):
    """Wide temporal convolutions (dilations 1..32, receptive field 127), 'same' padding."""

    def __init__(self, hidden=128, joints=17, dilations=(1, 2, 4, 8, 16, 32)):
        super().__init__()
        self.expand = nn.Conv1d(joints * 4, hidden, 1)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(hidden, hidden, 3, dilation=d, padding=d, padding_mode="replicate"),
                nn.BatchNorm1d(hidden),
                nn.ReLU(),
                nn.Conv1d(hidden, hidden, 1),
                nn.BatchNorm1d(hidden),
                nn.ReLU(),
            )
            for d in dilations
        )
        self.head = nn.Conv1d(hidden, joints * 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, poses, confidence):
        b, t, j, _ = poses.shape
        x = torch.cat([poses.reshape(b, t, -1), confidence], dim=-1).transpose(1, 2)
        h = self.expand(x)
        for block in self.blocks:
            h = h + block(h)
        out = poses + self.head(h).transpose(1, 2).reshape(b, t, j, 3)
        return out - out[:, :, :1]


class WideGCN(nn.Module):
    """The shipped graph network (six neighbour classes) with more channels and layers."""

    def __init__(self, channels, dilations):
        super().__init__()
        self.net = WholeSequence(
            GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, channels, dilations)
        )

    def forward(self, poses, confidence):
        return self.net(poses, confidence)


def load_predictions(args, sequences):
    """{sequence name: [lifter 3D per draw]}: the lifter stage cached by ``training.train`` run
    with its defaults and this seed (another stage's cache, such as an older lifter's, is
    refused rather than scored)."""
    defaults = train.parse_args(["--seed", str(args.seed)])
    path = os.path.join(args.cache, "lifted.npz")
    predictions = train.load_lifted(path, train.lifted_tag(defaults, [args.data]), sequences)
    if predictions is None:
        raise SystemExit(
            f"{path}: no lifter stage of `python -m training.train --seed {args.seed}` with its "
            f"defaults; run that first (it caches the stage there)"
        )
    return predictions


def training_batch(train_sets, length, batch, rng):
    xs, cs, ys = [], [], []
    while len(xs) < batch:
        draws, gt, visible = train_sets[rng.integers(len(train_sets))]
        if len(gt) < length:
            continue
        start = rng.integers(0, len(gt) - length + 1)
        sl = slice(start, start + length)
        x = draws[rng.integers(len(draws))][sl].copy()
        x -= x[:, :1]
        conf = visible[sl].astype(np.float32)
        if rng.random() < 0.5:
            conf = np.full_like(conf, CONFIDENCE_UNKNOWN)
        x, y, conf = train.augment(x, gt[sl], conf, rng)
        xs.append(x.astype(np.float32))
        cs.append(conf)
        ys.append(y.astype(np.float32))
    return (torch.from_numpy(np.stack(a)) for a in (xs, cs, ys))


@torch.no_grad()
def score(model, val_sets, labels):
    model.eval()
    errors, masks = [], []
    for pred, gt, visible in val_sets:
        conf = visible.astype(np.float32) if labels else np.full(visible.shape, -1.0, np.float32)
        out = model(torch.from_numpy(pred)[None], torch.from_numpy(conf)[None])[0].numpy()
        e, m = split_errors(out, gt, visible)
        errors.append(e)
        masks.append(m)
    model.train()
    return summary(errors, masks)


def big_refiner(args, sequences, log):
    training, val, geometry = data.split(sequences)
    predictions = load_predictions(args, sequences)
    train_sets = [(predictions[s.name], s.pose3d, s.visible) for s in training]
    val_sets = [(predictions[s.name][0], s.pose3d, s.visible) for s in val]
    geo_sets = [(predictions[s.name][0], s.pose3d, s.visible) for s in geometry]
    torch.manual_seed(args.seed)
    if args.arch == "gcn":
        model = WideGCN(args.hidden, tuple(int(d) for d in args.dilations.split(",")))
    else:
        model = (GRURefiner if args.arch == "gru" else TCNRefiner)(args.hidden)
    log(f"{args.arch}: {sum(p.numel() for p in model.parameters())} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    rng = np.random.default_rng([args.seed, 20])
    t0, running = time.time(), 0.0
    for step in range(args.steps):
        x, c, y = training_batch(train_sets, 243, 16, rng)
        loss = torch.linalg.norm(model(x, c) - y, dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        if (step + 1) % 500 == 0:
            m = score(model, val_sets[::3], True)
            log(
                f"  step {step + 1}: train {1000 * running / 500:.1f} mm, held-out (every third, "
                f"labels) {m} ({time.time() - t0:.0f} s)"
            )
            running = 0.0
    raw = summary(*zip(*(split_errors(p, g, v) for p, g, v in val_sets), strict=True))
    raw_geo = summary(*zip(*(split_errors(p, g, v) for p, g, v in geo_sets), strict=True))
    torch.save(model.state_dict(), os.path.join(args.cache, f"ceiling_{args.arch}.pt"))
    return {
        "experiment": "big-refiner",
        "arch": args.arch,
        "hidden": args.hidden,
        "steps": args.steps,
        "held_out_actions": {
            "input": raw,
            "no_labels": score(model, val_sets, False),
            "labels": score(model, val_sets, True),
            # how far it moves a perfect input (the shipped model must stay within 3 mm)
            "ground_truth_moved_mm": score(model, [(g, g, v) for _, g, v in val_sets], False),
        },
        "held_out_camera": {
            "input": raw_geo,
            "no_labels": score(model, geo_sets, False),
            "labels": score(model, geo_sets, True),
        },
    }


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.time()

    def log(msg):
        print(f"[{time.time() - t_start:6.0f} s] {msg}", flush=True)

    # the same sequences (and virtual cameras) as ``training.train`` with this seed
    sequences = data.load_root(args.data, 4, np.random.default_rng([args.seed, 3]))
    run = {"clean-lifter": clean_lifter, "aware-lifter": aware_lifter, "big-refiner": big_refiner}[
        args.experiment
    ]
    print(json.dumps(run(args, sequences, log)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
