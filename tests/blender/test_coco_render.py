"""COCO from a rendered export, in real Blender: a person behind a crate that hides its legs,
a second person beside it; frames, masks and depth from one Cycles render (64 px, 1 sample);
the operators, the command line and pycocotools read it all."""

import json
import math
import os

import numpy as np
import pytest
from test_export import add_occluder, add_person

pytest.importorskip("pycocotools", reason="pycocotools is a test dependency")
SIZE = 96


def _scene():
    import bpy
    from mathutils import Vector

    from blendmimic3d_addon.blender import scene_model

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    add_person(0, (0.0, 0.0, 0.0), actions=("Wave",))
    add_person(1, (1.0, 0.6, 0.0), actions=("Wave",))
    # A crate in front of person 0's legs only: from the camera it hides everything below ~0.64 m.
    add_occluder(location=(-0.1, -1.0, 0.35), size=0.7)
    scene.render.resolution_x = scene.render.resolution_y = SIZE
    scene.render.resolution_percentage = 100
    data = bpy.data.cameras.new("Camera_0")
    data.lens = 30
    camera = bpy.data.objects.new("Camera_0", data)
    scene.collection.objects.link(camera)
    camera.location = (0.3, -4.5, 1.0)
    camera.rotation_euler = (
        (Vector((0.3, 0.0, 1.0)) - camera.location).to_track_quat("-Z", "Y").to_euler()
    )
    scene_model.set_role(camera, scene_model.CAMERA, **{scene_model.CAMERA_INDEX: 0})
    scene.camera = camera
    world = bpy.data.worlds.new("World")
    world.color = (0.2, 0.2, 0.2)
    scene.world = world
    scene.frame_set(1)
    return scene


@pytest.fixture(scope="module")
def rendered(addon, tmp_path_factory):
    """The exported, rendered and converted scene: (dataset root, subject folder, COCO file)."""
    import bpy

    root = tmp_path_factory.mktemp("coco_render")
    _scene()
    bpy.ops.blendmimic3d.export_dataset(directory=str(root / "data"), subject="S1")
    subject = str(root / "data" / "S1")
    result = bpy.ops.blendmimic3d.render_frames(
        directory=subject, preset="REALISTIC", samples=1, masks=True, depth=True
    )
    assert result == {"FINISHED"}
    out = root / "coco"
    result = bpy.ops.blendmimic3d.export_coco(
        directory=str(root / "data"), out=str(out), layouts={"coco", "h36m"}
    )
    assert result == {"FINISHED"}
    return str(root / "data"), subject, str(out / "S1.json")


def _annotations(path, category=1):
    from pycocotools.coco import COCO

    gt = COCO(path)
    return gt, gt.loadAnns(gt.getAnnIds(catIds=[category]))


def test_images_masks_and_depth_line_up(rendered):
    from blendmimic3d_addon.core.format import coco_dataset, png16

    root, subject, path = rendered
    gt, anns = _annotations(path)
    assert len(gt.dataset["images"]) == 10  # Wave: 10 frames, one camera
    image = gt.dataset["images"][0]
    assert image["file_name"] == "S1/Frames/Wave_0/000000.png"
    assert png16.image_size(os.path.join(root, image["file_name"])) == (SIZE, SIZE)
    ids = png16.read(coco_dataset.image_path(subject, "Masks", "Wave", 0, 0))
    depth = png16.read(coco_dataset.image_path(subject, "Depth", "Wave", 0, 0))
    assert set(np.unique(ids)) == {0, 1, 2}
    assert (depth[ids > 0] > 0).all()
    checked = 0
    for ann in (a for a in anns if a["image_id"] == image["id"]):
        points = np.array(ann["keypoints"]).reshape(17, 3)
        xyz = np.array(ann["keypoints_xyz"]).reshape(17, 3)
        for (x, y, v), (_, _, z) in zip(points, xyz, strict=True):
            if v == 2:  # a visible keypoint lies on its person's pixels, at its depth
                window = (slice(int(y) - 1, int(y) + 2), slice(int(x) - 1, int(x) + 2))
                assert (ids[window] == ann["track_id"] + 1).any()
                near = depth[window][ids[window] == ann["track_id"] + 1] / 1000.0
                assert np.abs(near - z).min() < 0.15
                checked += 1
    assert checked >= 15


