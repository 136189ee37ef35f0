"""A real screenshot of the sidebar tab: Blender in a window on Xvfb, the extension installed from
its zip into a private user folder, the BlendMimic3D tab open, the screen grabbed with xwd.

    python3 tools/screenshot.py --blender BLENDER --zip ZIP --out docs/sidebar.png
(``python3 build.py screenshot`` finds both.) Needs Debian's xvfb, x11-apps, xdotool, imagemagick.
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

IN_BLENDER = pathlib.Path(__file__).with_name("screenshot_in_blender.py")
TOOLS = {"Xvfb": "xvfb", "xwd": "x11-apps", "xdotool": "xdotool", "/usr/bin/convert": "imagemagick"}
SIZE = (1600, 900)


def ensure_tools():
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True)


def wait_for(path, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if path.exists() and path.stat().st_size:
            return json.loads(path.read_text())
        time.sleep(0.5)
    return None


def choose_tab_with_mouse(display, info):
    """Ctrl+Wheel over the sidebar's tab strip (its right edge) cycles the tabs: Blender 4.2 and
    4.3 give scripts no way to choose one. The add-on tab is the last, after Item, Tool and View."""
    x, y, width, height = info["sidebar"]
    screen_x = x + width - 8
    screen_y = info["window_height"] - (y + height - 60)
    env = dict(os.environ, DISPLAY=display)
    subprocess.run(["xdotool", "mousemove", str(screen_x), str(screen_y)], env=env, check=True)
    time.sleep(0.5)
    for _ in range(3):
        subprocess.run(["xdotool", "keydown", "ctrl", "click", "5", "keyup", "ctrl"], env=env)
        time.sleep(0.3)


def close_splash(display):
    """A fresh user folder opens the Quick Setup splash; a click outside it closes it."""
    env = dict(os.environ, DISPLAY=display)
    subprocess.run(["xdotool", "mousemove", "200", "600", "click", "1"], env=env, check=True)
    time.sleep(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blender", required=True)
    parser.add_argument("--zip", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--display", default=":97")
    args = parser.parse_args()
    ensure_tools()
    out = pathlib.Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-shot-"))
    ready = work / "ready.json"
    screen = f"{SIZE[0]}x{SIZE[1]}x24"
    xvfb = subprocess.Popen(["Xvfb", args.display, "-screen", "0", screen, "-nolisten", "tcp"])
    blender = None
    try:
        time.sleep(2)
        env = dict(os.environ, DISPLAY=args.display, BLENDER_USER_RESOURCES=str(work / "user"))
        cmd = [args.blender, "--factory-startup", "--window-geometry", "0", "0", *map(str, SIZE)]
        cmd += [
            "--python",
            str(IN_BLENDER),
            "--",
            str(pathlib.Path(args.zip).resolve()),
            str(ready),
        ]
        blender = subprocess.Popen(cmd, env=env)
        info = wait_for(ready, 240)
        if info is None:
            sys.exit("Blender did not open its window in time")
        close_splash(args.display)
        if not info["tab_chosen"]:
            choose_tab_with_mouse(args.display, info)
        time.sleep(3)
        grab = subprocess.run(
            ["xwd", "-root", "-silent", "-display", args.display], capture_output=True, check=True
        )
        subprocess.run(["/usr/bin/convert", "xwd:-", str(out)], input=grab.stdout, check=True)
    finally:
        if blender is not None:
            blender.kill()
            blender.wait()
        xvfb.terminate()
        xvfb.wait()
    print(f"wrote {out} (Blender {info['blender']})")


if __name__ == "__main__":
    main()
