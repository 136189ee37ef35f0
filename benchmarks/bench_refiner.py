"""Refiner benchmark: accuracy on held-out actions, smoothness on real predictions, latency.

    .venv-train/bin/python benchmarks/bench_refiner.py   # all, PyTorch latency included
    .venv/bin/python benchmarks/bench_refiner.py         # no PyTorch there: ONNX latency only

Reads the predictions cache that ``python -m training.train`` writes (out/refiner/predictions.npz:
out-of-fold lifter predictions on occlusion-dependent noisy 2D, ground truth and visibility, for
the training and the held-out actions). Savitzky-Golay and the one-euro filter are tuned on the
training split (best MPJPE), then everything is measured on the held-out split.
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
from blendmimic3d_addon.core.refine import filters, metrics  # noqa: E402
from blendmimic3d_addon.core.refine import runtime as rf  # noqa: E402

FPS = 30.0
SAVGOL_GRID = [(w, o) for w in (5, 9, 13, 17, 25, 33, 41) for o in (1, 2, 3) if o < w]
ONE_EURO_GRID = list(itertools.product((0.1, 0.3, 1.0, 3.0), (0.0, 0.3, 1.0, 3.0)))


def sequences(cache, split):
    """[(pred, gt, visible)] per sequence of one split."""
    ends = np.cumsum(cache[f"{split}_lengths"])
    starts = ends - cache[f"{split}_lengths"]
    return [
        tuple(cache[f"{split}_{k}"][a:b] for k in ("pred", "gt", "visible"))
        for a, b in zip(starts, ends, strict=True)
    ]


def apply(method, seqs):
    return [method(pred) for pred, _, _ in seqs]


def scores(outputs, seqs):
    """MPJPE and P-MPJPE (mm), overall and split into occluded and visible joints."""
    out = np.concatenate([o - o[:, :1] for o in outputs])
    gt = np.concatenate([g for _, g, _ in seqs])
    vis = np.concatenate([v for _, _, v in seqs]) > 0.5
    err = 1000 * metrics.per_joint_error(out, gt)
    p_err = 1000 * metrics.p_mpjpe_per_joint(out, gt)
    return {
        "mpjpe": err.mean(),
        "occluded": err[~vis].mean(),
        "visible": err[vis].mean(),
        "p_mpjpe": p_err.mean(),
        "p_occluded": p_err[~vis].mean(),
        "p_visible": p_err[vis].mean(),
    }


def tune(name, grid, make, seqs):
    best = min(grid, key=lambda params: scores(apply(make(*params), seqs), seqs)["mpjpe"])
    print(f"  {name}: best on the training split {best}", flush=True)
    return make(*best), best


def accuracy(cache_path, model, tune_stride):
    cache = np.load(cache_path)
    train, val = sequences(cache, "train"), sequences(cache, "val")
    print(f"held-out: {len(val)} sequences, {sum(len(s[0]) for s in val)} frames", flush=True)
    tuning = train[::tune_stride]
    savgol, sg_params = tune(
        "Savitzky-Golay (window, order)",
        SAVGOL_GRID,
        lambda w, o: lambda p: filters.savgol(p, w, o),
        tuning,
    )
    euro, euro_params = tune(
        "one-euro (min_cutoff Hz, beta)",
        ONE_EURO_GRID,
        lambda c, b: lambda p: filters.one_euro(p, FPS, c, b),
        tuning,
    )
    methods = {
        "raw predictions": lambda p: p,
        f"Savitzky-Golay {sg_params}": savgol,
        f"one-euro {euro_params}": euro,
        "GCN refiner (ONNX)": lambda p: model.refine(p, "blendmimic3d"),
    }
    return {name: scores(apply(method, val), val) for name, method in methods.items()}


def smoothness(path, model):
    poses = load_predictions(path)
    refined = model.refine(poses, "h36m")
    return {"frames": len(poses), "before": rf.smoothness(poses), "after": rf.smoothness(refined)}


def latency(model, state_path, frames=600, repeats=20):
    """Median seconds to refine one ``frames``-long sequence: onnxruntime, and PyTorch eager."""
    rng = np.random.default_rng(0)
    poses = (0.3 * rng.standard_normal((frames, 17, 3))).astype(np.float32)
    poses -= poses[:, :1]
    result = {"onnxruntime": _median(lambda: model.refine(poses, "blendmimic3d", 1024), repeats)}
    try:
        import torch
    except ImportError:
        return result
    from blendmimic3d_addon.core.joints import PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D
    from training.models import CentreFrame, GCNRefiner  # needs torch

    state = torch.load(state_path)
    channels = state["joint_embedding"].shape[1]
    depth = len({k.split(".")[1] for k in state if k.startswith("layers.")})
    net = GCNRefiner(PARENTS_BM3D, SYMMETRIC_PAIRS_BM3D, channels=channels, depth=depth)
    net.load_state_dict(state)
    wrapped = CentreFrame(net.eval()).eval()
    windows = torch.from_numpy(poses[rf.sliding_windows(frames, net.window)])

    def eager():
        with torch.no_grad():
            wrapped(windows)

    result["pytorch_eager"] = _median(eager, repeats)
    result["torch_threads"] = torch.get_num_threads()
    return result


def _median(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", default=str(REPO / "out" / "refiner" / "predictions.npz"))
    p.add_argument("--state", default=str(REPO / "out" / "refiner" / "refiner.pt"))
    p.add_argument(
        "--real", default=str(REPO.parent / "shared" / "predictions" / "vp3d_predictions.npy")
    )
    p.add_argument("--model", default=None, help="ONNX model (default: the bundled one)")
    p.add_argument(
        "--tune-stride", type=int, default=2, help="tune on every n-th training sequence"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(REPO / "out" / "refiner" / "bench.json"))
    args = p.parse_args(argv)

    model = rf.Refiner(args.model, threads=args.threads)
    report = {"model": model.model_path, "window": model.window}
    if os.path.isfile(args.cache):
        report["accuracy"] = accuracy(args.cache, model, args.tune_stride)
        _print_accuracy(report["accuracy"])
    else:
        print(f"no predictions cache at {args.cache}: run python -m training.train first")
    if os.path.isfile(args.real):
        report["real"] = smoothness(args.real, model)
        b, a = report["real"]["before"], report["real"]["after"]
        print(
            f"\nreal VideoPose3D predictions ({report['real']['frames']} frames, no ground truth):"
        )
        print(
            f"  jitter (mean acceleration): {b['jitter_mm']:.2f} -> {a['jitter_mm']:.2f} mm/frame^2"
        )
        print(
            f"  bone-length spread (mean std): {b['bone_std_mm']:.2f} -> {a['bone_std_mm']:.2f} mm"
        )
    report["latency_600_frames_s"] = latency(model, args.state)
    lat = report["latency_600_frames_s"]
    print("\nlatency, one 600-frame sequence (median of 20):")
    for name in ("onnxruntime", "pytorch_eager"):
        if name in lat:
            print(f"  {name}: {1000 * lat[name]:.1f} ms")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1, default=float)
    print(f"\nwrote {args.out}")
    return 0


def _print_accuracy(table):
    cols = ("mpjpe", "p_mpjpe", "occluded", "visible", "p_occluded", "p_visible")
    print("\n| method | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.1f}" for c in cols) + " |")
    raw = table["raw predictions"]
    gcn = table["GCN refiner (ONNX)"]
    classical = [
        row for name, row in table.items() if name.split()[0] in ("Savitzky-Golay", "one-euro")
    ]
    best_occ = min(row["occluded"] for row in classical)
    gain = 100 * (1 - gcn["occluded"] / best_occ)
    visible_change = 100 * (gcn["visible"] / raw["visible"] - 1)
    print(
        f"\noccluded joints: refiner {gcn['occluded']:.1f} mm vs best classical {best_occ:.1f} mm "
        f"({gain:+.1f} % better)"
    )
    print(
        f"visible joints: refiner {visible_change:+.1f} % against the raw predictions "
        f"({'within' if visible_change <= 5 else 'OVER'} the 5 % limit)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
