"""Real screenshots for docs/: Blender in a window on Xvfb, the extension installed from its zip
into a private user folder, the screen grabbed with xwd and written as PNG here (numpy and
zlib: no ImageMagick).

    python3 tools/screenshot.py --blender BLENDER --zip ZIP --what WHAT --out OUT.png

WHAT: ``sidebar`` the window with the BlendMimic3D tab (docs/sidebar.png); ``panels`` the whole
tab, every panel open and every section shown, in three columns (docs/panels.png; Blender reads
the tab's pixels itself and saves them); ``overlay`` the 3D Viewport through Camera_0 with the
occlusion overlay and strips (docs/overlay.png).
(``python3 build.py screenshot --what WHAT`` finds Blender and the zip.) Needs Debian's xvfb and
x11-apps; Blender runs with --enable-event-simulate and clicks the tab itself.
"""

import argparse
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

IN_BLENDER = pathlib.Path(__file__).with_name("screenshot_in_blender.py")
TOOLS = {"Xvfb": "xvfb", "xwd": "x11-apps"}
# The whole tab with every panel open is about 5,400 pixels tall at UI scale 1.
TAB = "BlendMimic3D"
SIZES = {"sidebar": (1600, 900), "panels": (1600, 6400), "overlay": (1600, 900)}


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


def steady_grab(display, seconds=120):
    """The screen once two grabs 3 s apart are alike: a tall window with the 3D Viewport drawn
    in software takes seconds to redraw after a click."""
    previous, deadline = None, time.time() + seconds
    while True:
        time.sleep(3)
        grab = subprocess.run(
            ["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True
        ).stdout
        if grab == previous or time.time() > deadline:
            return grab
        previous = grab


def xwd_rgb(data):
    """(H, W, 3) uint8 of an xwd dump (ZPixmap, 24 or 32 bits a pixel, any byte order)."""
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height = fields[0], fields[4], fields[5]
    byte_order, bits, per_line = fields[7], fields[11], fields[12]
    masks, n_colours = fields[14:17], fields[19]
    if fields[2] != 2 or bits not in (24, 32):
        sys.exit(f"xwd: format {fields[2]} with {bits} bits a pixel is not read here")
    start = header_size + 12 * n_colours
    rows = np.frombuffer(data, np.uint8, height * per_line, start).reshape(height, per_line)
    step = bits // 8
    raw = rows[:, : width * step].reshape(height, width, step).astype(np.uint32)
    order = range(step) if byte_order == 0 else reversed(range(step))  # 0: least first
    value = sum(raw[..., i] << (8 * k) for k, i in enumerate(order))
    channels = []
    for mask in masks:
        shift = (mask & -mask).bit_length() - 1
        channels.append(((value & mask) >> shift).astype(np.uint8))
    return np.stack(channels, axis=-1)


def write_png(path, rgb):
    """An 8-bit RGB PNG (zlib only)."""
    height, width = rgb.shape[:2]
    raw = b"".join(b"\0" + row.tobytes() for row in np.ascontiguousarray(rgb, np.uint8))

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
    pathlib.Path(path).write_bytes(png + chunk(b"IEND", b""))


def crop(rgb, rect, window_height):
    """``rect`` (x, y, width, height; Blender's window pixels, bottom-left origin)."""
    x, y, width, height = rect
    top = window_height - (y + height)
    return rgb[top : top + height, x : x + width]


def in_columns(tab, count=3, gap=16):
    """The whole tab cut into ``count`` side-by-side columns of about equal height, each cut at
    a row like the one above it (between widgets, never through one)."""
    changes = np.abs(np.diff(tab.astype(np.int16), axis=0)).max(axis=(1, 2))
    last = len(tab) - int(np.argmax(changes[::-1] > 0))  # under it: the empty sidebar
    content = tab[: min(last + 8, len(tab))]
    plain = np.flatnonzero(changes[: len(content) - 1] == 0) + 1
    cuts = [0]
    for k in range(1, count):
        target = k * len(content) // count
        cuts.append(int(plain[np.argmin(np.abs(plain - target))]))
    cuts.append(len(content))
    parts = [content[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    width = content.shape[1]
    out = np.empty((max(len(p) for p in parts), count * (width + gap) - gap, 3), np.uint8)
    out[:] = content[-1, 0]  # the sidebar's background
    for i, part in enumerate(parts):
        out[: len(part), i * (width + gap) : i * (width + gap) + width] = part
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blender", required=True)
    parser.add_argument("--zip", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--what", choices=sorted(SIZES), default="sidebar")
    parser.add_argument("--display", default=":97")
    args = parser.parse_args()
    ensure_tools()
    out = pathlib.Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="bm3d-shot-"))
    ready = work / "ready.json"
    size = SIZES[args.what]
    xvfb = subprocess.Popen(
        ["Xvfb", args.display, "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"]
    )
    blender = None
    try:
        time.sleep(2)
        env = dict(os.environ, DISPLAY=args.display, BLENDER_USER_RESOURCES=str(work / "user"))
        cmd = [args.blender, "--factory-startup", "--window-geometry", "0", "0", *map(str, size)]
        cmd += ["--enable-event-simulate", "--python", str(IN_BLENDER), "--"]
        cmd.append(str(pathlib.Path(args.zip).resolve()))
        blender = subprocess.Popen([*cmd, str(ready), args.what, str(out)], env=env)
        info = wait_for(ready, 400)
        if info is None or "error" in info:
            sys.exit(f"Blender did not open its window in time {info or ''}")
        if args.what == "panels":
            print(f"wrote {out} (Blender {info['blender']}, {info['size'][0]} x {info['size'][1]})")
            return
        grab = steady_grab(args.display)
    finally:
        if blender is not None:
            blender.kill()
            blender.wait()
        xvfb.terminate()
        xvfb.wait()
    rgb = xwd_rgb(grab)
    if args.what == "overlay":
        rgb = crop(rgb, info["view"], info["window_height"])
    write_png(out, rgb)
    print(f"wrote {out} (Blender {info['blender']}, {rgb.shape[1]} x {rgb.shape[0]})")


if __name__ == "__main__":
    main()
