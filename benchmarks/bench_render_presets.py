"""Render throughput of the presets at the dataset resolution, Realistic's samples against a
high-sample reference, and the render order (all cameras of a frame after one evaluation, against
each camera replaying the take).

    .venv/bin/python benchmarks/bench_render_presets.py [--frames 2] [--scale 100] [--cameras 4]
        [--samples 4,8,16,32,64] [--reference 1024] [--crop 0.25] [--order-scale 10]
        [--presets PREVIEW,FAST,REALISTIC] [--skip presets,samples,order] [--order-frames 8]
        [--order-reps 5] [--order-presets PREVIEW,REALISTIC] [--order-scene demo|mixamo]

The scene is the demo's (two mannequins, four fitted cameras, a table and a box) in the capture
room with its ceiling lights. Every figure is measured in this run, on this machine.

1. Seconds per frame per camera for each preset at ``--scale`` % of 1000 x 1002: every camera
   renders ``--frames`` frames (the first frame of a run, which builds the engine's data, is
   reported apart as "first").
2. Realistic with adaptive sampling and denoising (where the build has OpenImageDenoise) at each
   of ``--samples``, against ``--reference`` samples without denoising, as PSNR (dB) over a
   window around the people: the window (``--crop`` of the frame's side, centred on the primary
   person) is rendered at full pixel density with Cycles' render border, so each pixel is sampled
   and denoised as in the full frame; the seconds are the window's (fixed costs included).
3. The render order at ``--order-scale`` %, ``--order-frames`` frames through every camera,
   Preview and Realistic (4 samples): "camera-major" is the order before (each camera plays the
   whole take: one evaluation per frame per camera), "frame-major" the extension's (one
   evaluation per frame for every camera). ``--order-reps`` pairs of runs, which order goes first
   alternating from pair to pair; each pair gives the ratio frame-major / camera-major of wall
   and of process CPU time, summed up as median and range. ``--order-scene mixamo`` uses the two
   skinned Mixamo characters of ``shared/mixamo`` (about 49,000 skinned vertices) instead of the
   mannequins, so that evaluating a frame costs what it costs with real characters.

Every time is given as wall seconds and as this process's CPU seconds (all its threads): on a
machine shared with other jobs the CPU time is the steadier of the two.
"""

import argparse
import os
import sys
import tempfile
import time
from typing import NamedTuple

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIXAMO_FILES = [
    os.path.join(REPO, "..", "shared", "mixamo", name)
    for name in ("mixamo_beta.fbx", "samba_dancing.fbx")
]


def _parse():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=2, help="frames per camera (default 2)")
    parser.add_argument("--scale", type=int, default=100, help="%% of 1000 x 1002 (default 100)")
    parser.add_argument("--samples", default="4,8,16,32,64", help="Realistic samples to try")
    parser.add_argument("--reference", type=int, default=1024, help="reference samples")
    parser.add_argument("--crop", type=float, default=0.25, help="PSNR window, share of side")
    parser.add_argument("--presets", default="PREVIEW,FAST,REALISTIC", help="presets to time")
    parser.add_argument("--skip", default="", help="parts to skip: presets,samples,order")
    parser.add_argument("--cameras", type=int, default=4, help="cameras to time presets with")
    parser.add_argument("--order-scale", type=int, default=10, help="%% for the order part")
    parser.add_argument("--order-frames", type=int, default=8, help="frames for the order part")
    parser.add_argument("--order-reps", type=int, default=5, help="pairs of order runs")
    parser.add_argument("--order-presets", default="PREVIEW,REALISTIC", help="presets to order")
    parser.add_argument(
        "--order-scene", choices=("demo", "mixamo"), default="demo",
        help="demo: the mannequins; mixamo: the skinned characters in shared/mixamo",
    )  # fmt: skip
    args = parser.parse_args()
    missing = [p for p in MIXAMO_FILES if not os.path.isfile(p)]
    if args.order_scene == "mixamo" and "order" not in args.skip.split(",") and missing:
        parser.error(f"--order-scene mixamo: no {', '.join(missing)}")
    return args


def _scene(bpy, frames):
    from blendmimic3d_addon.commands import demo

    demo._build_scene(bpy, frames, "CAPTURE_ROOM")
    return bpy.context.scene


def _render(bpy, scene, path):
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True, scene=scene.name)


class Timing(NamedTuple):
    """(wall s, process CPU s) of the first render, the mean of the others, and all together.
    CPU time counts every thread of this process (Cycles' and software OpenGL's), so it is
    less sensitive than wall time to other jobs on a shared machine."""

    first: tuple
    next: tuple
    total: tuple


