#!/usr/bin/env python3
"""Set up, test, package and demo BlendMimic3D Studio. Standard library only.

python3 build.py setup [--blender 5.0|4.5|4.2]   make the virtual environment (bpy wheel + tools)
                                                 and compile the occlusion casting kernel
python3 build.py package                         build dist/blendmimic3d-<version>-<platform>.zip
python3 build.py test [--blender V | --executable PATH | --debian] [-- PYTEST ARGS]
python3 build.py demo [--out DIR]                the main job: install check + demo dataset
python3 build.py debian-blender                  a real Blender 4.3 executable (Debian, chroot)
python3 build.py slurm-packages                  munge + SLURM for the single-node cluster tests
python3 build.py screenshot [--what W]           docs/ PNG: the sidebar tab, all panels, the overlay
python3 build.py train                           train the GCN refiner and export the ONNX model
python3 build.py bench                           run the benchmarks
"""

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tomllib
import zipfile

REPO = pathlib.Path(__file__).resolve().parent
MANIFEST = REPO / "blender_manifest.toml"
PACKAGE = REPO / "blendmimic3d_addon"
WHEELS = REPO / "wheels"  # downloaded once, gitignored; the manifest names them as ./wheels/...
DIST = REPO / "dist"
STAGE = REPO / "build" / "stage"
CACHE = pathlib.Path(os.environ.get("BM3D_CACHE", pathlib.Path.home() / ".cache" / "blendmimic3d"))

# The newest bpy of each supported series (all are Python 3.11 wheels).
BPY = {"5.0": "5.0.1", "4.5": "4.5.15", "4.2": "4.2.23"}
DEV_TOOLS = [
    "onnxruntime==1.23.2",
    "pycocotools==2.0.10",
    "pytest==9.2.0",
    "pytest-blender==3.0.8",
    "ruff==0.17.6",
]
TRAIN_REQUIREMENTS = REPO / "training" / "requirements.txt"

