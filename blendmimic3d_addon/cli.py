"""Command-line entry shared by ``python -m blendmimic3d_addon`` and ``blender -c blendmimic3d``.

Each subcommand lives in its own module of ``commands/`` with ``add_arguments(parser)`` and
``run(args) -> int``; a subcommand module must not import ``bpy`` at its top (only inside
``run``), so that ``validate`` and ``refine`` work in plain Python.
"""

import argparse
import importlib
import sys

from .core.errors import DatasetError

# Exit status for bad input or output (a DatasetError): the same 1 as ``validate`` finding
# problems; argparse keeps 2 for a command line it cannot parse.
EXIT_BAD_INPUT = 1

# name: (module relative to this package, one-line help)
SUBCOMMANDS = {
    "validate": (
        ".commands.validate",
        "check a BlendMimic3D dataset folder and list every problem",
    ),
    "to-videopose3d": (
        ".commands.to_videopose3d",
        "convert a dataset folder to VideoPose3D's npz layout",
    ),
    "to-coco": (
        ".commands.to_coco",
        "write COCO keypoint files (boxes, masks, visibility) of a dataset with rendered frames",
    ),
    "export": (".commands.export", "export a dataset from a .blend scene (needs Blender)"),
    "merge": (".commands.merge", "merge the shards of a sharded export into one dataset"),
    "refine": (".commands.refine", "refine 3D pose predictions with the bundled GCN (ONNX)"),
    "generate": (
        ".commands.generate",
        "generate many subjects from a recipe (seeded; --shard K/N for job arrays)",
    ),
    "slurm": (".commands.slurm", "write (and submit) a SLURM job array for a recipe"),
    "demo": (
        ".commands.demo",
        "build the demo scene, export a small dataset with videos, validate it, print a summary",
    ),
}


def build_parser(prog="python -m blendmimic3d_addon", argv=()):
    """The parser; only the module of the subcommand named in ``argv`` is imported, so one
    subcommand's dependencies never stand in the way of another."""
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = argparse.ArgumentParser(prog=prog, description="BlendMimic3D Studio command line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        if name == chosen:
            _module(module_name).add_arguments(sub_parser)
    return parser


def _module(module_name):
    return importlib.import_module(module_name, __package__)


def main(argv=None, prog="python -m blendmimic3d_addon"):
    streams = [s for s in (sys.stdout, sys.stderr) if hasattr(s, "reconfigure")]
    errors = [s.errors for s in streams]
    # File names that are not valid in the locale's encoding (Linux names are bytes) are printed
    # with backslash escapes instead of ending the command in a UnicodeEncodeError.
    for stream in streams:
        stream.reconfigure(errors="backslashreplace")
    try:
        return _main(argv, prog)
    finally:
        for stream, error in zip(streams, errors, strict=True):
            stream.reconfigure(errors=error)


def _main(argv, prog):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog, argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return int(exc.code or 0)
    try:
        return int(_module(args._module).run(args) or 0)
    except DatasetError as exc:
        # Bad input is reported as one line naming the file and the field, never a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
