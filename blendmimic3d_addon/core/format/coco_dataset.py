"""An exported dataset as COCO keypoint files (``to-coco DATASET OUT``); the image-pass paths
and the ``FacePoints/`` addition the conversion reads.

Image files, per subject, camera i and action A, frame k counted from 0 within the take:
``Frames/<A>_<i>/<k:06d>.png`` (the rendered frames), ``Masks/<A>_<i>/<k:06d>.png`` (16-bit
instance ids: 0 background, person p -> p + 1) and ``Depth/<A>_<i>/<k:06d>.png`` (16-bit
millimetres along the camera axis, 0 = nothing). COCO ``file_name``s are relative to the
dataset root. Everything is checked before anything is written, and the output folder is
written through ``staged_dir``: an error leaves nothing behind.
"""

import json
import os

import numpy as np

from .. import __version__
from ..errors import DatasetError
from ..geometry import camera as cam
from ..joints import convert_joint_order
from ..occlusion.labels import LABEL_DTYPE, invalid_codes
from ..occlusion.qa_overlay import types_from_legacy
from . import coco, dataset_io, manifest, png16
from .atomic import staged_dir
from .safe_npz import read_npz, write_npz

FRAMES, MASKS, DEPTH, FACE_POINTS = "Frames", "Masks", "Depth", "FacePoints"
# Stands for a face point a dataset has no data on (published data, sharded exports): v = 0.
UNKNOWN = -1
_NO_FRAMES = "frame image missing: render the frames first (Export: COCO Keypoints: Render Frames)"


def camera_indices(text: str, field: str = "cameras") -> list[int]:
    """Comma-separated camera indices ("0,2") as ints; a DatasetError naming ``field`` if not."""
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise DatasetError(None, field, f"{text!r}: give camera indices such as 0,2") from None


def take_folder(action, camera):
    return f"{action}_{int(camera)}"


def image_path(subject_dir, kind, action, camera, k, ext="png"):
    """``<subject>/<kind>/<A>_<i>/<k:06d>.<ext>``, kind one of Frames, Masks, Depth."""
    return os.path.join(subject_dir, kind, take_folder(action, camera), f"{int(k):06d}.{ext}")


def face_points_path(subject_dir, action):
    return os.path.join(subject_dir, FACE_POINTS, action, "face_points.npz")


def write_face_points(subject_dir, action, positions_3d, uv_by_cam, types_by_cam):
    """Addition: ``FacePoints/<A>/face_points.npz``: ``positions_3d`` (P,N,5,3) world metres,
    and per camera i ``Cam_i_2d`` (P,N,5,2) pixels and ``Cam_i_types`` (P,N,5) codes."""
    arrays = {"positions_3d": dataset_io.as_array(positions_3d, np.float64, (None, None, 5, 3),
                                                  "positions_3d")}  # fmt: skip
    for index, (uv, types) in enumerate(zip(uv_by_cam, types_by_cam, strict=True)):
        key = dataset_io.cam_key(index)
        arrays[f"{key}_2d"] = dataset_io.as_array(uv, np.float64, (None, None, 5, 2), "2d")
        arrays[f"{key}_types"] = dataset_io.as_array(types, LABEL_DTYPE, (None, None, 5), "types")
    write_npz(face_points_path(subject_dir, action), arrays, compressed=True)


def read_face_points(subject_dir, action, persons, frames, cameras):
    """(positions_3d (P,N,5,3), [uv (P,N,5,2)], [types (P,N,5)]), or None without the file."""
    path = face_points_path(subject_dir, action)
    if not os.path.isfile(path):
        return None
    arrays = read_npz(path)
    shape = (persons, frames, 5)
    world = dataset_io.check_array(path, "positions_3d", arrays.get("positions_3d"), (*shape, 3))
    uv, types = [], []
    for index in range(cameras):
        key = dataset_io.cam_key(index)
        dataset_io.require_keys(path, arrays, (f"{key}_2d", f"{key}_types"))
        uv.append(dataset_io.check_array(path, f"{key}_2d", arrays[f"{key}_2d"], (*shape, 2)))
        codes = dataset_io.check_array(path, f"{key}_types", arrays[f"{key}_types"], shape, "iu")
        if invalid_codes(codes).any():
            raise DatasetError(path, f"{key}_types", "values outside the OcclusionType codes 0-5")
        types.append(codes)
    return world, uv, types


