"""Draw COCO annotations over their image: masks tinted, boxes, keypoints coloured by v.

    .venv/bin/python tools/coco_overlay.py COCO.json DATASET_ROOT OUT.png [--image-id N]
    .venv/bin/python tools/coco_overlay.py --demo WORK_DIR OUT.png

``--demo`` builds a scene (two bundled mannequins, a crate in front of one's legs, one camera),
exports it, renders frames and masks (Cycles), writes the COCO file and draws one frame: the
picture in docs/COCO.md. Needs the bpy module (the project's .venv) to read and write PNGs.
"""

import argparse
import json
import os
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))


def draw_image(coco_path, root, out, image_id=None, zoom=1):
    from pycocotools.coco import COCO

    from blendmimic3d_addon.blender import video_frames
    from blendmimic3d_addon.core.format import coco_overlay

    gt = COCO(coco_path)
    if image_id is None:
        image_id = max(gt.getImgIds(), key=lambda i: len(gt.getAnnIds(imgIds=[i], catIds=[1])))
    image = gt.loadImgs(image_id)[0]
    anns = gt.loadAnns(gt.getAnnIds(imgIds=[image_id], catIds=[1]))
    frame = video_frames.read_frame(os.path.join(root, image["file_name"]))
    masks = [gt.annToMask(a).astype(bool) if "segmentation" in a else None for a in anns]
    if zoom > 1:  # nearest-neighbour enlargement, annotations scaled with it
        frame = frame.repeat(zoom, 0).repeat(zoom, 1)
        masks = [m.repeat(zoom, 0).repeat(zoom, 1) if m is not None else None for m in masks]
        anns = [_zoomed(a, zoom) for a in anns]
    video_frames.write_frame(out, coco_overlay.draw(frame, anns, masks))
    return image


def _zoomed(ann, zoom):
    points = np.array(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
    points[:, :2] *= zoom
    return dict(ann, bbox=[v * zoom for v in ann["bbox"]], keypoints=points.ravel().tolist())


def demo(work, out):
    import bpy
    from mathutils import Vector

    import blendmimic3d_addon.blender as shell
    from blendmimic3d_addon.blender import scene_model

    shell.register()
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.blendmimic3d.add_mannequin(action="Walk", location=(0.0, 0.0, 0.0))
    bpy.ops.blendmimic3d.add_mannequin(action="Wave", location=(1.1, 0.8, 0.0))
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.0, -1.0, 0.35), scale=(0.7, 0.3, 0.7))
    scene_model.set_role(bpy.context.object, scene_model.OCCLUDER, bm3d_kind="crate")
    data = bpy.data.cameras.new("Camera_0")
    camera = bpy.data.objects.new("Camera_0", data)
    scene.collection.objects.link(camera)
    camera.location = (1.5, -5.0, 1.4)
    target = Vector((0.5, 0.3, 0.9))
    camera.rotation_euler = (target - camera.location).to_track_quat("-Z", "Y").to_euler()
    scene_model.set_role(camera, scene_model.CAMERA, **{scene_model.CAMERA_INDEX: 0})
    bpy.ops.object.light_add(type="SUN", rotation=(0.6, 0.2, 0.4))
    scene.world = bpy.data.worlds.new("World")
    scene.world.color = (0.35, 0.35, 0.38)
    scene.render.resolution_x, scene.render.resolution_y = 320, 240
    scene.frame_end = scene.frame_start + 5
    for name in ("Walk", "Wave"):  # a short take keeps the demo quick
        action = bpy.data.actions[name]
        action.use_frame_range = True
        action.frame_start, action.frame_end = 1, 6
    data_dir = os.path.join(work, "data")
    bpy.ops.blendmimic3d.export_dataset(directory=data_dir, subject="S1", actions="Walk")
    bpy.ops.blendmimic3d.render_frames(directory=os.path.join(data_dir, "S1"), preset="REALISTIC",
                                       samples=8, masks=True, depth=True)  # fmt: skip
    coco_dir = os.path.join(work, "coco")
    bpy.ops.blendmimic3d.export_coco(directory=data_dir, out=coco_dir)
    image = draw_image(os.path.join(coco_dir, "S1.json"), data_dir, out, zoom=2)
    with open(os.path.join(coco_dir, "S1.json")) as handle:
        content = json.load(handle)
    shell.unregister()
    return image, content


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="COCO.json DATASET_ROOT OUT.png, or WORK OUT.png")
    parser.add_argument("--image-id", type=int)
    parser.add_argument("--zoom", type=int, default=1)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    if args.demo:
        image, content = demo(*args.paths)
        anns = [a for a in content["annotations"] if a["image_id"] == image["id"]]
        for a in anns:
            v = np.array(a["keypoints"]).reshape(17, 3)[:, 2]
            print(f"{image['file_name']}: {a['person_name']}: bbox {a['bbox']}, area {a['area']}, "
                  f"v=2 {int((v == 2).sum())}, v=1 {int((v == 1).sum())}, "
                  f"v=0 {int((v == 0).sum())}, types {a['occlusion_types']}")  # fmt: skip
    else:
        draw_image(*args.paths, image_id=args.image_id, zoom=args.zoom)


if __name__ == "__main__":
    main()
