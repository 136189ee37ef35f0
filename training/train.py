"""One command: train lifter + GCN refiner from a seed and export the shipped ONNX model.

    .venv-train/bin/python -m training.train --seed 0 --out assets/

Steps: (1) per fold of subjects, train a lifter on 2D with detector-like noise of visible
joints (published cameras only); (2) feed it occlusion-dependent noisy 2D of the subjects it did
not see, from the published and from virtual cameras, which gives realistic 3D predictions for
every training and held-out sequence; (3) train the GCN refiner on a mix of input qualities
(ground truth itself, white noise, smooth drifts, the lifter's predictions) against the ground
truth, with the occlusion labels as its confidence input half of the time; (4) evaluate on the
held-out actions, export ONNX (checkpointed every epoch) and a cache for ``benchmarks/``.
"""

import argparse
import json
import os
import pathlib
import time

import numpy as np
import torch

from blendmimic3d_addon.core.joints import PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D

from . import data, export, noise
from .models import CONFIDENCE_UNKNOWN, GCNRefiner, Lifter

REPO = pathlib.Path(__file__).resolve().parent.parent
FLIP = np.arange(17)
for _a, _b in SYMMETRIC_PAIRS_BM3D:
    FLIP[_a], FLIP[_b] = _b, _a


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(REPO / "assets"), help="folder for the .onnx and card")
    p.add_argument("--data", action="append", help="dataset root with S* folders (repeatable)")
    p.add_argument("--cache", default=str(REPO / "out" / "refiner"), help="predictions cache")
    p.add_argument("--lifter-epochs", type=int, default=24)
    p.add_argument("--refiner-epochs", type=int, default=12)
    p.add_argument("--chunks-per-epoch", type=int, default=2000, help="refiner chunks per epoch")
    p.add_argument("--draws", type=int, default=2, help="noisy 2D draws per training sequence")
    p.add_argument("--virtual-cameras", type=int, default=4, help="virtual views per training take")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--dilations", default="1,2,4,8", help="temporal dilation of each graph layer")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is best on a busy CPU)")
    p.add_argument("--no-augment", action="store_true", help="mirror only: no turn or scale")
    p.add_argument("--bone-weight", type=float, default=0.5, help="bone-length loss weight")
    p.add_argument("--velocity-weight", type=float, default=1.0, help="velocity loss weight")
    p.add_argument(
        "--loss-floor",
        type=float,
        default=0.05,
        help="metres added to a chunk's input error in the loss's normaliser",
    )
    p.add_argument(
        "--harm-weight",
        type=float,
        default=0.25,
        help="weight of the penalty on a chunk made worse than its input",
    )
    p.add_argument(
        "--quality-shares",
        default=",".join(f"{k}={v}" for k, v in QUALITIES.items()),
        help="shares of the training chunks' input qualities, e.g. lifter=1",
    )
    p.add_argument("--limit", type=int, default=0, help="use only N sequences (smoke tests)")
    return p.parse_args(argv)


def normalise_2d(pose2d, resolution):
    """VideoPose3D's screen normalisation: x in [-1, 1], y scaled alike."""
    w, h = resolution
    return pose2d / w * 2 - np.array([1.0, h / w], dtype=np.float32)


def edge_pad(x, pad):
    return np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], pad, 0)])


def chunks(n_frames, length, rng):
    """Random chunk starts covering a sequence of n_frames about once."""
    if n_frames <= length:
        return [0]
    count = int(np.ceil(n_frames / length))
    return list(rng.integers(0, n_frames - length + 1, size=count))


def flip_poses(x):
    x = x[..., FLIP, :].copy()
    x[..., 0] *= -1
    return x


# ---------------------------------------------------------------- lifter

LIFTER_DECAY = 0.93  # learning-rate decay per epoch


def visible_noise_inputs(s, rng, pad):
    """A sequence's 2D with visible-joint noise only (what the lifter learns from), normalised
    and edge-padded by ``pad`` frames."""
    p2 = noise.corrupt(
        s.pose2d, s.visible, s.resolution, PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, rng, False
    )
    return edge_pad(normalise_2d(p2, s.resolution), pad)


