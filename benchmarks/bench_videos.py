"""Time render_videos per frame by preset and size, on the demo's scene and dataset.

    .venv/bin/python benchmarks/bench_videos.py [--frames 4]

Makes a demo (two mannequins, occluders, four cameras) with ``--frames`` per action, then renders
its videos again with each setting below and prints the seconds per rendered frame (all actions
and cameras; encoding and, where on, the QA overlay included).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETTINGS = (  # preset, samples, scale %, QA videos
    ("PREVIEW", 8, 20, False),
    ("PREVIEW", 8, 20, True),
    ("PREVIEW", 8, 100, False),
    ("FAST", 8, 20, False),
    ("REALISTIC", 8, 20, False),
)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=4, help="frames per action (default 4)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bm3d-bench-videos-")
    out = os.path.join(work, "demo")
    env = dict(os.environ, PYTHONPATH=REPO)
    command = [sys.executable, "-m", "blendmimic3d_addon", "demo", "--out", out,
               "--frames", str(args.frames)]  # fmt: skip
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)

    import bpy

    sys.path.insert(0, REPO)
    import blendmimic3d_addon

    bpy.ops.wm.open_mainfile(filepath=os.path.join(out, "scene.blend"))
    blendmimic3d_addon.register()
    subject = os.path.join(out, "dataset", "S1")
    frames = 2 * 4 * args.frames  # two actions, four cameras
    print(f"Blender {bpy.app.version_string}, {os.cpu_count()} CPUs, {frames} frames per row")
    print(f"{'preset':10} {'samples':>7} {'size':>11} {'QA':>3} {'s/frame':>8} {'total s':>8}")
    try:
        for preset, samples, scale, qa in SETTINGS:
            start = time.perf_counter()
            bpy.ops.blendmimic3d.render_videos(
                directory=subject, preset=preset, samples=samples, scale=scale, qa_video=qa,
                overwrite=True,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            size = f"{1000 * scale // 100}x{1002 * scale // 100}"
            print(f"{preset:10} {samples:7d} {size:>11} {'yes' if qa else 'no':>3} "
                  f"{seconds / frames:8.3f} {seconds:8.1f}", flush=True)  # fmt: skip
    finally:
        blendmimic3d_addon.unregister()


if __name__ == "__main__":
    main()
