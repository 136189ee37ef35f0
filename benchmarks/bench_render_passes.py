"""What instance masks and depth cost the frame render (render_passes), in one run.

    .venv/bin/python benchmarks/bench_render_passes.py [--size 256] [--samples 4] [--repeat 2]

The test scene of tests/blender/test_export.py (two box-bodied people, a crate), one camera,
the 10 frames of its Wave take, Cycles on the CPU: frames only, then frames with masks and
depth (the same render saved once more as an uncompressed EXR and read in numpy); best of
--repeat each, and their ratio.
"""

import argparse
import pathlib
import sys
import tempfile
import time
import types

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "blender")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    import bpy
    from test_export import build_scene

    from blendmimic3d_addon.blender import render_passes
    from blendmimic3d_addon.blender.export_ops import ExportJob

    scene = build_scene()
    scene.render.resolution_x = scene.render.resolution_y = args.size
    with tempfile.TemporaryDirectory() as out:
        depsgraph = bpy.context.evaluated_depsgraph_get()
        subject = ExportJob(scene, depsgraph, out, "S1", actions="Wave", cameras="0").run()
        times = {False: [], True: []}
        for _ in range(args.repeat):
            for passes in (False, True):
                settings = types.SimpleNamespace(
                    directory=subject, preset="REALISTIC", samples=args.samples, scale=100,
                    masks=passes, depth=passes, depth_format="PNG", overwrite=True,
                )  # fmt: skip
                plan = render_passes.plan_passes(scene, settings)
                started = time.perf_counter()
                for _ in render_passes.render_steps(scene, plan):
                    pass
                times[passes].append(time.perf_counter() - started)
    best = {k: min(v) for k, v in times.items()}
    print(f"10 frames, {args.size} px, Cycles {args.samples} samples: frames only "
          f"{best[False]:.2f} s, with masks and depth {best[True]:.2f} s, ratio "
          f"{best[True] / best[False]:.2f} (best of {args.repeat}; all {times})")  # fmt: skip


if __name__ == "__main__":
    main()
