"""``to-videopose3d DIR OUT``: convert a dataset folder to VideoPose3D's npz layout."""

from ..core.errors import DatasetError
from ..core.format.videopose3d import LAYOUTS, convert_custom, convert_dataset


def add_arguments(parser):
    parser.add_argument("folder", help="dataset root (holding S1, S2, ...) or one subject folder")
    parser.add_argument("out", help="output folder for the npz files")
    parser.add_argument("--name", default="blendmimic3d", help="dataset name in the file names")
    parser.add_argument(
        "--joint-order",
        choices=sorted(LAYOUTS) + ["coco"],
        default="h36m",
        help="joint order of the output (default h36m, what the lifting tools expect; coco "
        "only with --custom)",
    )
    parser.add_argument(
        "--custom",
        action="store_true",
        help="write data_2d_custom_<NAME>.npz for run.py -d custom (inference): one entry per "
        "subject, action and camera, with video_metadata",
    )


def run(args):
    if args.custom:
        paths = convert_custom(args.folder, args.out, args.name, args.joint_order)
    elif args.joint_order == "coco":
        raise DatasetError(None, "--joint-order", "coco is for --custom (2D only)")
    else:
        paths = convert_dataset(args.folder, args.out, args.name, args.joint_order)
    for path in paths:
        print(f"wrote {path}")
    return 0
