"""The checks ``validate`` runs on one action of a subject (3D, 2D, labels and the additions)."""

import os
from collections.abc import Collection

import numpy as np

from ..errors import DatasetError
from ..format import coco_dataset
from ..format import dataset_io as dio
from ..format.camera_files import Cameras
from ..format.safe_npz import MAX_ARCHIVE_BYTES
from ..geometry import camera as cam
from ..occlusion.labels import OcclusionType, legacy_labels
from .report import Report


def validate_action(
    subject_dir: str,
    action: str,
    cameras: Cameras | None,
    report: Report,
    tolerance_px: float,
    required: Collection[str],
    listed: dict | None,
) -> int:
    """Check one action's files into ``report``; return its frame count (0 if 3D is unreadable).

    ``required``: which of the files the published data may lack must be there ("2d",
    "data3d", "types"): an export has them all.
    """
    _explain_files(subject_dir, action, report)
    declared = _declared_frames(listed, action)
    positions = _read(report, dio.read_positions_3d, subject_dir, action, _budget(declared, 1, 3))
    frames = len(positions) if positions is not None else None
    count = len(cameras) if cameras is not None else None
    per_camera = _budget(frames, count, 2)  # what 2D, labels and typed labels may inflate to

    data3d = dio.data3d_txt_path(subject_dir, action)
    if _present(data3d, "data3d" in required, report):
        text = _read(report, dio.read_data3d_txt, subject_dir, action)
        if text is not None and positions is not None:
            # '%.18e' text round-trips float64 exactly (the published files do): any other
            # difference is a change to one of the two files.
            if not np.array_equal(text, positions):
                report.add(data3d, None, "differs from positions_3d of the action's .npz")

    labels = _read(report, dio.read_occlusions, subject_dir, action, per_camera)
    _check_counts(dio.occlusions_path(subject_dir, action), labels, count, frames, report)

    path_2d = dio.positions_2d_path(subject_dir, action)
    uv = None
    if _present(path_2d, "2d" in required, report):
        uv = _read(report, dio.read_positions_2d, subject_dir, action, per_camera)
        if _check_counts(path_2d, uv, count, frames, report) and positions is not None:
            _check_projection(path_2d, np.stack(uv), positions, cameras, tolerance_px, report)

    path_types = dio.occlusion_types_path(subject_dir, action)
    types = None
    if _present(path_types, "types" in required, report):
        types = _read(report, dio.read_occlusion_types, subject_dir, action, per_camera)
        if _check_counts(path_types, types, count, frames, report):
            if labels is not None and len(labels) != len(types):
                report.add(path_types, None, f"{len(types)} cameras where occluded_kpt.npz has "
                           f"{len(labels)}")  # fmt: skip
            for index, (codes, legacy) in enumerate(zip(types, labels or (), strict=False)):
                if not np.array_equal(legacy_labels(codes), legacy):
                    report.add(path_types, dio.cam_key(index), "disagrees with occluded_kpt.npz")
            if positions is not None:
                _check_camera_codes(path_types, dio.cam_key, types, positions, cameras, report)

    persons = None
    if os.path.exists(dio.persons_path(subject_dir, action)):
        persons = _read(report, dio.read_persons, subject_dir, action)
        if persons is not None:
            _check_persons(subject_dir, action, persons, positions, uv, types, cameras, report)

    if os.path.exists(coco_dataset.face_points_path(subject_dir, action)) and frames:
        people = len(persons.names) if persons is not None else 1
        _check_face_points(subject_dir, action, people, frames, cameras, tolerance_px, report)

    if listed is not None and action in listed["actions"]:
        _check_manifest_entry(
            subject_dir, action, listed["actions"][action], frames, persons, report
        )
    return frames or 0


def _check_face_points(subject_dir, action, people, frames, cameras, tolerance_px, report):
    """FacePoints/: shapes, codes, 2D = projection of 3D, geometric codes (as for joints)."""
    if cameras is None:
        return
    path = coco_dataset.face_points_path(subject_dir, action)
    read = coco_dataset.read_face_points
    face = _read(report, read, subject_dir, action, people, frames, len(cameras))
    if face is None:
        return
    # Person-major (P,N,5) -> frame-major (N,P*5): the joint checks' layout.
    world = face[0].transpose(1, 0, 2, 3).reshape(frames, -1, 3)
    uv = np.stack([a.transpose(1, 0, 2, 3).reshape(frames, -1, 2) for a in face[1]])
    types = [a.transpose(1, 0, 2).reshape(frames, -1) for a in face[2]]
    _check_projection(path, uv, world, cameras, tolerance_px, report)
    _check_camera_codes(path, dio.cam_key, types, world, cameras, report)


def _declared_frames(listed, action):
    entry = listed["actions"].get(action) if listed is not None else None
    return entry["n_frames"] if entry is not None else None


def _budget(frames, copies, values):
    """Bytes a file of ``copies`` (N,17,values) float64 arrays may inflate to when N is known,
    checked before reading. Twice the need, so that a file a few frames off is still read and
    its count reported; a file far beyond it is refused unread."""
    if frames is None or copies is None:
        return MAX_ARCHIVE_BYTES
    need = copies * (max(frames, 0) + 16) * dio.N_JOINTS * values * 8 + 2**16
    return min(MAX_ARCHIVE_BYTES, 2 * need)


def _read(report, reader, *args):
    try:
        return reader(*args)
    except DatasetError as exc:
        report.add_error(exc)
        return None


def _present(path, required, report):
    if os.path.exists(path):
        return True
    if required:
        report.add(path, None, "required file is missing")
    return False


