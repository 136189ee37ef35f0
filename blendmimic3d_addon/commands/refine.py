"""``refine`` subcommand: refine a predictions file with the bundled GCN, written in its layout.

python -m blendmimic3d_addon refine IN --out OUT --joint-order h36m
blender -b -c blendmimic3d refine IN --out OUT --joint-order h36m
"""

import argparse
import os

from ..core.joints import JOINT_SETS


def add_arguments(parser):
    parser.add_argument(
        "input",
        metavar="IN",
        help="predictions .npy/.npz: (T,17,3), (T,1,17,3) or VideoPose3D's dict layout",
    )
    parser.add_argument("--out", required=True, help="refined predictions, same layout as IN")
    parser.add_argument(
        "--joint-order",
        required=True,
        choices=sorted(JOINT_SETS),
        help="joint order of IN (VideoPose3D, PoseFormerV2 and D3DP write h36m)",
    )
    parser.add_argument("--key", help="npz member or dict entry (S9/Walking/0) if IN holds several")
    parser.add_argument(
        "--confidence",
        metavar="FILE",
        help="per-joint confidence .npy/.npz, (T,17) in [0,1] in IN's joint order (1 visible)",
    )
    parser.add_argument("--model", help="ONNX model (default: the bundled one)")
    parser.add_argument(
        "--threads", type=_threads, default=0, help="ONNX Runtime threads (0: auto)"
    )
    parser.add_argument(
        "--in-place", action="store_true", help="allow OUT to be IN itself (IN is replaced)"
    )


def _threads(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 (automatic) or a number of threads")
    return value


def run(args):
    from ..core.errors import DatasetError
    from ..core.format.output_paths import check_output_file
    from ..core.format.predictions import load_predictions, save_predictions_like
    from ..core.refine.runtime import Refiner, smoothness

    suffix = os.path.splitext(args.input)[1]
    check_output_file(args.out, suffix, args.input, args.in_place)
    # Frames an estimator left NaN are the refiner's to bridge; it says when too few remain.
    poses, layout = load_predictions(args.input, key=args.key, with_layout=True, allow_missing=True)
    confidence = None
    if args.confidence:
        from ..core.refine.confidence import load_confidence

        confidence = load_confidence(args.confidence, len(poses))
    refiner = Refiner(args.model, threads=args.threads)
    refined = refiner.refine(poses, args.joint_order, path=args.input, confidence=confidence)
    try:
        save_predictions_like(layout, refined, args.out)
    except OSError as exc:  # a folder changed under us since the check
        raise DatasetError(args.out, None, f"cannot write ({exc.strerror or exc})") from None
    before, after = smoothness(poses), smoothness(refined)
    with_labels = " with confidence" if confidence is not None else ""
    print(f"refined {len(poses)} frames{with_labels} (window {refiner.window}) -> {args.out}")
    print(
        f"jitter (mean acceleration): {before['jitter_mm']:.2f} -> {after['jitter_mm']:.2f} "
        "mm/frame^2"
    )
    print(
        f"bone-length spread (mean std): {before['bone_std_mm']:.2f} -> "
        f"{after['bone_std_mm']:.2f} mm"
    )
    return 0
