"""COCO keypoint files from a dataset, checked as their users check them: pycocotools loads
them and evaluates the ground truth against itself; the masks' RLE is pycocotools' own."""

import json
import os

import numpy as np
import pytest
from coco_eval import self_evaluation_ap
from test_validate import ACTIONS, make_dataset

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.format import coco, coco_dataset, png16
from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.geometry import camera as cam
from blendmimic3d_addon.core.occlusion.labels import OcclusionType as T

pycocotools = pytest.importorskip("pycocotools", reason="pycocotools is a test dependency")
from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402

FRAME_SIZE = (100, 90)  # the frames, smaller than the 1000 x 1002 cameras (Resolution %)


def test_visibility_of_each_code():
    codes = [T.VISIBLE, T.SELF, T.OTHER_PERSON, T.OBJECT, T.OUT_OF_FRAME, T.BEHIND_CAMERA, -1]
    assert coco.visibility(codes).tolist() == [2, 1, 1, 1, 0, 0, 0]
    flat, labelled = coco.keypoint_triplets([[5, 6], [7, 8], [9, 10]], [0, 1, 4])
    assert flat == [5, 6, 2, 7, 8, 1, 0, 0, 0] and labelled == 2


@pytest.mark.parametrize("seed", range(6))
def test_rle_is_pycocotools_own(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 40, size=2))
    mask = rng.random(shape) < [0.0, 0.05, 0.5, 0.95, 1.0, 0.3][seed]
    if seed == 5:  # long runs: differences beyond one 5-bit group, negative ones too
        mask = np.zeros((300, 200), bool)
        mask[40:250, 10:190] = True
        mask[100:120, 50:55] = False
    ours = coco.rle_encode(mask)
    theirs = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["counts"] == theirs["counts"].decode()
    assert ours["size"] == list(theirs["size"])
    np.testing.assert_array_equal(mask_utils.decode({**ours, "counts": ours["counts"].encode()}),
                                  mask)  # fmt: skip


def test_png16_round_trip_and_foreign_filters(tmp_path):
    image = np.arange(7 * 5, dtype=np.uint16).reshape(7, 5) * 1871
    png16.write(tmp_path / "a.png", image)
    np.testing.assert_array_equal(png16.read(tmp_path / "a.png"), image)
    assert png16.image_size(tmp_path / "a.png") == (5, 7)
    with pytest.raises(DatasetError, match="not a PNG"):
        png16.decode(b"GIF89a....")


def _add_images(root, subject, masks=True):
    """Frames (blank) and instance masks (a disc around each person's visible joints, nearest
    person drawn last) at FRAME_SIZE."""
    subject_dir = os.path.join(root, subject)
    cameras = dio.read_cameras(subject_dir)
    width, height = FRAME_SIZE
    scale = np.divide(FRAME_SIZE, cameras.res[0])
    yy, xx = np.mgrid[:height, :width]
    for action in dio.action_names(subject_dir):
        names, world, uv, types = coco_dataset.people_arrays(subject_dir, action)
        for c in range(len(cameras.names)):
            depth = cam.camera_depth(world, cameras.RT[c])[0]
            for k in range(world.shape[1]):
                png16.write(coco_dataset.image_path(subject_dir, "Frames", action, c, k),
                            np.zeros((height, width), np.uint16))  # fmt: skip
                if not masks:
                    continue
                ids = np.zeros((height, width), np.uint16)
                for p in np.argsort(-depth[:, k].mean(axis=1)):
                    seen = uv[c][p, k][types[c][p, k] == T.VISIBLE] * scale
                    for x, y in seen:
                        ids[(xx - x) ** 2 + (yy - y) ** 2 < 4] = p + 1
                png16.write(coco_dataset.image_path(subject_dir, "Masks", action, c, k), ids)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("coco") / "data")
    make_dataset(root, subjects=("S1", "S2"))
    _add_images(root, "S1")
    _add_images(root, "S2", masks=False)
    return root


@pytest.fixture(scope="module")
def converted(dataset, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("out") / "coco")
    layouts = ("coco", "h36m", "blendmimic3d")
    return coco_dataset.convert(dataset, out, layouts=layouts), out


