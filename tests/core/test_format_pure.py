"""The core is plain Python + numpy: every module imports without bpy, and nothing above it.

The modules are found by walking ``core/``, so a new module is checked without being listed.
"""

import ast
import subprocess
import sys

from conftest import REPO

CORE = REPO / "blendmimic3d_addon" / "core"


def core_modules():
    names = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_walk_finds_every_sub_package():
    found = set(core_modules())
    for sub in ("format", "validate", "geometry", "occlusion", "refine"):
        assert f"blendmimic3d_addon.core.{sub}" in found
    assert len(found) > 30


def test_every_core_module_imports_without_bpy_or_the_shell():
    imports = "; ".join(f"import {name}" for name in core_modules())
    code = (
        f"import sys; {imports}; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] == 'bpy' or m.startswith(('blendmimic3d_addon.blender', "
        "'blendmimic3d_addon.commands'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_core_imports_nothing_from_above_it():
    """A relative import that climbs out of ``core/`` (to the package root or the shell)."""
    escapes = []
    for path in sorted(CORE.rglob("*.py")):
        depth = len(path.relative_to(CORE).parts)  # core/x.py: 1; core/format/x.py: 2
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > depth:
                escapes.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom | ast.Import) and not getattr(node, "level", 0):
                names = (
                    [node.module]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                escapes += [
                    f"{path.relative_to(REPO)}:{node.lineno}"
                    for n in names
                    if n and n.startswith(("bpy", "blendmimic3d_addon"))
                ]
    assert escapes == []


def test_commands_load_without_bpy():
    code = (
        "import importlib, sys; from blendmimic3d_addon.cli import SUBCOMMANDS; "
        "[importlib.import_module(m, 'blendmimic3d_addon') for m, _ in SUBCOMMANDS.values()]; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'bpy'))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