DEBIAN_SUITE = "trixie"
DEBIAN_MIRROR = os.environ.get("BM3D_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# EGL lets the background Blender render (Workbench, EEVEE) without a display.
DEBIAN_PACKAGES = [
    "blender",
    "python3-pytest",
    "python3-numpy",
    "libgl1-mesa-dri",
    "libegl1",
    "libegl-mesa0",
]


def run(cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def venv_dir(series):
    return REPO / (".venv" if series == "5.0" else f".venv-{series}")


def venv_python(series="5.0"):
    return venv_dir(series) / "bin" / "python"


# --- setup -------------------------------------------------------------------------------------


def setup(series="5.0", quiet=False):
    """Make (or reuse) the venv for a Blender series; a stamp of the pins makes a rerun instant."""
    requirements = [f"bpy=={BPY[series]}", *DEV_TOOLS]
    stamp_text = json.dumps({"python": sys.version_info[:2], "requirements": requirements})
    env_dir = venv_dir(series)
    stamp = env_dir / ".bm3d-setup"
    build_native(quiet)
    if stamp.exists() and stamp.read_text() == stamp_text and venv_python(series).exists():
        if not quiet:
            print(f"{env_dir.name}: up to date (bpy {BPY[series]})")
        return venv_python(series)
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"bpy {BPY[series]} needs Python 3.11; this is {sys.version.split()[0]}")
    run([sys.executable, "-m", "venv", env_dir])
    run(
        [
            venv_python(series),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *requirements,
        ]
    )
    stamp.write_text(stamp_text)
    return venv_python(series)


# --- the compiled casting kernel --------------------------------------------------------------

NATIVE = PACKAGE / "core" / "occlusion" / "native"
NATIVE_SOURCE = NATIVE / "segment_cast.c"
NATIVE_LIBRARY = NATIVE / ("segment_cast.dll" if sys.platform == "win32" else "segment_cast.so")
# Never -ffast-math, and no fused multiply-adds: the kernel must round as numpy does.
NATIVE_FLAGS = ["-O3", "-std=c11", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math"]


def native_tag():
    """The tag a build carries: as ``native_cast.source_tag`` computes it."""
    return int(hashlib.sha256(NATIVE_SOURCE.read_bytes()).hexdigest()[:15], 16)


def _built_tag(path):
    import ctypes

    try:
        library = ctypes.CDLL(str(path))
        library.bm3d_source_tag.restype = ctypes.c_int64
        return library.bm3d_source_tag()
    except (OSError, AttributeError):
        return None


def build_native(quiet=False):
    """Compile the casting kernel beside its source, unless a build of this source is there.
    Without a C compiler the extension casts with numpy (the same labels, slower): a note says
    so and nothing fails."""
    if NATIVE_LIBRARY.is_file() and _built_tag(NATIVE_LIBRARY) == native_tag():
        if not quiet:
            print(f"{NATIVE_LIBRARY.relative_to(REPO)}: up to date")
        return NATIVE_LIBRARY
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        print("no C compiler (cc): the occlusion rays are cast with numpy (slower, same labels)")
        return None
    partial = NATIVE_LIBRARY.with_name(f".{NATIVE_LIBRARY.name}.{os.getpid()}")
    try:
        run([compiler, *NATIVE_FLAGS, f"-DSOURCE_TAG={native_tag()}LL", "-o", partial,
             NATIVE_SOURCE, "-lm"])  # fmt: skip
        os.replace(partial, NATIVE_LIBRARY)  # a library in use is replaced, never rewritten
    except subprocess.CalledProcessError:
        # Setting up goes on: the numpy casting serves; the kernel's tests fail where cc is.
        print(f"{compiler} could not compile {NATIVE_SOURCE.name}: the rays are cast with numpy")
        return None
    finally:
        partial.unlink(missing_ok=True)
    if not quiet:
        print(f"{NATIVE_LIBRARY.relative_to(REPO)}: built")
    return NATIVE_LIBRARY


# --- package -----------------------------------------------------------------------------------


def manifest():
    return tomllib.loads(MANIFEST.read_text())


def extension_cli(python):
    """Blender's own extension tool (``blender --command extension``), as the bpy wheel ships it."""
    found = sorted(
        venv_dir("5.0").glob(
            "lib/python*/site-packages/bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py"
        )
    )
    if not found:
        sys.exit(
            "Blender's extension builder is missing from the bpy wheel; run: python3 build.py setup"
        )
    return [python, found[-1]]


def _wheel_download_args(filename):
    """pip arguments that fetch exactly this wheel file (name-version-python-abi-platform.whl)."""
    name, version, python_tag, _abi, platform = filename[: -len(".whl")].split("-")
    args = ["--no-deps", "--only-binary=:all:", f"{name}=={version}"]
    if platform == "any":
        return [*args, "--platform", "any", "--python-version", "3.11"]
    for tag in platform.split("."):
        args += ["--platform", tag]
    return [*args, "--implementation", "cp", "--python-version", python_tag[2:]]


def fetch_wheels(python):
    WHEELS.mkdir(exist_ok=True)
    for entry in manifest()["wheels"]:
        filename = pathlib.PurePosixPath(entry).name
        if (WHEELS / filename).exists():
            continue
        run(
            [
                python,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "-d",
                WHEELS,
                *_wheel_download_args(filename),
            ]
        )
        if not (WHEELS / filename).exists():
            sys.exit(f"pip did not produce {filename}")


def stage_extension():
    """The extension's source tree as Blender wants it: manifest, package files, assets, wheels."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    skip = ("__pycache__", "*.pyc", ".*")
    shutil.copytree(PACKAGE, STAGE, ignore=shutil.ignore_patterns(*skip))
    shutil.copy2(MANIFEST, STAGE / "blender_manifest.toml")
    # Generator scripts stay in the repository; what they made ships.
    shutil.copytree(
        REPO / "assets", STAGE / "assets", ignore=shutil.ignore_patterns(*skip, "build_*.py")
    )
    shutil.copytree(WHEELS, STAGE / "wheels", ignore=shutil.ignore_patterns("*.part"))
    return STAGE


def package():
    python = setup(quiet=True)
    fetch_wheels(python)
    stage = stage_extension()
    version = manifest()["version"]
    for old in DIST.glob(f"blendmimic3d-{version}-*.zip"):
        old.unlink()
    DIST.mkdir(exist_ok=True)
    tool = extension_cli(python)
    run([*tool, "build", "--source-dir", stage, "--output-dir", DIST, "--split-platforms"])
    zips = sorted(DIST.glob(f"blendmimic3d-{version}-*.zip"))
    if not zips:
        sys.exit("the extension builder wrote no zip")
    for path in zips:
        if not path.name.endswith(f"-{host_platform()}.zip"):
            _drop_native(path)  # the kernel was built for this machine's platform only
        run([*tool, "validate", path])
        with zipfile.ZipFile(path) as archive:
            wheels = [n for n in archive.namelist() if n.endswith(".whl")]
        print(f"{path.relative_to(REPO)}  {path.stat().st_size / 1e6:.1f} MB, {len(wheels)} wheels")
    return zips


def host_platform():
    """This machine's platform as the zips name it (linux_x64, windows_x64, macos_arm64)."""
    import platform

    system = {"linux": "linux", "win32": "windows", "darwin": "macos"}.get(sys.platform, "")
    machine = {"x86_64": "x64", "amd64": "x64", "arm64": "arm64", "aarch64": "arm64"}
    return f"{system}_{machine.get(platform.machine().lower(), '')}"


def _drop_native(path):
    """Rewrite the zip at ``path`` without the compiled kernel (that zip casts with numpy)."""
    member = str(NATIVE_LIBRARY.relative_to(PACKAGE)).replace(os.sep, "/")
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != member:
                new.writestr(info, old.read(info))
    os.replace(partial, path)


def platform_zip(platform="linux_x64"):
    zips = sorted(DIST.glob(f"blendmimic3d-{manifest()['version']}-{platform}.zip"))
    return zips[-1] if zips else package_and_find(platform)


def package_and_find(platform):
    for path in package():
        if path.name.endswith(f"-{platform}.zip"):
            return path
    sys.exit(f"no {platform} zip was built")


# --- a real Blender executable from Debian -------------------------------------------------------


def debian_root():
    return CACHE / f"debian-{DEBIAN_SUITE}"


def debian_blender():
    """Debootstrap Debian trixie with its blender package (4.3, Python 3.13) and write a wrapper
    script that runs that Blender in the root, with this checkout's parent folder and /tmp bound
    in at the same paths, so pytest-blender and the tests see the same files."""
    root = debian_root()
    wrapper = CACHE / "blender-debian"
    ready = root / ".bm3d-ready"
    wanted = ",".join(DEBIAN_PACKAGES)
    if not ready.exists():
        if shutil.which("debootstrap") is None:
            run(["apt-get", "install", "-y", "-q", "debootstrap"])
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={wanted}",
                DEBIAN_SUITE,
                root,
                DEBIAN_MIRROR,
            ]
        )
    elif ready.read_text() != wanted:  # a root from an older package list: add what is new
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        run(["chroot", root, "apt-get", "install", "-y", "-q", *DEBIAN_PACKAGES])
    ready.write_text(wanted)
    # Blender's file browser lists mount points from /etc/mtab, which minbase leaves out.
    mtab = root / "etc" / "mtab"
    if not mtab.is_symlink() and not mtab.exists():
        mtab.symlink_to("../proc/self/mounts")
    install_wheels_in_root(root)
    # The checkout's parent holds it and ../shared; the tests' temporary files are under /tmp.
    wrapper.write_text(_WRAPPER.format(root=root, binds=f"{REPO.parent} /tmp"))
    wrapper.chmod(0o755)
    version = subprocess.run(
        [wrapper, "--version"], capture_output=True, text=True
    ).stdout.splitlines()
    print(f"{wrapper}: {version[0] if version else 'did not start'}")
    return wrapper