def train_lifter(sequences, epochs, rng, log, model=None, inputs_of=visible_noise_inputs):
    """A ``Lifter`` (or ``model``) trained on 64-frame chunks of ``sequences``, its input per
    sequence drawn each epoch by ``inputs_of(sequence, rng, pad)``."""
    model = Lifter() if model is None else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, LIFTER_DECAY)
    length = 64
    for epoch in range(epochs):
        model.train()
        inputs, targets = [], []
        for s in sequences:
            p2 = inputs_of(s, rng, model.pad)
            p3 = s.pose3d
            n = len(p3)
            for start in chunks(n, length, rng):
                stop = min(start + length, n)
                x, y = p2[start : stop + 2 * model.pad], p3[start:stop]
                if stop - start < length:  # short sequence: pad both to the chunk length
                    x, y = (
                        np.concatenate([a, np.repeat(a[-1:], length - (stop - start), 0)])
                        for a in (x, y)
                    )
                if rng.random() < 0.5:
                    x, y = flip_poses(x), flip_poses(y)
                inputs.append(x)
                targets.append(y)
        t0 = time.time()
        mm = 1000 * lifter_epoch(model, opt, inputs, targets, rng)
        sched.step()
        log(f"  lifter epoch {epoch + 1}/{epochs}: MPJPE {mm:.1f} mm ({time.time() - t0:.0f} s)")
    return model.eval()


def lifter_epoch(model, opt, inputs, targets, rng, batch=16):
    """One pass over the (input, target) chunks in a random order, MPJPE loss; the mean MPJPE
    (metres)."""
    order = rng.permutation(len(inputs))
    total = 0.0
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        x = torch.from_numpy(np.stack([inputs[k] for k in idx]))
        y = torch.from_numpy(np.stack([targets[k] for k in idx]))
        loss = torch.linalg.norm(model(x) - y, dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / len(order)


@torch.no_grad()
def lift(model, seq, pose2d):
    x = edge_pad(normalise_2d(pose2d, seq.resolution), model.pad)
    return model(torch.from_numpy(x)[None])[0].numpy()


def folds_of(sequences):
    """Cross-fitting folds by alternate actions, over every subject: each lifter learns from
    one half of the training actions of all subjects and predicts the other half (held-out
    actions included), so its predictions are as good as on an unseen action of a seen person.
    (Folds by subject gave a lifter trained on one person: 128 mm on visible joints.)"""
    actions = sorted({s.action for s in sequences})
    return [{s.name for s in sequences if s.action in actions[k::2]} for k in range(2)]


# ---------------------------------------------------------------- refiner

# Input qualities of a training chunk and their shares: the refiner must repair the lifter's
# errors and leave good poses alone.
QUALITIES = {"ground_truth": 0.20, "white": 0.20, "drift": 0.15, "lifter": 0.45}
WHITE_RMS = (0.003, 0.035)  # metres
DRIFT_RMS = (0.010, 0.070)
DRIFT_WIDTH = (4, 30)  # frames
LABELS_SHARE = 0.5  # chunks that see the occlusion labels; the others see CONFIDENCE_UNKNOWN


def augment(x, y, conf, rng):
    """The same mirror, turn about the camera's vertical axis (up to 25 degrees) and scale
    (0.9-1.1) for input and ground truth: other views and body sizes."""
    if rng.random() < 0.5:
        x, y, conf = flip_poses(x), flip_poses(y), conf[..., FLIP]
    angle = rng.uniform(-1, 1) * np.radians(25)
    c, s = np.cos(angle), np.sin(angle)
    turn = (rng.uniform(0.9, 1.1) * np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])).astype(np.float32)
    return x @ turn.T, y @ turn.T, conf


def degrade(gt, lifted, quality, rng):
    """The input of one chunk: ground truth degraded to ``quality``."""
    n = len(gt)
    if quality == "ground_truth":
        return gt.copy()
    if quality == "white":
        return gt + noise.white_3d(rng, n, rng.uniform(*WHITE_RMS))
    if quality == "drift":
        width = rng.integers(*DRIFT_WIDTH)
        return gt + noise.drift_3d(rng, n, rng.uniform(*DRIFT_RMS), width)
    return lifted.copy()