def _timed_renders(bpy, scene, cameras, frames, folder, camera_major):
    """Render every camera at every frame in one order; returns the Timing (wall s, CPU s)."""
    times = []
    pairs = (
        [(c, f) for c in cameras for f in frames]
        if camera_major
        else [(c, f) for f in frames for c in cameras]
    )
    for n, (camera, frame) in enumerate(pairs):
        start = time.perf_counter(), time.process_time()
        if camera_major or camera is cameras[0]:
            scene.frame_set(frame)  # camera-major: the take replayed for each camera
        scene.camera = camera
        _render(bpy, scene, os.path.join(folder, f"{n}.png"))
        times.append((time.perf_counter() - start[0], time.process_time() - start[1]))
    rest = times[1:] or [(0.0, 0.0)]
    return Timing(
        first=times[0],
        next=tuple(sum(t[i] for t in rest) / len(rest) for i in (0, 1)),
        total=tuple(sum(t[i] for t in times) for i in (0, 1)),
    )


def _read(frames_io, path):
    return frames_io.read_frame(path)[..., :3].astype(np.float64)


def psnr(image, reference):
    mse = np.mean((image - reference) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main():
    args = _parse()
    import bpy

    sys.path.insert(0, REPO)
    import blendmimic3d_addon
    from blendmimic3d_addon.blender import render_presets, scene_model, video_frames

    blendmimic3d_addon.register()
    work = tempfile.mkdtemp(prefix="bm3d-bench-presets-")
    try:
        scene = _scene(bpy, max(2, args.frames, args.order_frames))
        scene.render.resolution_percentage = args.scale
        cameras = scene_model.dataset_cameras(scene)
        frames = list(range(scene.frame_start, scene.frame_start + args.frames))
        width = scene.render.resolution_x * args.scale // 100
        height = scene.render.resolution_y * args.scale // 100
        print(f"Blender {bpy.app.version_string}, {os.cpu_count()} CPUs, {width} x {height}, "
              f"{len(cameras[: args.cameras])} cameras x {len(frames)} frames, "
              f"denoiser: {render_presets.has_denoiser()}", flush=True)  # fmt: skip
        skip = set(args.skip.split(","))
        if "presets" not in skip:
            print(f"\n{'preset':10} {'samples':>7} {'first s':>8} {'first CPU s':>11} "
                  f"{'s/frame/camera':>15} {'CPU s':>8}")  # fmt: skip
            for preset in args.presets.split(","):
                render_presets.apply(scene, preset)
                timed = cameras[: args.cameras]
                t = _timed_renders(bpy, scene, timed, frames, work, False)
                samples = render_presets.samples_for(preset, 0)
                print(f"{preset:10} {samples:7d} {t.first[0]:8.2f} {t.first[1]:11.2f} "
                      f"{t.next[0]:15.2f} {t.next[1]:8.2f}", flush=True)  # fmt: skip
        if "samples" not in skip:
            _samples(bpy, scene, args, cameras[0], frames[0], work, render_presets, video_frames)
        if "order" not in skip:
            if args.order_scene == "mixamo":
                scene = _mixamo_scene(bpy, work)
            _order(bpy, scene, args, work, render_presets, scene_model)
    finally:
        blendmimic3d_addon.unregister()


def _samples(bpy, scene, args, camera, frame, work, render_presets, video_frames):
    """PSNR and time of Realistic's sample counts against the reference, in a window."""
    render = scene.render
    scene.camera = camera
    scene.frame_set(frame)
    # The window: centred where the primary person's hips project, crop x crop of the frame.
    from bpy_extras.object_utils import world_to_camera_view

    hips = scene_model_hips(scene)
    u, v, _ = world_to_camera_view(scene, camera, hips)
    half = args.crop / 2
    u, v = min(max(u, half), 1 - half), min(max(v, half), 1 - half)
    render.use_border, render.use_crop_to_border = True, True
    render.border_min_x, render.border_max_x = u - half, u + half
    render.border_min_y, render.border_max_y = v - half, v + half
    try:
        render_presets.apply(scene, "REALISTIC", args.reference)
        scene.cycles.use_denoising = False
        scene.cycles.use_adaptive_sampling = False
        reference_path = os.path.join(work, "reference.png")
        start = time.perf_counter()
        _render(bpy, scene, reference_path)
        seconds = time.perf_counter() - start
        reference = _read(video_frames, reference_path)
        print(
            f"\nRealistic against {args.reference} samples without denoising "
            f"({seconds:.1f} s), window {reference.shape[1]} x {reference.shape[0]} px"
        )
        print(f"{'samples':>7} {'denoise':>7} {'PSNR dB':>8} {'window s':>8}")
        for count in (int(s) for s in args.samples.split(",")):
            for denoise in (False, True) if render_presets.has_denoiser() else (False,):
                render_presets.apply(scene, "REALISTIC", count)
                scene.cycles.use_denoising = denoise
                path = os.path.join(work, f"s{count}{denoise}.png")
                start = time.perf_counter()
                _render(bpy, scene, path)
                seconds = time.perf_counter() - start
                quality = psnr(_read(video_frames, path), reference)
                print(f"{count:7d} {'yes' if denoise else 'no':>7} {quality:8.2f} "
                      f"{seconds:8.2f}", flush=True)  # fmt: skip
    finally:
        render.use_border, render.use_crop_to_border = False, False


def _mixamo_scene(bpy, work):
    """The two skinned Mixamo characters of shared/mixamo side by side, four fitted cameras, in
    the capture room: a scene whose frame evaluation (armatures and skinning) costs something."""
    import shutil

    from blendmimic3d_addon.commands import demo

    folder = os.path.join(work, "mixamo")
    os.makedirs(folder)
    for path in MIXAMO_FILES:
        shutil.copy(path, folder)
    bpy.ops.wm.read_homefile(use_empty=True)
    demo._op(bpy.ops.blendmimic3d.import_mixamo, directory=folder)
    demo._op(bpy.ops.blendmimic3d.layout_people, preset="SIDE_BY_SIDE", spacing=1.2)
    demo._op(bpy.ops.blendmimic3d.rig_cameras, preset="BLENDMIMIC3D", fit=True)
    demo._op(bpy.ops.blendmimic3d.add_environment, kind="CAPTURE_ROOM")
    return bpy.context.scene


def _order(bpy, scene, args, work, render_presets, scene_model):
    """Camera-major (each camera replays the take) against frame-major (one evaluation per
    frame for every camera), ``--order-reps`` pairs per preset; which order runs first
    alternates from pair to pair so that a drift of the machine's load favours neither."""
    scene.render.resolution_percentage = args.order_scale
    cameras = scene_model.dataset_cameras(scene)
    frames = list(range(scene.frame_start, scene.frame_start + args.order_frames))
    skinned = sum(len(body.data.vertices) for person in scene_model.people(scene)
                  for body in scene_model.body_meshes(person, scene))  # fmt: skip
    print(f"\nRender order at {args.order_scale} %, {args.order_scene} scene "
          f"({skinned} skinned vertices), {len(cameras)} cameras x {len(frames)} frames, "
          f"{args.order_reps} pairs")  # fmt: skip
    wall, cpu = _evaluation_seconds(scene, frames)
    print(f"one frame evaluation (frame_set): {wall:.4f} s, CPU {cpu:.4f} s")
    print(f"{'preset':10} {'pair':>4} {'camera-major s':>14} {'CPU s':>7} "
          f"{'frame-major s':>13} {'CPU s':>7} {'ratio':>6} {'CPU ratio':>9}")  # fmt: skip
    for preset in args.order_presets.split(","):
        render_presets.apply(scene, preset, 4 if preset == "REALISTIC" else 0)
        _timed_renders(bpy, scene, cameras[:1], frames[:1], work, False)  # warm up
        ratios = []
        for pair in range(args.order_reps):
            runs = {}
            for camera_major in (True, False) if pair % 2 == 0 else (False, True):
                runs[camera_major] = _timed_renders(
                    bpy, scene, cameras, frames, work, camera_major
                ).total
            before, now = runs[True], runs[False]
            ratio = now[0] / before[0], now[1] / before[1]
            ratios.append(ratio)
            print(f"{preset:10} {pair:4d} {before[0]:14.2f} {before[1]:7.2f} {now[0]:13.2f} "
                  f"{now[1]:7.2f} {ratio[0]:6.3f} {ratio[1]:9.3f}", flush=True)  # fmt: skip
        wall, cpu = np.array(ratios).T
        print(f"{preset:10} frame-major / camera-major: wall median {np.median(wall):.3f} "
              f"({wall.min():.3f}-{wall.max():.3f}), CPU median {np.median(cpu):.3f} "
              f"({cpu.min():.3f}-{cpu.max():.3f})", flush=True)  # fmt: skip


def _evaluation_seconds(scene, frames):
    """Mean (wall s, CPU s) of one ``frame_set`` (animation, armatures, skinning) over
    ``frames``."""
    scene.frame_set(frames[-1])  # so that the first timed call changes the frame too
    start = time.perf_counter(), time.process_time()
    for frame in frames:
        scene.frame_set(frame)
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    return wall / len(frames), cpu / len(frames)


def scene_model_hips(scene):
    from blendmimic3d_addon.blender import sampling, scene_model

    person = scene_model.people(scene)[0]
    import mathutils

    return mathutils.Vector(sampling.current_joints([person])[0])


if __name__ == "__main__":
    main()