def install_wheels_in_root(root):
    """onnxruntime for the root's Python 3.13, from the extension's own cp313 wheel and the pure
    wheels beside it (Debian has no onnxruntime package). Unpacking a wheel installs it."""
    target = root / "usr" / "local" / "lib" / "python3.13" / "dist-packages"
    stamp = target / ".bm3d-wheels"
    names = [pathlib.PurePosixPath(w).name for w in manifest()["wheels"]]
    chosen = [n for n in names if ("cp313" in n and "linux" in n) or n.endswith("-none-any.whl")]
    if stamp.exists() and stamp.read_text() == "\n".join(chosen):
        return
    fetch_wheels(setup(quiet=True))
    target.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        with zipfile.ZipFile(WHEELS / name) as archive:
            archive.extractall(target)
    stamp.write_text("\n".join(chosen))


_WRAPPER = """#!/bin/sh
# Runs Debian's Blender inside {root}, with the working folders bound in at the same paths.
root={root}
binds="${{BM3D_CHROOT_BINDS:-{binds}}}"
exec unshare --mount --propagation private sh -c '
  root=$1; binds=$2; cwd=$3; shift 3
  for d in /proc /dev /sys $binds "$cwd"; do
    [ -d "$d" ] || continue
    mkdir -p "$root$d" && mount --rbind "$d" "$root$d" 2>/dev/null
  done
  exec chroot "$root" /bin/sh -c "cd \\"\\$0\\" && exec /usr/bin/blender \\"\\$@\\"" "$cwd" "$@"
' sh "$root" "$binds" "$PWD" "$@"
"""