def parse_shares(text):
    """``"lifter=1"`` or ``"ground_truth=0.2,white=0.2,..."`` -> {quality: share} summing to 1;
    qualities not named get none."""
    shares = dict.fromkeys(QUALITIES, 0.0)
    for item in text.split(","):
        name, _, value = item.partition("=")
        if name.strip() not in shares:
            raise SystemExit(f"--quality-shares: {name!r} is not one of {', '.join(QUALITIES)}")
        shares[name.strip()] = float(value)
    total = sum(shares.values())
    if total <= 0:
        raise SystemExit("--quality-shares: the shares add up to nothing")
    return {k: v / total for k, v in shares.items()}


def training_chunks(train_sets, length, rng, aug=True, qualities=QUALITIES):
    """One epoch of (input, confidence, target) chunks of ``length`` frames, drawn afresh."""
    names, shares = list(qualities), np.array(list(qualities.values()))
    inputs, confs, targets = [], [], []
    for draws, gt, visible in train_sets:
        if len(gt) < length:
            continue
        for start in chunks(len(gt), length, rng):
            sl = slice(start, start + length)
            quality = names[rng.choice(len(names), p=shares)]
            lifted = draws[rng.integers(len(draws))][sl]
            x = degrade(gt[sl], lifted, quality, rng)
            x -= x[:, :1]
            conf = visible[sl].astype(np.float32)
            if rng.random() >= LABELS_SHARE:
                conf = np.full_like(conf, CONFIDENCE_UNKNOWN)
            y = gt[sl]
            if aug:
                x, y, conf = augment(x, y, conf, rng)
            inputs.append(x.astype(np.float32))
            confs.append(conf)
            targets.append(y.astype(np.float32))
    return inputs, confs, targets


PARENTS_T = torch.as_tensor(np.asarray(PARENTS_BM3D)[1:])
HARM_FLOOR = 0.01  # metres: the harm penalty's normaliser floor (inputs better than this)


def refiner_loss(out, gt, x, bone_weight, velocity_weight, floor=0.05, harm_weight=0.25):
    """Per chunk: (MPJPE + bone-length error + velocity error) / (the input's MPJPE + ``floor``),
    plus a do-no-harm penalty, ``harm_weight`` x (how much the chunk got worse than its input) /
    (the input's MPJPE + 1 cm). The mild normaliser lets poor inputs (the lifter's, ~100 mm)
    count about a third as much as perfect ones, not a tenth: the net learns to repair them; the
    penalty keeps good inputs where they are (a millimetre added to a perfect input costs 25x)."""
    mpjpe = torch.linalg.norm(out - gt, dim=-1).mean((1, 2))
    bones_out = torch.linalg.norm(out[..., 1:, :] - out[..., PARENTS_T, :], dim=-1)
    bones_gt = torch.linalg.norm(gt[..., 1:, :] - gt[..., PARENTS_T, :], dim=-1)
    bone = (bones_out - bones_gt).abs().mean((1, 2))
    velocity = torch.linalg.norm(out.diff(dim=1) - gt.diff(dim=1), dim=-1).mean((1, 2))
    before = torch.linalg.norm(x - gt, dim=-1).mean((1, 2))
    total = (mpjpe + bone_weight * bone + velocity_weight * velocity) / (before + floor)
    harm = torch.relu(mpjpe - before) / (before + HARM_FLOOR)
    return (total + harm_weight * harm).mean() * floor, mpjpe.mean()