def test_every_file_loads_and_self_evaluation_is_perfect(converted):
    paths, _ = converted
    assert [os.path.basename(p) for p in paths] == ["S1.json", "S2.json"]
    for path in paths:
        gt = COCO(path)
        assert len(gt.getImgIds()) == 4 * sum(ACTIONS.values())
        for category in gt.getCatIds():
            assert self_evaluation_ap(gt, category) == pytest.approx(1.0)


def test_segmentation_evaluates_and_boxes_cover_the_masks(converted, dataset):
    paths, _ = converted
    gt = COCO(paths[0])
    anns = gt.loadAnns(gt.getAnnIds(catIds=[1]))
    assert anns and all("segmentation" in a for a in anns)
    assert self_evaluation_ap(gt, 1, "segm") == pytest.approx(1.0)
    for a in anns[:50]:
        mask = gt.annToMask(a).astype(bool)
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        assert a["bbox"] == [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]
        assert a["area"] == mask.sum()


def test_keypoints_are_the_projected_3d(converted, dataset):
    """2D = K · keypoints_xyz to 1e-3 px (scaled to the frames); v follows the typed code."""
    paths, _ = converted
    gt = COCO(paths[1])
    cameras = dio.read_cameras(os.path.join(dataset, "S2"))
    checked = 0
    for a in gt.loadAnns(gt.getAnnIds(catIds=[2, 3])):
        image = gt.loadImgs(a["image_id"])[0]
        xyz = np.array(a["keypoints_xyz"]).reshape(17, 3)
        kp = np.array(a["keypoints"]).reshape(17, 3)
        uv = cam.camera_to_pixel(xyz[None], cameras.K[image["camera"]])[0]
        uv *= np.divide(FRAME_SIZE, cameras.res[image["camera"]])
        v = kp[:, 2]
        np.testing.assert_allclose(kp[v > 0, :2], uv[v > 0], atol=1e-3)
        assert (kp[v == 0, :2] == 0).all()
        assert v.tolist() == coco.visibility(a["occlusion_types"]).tolist()
        checked += 1
    assert checked > 100


def test_ids_are_deterministic_and_persons_tracked(converted, dataset, tmp_path):
    paths, _ = converted
    again = coco_dataset.convert(dataset, str(tmp_path / "again"),
                                 layouts=("coco", "h36m", "blendmimic3d"))  # fmt: skip
    for first, second in zip(paths, again, strict=True):
        with open(first) as a, open(second) as b:
            assert json.load(a) == json.load(b)
    with open(paths[0]) as handle:
        content = json.load(handle)
    assert {a["track_id"] for a in content["annotations"]} == {0, 1}
    assert {a["person_name"] for a in content["annotations"]} == {"Person0", "Person1"}
    assert len({a["id"] for a in content["annotations"]}) == len(content["annotations"])


def test_split_by_camera_every_nth_and_camera_subset(dataset, tmp_path):
    paths = coco_dataset.convert(dataset, str(tmp_path / "o"), every=5, cameras=[1, 3],
                                 split="camera")  # fmt: skip
    assert [os.path.basename(p) for p in paths] == [
        "S1_cam1.json", "S1_cam3.json", "S2_cam1.json", "S2_cam3.json"]  # fmt: skip
    gt = COCO(paths[0])
    frames = {img["frame_index"] for img in gt.dataset["images"]}
    assert frames and all(k % 5 == 0 for k in frames)
    assert {img["camera"] for img in gt.dataset["images"]} == {1}


def _listing(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, files in os.walk(folder) for f in files)  # fmt: skip