# --- SLURM for the job-array tests ---------------------------------------------------------------

# The tests start their own munged, slurmctld and slurmd (tests/helpers/slurm_cluster.py), with
# private configuration, keys and ports; only the programs come from the system.
SLURM_PACKAGES = ["munge", "slurmctld", "slurmd", "slurm-client"]
SLURM_PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"]


def slurm_packages():
    """Debian's munge and SLURM daemons and clients (apt, as root); the packages' own services
    are not needed by the tests."""
    if all(shutil.which(p) for p in SLURM_PROGRAMS):
        print("SLURM and munge are installed")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], env=env)  # a new machine has no package lists yet
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *SLURM_PACKAGES], env=env)


# --- test --------------------------------------------------------------------------------------


def test(args):
    pytest_args = _after_dashes(list(args.pytest_args))
    python = setup(args.blender, quiet=True)
    env = dict(os.environ)
    if args.debian or args.executable:
        executable = debian_blender() if args.debian else args.executable
        package()  # the Blender inside cannot build the zip that the install tests use
        cmd = [python, "-m", "pytest", "--blender-executable", executable, *pytest_args]
    else:
        cmd = [python, "-m", "pytest", "-p", "no:pytest-blender", *pytest_args]
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=REPO, env=env).returncode


# --- demo, screenshot, train, bench -------------------------------------------------------------


def demo(args):
    python = setup(quiet=True)
    zip_path = platform_zip()
    run([python, REPO / "tools" / "install_check.py", zip_path, "--report"], cwd=REPO)
    run([python, "-m", "blendmimic3d_addon", "demo", "--out", args.out, "--overwrite"], cwd=REPO)


SHOT_FILES = {"sidebar": "sidebar.png", "panels": "panels.png", "overlay": "overlay.png"}


