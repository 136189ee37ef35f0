"""``validate DIR``: check a dataset folder; list every problem with its file and reason."""

import argparse
import math

from ..core.validate.dataset import PROJECTION_TOLERANCE_PX, validate_dataset


def add_arguments(parser):
    parser.add_argument("folder", help="dataset root (holding S1, S2, ...) or one subject folder")
    parser.add_argument(
        "--tolerance-px",
        type=_tolerance,
        default=PROJECTION_TOLERANCE_PX,
        help="largest accepted gap between stored 2D and the projection of 3D (pixels)",
    )


def _tolerance(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of pixels, 0 or more")
    return value


def run(args):
    report = validate_dataset(args.folder, args.tolerance_px)
    for subject, summary in report.subjects.items():
        print(f"{subject}: {summary}")
    for line in report.problems:
        print(f"problem: {line}")
    if report.ok:
        print(f"OK: {args.folder} is a valid BlendMimic3D dataset")
        return 0
    print(f"{len(report.problems)} problem(s) in {args.folder}")
    return 1
