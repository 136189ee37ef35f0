"""``blender -b -c blendmimic3d validate DIR``: the extension's command-line hook runs validate.

There is no Blender executable here, so the hook is exercised in the bpy module: with the
extension enabled, the handler it registered with ``bpy.utils.register_cli_command`` is called
with the arguments Blender would pass after ``-c blendmimic3d``.
"""

import importlib
import os
import shutil
import subprocess


def _hook(addon):
    return importlib.import_module(f"{addon}.blender.cli_hook")


def test_hook_registered_and_validates_published(addon, shared, capsys):
    hook = _hook(addon)
    assert hook._handle is not None  # registered with Blender when the extension was enabled
    for subject in ("S1", "S2"):
        assert hook._execute(["validate", str(shared("blendmimic3d", subject))]) == 0
        assert "OK:" in capsys.readouterr().out


def test_hook_reports_a_broken_copy(addon, shared, tmp_path, capsys):
    copy = tmp_path / "S2"
    shutil.copytree(shared("blendmimic3d", "S2"), copy)
    matrices = copy / "Cameras" / "matrices_S2.npz"
    os.chmod(copy / "Cameras", 0o755)
    os.chmod(matrices, 0o644)
    matrices.write_bytes(matrices.read_bytes()[:700])  # truncated
    assert _hook(addon)._execute(["validate", str(copy)]) == 1
    out = capsys.readouterr().out
    assert f"problem: {matrices}: not a readable .npz archive" in out
    assert "Traceback" not in out


def test_blender_executable_validates(installed_blender, shared, tmp_path):
    """The real command line: ``blender -b -c blendmimic3d validate DIR`` with the zip installed."""
    prefix, env = installed_blender
    subject = shared("blendmimic3d", "S1")
    result = subprocess.run(
        [*prefix, "-c", "blendmimic3d", "validate", str(subject)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK:" in result.stdout
    broken = subprocess.run(
        [*prefix, "-c", "blendmimic3d", "validate", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert broken.returncode == 1 and "no subject folder" in broken.stdout