def screenshot(args):
    zip_path = package_and_find("linux_x64")  # the pictures show this checkout, never an old zip
    blender = args.executable or debian_blender()
    run(
        [
            setup(quiet=True),  # numpy for the PNG
            REPO / "tools" / "screenshot.py",
            "--blender",
            blender,
            "--zip",
            zip_path,
            "--out",
            args.out or REPO / "docs" / SHOT_FILES[args.what],
            "--what",
            args.what,
        ]
    )


def train_env():
    """The training venv (PyTorch CPU, onnx); separate from the extension's .venv."""
    env_dir = REPO / ".venv-train"
    python = env_dir / "bin" / "python"
    stamp = env_dir / ".bm3d-setup"
    digest = hashlib.sha256(TRAIN_REQUIREMENTS.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest and python.exists()):
        run([sys.executable, "-m", "venv", env_dir])
        pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        run([*pip, "-r", TRAIN_REQUIREMENTS])
        stamp.write_text(digest)
    return python


def _after_dashes(extra):
    return extra[1:] if extra[:1] == ["--"] else extra


def train(args):
    run([train_env(), "-m", "training.train", *_after_dashes(args.train_args)], cwd=REPO)


def test_training(args):
    """PyTorch-side tests: ONNX Runtime and PyTorch agree on the exported refiner."""
    cmd = [train_env(), "-m", "pytest", "-q", "training", *_after_dashes(args.pytest_args)]
    return subprocess.run([str(c) for c in cmd], cwd=REPO).returncode


def bench(args):
    """Every benchmark; the refiner's runs in the training venv (PyTorch latency beside ONNX)."""
    python = setup(quiet=True)
    for script in sorted((REPO / "benchmarks").glob("bench_*.py")):
        if args.only and args.only not in script.name:
            continue
        run([train_env() if script.name == "bench_refiner.py" else python, script], cwd=REPO)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup", help="make the virtual environment")
    p.add_argument("--blender", choices=sorted(BPY), default="5.0")
    sub.add_parser("package", help="build the extension zips into dist/")
    p = sub.add_parser("test", help="run the test suite (extra arguments go to pytest)")
    p.add_argument(
        "--blender", choices=sorted(BPY), default="5.0", help="bpy wheel series for mode (a)"
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--executable", help="run inside this Blender executable (pytest-blender)")
    group.add_argument(
        "--debian", action="store_true", help="run inside Debian's Blender 4.3 (made on demand)"
    )
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p = sub.add_parser("demo", help="the main job")
    p.add_argument("--out", default=str(REPO / "out" / "demo"))
    sub.add_parser("debian-blender", help="make Debian's Blender executable and print its wrapper")
    sub.add_parser("slurm-packages", help="install munge and SLURM (apt) for the job-array tests")
    p = sub.add_parser("screenshot", help="PNG of the sidebar tab in a real Blender window")
    p.add_argument("--executable")
    p.add_argument("--what", choices=sorted(SHOT_FILES), default="sidebar")
    p.add_argument("--out", help="default: docs/sidebar.png, panels.png or overlay.png")
    p = sub.add_parser("train", help="train the refiner (extra arguments go to training.train)")
    p.add_argument("train_args", nargs=argparse.REMAINDER)
    p = sub.add_parser("test-training", help="PyTorch-side tests (ONNX parity) in .venv-train")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p = sub.add_parser("bench", help="run the benchmarks")
    p.add_argument("--only", help="run only benchmarks whose file name contains this")
    args = parser.parse_args(argv)

    if args.command == "setup":
        setup(args.blender)
    elif args.command == "package":
        package()
    elif args.command == "test":
        return test(args)
    elif args.command == "demo":
        demo(args)
    elif args.command == "debian-blender":
        debian_blender()
    elif args.command == "slurm-packages":
        slurm_packages()
    elif args.command == "screenshot":
        screenshot(args)
    elif args.command == "train":
        train(args)
    elif args.command == "test-training":
        return test_training(args)
    elif args.command == "bench":
        bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
