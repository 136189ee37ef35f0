"""Render throughput of the presets at the dataset resolution, Realistic's samples against a
high-sample reference, and the render order (all cameras of a frame after one evaluation, against
each camera replaying the take).

    .venv/bin/python benchmarks/bench_render_presets.py [--frames 2] [--scale 100] [--cameras 4]
        [--samples 4,8,16,32,64] [--reference 1024] [--crop 0.25] [--order-scale 10]
        [--presets PREVIEW,FAST,REALISTIC] [--skip presets,samples,order]

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
3. The render order at ``--order-scale`` %, Preview and Realistic (4 samples): "camera-major" is
   the order before (each camera plays the whole take: one evaluation per frame per camera),
   "frame-major" the extension's (one evaluation per frame for every camera); total seconds for
   the same frames, each order twice, alternating.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    return parser.parse_args()


def _scene(bpy, frames):
    from blendmimic3d_addon.commands import demo

    demo._build_scene(bpy, frames, "CAPTURE_ROOM")
    return bpy.context.scene


def _render(bpy, scene, path):
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True, scene=scene.name)


def _timed_renders(bpy, scene, cameras, frames, folder, camera_major):
    """Render every camera at every frame in one order; returns (first render s, the rest s)."""
    times = []
    pairs = (
        [(c, f) for c in cameras for f in frames]
        if camera_major
        else [(c, f) for f in frames for c in cameras]
    )
    for n, (camera, frame) in enumerate(pairs):
        start = time.perf_counter()
        if camera_major or camera is cameras[0]:
            scene.frame_set(frame)  # camera-major: the take replayed for each camera
        scene.camera = camera
        _render(bpy, scene, os.path.join(folder, f"{n}.png"))
        times.append(time.perf_counter() - start)
    return times[0], sum(times[1:]) / max(1, len(times) - 1), sum(times)


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
        scene = _scene(bpy, max(2, args.frames))
        scene.render.resolution_percentage = args.scale
        cameras = scene_model.dataset_cameras(scene)
        frames = list(range(scene.frame_start, scene.frame_start + args.frames))
        width = scene.render.resolution_x * args.scale // 100
        height = scene.render.resolution_y * args.scale // 100
        print(f"Blender {bpy.app.version_string}, {os.cpu_count()} CPUs, {width} x {height}, "
              f"{len(cameras)} cameras x {len(frames)} frames, "
              f"denoiser: {render_presets.has_denoiser()}", flush=True)  # fmt: skip
        skip = set(args.skip.split(","))
        if "presets" not in skip:
            print(f"\n{'preset':10} {'samples':>7} {'first s':>8} {'s/frame/camera':>15}")
            for preset in args.presets.split(","):
                render_presets.apply(scene, preset)
                timed = cameras[: args.cameras]
                first, per, _ = _timed_renders(bpy, scene, timed, frames, work, False)
                samples = render_presets.samples_for(preset, 0)
                print(f"{preset:10} {samples:7d} {first:8.2f} {per:15.2f}", flush=True)
        if "samples" not in skip:
            _samples(bpy, scene, args, cameras[0], frames[0], work, render_presets, video_frames)
        if "order" not in skip:
            scene.render.resolution_percentage = args.order_scale
            print(f"\nAt {args.order_scale} %, {len(cameras)} cameras x {len(frames)} frames")
            print(f"{'preset':10} {'order':>12} {'total s':>8}")
            for preset in ("PREVIEW", "REALISTIC"):
                render_presets.apply(scene, preset, 4)
                _timed_renders(bpy, scene, cameras[:1], frames[:1], work, False)  # warm up
                for camera_major in (True, False, True, False):
                    total = _timed_renders(bpy, scene, cameras, frames, work, camera_major)[2]
                    order = "camera-major" if camera_major else "frame-major"
                    print(f"{preset:10} {order:>12} {total:8.2f}", flush=True)
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


def scene_model_hips(scene):
    from blendmimic3d_addon.blender import sampling, scene_model

    person = scene_model.people(scene)[0]
    import mathutils

    return mathutils.Vector(sampling.current_joints([person])[0])


if __name__ == "__main__":
    main()