def people_arrays(subject_dir, action):
    """(names, positions_3d (P,N,17,3), [uv (P,N,17,2)], [types (P,N,17)]) of every person of
    a take: ``Persons/`` for multi-person takes, else the primary's legacy files."""
    if os.path.isfile(dataset_io.persons_path(subject_dir, action)):
        p = dataset_io.read_persons(subject_dir, action)
        return p.names, p.positions_3d, p.positions_2d_by_cam, p.types_by_cam
    world = dataset_io.read_positions_3d(subject_dir, action)
    if not len(world):
        raise DatasetError(dataset_io.positions_3d_path(subject_dir, action), "positions_3d",
                           "no person in this take (no frame)")  # fmt: skip
    cameras = dataset_io.read_cameras(subject_dir)
    if os.path.isfile(dataset_io.positions_2d_path(subject_dir, action)):
        uv = [np.asarray(a) for a in dataset_io.read_positions_2d(subject_dir, action)]
    else:
        uv = list(cam.project(world, cameras.P))
    if os.path.isfile(dataset_io.occlusion_types_path(subject_dir, action)):
        types = dataset_io.read_occlusion_types(subject_dir, action)
    else:  # published data: visible or not, without a reason
        types = [types_from_legacy(a) for a in dataset_io.read_occlusions(subject_dir, action)]
    return ["person0"], world[None], [a[None] for a in uv], [np.asarray(t)[None] for t in types]


def _person_names(root, subject, action, fallback):
    content = manifest.read_manifest(root) if root else None
    try:
        entry = content["subjects"][subject]["actions"][action]
        return [str(p.get("name", f"person{i}")) for i, p in enumerate(entry["persons"])]
    except (TypeError, KeyError):
        return list(fallback)


class _Take:
    """One action of a subject, checked: people arrays, face points, image files."""

    def __init__(self, root, subject_dir, action, camera_indices, every):
        subject = os.path.basename(subject_dir)
        names, world, uv, types = people_arrays(subject_dir, action)
        if not len(names) or not world.shape[1]:
            raise DatasetError(os.path.join(subject_dir, "D3_Positions", action), None,
                               "no person in this take")  # fmt: skip
        self.action, self.world, self.uv, self.types = action, world, uv, types
        self.names = _person_names(root, subject, action, names)
        if len(self.names) != len(names):
            self.names = list(names)
        persons, frames = world.shape[:2]
        self.face = read_face_points(subject_dir, action, persons, frames, len(uv))
        self.ks = list(range(0, frames, every))
        self.masks = {}
        self.sizes = {}
        needed = sorted({*self.ks, frames - 1})  # the kept frames, and the take's last
        for c in camera_indices:
            for k in needed:
                if not os.path.isfile(image_path(subject_dir, FRAMES, action, c, k)):
                    raise DatasetError(image_path(subject_dir, FRAMES, action, c, k), None,
                                       _NO_FRAMES)  # fmt: skip
            beyond = image_path(subject_dir, FRAMES, action, c, frames)
            if os.path.exists(beyond):
                reason = f"more frames than the take's {frames}: they are of another export"
                raise DatasetError(beyond, None, reason + "; render the frames again")
            self.sizes[c] = png16.image_size(image_path(subject_dir, FRAMES, action, c, 0))
            mask_dir = os.path.dirname(image_path(subject_dir, MASKS, action, c, 0))
            self.masks[c] = os.path.isdir(mask_dir)
            if self.masks[c]:
                for k in needed:
                    _require_mask(image_path(subject_dir, MASKS, action, c, k))

    def points(self, layout, camera, k):
        """(uv (P,K,2), types (P,K), world (P,K,3)) of every person in one frame and camera."""
        uv, types, world = self.uv[camera][:, k], self.types[camera][:, k], self.world[:, k]
        if layout == "coco":
            if self.face is None:
                persons = len(world)
                face_world = np.zeros((persons, 5, 3))
                face_uv = np.zeros((persons, 5, 2))
                face_types = np.full((persons, 5), UNKNOWN)
            else:
                face_world = self.face[0][:, k]
                face_uv, face_types = self.face[1][camera][:, k], self.face[2][camera][:, k]
            codes = coco.coco17(types[..., None], face_types[..., None])[..., 0]
            return coco.coco17(uv, face_uv), codes, coco.coco17(world, face_world)
        if layout == "h36m":
            conv = lambda a: convert_joint_order(a, "blendmimic3d", "h36m")  # noqa: E731
            return conv(uv), conv(types[..., None])[..., 0], conv(world)
        return uv, types, world


def _check_cameras(cameras, wanted, subject_dir):
    count = len(cameras.names)
    if wanted is None:
        return list(range(count))
    bad = [c for c in wanted if not 0 <= c < count]
    if bad or not wanted:
        raise DatasetError(subject_dir, "cameras", f"no camera {bad[0] if bad else '(none)'}: "
                           f"the subject has cameras 0..{count - 1}")  # fmt: skip
    return sorted(set(wanted))


