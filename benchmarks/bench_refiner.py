"""Refiner benchmark: the sweep over input quality on held-out data, proportions on real
predictions, and latency of the one-pass runtime against the windowed form and PyTorch eager.

    .venv-train/bin/python benchmarks/bench_refiner.py   # all, PyTorch latency included
    .venv/bin/python benchmarks/bench_refiner.py         # no PyTorch there: ONNX latency only

Reads the cache that ``python -m training.train`` writes (out/refiner/predictions.npz: ground
truth, visibility and out-of-fold lifter predictions for the training split, the held-out
actions and the held-out camera geometry). Inputs of every quality are made from the held-out
ground truth with a fixed seed: the ground truth itself, white noise and smooth drifts (RMS 3D
displacement per joint), and the lifter's predictions. Savitzky-Golay and the one-euro filter are
tuned on the training split's lifter predictions (best MPJPE), as the refiner never sees the
held-out data. ``--old-model`` adds a window-per-frame model (the previous shipped refiner) run
the way the previous runtime ran it; ``--baseline`` adds another whole-sequence model (e.g. the
one this model replaces) through today's runtime, with and without labels.
"""

import argparse
import itertools
import json
import os
import pathlib
import sys
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from blendmimic3d_addon.core.format.predictions import load_predictions  # noqa: E402
from blendmimic3d_addon.core.joints import PARENTS_H36M  # noqa: E402
from blendmimic3d_addon.core.refine import filters, metrics  # noqa: E402
from blendmimic3d_addon.core.refine import runtime as rf  # noqa: E402
from training import noise  # noqa: E402  (numpy only)

FPS = 30.0
SAVGOL_GRID = [(w, o) for w in (5, 9, 13, 17, 25, 33, 41) for o in (1, 2, 3) if o < w]
ONE_EURO_GRID = list(itertools.product((0.1, 0.3, 1.0, 3.0), (0.0, 0.3, 1.0, 3.0)))
LEVELS = ("ground truth", "white 10 mm", "white 25 mm", "drift 25 mm", "drift 50 mm", "lifter")
DRIFT_WIDTH = 15  # frames: the drifts' correlation length
SPLITS = {"val": "held-out actions", "geo": "held-out camera geometry"}


def sequences(cache, split):
    """[(pred, gt, visible)] per sequence of one split."""
    ends = np.cumsum(cache[f"{split}_lengths"])
    starts = ends - cache[f"{split}_lengths"]
    return [
        tuple(cache[f"{split}_{k}"][a:b] for k in ("pred", "gt", "visible"))
        for a, b in zip(starts, ends, strict=True)
    ]


def degraded(seqs, level, seed=0):
    """Held-out inputs of one quality: [(input, gt, visible)], reproducible from ``seed``."""
    rng = np.random.default_rng([seed, LEVELS.index(level)])
    out = []
    for pred, gt, vis in seqs:
        if level == "lifter":
            x = pred
        elif level == "ground truth":
            x = gt.copy()
        else:
            kind, mm = level.split()[0], float(level.split()[1]) / 1000
            if kind == "white":
                x = gt + noise.white_3d(rng, len(gt), mm)
            else:
                x = gt + noise.drift_3d(rng, len(gt), mm, DRIFT_WIDTH)
        out.append((x.astype(np.float32), gt, vis))
    return out


def scores(outputs, seqs):
    """MPJPE (mm) overall and split into occluded and visible joints (the root left out, it is
    zero by construction), and the mean distance the method moved the joints."""
    out = np.concatenate([o - o[:, :1] for o in outputs])[:, 1:]
    x = np.concatenate([s[0] for s in seqs])[:, 1:]
    gt = np.concatenate([s[1] for s in seqs])[:, 1:]
    vis = np.concatenate([s[2] for s in seqs])[:, 1:] > 0.5
    err = 1000 * metrics.per_joint_error(out, gt)
    return {
        "mpjpe": err.mean(),
        "occluded": err[~vis].mean(),
        "visible": err[vis].mean(),
        "change": 1000 * metrics.per_joint_error(out, x).mean(),
    }


