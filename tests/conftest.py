"""Test set-up shared by both ways of running the suite.

(a) ``pytest`` in ``.venv``: Blender is the ``bpy`` module in this process.
(b) pytest-blender: pytest runs inside a Blender executable (``--blender-executable``).

Either way, tests that need Blender use the ``addon`` fixture, which enables the extension from
this checkout in a private user folder. Pure-core tests never import ``bpy``.
"""

import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import tomllib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PACKAGE_DIR = REPO / "blendmimic3d_addon"
EXTENSION_ID = "blendmimic3d"
DEV_REPO_MODULE = "bm3d_dev"

# Keep Blender away from the user's own preferences and extensions. Set before bpy is imported
# (mode a) and inherited by the Blender that pytest-blender starts (mode b).
if "BM3D_TEST_USER_RESOURCES" not in os.environ:
    os.environ["BM3D_TEST_USER_RESOURCES"] = tempfile.mkdtemp(prefix="bm3d-user-")
    os.environ["BLENDER_USER_RESOURCES"] = os.environ["BM3D_TEST_USER_RESOURCES"]


def shared_path(*parts):
    """A path under ../shared, or a skip with the reason when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared data folder is not beside this checkout")
    return path


@pytest.fixture
def shared():
    return shared_path


def in_blender_executable():
    """True when pytest runs inside a Blender executable (pytest-blender), not the bpy module."""
    import bpy

    return bool(bpy.app.binary_path)


def blender_command(script, *args):
    """Command that runs a Python script in a fresh Blender of the same kind as this one."""
    if in_blender_executable():
        import bpy

        return [
            bpy.app.binary_path,
            "-b",
            "--factory-startup",
            "--python-exit-code",
            "1",
            "--python",
            str(script),
            "--",
            *map(str, args),
        ]
    return [sys.executable, str(script), *map(str, args)]


def extension_zip(platform="linux_x64"):
    """The built extension zip for this platform; built now when stale and this Python can."""
    version = tomllib.loads((REPO / "blender_manifest.toml").read_text())["version"]
    path = REPO / "dist" / f"blendmimic3d-{version}-{platform}.zip"
    if in_blender_executable():
        # build.py test builds the zip before it starts this Blender, which cannot build it.
        if not path.exists():
            pytest.skip(f"{path} is missing; run `python3 build.py package` first")
        return path
    sources = [p for p in PACKAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    newest = max(p.stat().st_mtime for p in [*sources, REPO / "blender_manifest.toml"])
    if path.exists() and path.stat().st_mtime >= newest:
        return path
    subprocess.run([sys.executable, str(REPO / "build.py"), "package"], check=True, cwd=REPO)
    return path


def run_module(*args, timeout=120):
    """``python -m blendmimic3d_addon ARGS`` with this interpreter, from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "blendmimic3d_addon", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def find_blender_executable():
    """A Blender executable to run command lines in: this one (pytest-blender), the one named by
    $BM3D_BLENDER, Debian's made by ``build.py debian-blender``, or ``blender`` on PATH."""
    if in_blender_executable():
        import bpy

        return bpy.app.binary_path
    debian = pathlib.Path.home() / ".cache" / "blendmimic3d" / "blender-debian"
    for candidate in (os.environ.get("BM3D_BLENDER"), debian, shutil.which("blender")):
        if candidate and os.access(candidate, os.X_OK):
            if candidate == debian:
                # The wrapper is shared by every checkout on the machine and binds the folders of
                # the one that wrote it last: bind this checkout's parent (and ../shared) instead.
                os.environ.setdefault("BM3D_CHROOT_BINDS", f"{REPO.parent} /tmp")
            return str(candidate)
    return None


@pytest.fixture(scope="session")
def installed_blender(tmp_path_factory):
    """(command prefix, env) for a Blender executable in which the built zip is installed and
    enabled, in a private user folder: ``[*prefix, "-c", "blendmimic3d", ...]`` runs the hook."""
    blender = find_blender_executable()
    if blender is None:
        pytest.skip(
            "no Blender executable: run `python3 build.py debian-blender` or set BM3D_BLENDER"
        )
    zip_path = extension_zip()
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path_factory.mktemp("bm3d-installed")))
    script = (
        "import bpy; bpy.ops.extensions.package_install_files("
        f"filepath={str(zip_path)!r}, repo='user_default', enable_on_install=True); "
        "bpy.ops.wm.save_userpref()"
    )
    cmd = [blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr", script]
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    return [blender, "-b"], env


def _dev_extension_dir(root):
    """A folder laid out like an installed extension: manifest + the package's files, linked."""
    ext = pathlib.Path(root) / EXTENSION_ID
    if ext.exists():
        shutil.rmtree(ext)
    ext.mkdir(parents=True)
    shutil.copy(REPO / "blender_manifest.toml", ext / "blender_manifest.toml")
    for entry in PACKAGE_DIR.iterdir():
        if entry.name != "__pycache__":
            (ext / entry.name).symlink_to(entry)
    return ext


@pytest.fixture(scope="session")
def addon():
    """Enable the extension from this checkout; yields its module name (bl_ext.bm3d_dev.…)."""
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # on sys.path once bpy is imported

    repos = bpy.context.preferences.extensions.repos
    repo = repos.get(DEV_REPO_MODULE) if hasattr(repos, "get") else None
    if repo is None:
        repo_dir = tempfile.mkdtemp(prefix="bm3d-dev-repo-")
        _dev_extension_dir(repo_dir)
        repo = repos.new(name=DEV_REPO_MODULE, module=DEV_REPO_MODULE, custom_directory=repo_dir)
    module_name = f"bl_ext.{DEV_REPO_MODULE}.{EXTENSION_ID}"
    addon_utils.enable(module_name, default_set=True, handle_error=_raise)
    assert module_name in bpy.context.preferences.addons, "the extension did not enable"
    yield module_name
    addon_utils.disable(module_name, default_set=True)


def _raise(exc):
    raise exc


@pytest.fixture
def clean_scene(addon):
    """A factory-empty scene with the extension enabled."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    return bpy.context.scene
