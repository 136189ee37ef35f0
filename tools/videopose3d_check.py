"""Train one tiny VideoPose3D epoch on an exported subject, then run its custom inference path.

    python3 tools/videopose3d_check.py --checkout VIDEOPOSE3D --dataset DATASET \
        [--python PYTHON_WITH_TORCH] [--train S1] [--test S1]

Given an unmodified VideoPose3D checkout (github.com/facebookresearch/VideoPose3D), this:
1. copies ``assets/videopose3d/blendmimic3d_dataset.py`` to ``common/`` and makes the documented
   ``run.py`` change (``--patch-only`` stops here; both steps are idempotent);
2. converts DATASET with ``to-videopose3d`` into ``data/`` as ``blendmimic3d_check``;
3. runs ``run.py -d blendmimic3d_check -k gt`` for one epoch of a small model;
4. writes the ``--custom`` layout and runs ``run.py -d custom`` on the first video entry with the
   trained checkpoint, exporting its 3D prediction (``--viz-export``) and checking its shape.
Not part of CI (no route to that repository there); its output is quoted in docs/VIDEOPOSE3D.md.
"""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent
DATASET_CLASS = REPO / "assets" / "videopose3d" / "blendmimic3d_dataset.py"
NAME = "blendmimic3d_check"
ANCHOR = "else:\n    raise KeyError('Invalid dataset')"
RUN_PY_CHANGE = (
    "elif args.dataset.startswith('blendmimic3d'):\n"
    "    from common.blendmimic3d_dataset import BlendMimic3DDataset\n"
    "    dataset = BlendMimic3DDataset(dataset_path)\n"
)


def patch(checkout):
    """Copy the dataset class and add the run.py branch (once). Returns what was done."""
    checkout = pathlib.Path(checkout)
    run_py = checkout / "run.py"
    if not run_py.is_file() or not (checkout / "common" / "mocap_dataset.py").is_file():
        raise SystemExit(f"{checkout}: not a VideoPose3D checkout (no run.py, common/)")
    shutil.copyfile(DATASET_CLASS, checkout / "common" / DATASET_CLASS.name)
    text = run_py.read_text()
    if RUN_PY_CHANGE in text:
        return "run.py already has the BlendMimic3D branch"
    if text.count(ANCHOR) != 1:
        raise SystemExit(f"{run_py}: cannot find the dataset selection to extend")
    run_py.write_text(text.replace(ANCHOR, RUN_PY_CHANGE + ANCHOR))
    return "added the BlendMimic3D branch to run.py"


def _run(cmd, cwd):
    print("$", " ".join(map(str, cmd)), flush=True)
    # PyTorch 2.6 and later load checkpoints weights-only by default, and VideoPose3D's own
    # checkpoints hold a numpy RandomState: load the checkpoint this script just trained in full.
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, text=True, capture_output=True, env=env)
    print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", flush=True)
    if done.returncode:
        raise SystemExit(f"failed with exit status {done.returncode}")
    return done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", required=True, help="VideoPose3D checkout")
    parser.add_argument("--dataset", help="exported dataset root (S1, S2, ... inside)")
    parser.add_argument("--python", default=sys.executable, help="a Python with torch")
    parser.add_argument("--train", default="S1", help="training subjects (comma-separated)")
    parser.add_argument("--test", default="S1", help="test subjects (comma-separated)")
    parser.add_argument("--patch-only", action="store_true")
    args = parser.parse_args()
    checkout = pathlib.Path(args.checkout).resolve()
    print(patch(checkout))
    if args.patch_only:
        return
    data = checkout / "data"
    for stale in data.glob(f"*{NAME}*"):
        stale.unlink()
    module = [sys.executable, "-m", "blendmimic3d_addon", "to-videopose3d", args.dataset, data,
              "--name", NAME]  # fmt: skip
    _run(module, REPO)
    _run(module + ["--custom"], REPO)
    checkpoint = checkout / "checkpoint_bm3d"
    small = ["-arc", "1,1,1", "-ch", "64", "-b", "256"]
    subjects = ["-str", args.train, "-ste", args.test]
    _run([args.python, "run.py", "-d", NAME, "-k", "gt", *subjects, "-e", "1",
          "--checkpoint-frequency", "1", "-c", checkpoint, *small], checkout)  # fmt: skip
    # run.py saves "model_traj": None when trained without its semi-supervised trajectory
    # model, then --evaluate loads that None and fails: drop the empty entry (VideoPose3D's own
    # behaviour, not the dataset's; its published checkpoints carry a real one or none).
    drop_empty = (
        "import sys, torch; p = sys.argv[1]; c = torch.load(p, weights_only=False); "
        "c.get('model_traj', 0) is None and c.pop('model_traj'); torch.save(c, p)"
    )
    _run([args.python, "-c", drop_empty, checkpoint / "epoch_1.bin"], checkout)
    custom = np.load(data / f"data_2d_custom_{NAME}.npz", allow_pickle=True)
    video = sorted(custom["positions_2d"].item())[0]
    frames = len(custom["positions_2d"].item()[video]["custom"][0])
    out = checkout / "bm3d_custom_prediction.npy"
    _run([args.python, "run.py", "-d", "custom", "-k", NAME, "-c", checkpoint, "--evaluate",
          "epoch_1.bin", "--render", "--viz-subject", video, "--viz-action", "custom",
          "--viz-camera", "0", "--viz-export", out, *small], checkout)  # fmt: skip
    prediction = np.load(out)
    print(f"custom inference on {video}: prediction {prediction.shape} for {frames} frames")
    if prediction.shape != (frames, 17, 3) or not np.isfinite(prediction).all():
        raise SystemExit("unexpected prediction")
    os.remove(out)


if __name__ == "__main__":
    main()
