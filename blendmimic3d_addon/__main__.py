"""``python -m blendmimic3d_addon SUBCOMMAND ...``: plain Python, or the .venv with bpy."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
