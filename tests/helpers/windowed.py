"""Windowed Blender runs for tests of what only a UI has (modal operators, Esc, panels drawing).

Host side: ``run_windowed(script, *args)`` starts Xvfb and a real Blender executable (the one
``conftest.find_blender_executable`` finds) with ``--enable-event-simulate``, runs ``script`` in it
as ``script -- REPO OUT *args`` and returns the JSON the script wrote to OUT. Skips without Xvfb or
an executable.

Blender side: ``Harness`` keeps what the script saw and chains steps on timers; any exception ends
the run with its traceback in ``seen["error"]``.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent


def run_windowed(script, *args, timeout=400, screen=None):
    from conftest import find_blender_executable

    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed: no virtual display for a windowed Blender")
    blender = find_blender_executable()
    if blender is None:
        pytest.skip("no Blender executable: make one with `python3 build.py debian-blender`")
    work = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-ui-"))
    out = work / "seen.json"
    display = f":{70 + os.getpid() % 20}"
    width, height = screen or (1280, 800)
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"]
    )
    try:
        time.sleep(2)
        env = dict(os.environ, DISPLAY=display, BLENDER_USER_RESOURCES=str(work / "user"))
        env.pop("BM3D_TEST_USER_RESOURCES", None)
        cmd = [blender, "--factory-startup", "--enable-event-simulate"]
        if screen:  # the window fills the screen
            cmd += ["--window-geometry", "0", "0", str(width), str(height)]
        cmd += ["--python", str(HERE / script), "--", str(REPO), str(out), *map(str, args)]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        xvfb.terminate()
        xvfb.wait()
    if not out.exists():
        pytest.fail(
            f"Blender wrote nothing (exit {run.returncode}):\n"
            f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    data = json.loads(out.read_text())
    assert "error" not in data, data["error"]
    return data


class Harness:
    """Inside Blender: parse ``-- REPO OUT *args``, put the tests on sys.path, chain steps."""

    def __init__(self):
        import bpy

        self.bpy = bpy
        argv = sys.argv[sys.argv.index("--") + 1 :]
        self.repo, self.out, self.args = argv[0], argv[1], argv[2:]
        sys.path[:0] = [f"{self.repo}/tests", f"{self.repo}/tests/helpers"]
        self.seen = {"blender": bpy.app.version_string}

    def finish(self, error=None):
        if error:
            self.seen["error"] = error
        with open(self.out, "w") as handle:
            json.dump(self.seen, handle, indent=1)
        self.bpy.ops.wm.quit_blender()

    def guarded(self, step):
        def run():
            try:
                return step()
            except Exception:
                self.finish(traceback.format_exc())
                return None

        return run

    def then(self, step, delay=0.2):
        self.bpy.app.timers.register(self.guarded(step), first_interval=delay)

    def draw_panel_then_finish(self, panel_idname, *extra_panels):
        """Run the panel's own draw code (then that of ``extra_panels``) in the 3D Viewport's
        header (always drawn) for a second, keep how often it drew and its errors in
        ``seen["panel_draws"]``, ``["panel_errors"]``, the panel's ``bl_parent_id`` in
        ``["panel_parent"]``, then finish."""
        bpy = self.bpy
        drawn = {"ok": 0, "errors": []}

        def draw(header, context):
            try:
                for name in (panel_idname, *extra_panels):
                    bpy.types.Panel.bl_rna_get_subclass_py(name).draw(header, context)
                drawn["ok"] += 1
            except Exception:
                drawn["errors"].append(traceback.format_exc())

        def drawn_enough():
            bpy.types.VIEW3D_HT_header.remove(draw)
            self.seen["panel_draws"] = drawn["ok"]
            self.seen["panel_errors"] = drawn["errors"]
            panel = bpy.types.Panel.bl_rna_get_subclass_py(panel_idname)
            self.seen["panel_parent"] = getattr(panel, "bl_parent_id", None)
            self.finish()

        bpy.types.VIEW3D_HT_header.append(draw)
        for area in bpy.context.window_manager.windows[0].screen.areas:
            area.tag_redraw()
        self.then(drawn_enough, 1.0)


def view3d_override():
    """Context of the first window's 3D Viewport, as a click on the sidebar's buttons has."""
    import bpy

    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    return bpy.context.temp_override(window=window, area=area)


def files_under(folder):
    """Every file and folder under ``folder`` (relative paths), hidden staging folders included."""
    found = []
    for root, dirs, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, n), folder) for n in dirs + names]
    return sorted(found)


def press_escape(window, area):
    """Esc pressed and released over the middle of ``area`` (what a user cancelling does)."""
    x, y = area.x + area.width // 2, area.y + area.height // 2
    window.event_simulate(type="ESC", value="PRESS", x=x, y=y)
    window.event_simulate(type="ESC", value="RELEASE", x=x, y=y)