def train_refiner(model, train_sets, epochs, rng, log, checkpoint=None, val=None, args=None):
    """Adam, exponential decay; ``checkpoint(model, epoch)`` after every epoch, so a run cut
    short still leaves a usable model."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.85)
    p = model.pad
    length = 64 + 2 * p
    for epoch in range(epochs):
        model.train()
        inputs, confs, targets = training_chunks(
            train_sets, length, rng, not args.no_augment, parse_shares(args.quality_shares)
        )
        order = rng.permutation(len(inputs))[: args.chunks_per_epoch]
        total, t0 = 0.0, time.time()
        for i in range(0, len(order), 32):
            idx = order[i : i + 32]
            x = torch.from_numpy(np.stack([inputs[k] for k in idx]))
            c = torch.from_numpy(np.stack([confs[k] for k in idx]))
            y = torch.from_numpy(np.stack([targets[k] for k in idx]))
            loss, mpjpe = refiner_loss(
                model(x, c),
                y[:, p:-p],
                x[:, p:-p],
                args.bone_weight,
                args.velocity_weight,
                args.loss_floor,
                args.harm_weight,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += mpjpe.item() * len(idx)
        sched.step()
        msg = f"  refiner epoch {epoch + 1}/{epochs}: train {1000 * total / len(order):.1f} mm"
        if val:  # a third of the held-out sequences: a cheap progress check
            m = evaluate(model, val[::3])
            msg += (
                f", held-out lifter {m['raw_mpjpe_mm']:.1f} -> {m['refined_mpjpe_mm']:.1f} mm "
                f"(occluded {m['raw_occluded_mm']:.1f} -> {m['refined_occluded_mm']:.1f}), "
                f"ground truth moved {m['gt_change_mm']:.2f} mm"
            )
        log(f"{msg} ({time.time() - t0:.0f} s)")
        if checkpoint is not None:
            checkpoint(model.eval(), epoch + 1)
    return model.eval()


@torch.no_grad()
def refine_sequence(model, pred, confidence=None):
    """The whole sequence in one pass, edge-padded: each frame as its clamped window gives it."""
    model.eval()
    if confidence is None:
        confidence = np.full(pred.shape[:2], CONFIDENCE_UNKNOWN, np.float32)
    x = edge_pad(pred.astype(np.float32), model.pad)
    c = edge_pad(confidence.astype(np.float32), model.pad)
    return model(torch.from_numpy(x)[None], torch.from_numpy(c)[None])[0].numpy()


def evaluate(model, val):
    """Held-out lifter predictions (without labels) and the ground truth itself as input."""
    errs_raw, errs_ref, vis, moved = [], [], [], []
    for pred, gt, visible in val:
        errs_raw.append(np.linalg.norm(pred - gt, axis=-1)[:, 1:])
        errs_ref.append(np.linalg.norm(refine_sequence(model, pred) - gt, axis=-1)[:, 1:])
        moved.append(np.linalg.norm(refine_sequence(model, gt) - gt, axis=-1)[:, 1:])
        vis.append(visible[:, 1:])
    raw, ref, vis, moved = (np.concatenate(a) for a in (errs_raw, errs_ref, vis, moved))
    return {
        "raw_mpjpe_mm": 1000 * raw.mean(),
        "refined_mpjpe_mm": 1000 * ref.mean(),
        "raw_occluded_mm": 1000 * raw[~vis].mean(),
        "refined_occluded_mm": 1000 * ref[~vis].mean(),
        "raw_visible_mm": 1000 * raw[vis].mean(),
        "refined_visible_mm": 1000 * ref[vis].mean(),
        "gt_change_mm": 1000 * moved.mean(),
    }


def lift_all(sequences, train, args, log):
    """Out-of-fold lifter predictions: {name: [3D per noise draw]} (draws only for training).
    The lifters learn from the published and the virtual views of the other fold's training
    actions; the held-out camera geometry is never among them."""
    rng = np.random.default_rng([args.seed, 1])
    train_names = {s.name for s in train}
    predictions = {}
    for k, fold in enumerate(folds_of(sequences)):
        fit_on = [s for s in train if s.name not in fold]  # published and virtual views
        log(f"lifter {k + 1}: trained on {len(fit_on)} sequences, predicts {len(fold)}")
        lifter = train_lifter(fit_on, args.lifter_epochs, rng, log)
        for s in sequences:
            if s.name in fold:
                draws = args.draws if s.name in train_names else 1
                noisy = [
                    noise.corrupt(
                        s.pose2d, s.visible, s.resolution, PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, rng
                    )
                    for _ in range(draws)
                ]
                predictions[s.name] = [lift(lifter, s, p2) for p2 in noisy]
    return predictions


def save_lifted(path, tag, predictions):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    arrays = {f"{name}|{i}": p for name, draws in predictions.items() for i, p in enumerate(draws)}
    tmp = path + ".part.npz"
    np.savez(tmp, __tag__=np.array(tag), **arrays)
    os.replace(tmp, path)


def lifted_tag(args, roots):
    """What the lifter stage's cached output depends on (``args`` of ``parse_args``)."""
    return (
        f"seed={args.seed} folds=actions+virtual lifter_epochs={args.lifter_epochs} "
        f"decay={LIFTER_DECAY} draws={args.draws} virtual={args.virtual_cameras} "
        f"limit={args.limit} roots={roots}"
    )