@pytest.mark.parametrize(
    "change, message",
    [
        ("no_frames", "frame image missing: render the frames first"),
        ("camera", "no camera 9: the subject has cameras 0..3"),
        ("exists", "already exists; choose a new output folder"),
        # No person: a take of 0 frames, refused by the reader before anything is made.
        ("no_person", "0 frames; an action has at least one"),
        ("every", "give a whole number of frames"),
        ("extra_frame", "more frames than the take's 25: they are of another export"),
        ("missing_frame", "frame image missing: render the frames first"),
    ],
)
def test_bad_input_one_message_nothing_written(tmp_path, change, message):
    root = str(tmp_path / "data")
    make_dataset(root, subjects=("S1",))
    out = tmp_path / "out"
    kwargs = {}
    if change != "no_frames":
        _add_images(root, "S1", masks=False)
    if change == "camera":
        kwargs["cameras"] = [0, 9]
    if change == "exists":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    if change == "every":
        kwargs["every"] = 0
    if change == "extra_frame":  # Talk has 25 frames
        png16.write(coco_dataset.image_path(os.path.join(root, "S1"), "Frames", "Talk", 2, 25),
                    np.zeros((2, 2), np.uint16))  # fmt: skip
    if change == "missing_frame":
        os.remove(coco_dataset.image_path(os.path.join(root, "S1"), "Frames", "Walk", 1, 17))
    if change == "no_person":
        action = dio.action_names(os.path.join(root, "S1"))[0]
        os.remove(dio.persons_path(os.path.join(root, "S1"), action))
        dio.write_positions_3d(os.path.join(root, "S1"), action, np.zeros((0, 17, 3)))
    before = _listing(tmp_path)
    with pytest.raises(DatasetError, match=message):
        coco_dataset.convert(root, str(out), **kwargs)
    assert _listing(tmp_path) == before


def test_only_persons_with_pixels_are_annotated(converted, dataset):
    """Fully hidden or outside the image: no mask pixel, no annotation."""
    paths, _ = converted
    gt = COCO(paths[0])
    root = os.path.dirname(os.path.normpath(os.path.join(dataset, "S1")))
    skipped = 0
    for image in gt.dataset["images"]:
        anns = gt.loadAnns(gt.getAnnIds(imgIds=[image["id"]], catIds=[1]))
        masks = os.path.join(root, image["file_name"].replace("/Frames/", "/Masks/"))
        present = set(np.unique(png16.read(masks)).tolist()) - {0}
        assert {a["track_id"] + 1 for a in anns} == present
        skipped += 2 - len(present)
    assert skipped > 0  # some frames do have a person without pixels


def test_validate_checks_face_points(tmp_path):
    from blendmimic3d_addon.core.validate.dataset import validate_dataset

    root = str(tmp_path / "data")
    make_dataset(root, subjects=("S1",))
    subject_dir = os.path.join(root, "S1")
    cameras = dio.read_cameras(subject_dir)
    names, world, uv, types = coco_dataset.people_arrays(subject_dir, "Walk")
    face_world = world[:, :, 8:13]  # any five points: the checks are geometric
    face_uv = cam.project(face_world, cameras.P)
    depth = cam.camera_depth(face_world, cameras.RT)
    inside = cam.in_image(face_uv, 1000, 1002)
    codes = np.where(depth <= 0, T.BEHIND_CAMERA, np.where(inside, T.VISIBLE, T.OUT_OF_FRAME))
    coco_dataset.write_face_points(subject_dir, "Walk", face_world, list(face_uv), list(codes))
    assert validate_dataset(root).problems == []
    face_uv[2, 1, 3, 4] += [0.5, 0.0]  # camera 2, person 1, frame 3, right ear
    coco_dataset.write_face_points(subject_dir, "Walk", face_world, list(face_uv), list(codes))
    problems = validate_dataset(root).problems
    assert len(problems) == 1 and "face_points.npz: Cam_2: 2D differs" in problems[0]
    assert "frame 3, joint 9" in problems[0]  # person 1's fifth point


def test_camera_indices_from_text_and_one_line_for_bad_text(tmp_path, capsys):
    from blendmimic3d_addon import cli

    assert coco_dataset.camera_indices("0, 2,") == [0, 2]
    with pytest.raises(DatasetError, match=r"'0,x': give camera indices such as 0,2"):
        coco_dataset.camera_indices("0,x")
    out = tmp_path / "never"
    assert cli.main(["to-coco", str(tmp_path), str(out), "--cameras", "0,x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --cameras: '0,x': give camera indices") and not out.exists()