def tune(name, grid, make, seqs):
    def score(params):
        method = make(*params)
        return scores([method(x) for x, _, _ in seqs], seqs)["mpjpe"]

    best = min(grid, key=score)
    print(f"  {name}: best on the training split {best}", flush=True)
    return make(*best), best


class WindowedModel:
    """A window-per-frame ONNX model ((B, window, 17, 3) -> (B, 17, 3), the previous refiner's
    contract), run as the previous runtime ran it: edge-clamped windows, 256 per call."""

    def __init__(self, path, threads=1):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.window = int(self.session.get_inputs()[0].shape[1])

    def refine(self, local):
        idx = rf.sliding_windows(len(local), self.window)
        out = np.empty_like(local)
        for start in range(0, len(local), 256):
            windows = local[idx[start : start + 256]].astype(np.float32)
            out[start : start + 256] = self.session.run(None, {"poses": windows})[0]
        return out


def methods(model, old, savgol, euro, sg_params, euro_params, baseline=None):
    table = {
        "input": lambda x, v: x,
        f"Savitzky-Golay {sg_params}": lambda x, v: savgol(x),
        f"one-euro {euro_params}": lambda x, v: euro(x),
    }
    if old is not None:
        table["previous refiner (9-frame windows)"] = lambda x, v: old.refine(x)
    if baseline is not None:
        table["baseline refiner, no labels"] = lambda x, v: baseline.refine(x, "blendmimic3d")
        table["baseline refiner, with labels"] = lambda x, v: baseline.refine(
            x, "blendmimic3d", confidence=v.astype(np.float32)
        )
    table["refiner, no labels"] = lambda x, v: model.refine(x, "blendmimic3d")
    table["refiner, with labels"] = lambda x, v: model.refine(
        x, "blendmimic3d", confidence=v.astype(np.float32)
    )
    return table


def sweep(cache_path, model, old, tune_stride, baseline=None):
    with np.load(cache_path) as archive:  # read each array once, not once per sequence
        cache = dict(archive)
    train = sequences(cache, "train")[::tune_stride]
    savgol, sg_params = tune(
        "Savitzky-Golay (window, order)",
        SAVGOL_GRID,
        lambda w, o: lambda p: filters.savgol(p, w, o),
        train,
    )
    euro, euro_params = tune(
        "one-euro (min_cutoff Hz, beta)",
        ONE_EURO_GRID,
        lambda c, b: lambda p: filters.one_euro(p, FPS, c, b),
        train,
    )
    table = methods(model, old, savgol, euro, sg_params, euro_params, baseline)
    result = {}
    for split, title in SPLITS.items():
        if f"{split}_gt" not in cache:
            continue
        seqs = sequences(cache, split)
        frames = sum(len(s[1]) for s in seqs)
        print(f"\n{title}: {len(seqs)} sequences, {frames} frames", flush=True)
        for level in LEVELS:
            inputs = degraded(seqs, level)
            result[(split, level)] = {
                name: scores([fn(x, v) for x, _, v in inputs], inputs) for name, fn in table.items()
            }
            _print_level(level, result[(split, level)])
    return result


def proportions(path, model):
    """Bone lengths and jitter of a real H36M-ordered estimator output before and after, with
    and without the runtime's bone-length step; and how far the spine, thorax, neck/nose and
    head (whose meaning differs from Mixamo's) move relative to the root, each way."""
    poses = load_predictions(path)
    poses = poses - poses[:, :1]
    refined = model.refine(poses, "h36m")
    plain = model.refine(poses, "h36m", keep_proportions=False)
    lengths = [metrics.bone_lengths(p, PARENTS_H36M) for p in (poses, refined, plain)]
    own = list(rf.OWN_SEMANTICS_H36M)

    def moved(p):
        return 1000 * float(np.linalg.norm(p[:, own] - poses[:, own], axis=-1).mean())

    return {
        "frames": len(poses),
        "median_bone_change_mm_max": [
            1000 * float(np.abs(np.median(b, 0) - np.median(lengths[0], 0)).max())
            for b in lengths[1:]
        ],
        "bone_std_mm (input, refined, network only)": [
            1000 * float(b.std(0).mean()) for b in lengths
        ],
        "jitter_mm (input, refined, network only)": [
            rf.smoothness(p)["jitter_mm"] for p in (poses, refined, plain)
        ],
        "spine_thorax_neck_head_moved_mm (refined, network only)": [moved(refined), moved(plain)],
    }


