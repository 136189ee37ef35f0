"""The format core is plain Python + numpy: importing it never pulls in bpy."""

import subprocess
import sys

from conftest import REPO

MODULES = [
    "joints", "camera", "labels", "dataset_io", "camera_files", "subject_paths", "format_checks",
    "safe_npz", "manifest", "validate", "validate_action", "validation_report", "videopose3d",
    "predictions", "metrics",
]  # fmt: skip


def test_format_modules_import_without_bpy():
    imports = "; ".join(f"import blendmimic3d_addon.core.{name}" for name in MODULES)
    code = (
        f"import sys; {imports}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'bpy'))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