def _explain_files(subject_dir, action, report):
    known = {
        "D3_Positions": {f"{action}.npz", "data3D.txt"},
        "D2_Positions": {"2D_positions.npz"},
        "Occlusions": {"occluded_kpt.npz", "occlusion_types.npz"},
        "Persons": {"persons.npz"},
        "FacePoints": {"face_points.npz"},
    }
    for folder, names in known.items():
        report.explain(os.path.join(subject_dir, folder, action), names)


def _check_counts(path, per_camera, count, frames, report):
    """Camera count and frame count of a Cam_i file; True when both agree."""
    if per_camera is None:
        return False
    ok = True
    if count is not None and len(per_camera) != count:
        report.add(path, None, f"{len(per_camera)} cameras where the subject has {count}")
        ok = False
    if frames is not None:
        for index, array in enumerate(per_camera):
            if len(array) != frames:
                report.add(path, dio.cam_key(index), f"{len(array)} frames where 3D has {frames}")
                ok = False
    return ok


def _check_projection(path, uv, positions, cameras, tolerance_px, report):
    """Stored 2D (C,N,17,2) against the projection of 3D through P."""
    if cameras is None:
        return
    projected = cam.project(positions, cameras.P)
    gap = np.linalg.norm(uv - projected, axis=-1)
    limit = tolerance_px + 1e-7 * np.linalg.norm(projected, axis=-1)  # far points: relative
    for index in range(len(uv)):
        bad = gap[index] > limit[index]
        if bad.any():
            frame, joint = np.argwhere(bad)[0]
            where = f"{int(bad.sum())} points, first at frame {frame}, joint {joint}"
            reason = f"2D differs from the projection of 3D by up to {gap[index].max():.3g} px"
            report.add(path, dio.cam_key(index), f"{reason} ({where})")


def _check_camera_codes(path, field_of, codes_by_cam, points, cameras, report):
    """Typed codes against the camera geometry: ``behind_camera`` exactly where a joint lies
    behind the camera, ``out_of_frame`` exactly where it is in front but projects outside the
    image. Joints within 1e-3 px of the image border are left out (either code is fair)."""
    if cameras is None:
        return
    depth = cam.camera_depth(points, cameras.RT)
    uv = cam.project(points, cameras.P)
    for index, codes in enumerate(codes_by_cam):
        res_w, res_h = cameras.res[index]
        u, v = uv[index, ..., 0], uv[index, ..., 1]
        border = np.minimum(np.minimum(u, res_w - u), np.minimum(v, res_h - v))
        behind = depth[index] <= 0
        outside = ~behind & ~cam.in_image(uv[index], res_w, res_h)
        fair = behind | (np.abs(border) > 1e-3)
        wrong = fair & (((codes == OcclusionType.BEHIND_CAMERA) != behind)
                        | ((codes == OcclusionType.OUT_OF_FRAME) != outside))  # fmt: skip
        if wrong.any():
            first = np.argwhere(wrong)[0].tolist()
            report.add(path, field_of(index),
                       f"{int(wrong.sum())} out_of_frame/behind_camera codes disagree with the "
                       f"camera geometry (first at index {tuple(first)})")  # fmt: skip


def _check_persons(subject_dir, action, persons, positions, uv, types, cameras, report):
    path = dio.persons_path(subject_dir, action)
    count = len(cameras) if cameras is not None else None
    if len(persons.names) < 2:
        report.add(path, "names", "a persons file is written for multi-person takes only")
    if positions is not None:
        if persons.positions_3d.shape[1:] != positions.shape:
            report.add(path, "positions_3d", "frame count differs from the action's 3D")
        elif not np.array_equal(persons.positions_3d[0], positions):
            report.add(path, "positions_3d", "person 0 differs from the legacy positions_3d")
    if count is not None and len(persons.positions_2d_by_cam) != count:
        report.add(
            path, None, f"{len(persons.positions_2d_by_cam)} cameras where the subject has {count}"
        )
        return
    for index, person_uv in enumerate(persons.positions_2d_by_cam):
        if uv is not None and index < len(uv) and person_uv.shape[1:] == uv[index].shape:
            if not np.array_equal(person_uv[0], uv[index]):
                report.add(path, f"{dio.cam_key(index)}_2d", "person 0 differs from the legacy 2D")
    _check_camera_codes(path, lambda i: f"{dio.cam_key(i)}_types", persons.types_by_cam,
                        persons.positions_3d, cameras, report)  # fmt: skip
    for index, person_types in enumerate(persons.types_by_cam):
        if (
            types is not None
            and index < len(types)
            and person_types.shape[1:] == types[index].shape
        ):
            if not np.array_equal(person_types[0], types[index]):
                report.add(
                    path, f"{dio.cam_key(index)}_types", "person 0 differs from occlusion_types"
                )


def _check_manifest_entry(subject_dir, action, entry, frames, persons, report):
    path = os.path.join(os.path.dirname(os.path.normpath(subject_dir)), "dataset.json")
    field = f"subjects.{os.path.basename(os.path.normpath(subject_dir))}.actions.{action}"
    if frames is not None and entry["n_frames"] != frames:
        report.add(path, f"{field}.n_frames", f"{entry['n_frames']} where the files have {frames}")
    if entry["frame_end"] - entry["frame_start"] + 1 != entry["n_frames"]:
        report.add(path, field, "frame_start..frame_end does not span n_frames")
    people = len(persons.names) if persons is not None else 1
    if len(entry["persons"]) != people:
        report.add(
            path, f"{field}.persons", f"{len(entry['persons'])} where the files have {people}"
        )