def load_lifted(path, tag, sequences):
    """The lifter stage's output from an earlier run with the same settings, else None."""
    if not os.path.isfile(path):
        return None
    with np.load(path) as cached:
        if str(cached["__tag__"]) != tag:
            return None
        predictions = {}
        for key in cached.files:
            if key != "__tag__":
                name, _ = key.rsplit("|", 1)
                predictions.setdefault(name, []).append(cached[key])
    # keys come back in the order they were written (draw 0, 1, ...)
    if set(predictions) != {s.name for s in sequences}:
        return None
    return predictions


# ---------------------------------------------------------------- main


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    def log(msg):
        print(f"[{time.time() - t_start:6.0f} s] {msg}", flush=True)

    roots = args.data or [str(REPO.parent / "shared" / "blendmimic3d")]
    cam_rng = np.random.default_rng([args.seed, 3])
    sequences = [s for root in roots for s in data.load_root(root, args.virtual_cameras, cam_rng)]
    if args.limit:
        sequences = sequences[:: max(1, len(sequences) // args.limit)][: args.limit]
    train, val, geometry = data.split(sequences)
    log(
        f"{len(sequences)} sequences from {roots}: {len(train)} train "
        f"({sum(s.kind == 'virtual' for s in train)} from virtual cameras), {len(val)} held-out "
        f"actions, {len(geometry)} held-out camera geometry"
    )

    lifted_path = os.path.join(args.cache, "lifted.npz")
    tag = lifted_tag(args, roots)
    predictions = load_lifted(lifted_path, tag, sequences)
    if predictions is None:
        predictions = lift_all(sequences, train, args, log)
        save_lifted(lifted_path, tag, predictions)
    else:
        log(f"lifter predictions reused from {lifted_path} ({tag})")
    export.save_cache(args.cache, {"train": train, "val": val, "geo": geometry}, predictions)

    train_sets = [(predictions[s.name], s.pose3d, s.visible) for s in train]
    val_sets = [(predictions[s.name][0], s.pose3d, s.visible) for s in val]
    torch.manual_seed(args.seed)  # the refiner's start does not depend on the lifter stage
    rng = np.random.default_rng([args.seed, 2])
    dilations = tuple(int(d) for d in args.dilations.split(","))
    model = GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, args.channels, dilations)
    log(
        f"refiner: {sum(p.numel() for p in model.parameters())} parameters, "
        f"receptive field {model.window} frames"
    )
    meta = {
        "seed": args.seed,
        "window": model.window,
        "dilations": ",".join(map(str, dilations)),
        "joint_order": "blendmimic3d",
        "confidence_unknown": CONFIDENCE_UNKNOWN,
        "train_sequences": len(train),
        "heldout_actions": ",".join(data.VALIDATION_ACTIONS),
        "virtual_cameras": args.virtual_cameras,
        "lifter_epochs": args.lifter_epochs,
        "refiner_epochs": args.refiner_epochs,
        "chunks_per_epoch": args.chunks_per_epoch,
        "augment": not args.no_augment,
        "bone_weight": args.bone_weight,
        "velocity_weight": args.velocity_weight,
        "loss_floor": args.loss_floor,
        "harm_weight": args.harm_weight,
        "lifter_folds": "actions, published and virtual views",
    }

    def checkpoint(net, epoch):
        torch.save(net.state_dict(), os.path.join(args.cache, "refiner.pt"))
        path = os.path.join(args.cache, "refiner_gcn.onnx")
        export.to_onnx(net, path, {**meta, "epochs_done": epoch})

    model = train_refiner(
        model, train_sets, args.refiner_epochs, rng, log, checkpoint, val_sets, args
    )
    metrics = evaluate(model, val_sets) if val_sets else {}
    log("held-out: " + json.dumps({k: round(v, 1) for k, v in metrics.items()}))

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "refiner_gcn.onnx")
    meta["heldout_metrics"] = json.dumps({k: round(v, 2) for k, v in metrics.items()})
    export.to_onnx(model, onnx_path, meta)
    log(f"wrote {onnx_path} and {args.cache}; total {time.time() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