def test_crate_hides_the_legs_and_the_box_covers_only_the_visible_body(rendered):
    from blendmimic3d_addon.core.format import coco
    from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

    _, _, path = rendered
    gt, anns = _annotations(path)
    hidden_legs = [coco.COCO_KEYPOINTS.index(n) for n in
                   ("left_knee", "right_knee", "left_ankle", "right_ankle")]  # fmt: skip
    upper = [coco.COCO_KEYPOINTS.index(n) for n in ("left_shoulder", "right_shoulder", "nose")]
    behind = [a for a in anns if a["track_id"] == 0]
    assert len(behind) == 10
    for ann in behind:
        points = np.array(ann["keypoints"]).reshape(17, 3)
        assert points[hidden_legs, 2].tolist() == [1, 1, 1, 1]
        assert [ann["occlusion_types"][i] for i in hidden_legs] == [T.OBJECT] * 4
        assert (points[upper, 2] == 2).all()
        x, y, w, h = ann["bbox"]
        # The box ends above the hidden knees: only the visible body, as the mask says.
        assert y + h < points[hidden_legs, 1].min()
        mask = gt.annToMask(ann)
        assert mask.sum() == ann["area"] and mask[:, : int(x)].sum() == 0
        assert ann["num_keypoints"] == int((points[:, 2] > 0).sum())
    free = [a for a in anns if a["track_id"] == 1]
    assert free and all(np.array(a["keypoints"]).reshape(17, 3)[11:, 2].min() == 2 for a in free)


def test_keypoints_are_the_projected_3d_and_ap_is_one(rendered):
    from coco_eval import self_evaluation_ap

    from blendmimic3d_addon.core.format import dataset_io as dio

    root, subject, path = rendered
    gt, anns = _annotations(path)
    K = dio.read_cameras(subject).K[0]
    for ann in anns:
        points = np.array(ann["keypoints"]).reshape(17, 3)
        xyz = np.array(ann["keypoints_xyz"]).reshape(17, 3)
        uv = (xyz @ K.T)[:, :2] / (xyz @ K.T)[:, 2:]
        seen = points[:, 2] > 0
        np.testing.assert_allclose(points[seen, :2], uv[seen], atol=1e-3)
    for category in (1, 2):
        assert self_evaluation_ap(gt, category) == pytest.approx(1.0)


def test_command_line_writes_the_same_files(rendered, tmp_path):
    from conftest import run_module

    root, _, path = rendered
    done = run_module("to-coco", root, tmp_path / "cli", "--layouts", "coco,h36m")
    assert done.returncode == 0, done.stderr
    with open(path) as a, open(tmp_path / "cli" / "S1.json") as b:
        assert json.load(a) == json.load(b)
    again = run_module("to-coco", root, tmp_path / "cli")
    assert again.returncode == 1  # bad input: exit 1 (issue 11)
    assert "already exists; choose a new output folder" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize("depth_format", ["PNG", "EXR"])
def test_depth_is_along_the_camera_axis(addon, tmp_path, depth_format):
    """A wall square to the camera at 3 m reads 3000 mm (3.0 m in EXR) in every pixel, corners
    included."""
    import bpy

    from blendmimic3d_addon.core.format import coco_dataset, exr_channels, png16

    _scene()
    for name in ("Crate", "Person1", "Body1"):
        bpy.data.objects.remove(bpy.data.objects[name])
    bpy.ops.blendmimic3d.export_dataset(directory=str(tmp_path), subject="S1")
    camera = bpy.data.objects["Camera_0"]
    bpy.ops.mesh.primitive_plane_add(size=20)
    wall = bpy.context.object
    wall.matrix_world = camera.matrix_world
    wall.location = camera.matrix_world @ __import__("mathutils").Vector((0, 0, -3.0))
    result = bpy.ops.blendmimic3d.render_frames(directory=str(tmp_path / "S1"), preset="REALISTIC",
                                                samples=1, masks=False, depth=True,
                                                depth_format=depth_format)  # fmt: skip
    assert result == {"FINISHED"}
    ext = depth_format.lower()
    path = coco_dataset.image_path(str(tmp_path / "S1"), "Depth", "Wave", 0, 0, ext)
    if ext == "png":
        depth = png16.read(path).astype(np.float64)
    else:
        depth = exr_channels.read_channels(path)["Z"] * 1000.0
    body = depth < 2990  # the person stands in front of the wall
    assert abs(np.median(depth[~body]) - 3000) <= 1
    assert abs(depth[0, 0] - 3000) <= 1 and abs(depth[-1, -1] - 3000) <= 1
    assert math.isclose(depth[~body].mean(), 3000, abs_tol=1)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"preset": "PREVIEW", "masks": True}, "masks and depth come from Cycles' passes"),
        ({"directory": "/nonexistent/S1"}, "folder does not exist; export the dataset first"),
    ],
)
def test_render_frames_refuses_bad_settings(addon, tmp_path, settings, message):
    import bpy

    _scene()
    bpy.ops.blendmimic3d.export_dataset(directory=str(tmp_path), subject="S1")
    before = sorted(os.listdir(tmp_path / "S1"))
    kwargs = {"directory": str(tmp_path / "S1"), "preset": "REALISTIC", "samples": 1, **settings}
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.blendmimic3d.render_frames(**kwargs)
    assert sorted(os.listdir(tmp_path / "S1")) == before


def test_export_coco_refuses_a_dataset_without_frames(addon, tmp_path):
    import bpy

    _scene()
    bpy.ops.blendmimic3d.export_dataset(directory=str(tmp_path / "data"), subject="S1")
    with pytest.raises(RuntimeError, match="frame image missing: render the frames first"):
        bpy.ops.blendmimic3d.export_coco(directory=str(tmp_path / "data"), out=str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()
