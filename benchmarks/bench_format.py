"""Time reading every file of the published S1 (18,705 frames) and validating it.

    .venv/bin/python benchmarks/bench_format.py [SUBJECT_DIR] [--repeat N]

Reading: cameras, every action's 3D and occlusion labels, the 2D and data3D.txt files present.
Validating: ``validate_dataset`` on the folder (it reads everything again and checks it).
"""

import argparse
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from blendmimic3d_addon.core.format import dataset_io as dio  # noqa: E402
from blendmimic3d_addon.core.validate.dataset import validate_dataset  # noqa: E402


def read_subject(subject_dir):
    frames = 0
    dio.read_cameras(subject_dir)
    for action in dio.action_names(subject_dir):
        frames += len(dio.read_positions_3d(subject_dir, action))
        dio.read_occlusions(subject_dir, action)
        if pathlib.Path(dio.positions_2d_path(subject_dir, action)).exists():
            dio.read_positions_2d(subject_dir, action)
        if pathlib.Path(dio.data3d_txt_path(subject_dir, action)).exists():
            dio.read_data3d_txt(subject_dir, action)
    return frames


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("subject", nargs="?", default=str(REPO.parent / "shared/blendmimic3d/S1"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    read_times, validate_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        frames = read_subject(args.subject)
        read_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = validate_dataset(args.subject)
        validate_times.append(time.perf_counter() - start)
        if not report.ok:
            print("\n".join(report.problems))
            return 1
    print(f"{args.subject}: {frames:,} frames, {args.repeat} runs")
    for name, times in (("read", read_times), ("validate", validate_times)):
        print(f"  {name:9s} median {statistics.median(times):.3f} s  best {min(times):.3f} s")
    total = [r + v for r, v in zip(read_times, validate_times, strict=True)]
    print(f"  read+validate median {statistics.median(total):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
