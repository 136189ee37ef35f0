"""``to-coco DATASET OUT``: COCO keypoint files of an exported dataset with rendered frames."""

from ..core.format import coco
from ..core.format.coco_dataset import camera_indices, convert


def add_arguments(parser):
    parser.add_argument("folder", help="dataset root (holding S1, S2, ...) or one subject folder")
    parser.add_argument("out", help="new output folder for the JSON files")
    parser.add_argument("--every", type=int, default=1, help="keep every N-th frame (default 1)")
    parser.add_argument("--cameras", help="comma-separated camera indices (default: all)")
    parser.add_argument(
        "--split",
        choices=("subject", "camera"),
        default="subject",
        help="one JSON per subject (default) or per subject and camera",
    )
    parser.add_argument(
        "--layouts",
        default="coco",
        help=f"comma-separated categories among {', '.join(coco.LAYOUTS)} (default coco)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")


def run(args):
    cameras = None if args.cameras is None else camera_indices(args.cameras, "--cameras")
    layouts = tuple(item.strip() for item in args.layouts.split(",") if item.strip())
    paths = convert(args.folder, args.out, args.every, cameras, layouts, args.split,
                    args.overwrite)  # fmt: skip
    for path in paths:
        print(f"wrote {path}")
    return 0