def _cpu_and_wall(fn, repeats):
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"wall_ms": 1000 * float(np.median(wall)), "cpu_ms": 1000 * float(np.median(cpu))}


def latency(model_path, old_path, frames=600, repeats=15, baseline_path=None):
    """One ``frames``-long sequence on one thread: the one-pass runtime, the same network run
    window by window, the previous windowed model, and PyTorch eager (where torch is)."""
    rng = np.random.default_rng(0)
    poses = (0.3 * rng.standard_normal((frames, 17, 3))).astype(np.float32)
    poses -= poses[:, :1]
    one = rf.Refiner(model_path, threads=1)
    result = {"one pass (onnxruntime)": _cpu_and_wall(lambda: one.refine(poses), repeats)}
    unknown_seq = np.full((1, frames, 17), one.unknown, np.float32)
    result["one pass, network only (session.run)"] = _cpu_and_wall(
        lambda: one.session.run(None, {"poses": poses[None], "confidence": unknown_seq}), repeats
    )
    if baseline_path:
        other = rf.Refiner(baseline_path, threads=1)
        result["baseline model, same runtime"] = _cpu_and_wall(lambda: other.refine(poses), repeats)
    idx = rf.sliding_windows(frames, one.window)
    unknown = np.full((frames, one.window, 17), one.unknown, np.float32)

    def windowed():
        for start in range(0, frames, 256):
            feed = {"poses": poses[idx[start : start + 256]], "confidence": unknown[start:][:256]}
            one.session.run(None, feed)

    result["same model, window per frame (onnxruntime)"] = _cpu_and_wall(windowed, 2)
    if old_path and os.path.isfile(old_path):
        old = WindowedModel(old_path)
        result["previous model and runtime (9-frame windows)"] = _cpu_and_wall(
            lambda: old.refine(poses), 2
        )
    try:
        import torch

        from training import from_onnx
        from training.models import WholeSequence
    except ImportError:
        return result
    torch.set_num_threads(1)
    net, _ = from_onnx.rebuild(one.model_path)
    whole = WholeSequence(net).eval()
    x = torch.from_numpy(poses)[None]
    c = torch.full((1, frames, 17), one.unknown)

    def eager():
        with torch.no_grad():
            whole(x, c)

    result["one pass (PyTorch eager)"] = _cpu_and_wall(eager, repeats)
    return result


def long_take(model_path, frames=18000):
    """A full take: chunked (bounded memory) against one pass, and its time."""
    one = rf.Refiner(model_path, threads=1)
    rng = np.random.default_rng(1)
    poses = np.cumsum(0.002 * rng.standard_normal((frames, 17, 3)), 0).astype(np.float32)
    poses -= poses[:, :1]
    t0 = time.perf_counter()
    chunked = one.refine(poses)
    seconds = time.perf_counter() - t0
    whole = one.refine(poses, batch_size=frames)
    return {
        "frames": frames,
        "chunk_frames": rf.CHUNK_FRAMES,
        "seconds": seconds,
        "max_diff_vs_one_pass": float(np.abs(chunked - whole).max()),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", default=str(REPO / "out" / "refiner" / "predictions.npz"))
    p.add_argument(
        "--real", default=str(REPO.parent / "shared" / "predictions" / "vp3d_predictions.npy")
    )
    p.add_argument("--model", default=None, help="ONNX model (default: the bundled one)")
    p.add_argument("--old-model", default=None, help="a previous window-per-frame ONNX model")
    p.add_argument(
        "--baseline", default=None, help="another whole-sequence model (e.g. the one on main)"
    )
    p.add_argument("--tune-stride", type=int, default=4, help="tune on every n-th sequence")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-sweep", action="store_true")
    p.add_argument("--out", default=str(REPO / "out" / "refiner" / "bench.json"))
    args = p.parse_args(argv)

    model = rf.Refiner(args.model, threads=args.threads)
    old = WindowedModel(args.old_model) if args.old_model else None
    baseline = rf.Refiner(args.baseline, threads=args.threads) if args.baseline else None
    report = {"model": model.model_path, "window": model.window}
    if os.path.isfile(args.cache) and not args.skip_sweep:
        table = sweep(args.cache, model, old, args.tune_stride, baseline)
        report["sweep"] = {f"{s}|{lvl}": rows for (s, lvl), rows in table.items()}
        report["targets"] = _print_targets(table)
        _print_markdown(table)
    elif not args.skip_sweep:
        print(f"no predictions cache at {args.cache}: run python -m training.train first")
    if os.path.isfile(args.real):
        report["real"] = proportions(args.real, model)
        print("\nreal VideoPose3D predictions (H36M order, no ground truth):")
        print(json.dumps(report["real"], indent=1))
    report["latency_600_frames"] = latency(
        model.model_path, args.old_model, baseline_path=args.baseline
    )
    print("\nlatency, one 600-frame sequence, one thread (median; CPU time of this process):")
    for name, t in report["latency_600_frames"].items():
        print(f"  {name}: {t['cpu_ms']:.1f} ms CPU, {t['wall_ms']:.1f} ms wall")
    report["long_take"] = long_take(model.model_path)
    print("\n18,000-frame take:", json.dumps(report["long_take"]))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1, default=float)
    print(f"\nwrote {args.out}")
    return 0