def convert(folder, out, every=1, cameras=None, layouts=("coco",), split="subject",
            overwrite=False):  # fmt: skip
    """Write the COCO files of every subject of ``folder`` into ``out``; returns their paths.

    split "subject": ``<S>.json`` per subject; "camera": ``<S>_cam<i>.json`` per subject and
    camera. ``every``: keep frames 0, N, 2N, ... of each take. Raises DatasetError, writing
    nothing, on any problem.
    """
    if not isinstance(every, int) or every < 1:
        raise DatasetError(None, "--every", f"{every!r}: give a whole number of frames, 1 or more")
    unknown = [layout for layout in layouts if layout not in coco.LAYOUTS]
    if unknown or not layouts:
        raise DatasetError(None, "layouts", f"{unknown}: choose from {', '.join(coco.LAYOUTS)}")
    if split not in ("subject", "camera"):
        raise DatasetError(None, "split", f"{split!r}: subject or camera")
    out = os.path.abspath(out)
    if os.path.exists(out) and not overwrite:
        raise DatasetError(out, None, "already exists; choose a new output folder")
    subject_dirs = dataset_io.subject_dirs(folder)
    root = os.path.dirname(os.path.normpath(subject_dirs[0]))
    files = {}
    for subject_dir in subject_dirs:  # everything is read and checked before writing
        files.update(_subject_files(root, subject_dir, every, cameras, layouts, split))
    written = []
    with staged_dir(out, overwrite=overwrite) as stage:
        for name, content in files.items():
            with open(os.path.join(stage, name), "w", encoding="utf-8") as handle:
                json.dump(content, handle, allow_nan=False)
            written.append(os.path.join(out, name))
    return written


def _subject_files(root, subject_dir, every, wanted, layouts, split):
    subject = os.path.basename(os.path.normpath(subject_dir))
    cameras = dataset_io.read_cameras(subject_dir)
    indices = _check_cameras(cameras, wanted, subject_dir)
    actions = dataset_io.action_names(subject_dir)
    if not actions:
        raise DatasetError(os.path.join(subject_dir, "D3_Positions"), None, "no action")
    takes = [_Take(root, subject_dir, action, indices, every) for action in actions]
    content = manifest.read_manifest(root) or {}
    info = {
        "description": f"BlendMimic3D subject {subject}",
        "version": content.get("format_version", "1.0"),
        "contributor": f"BlendMimic3D Studio {__version__}",
        "fps": content.get("fps"),
        "image_root": "the dataset root (file_name is relative to it)",
    }
    groups = {c: [] for c in indices} if split == "camera" else {None: []}
    image_id = ann_id = 0
    for take in takes:
        for c in indices:
            width, height = take.sizes[c]
            res_w, res_h = cameras.res[c]
            scale = np.array([width / res_w, height / res_h])
            for k in take.ks:
                image_id += 1
                image = {
                    "id": image_id,
                    "file_name": os.path.relpath(image_path(subject_dir, FRAMES, take.action, c, k),
                                                 root).replace(os.sep, "/"),
                    "width": int(width), "height": int(height),
                    "subject": subject, "action": take.action, "camera": c, "frame_index": k,
                }  # fmt: skip
                masks = _masks(subject_dir, take, c, k, (width, height))
                annotations = []
                for layout in layouts:
                    uv, types, world = take.points(layout, c, k)
                    xyz = cam.world_to_camera(world, cameras.RT[c])[0]
                    for p, name in enumerate(take.names):
                        ann = coco.person_annotation(
                            ann_id + 1, image_id, layout, {"track_id": p, "name": name},
                            uv[p] * scale, types[p], xyz[p],
                            None if masks is None else masks == p + 1, (width, height),
                        )  # fmt: skip
                        if ann is not None:
                            ann_id += 1
                            annotations.append(ann)
                group = groups[c if split == "camera" else None]
                group.append((image, annotations))
    files = {}
    for c, entries in groups.items():
        name = f"{subject}.json" if c is None else f"{subject}_cam{c}.json"
        files[name] = {
            "info": info,
            "licenses": [],
            "images": [image for image, _ in entries],
            "annotations": [a for _, anns in entries for a in anns],
            "categories": coco.categories(layouts),
        }
    return files


def _masks(subject_dir, take, camera, k, size):
    if not take.masks[camera]:
        return None
    path = image_path(subject_dir, MASKS, take.action, camera, k)
    _require_mask(path)
    ids = png16.read(path)
    if ids.shape != (size[1], size[0]):
        raise DatasetError(path, None, f"mask is {ids.shape[1]}x{ids.shape[0]}, the frame "
                           f"{size[0]}x{size[1]}")  # fmt: skip
    return ids


def _require_mask(path):
    if not os.path.isfile(path):
        raise DatasetError(path, None, "instance mask missing (render the masks again)")
