"""End to end: the built zip installs as Install from Disk does, works, and uninstalls cleanly."""

import json
import os
import subprocess
import sys
import tempfile

import pytest
from conftest import REPO, blender_command, extension_zip


@pytest.fixture(scope="module")
def install_report():
    zip_path = extension_zip()
    env = dict(os.environ, BLENDER_USER_RESOURCES=tempfile.mkdtemp(prefix="bm3d-install-"))
    cmd = blender_command(REPO / "tools" / "install_check.py", zip_path)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"install_check printed no report:\n{proc.stdout}\n{proc.stderr}"
    return proc.returncode, json.loads(lines[-1])


def test_installs_enabled_with_panel(install_report):
    code, report = install_report
    assert report["install_result"] == ["FINISHED"]
    assert report["enabled"] is True
    assert "BM3D_PT_main" in report["registered"]["classes"]
    assert set(report["declared_operators"]) <= set(report["registered"]["operators"])
    # Every check passed but the status is not 0: Blender crashed while exiting (a signal).
    assert code == 0, report["failures"] or f"Blender exited with {code} after every check passed"


def test_same_blender_as_the_suite(install_report):
    import bpy

    _, report = install_report
    assert report["blender"] == bpy.app.version_string


def test_onnxruntime_from_bundled_wheels(install_report):
    _, report = install_report
    ort = report["onnxruntime"]
    assert ort["from_bundled_wheels"], ort
    assert ort["version"] == "1.23.2"
    assert "CPUExecutionProvider" in ort["providers"]


def test_installed_extension_casts_with_its_compiled_kernel(install_report):
    """The Linux zip carries the kernel built by ``build.py`` (where a C compiler is), and the
    installed extension loads it from its own folder."""
    import zipfile

    with zipfile.ZipFile(extension_zip()) as archive:
        if "core/occlusion/native/segment_cast.so" not in archive.namelist():
            pytest.skip("the zip has no compiled kernel (no C compiler where it was built)")
    _, report = install_report
    assert report["occlusion_casting"] == "compiled (segment_cast.so)", report


def test_other_platforms_zips_carry_no_linux_kernel():
    import zipfile

    for platform in ("windows_x64", "macos_arm64"):
        with zipfile.ZipFile(extension_zip(platform)) as archive:
            names = archive.namelist()
        assert "core/occlusion/native/segment_cast.c" in names
        assert "core/occlusion/native/segment_cast.so" not in names, platform


def test_uninstall_leaves_nothing(install_report):
    _, report = install_report
    assert report["enabled_after_uninstall"] is False
    assert all(not items for items in report["left_after_uninstall"].values()), report
    assert report["timers_left"] == []
    assert report["files_left"] is False
    assert report["wheels_left"] is False


def test_zip_holds_manifest_package_and_wheels():
    import zipfile

    with zipfile.ZipFile(extension_zip()) as archive:
        names = set(archive.namelist())
    assert "blender_manifest.toml" in names
    assert "__init__.py" in names and "core/__init__.py" in names
    wheels = [n for n in names if n.startswith("wheels/") and n.endswith(".whl")]
    assert any("onnxruntime" in n and "cp311" in n and "linux" in n for n in wheels)
    assert not any("win" in n or "macos" in n for n in wheels), (
        "split-platform zip has other wheels"
    )
    assert not any("__pycache__" in n for n in names)
    assert sys.version_info >= (3, 11)