def _print_level(level, rows):
    print(f"\n{level}: | method | MPJPE | occluded | visible | moved |")
    for name, row in rows.items():
        cells = " | ".join(f"{row[c]:.1f}" for c in ("mpjpe", "occluded", "visible", "change"))
        print(f"| {name} | {cells} |", flush=True)


def _print_markdown(table):
    """The sweep as the model card's table: MPJPE / occluded / visible (mm) per method."""
    names = list(next(iter(table.values())))
    print("\n| data | input | " + " | ".join(names) + " |")
    print("|---|---|" + "---:|" * len(names))
    for (split, level), rows in table.items():
        cells = [
            f"{r['mpjpe']:.1f} / {r['occluded']:.1f} / {r['visible']:.1f}" for r in rows.values()
        ]
        print(f"| {SPLITS[split]} | {level} | " + " | ".join(cells) + " |")
    print("\nground truth in, mean distance moved (mm):")
    for (split, level), rows in table.items():
        if level == "ground truth":
            moved = ", ".join(f"{n} {r['change']:.2f}" for n, r in rows.items())
            print(f"  {SPLITS[split]}: {moved}")


def _print_targets(table):
    """The issue's targets, each with its figures and whether it is met."""
    checks = {}
    for (split, level), rows in table.items():
        x = rows["input"]
        for labels in ("no labels", "with labels"):
            r = rows[f"refiner, {labels}"]
            tag = f"{split} {level} ({labels})"
            if level == "ground truth":
                checks[f"{tag}: moved <= 3 mm"] = (r["change"], r["change"] <= 3.0)
            for part in ("mpjpe", "visible"):
                checks[f"{tag}: {part} <= input"] = (
                    f"{r[part]:.1f} vs {x[part]:.1f}",
                    r[part] <= x[part],
                )
            if level == "lifter":
                classical = min(
                    row["occluded"]
                    for name, row in rows.items()
                    if name.startswith(("Savitzky", "one-euro"))
                )
                gain_raw = 100 * (1 - r["occluded"] / x["occluded"])
                gain_cls = 100 * (1 - r["occluded"] / classical)
                checks[f"{tag}: occluded >= 25 % below raw"] = (f"{gain_raw:.1f} %", gain_raw >= 25)
                checks[f"{tag}: occluded >= 15 % below best classical"] = (
                    f"{gain_cls:.1f} %",
                    gain_cls >= 15,
                )
    print("\ntargets:")
    for name, (value, ok) in checks.items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"  {'MET ' if ok else 'MISS'} {name}: {shown}")
    return {k: [v, bool(ok)] for k, (v, ok) in checks.items()}


if __name__ == "__main__":
    raise SystemExit(main())
