"""Frames on disk and movies, with what Blender ships: PNG I/O through images, and H.264 .mp4
encoding through a throw-away scene whose sequencer holds the frames as an image strip."""

import os

import bpy
import numpy as np

from .compat import sequencer_strips, set_image_format


def read_frame(path):
    """A PNG as a (H, W, C) uint8 array, top row first (Blender stores images bottom row first)."""
    image = bpy.data.images.load(path, check_existing=False)
    try:
        width, height = image.size
        pixels = np.empty(width * height * image.channels, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    pixels = pixels.reshape(height, width, -1)[::-1]
    return np.rint(pixels * 255.0).astype(np.uint8)


def write_frame(path, frame, file_format="PNG"):
    """Write a (H, W, 3|4) uint8 array, top row first, as an RGB PNG (or JPEG)."""
    height, width = frame.shape[:2]
    rgba = np.ones((height, width, 4), dtype=np.float32)
    rgba[..., :3] = frame[::-1, :, :3] / np.float32(255.0)
    image = bpy.data.images.new("bm3d_frame", width, height, alpha=False)
    try:
        image.pixels.foreach_set(rgba.ravel())
        image.filepath_raw = path
        image.file_format = file_format
        image.save()
    finally:
        bpy.data.images.remove(image)


def frame_paths(folder):
    return [
        os.path.join(folder, name) for name in sorted(os.listdir(folder)) if name[-4:] == ".png"
    ]


def encode_mp4(paths, out_path, fps, fps_base=1.0):
    """Encode same-sized PNG frames (even width and height) into an H.264 .mp4 at ``out_path``."""
    first = bpy.data.images.load(paths[0], check_existing=False)
    width, height = first.size
    bpy.data.images.remove(first)
    scene = bpy.data.scenes.new("bm3d_encode")
    try:
        editor = scene.sequence_editor_create()
        strip = sequencer_strips(editor).new_image(
            name="frames", filepath=paths[0], channel=1, frame_start=1, fit_method="ORIGINAL"
        )
        for path in paths[1:]:
            strip.elements.append(os.path.basename(path))
        scene.frame_start, scene.frame_end = 1, len(paths)
        # The frames are already display-referred sRGB: pass them through untouched.
        scene.view_settings.view_transform = "Standard"
        render = scene.render
        render.resolution_x, render.resolution_y = width, height
        render.resolution_percentage = 100
        render.fps, render.fps_base = fps, fps_base
        set_image_format(render.image_settings, "FFMPEG")
        render.ffmpeg.format = "MPEG4"
        render.ffmpeg.codec = "H264"
        render.ffmpeg.constant_rate_factor = "HIGH"
        render.ffmpeg.audio_codec = "NONE"
        render.use_file_extension = False
        render.use_stamp_date = False  # no wall-clock date in the file: a rerun gives equal bytes
        render.filepath = out_path
        bpy.ops.render.render(animation=True, scene=scene.name)
    finally:
        bpy.data.scenes.remove(scene)
