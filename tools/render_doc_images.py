"""Render the small PNGs of docs/RENDERING.md: the demo's scene in each environment (Realistic),
the capture room in Preview, and a QA overlay on the Realistic capture-room frame.

    .venv/bin/python tools/render_doc_images.py [--out docs/images] [--size 320] [--samples 32]

Each image is camera 0 at the first frame; the QA overlay draws the exported 2D keypoints,
coloured by occlusion type, over the Realistic frame.
"""

import argparse
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENVIRONMENTS = ("CAPTURE_ROOM", "SHOP", "OUTDOORS")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "images"))
    parser.add_argument("--size", type=int, default=320, help="pixels of a side (default 320)")
    parser.add_argument("--samples", type=int, default=32, help="Realistic samples (default 32)")
    args = parser.parse_args()
    import bpy

    sys.path.insert(0, REPO)
    import blendmimic3d_addon
    from blendmimic3d_addon.blender import render_presets, scene_model, video_frames, video_job
    from blendmimic3d_addon.commands import demo
    from blendmimic3d_addon.core.joints import PARENTS_BM3D
    from blendmimic3d_addon.core.occlusion import qa_overlay

    os.makedirs(args.out, exist_ok=True)
    blendmimic3d_addon.register()
    try:
        for environment in ENVIRONMENTS:
            demo._build_scene(bpy, 2, environment)
            scene = bpy.context.scene
            scene.render.resolution_percentage = 100 * args.size // scene.render.resolution_x
            scene.camera = scene_model.dataset_cameras(scene)[0]
            scene.frame_set(scene.frame_start)
            name = environment.lower()
            realistic = os.path.join(args.out, f"realistic_{name}.png")
            render_presets.apply(scene, "REALISTIC", args.samples)
            _render(bpy, scene, realistic)
            print("wrote", realistic, flush=True)
            if environment != "CAPTURE_ROOM":
                continue
            render_presets.apply(scene, "PREVIEW")
            preview = os.path.join(args.out, f"preview_{name}.png")
            _render(bpy, scene, preview)
            print("wrote", preview, flush=True)
            with tempfile.TemporaryDirectory() as work:
                bpy.ops.blendmimic3d.export_dataset(directory=work, subject="S1", actions="Walk")
                subject = os.path.join(work, "S1")
                take = next(t for t in video_job.listed_takes(subject)[1] if t.folder == "Walk")
                uv, types = video_job.qa_keypoints(subject, take, 0)
                frame = video_frames.read_frame(realistic)
                scale = frame.shape[1] / video_job.dataset_resolution(subject, 0)[0]
                frame = qa_overlay.draw_keypoints(frame, uv[0] * scale, types[0], PARENTS_BM3D)
                qa = os.path.join(args.out, f"qa_realistic_{name}.png")
                video_frames.write_frame(qa, frame)
                print("wrote", qa, flush=True)
    finally:
        blendmimic3d_addon.unregister()


def _render(bpy, scene, path):
    scene.render.filepath = path
    scene.render.image_settings.color_mode = "RGB"
    bpy.ops.render.render(write_still=True, scene=scene.name)


if __name__ == "__main__":
    main()
