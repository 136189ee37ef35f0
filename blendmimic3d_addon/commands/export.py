"""``export``: a scene to a BlendMimic3D subject from the command line.

    blender -b scene.blend -c blendmimic3d export --out DIR --subject S1
    python -m blendmimic3d_addon export --blend scene.blend --out DIR --subject S1
    ... export --blend scene.blend --out DIR --subject S1 --shard 3/8   (then: merge)

``bpy`` is imported only in ``run``, so the command table loads in plain Python.
"""

import os
import sys
import time


def add_arguments(parser):
    parser.add_argument("--blend", help="the .blend to open (blender -b scene.blend has it open)")
    parser.add_argument(
        "--out", required=True, help="dataset folder: the subject is written as a folder in it"
    )
    parser.add_argument("--subject", default="S1", help="subject folder name (default S1)")
    parser.add_argument("--actions", default="", help="comma-separated action names (default all)")
    parser.add_argument(
        "--cameras", default="", help="comma-separated camera indices (default all)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing subject")
    parser.add_argument(
        "--shard",
        metavar="K/N",
        help="do part K of N (split by action and camera) into DIR/<subject>.shard-K-of-N; "
        "then run merge on the N folders",
    )


def run(args):
    import bpy

    from ..blender.export_job import ExportJob
    from ..core.format.shards import parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    if args.blend:
        _open_blend(bpy, args.blend)
    scene = bpy.context.scene
    job = ExportJob(scene, bpy.context.evaluated_depsgraph_get(), args.out, args.subject,
                    args.actions, args.cameras, args.overwrite, shard)  # fmt: skip
    started = time.perf_counter()
    report = _progress_printer(job.total_frames)
    target = job.run(report)
    seconds = time.perf_counter() - started
    print(f"exported {len(job.takes)} action(s), {job.total_frames} frames, "
          f"{len(job.units)} (action, camera) units in {seconds:.1f} s to {target}")  # fmt: skip
    return 0


def _open_blend(bpy, path):
    """Open ``path`` in Blender; a missing, non-regular or non-.blend file is one line."""
    from ..core.errors import DatasetError
    from ..core.format.safe_open import open_regular

    with open_regular(path) as handle:  # a FIFO or a device is refused before Blender reads it
        magic = handle.read(7)
    # .blend files start with "BLENDER"; compressed ones with the gzip or zstd magic bytes.
    if not magic.startswith((b"BLENDER", b"\x1f\x8b", b"\x28\xb5\x2f\xfd")):
        raise DatasetError(path, None, "not a .blend file (it does not start with BLENDER)")
    try:
        bpy.ops.wm.open_mainfile(filepath=os.path.abspath(path))
    except RuntimeError as exc:  # Blender's reason, first line, without its "Error: " prefix
        reason = str(exc).strip().splitlines()[0].removeprefix("Error: ") if str(exc) else ""
        raise DatasetError(path, None, f"Blender cannot open it ({reason})") from None


def _progress_printer(total, every_seconds=2.0):
    """A progress callback printing at most every ``every_seconds`` (to stderr)."""
    last = [0.0]

    def report(done, total=total):
        now = time.perf_counter()
        if now - last[0] >= every_seconds or done == total:
            last[0] = now
            print(f"frame {done} of {total}", file=sys.stderr, flush=True)

    return report
