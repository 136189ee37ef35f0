"""``validate DIR``: check a BlendMimic3D dataset folder; list every problem with file and reason.

DIR is a dataset root (holding S1, S2, ... and, for exported data, dataset.json) or one subject
folder. Checks: required files present and readable; P = K RT; R a rotation; the stored
quaternion and translation match RT; CamView text = P; the intrinsic dicts match K; 2D = the
projection of 3D; frame and camera counts agree across files; labels are 0/1 and agree with the
typed codes; extra files are explained. Published (legacy) folders without dataset.json are
valid without 2D files and data3D.txt, which the published data carries for a few actions only.
"""

import os
import re

import numpy as np

from ..errors import DatasetError
from ..format import dataset_io as dio
from ..format.manifest import FORMAT_VERSION, MANIFEST_NAME, build_manifest, read_manifest
from ..format.paths import StrPath
from ..geometry import camera as cam
from .action import validate_action
from .report import TEMPORARY, Report

PROJECTION_TOLERANCE_PX = 1e-3  # published 2D matches the projection to 6e-5 px


def validate_dataset(folder: StrPath, tolerance_px: float = PROJECTION_TOLERANCE_PX) -> Report:
    folder = os.fspath(folder)
    report = Report()
    if not os.path.isdir(folder):
        report.add(folder, None, "not a folder")
        return report
    if _looks_like_subject(folder):
        _validate_subject(folder, report, None, tolerance_px)
        return report
    try:
        manifest = read_manifest(folder)
    except DatasetError as exc:
        report.add_error(exc)
        manifest = None
    if manifest:
        _check_format_constants(os.path.join(folder, MANIFEST_NAME), manifest, report)
    listed = manifest["subjects"] if manifest else {}
    subjects = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name == MANIFEST_NAME:
            continue
        if os.path.isdir(path) and _looks_like_subject(path):
            subjects.append(name)
        else:
            report.unexplained(path)
    if not subjects:
        report.add(folder, None, "no subject folder (with Cameras/, D3_Positions/) found")
    for name in subjects:
        if manifest and name not in listed:
            report.add(os.path.join(folder, MANIFEST_NAME), "subjects", f"does not list {name}")
        _validate_subject(os.path.join(folder, name), report, listed.get(name), tolerance_px,
                          required=_required_extras(manifest))  # fmt: skip
    for name in listed:
        if name not in subjects:
            report.add(os.path.join(folder, name), None, "listed in dataset.json but missing")
    return report


def _check_format_constants(path, manifest, report):
    """The manifest's fixed descriptions (units, axes, joint tree, code names) are what this
    format version defines, word for word: a change there is a changed file, not new data."""
    typed = manifest.get("occlusion_types") is not None
    defined = build_manifest({}, 1, "", typed_labels=typed)
    for key in ("units", "axes", "joints", "occlusion_types"):
        if manifest.get(key) != defined[key]:
            report.add(path, key, f"differs from what format {FORMAT_VERSION} defines")


def _looks_like_subject(path):
    """A subject folder has Cameras/, or at least the 3D or label folders (then Cameras/ is
    reported missing rather than the whole folder being unexpected)."""
    return any(
        os.path.isdir(os.path.join(path, f)) for f in ("Cameras", "D3_Positions", "Occlusions")
    )


def _required_extras(manifest):
    """Files the published data may lack but an export (a folder with dataset.json) has."""
    if manifest is None:
        return frozenset()
    required = {"2d", "data3d"}
    if manifest.get("occlusion_types"):
        required.add("types")
    return frozenset(required)


def _validate_subject(subject_dir, report, listed, tolerance_px, required=frozenset()):
    subject = os.path.basename(os.path.normpath(subject_dir))
    cameras = _validate_cameras(subject_dir, subject, report, listed)
    actions = _action_names(subject_dir, report)
    frames = 0
    for action in actions:
        frames += validate_action(
            subject_dir, action, cameras, report, tolerance_px, required, listed
        )
    if listed is not None:
        for action in listed["actions"]:
            if action not in actions:
                report.add(dio.positions_3d_path(subject_dir, action), None,
                           "action listed in dataset.json is missing")  # fmt: skip
        for action in actions:
            entry = listed["actions"].get(action)
            if entry is None:
                report.add(os.path.join(os.path.dirname(subject_dir), MANIFEST_NAME),
                           f"subjects.{subject}.actions", f"does not list {action}")  # fmt: skip
    count = len(cameras) if cameras is not None else "?"
    report.subjects[subject] = f"{len(actions)} actions, {frames:,} frames, {count} cameras"


def _validate_cameras(subject_dir, subject, report, listed):
    try:
        cameras = dio.read_cameras(subject_dir, subject)
    except DatasetError as exc:
        report.add_error(exc)
        return None
    matrices = dio.matrices_path(subject_dir, subject)
    params = dio.camera_params_path(subject_dir, subject)
    scale = np.abs(cameras.P).max()
    if np.abs(cameras.P - cam.projection_matrix(cameras.K, cameras.RT)).max() > 1e-6 * scale:
        report.add(matrices, "P", "P differs from K @ RT")
    R = cameras.RT[:, :, :3]
    if np.abs(R @ R.transpose(0, 2, 1) - np.eye(3)).max() > 1e-5 or (np.linalg.det(R) < 0).any():
        report.add(matrices, "RT", "the rotation part of RT is not a rotation")
    if (np.abs(cameras.K[:, 2] - [0, 0, 1]).max() > 0) or np.abs(
        cameras.K[:, [0, 1], [1, 0]]
    ).max():
        report.add(matrices, "K", "K is not [[fx,0,cx],[0,fy,cy],[0,0,1]]")
    for index, entry in enumerate(cameras.intrinsic_params):
        K = cameras.K[index]
        stored = np.array([*entry["focal_length"], *entry["center"]], dtype=float)
        if not np.allclose(stored, K[[0, 1, 0, 1], [0, 1, 2, 2]], rtol=1e-6, atol=1e-4):
            report.add(params, f"intrinsic_params[{index}]", "focal_length/center differ from K")
    for index, entry in enumerate(cameras.extrinsic_params[subject]):
        field = f"extrinsic_params.{subject}[{index}]"
        q = np.asarray(entry["orientation"], dtype=float)
        if abs(np.linalg.norm(q) - 1) > 1e-5:
            report.add(params, f"{field}.orientation", "not a unit quaternion")
        elif np.abs(cam.matrix_from_quaternion(q) - R[index]).max() > 1e-5:
            report.add(params, f"{field}.orientation", "quaternion does not match RT's rotation")
        t = cameras.RT[index, :, 3]
        if np.abs(np.asarray(entry["translation"]) - t).max() > 1e-5 * (1 + np.abs(t).max()):
            report.add(params, f"{field}.translation", "does not match RT's translation")
    for index in range(len(cameras)):
        try:
            P_text = dio.read_camview(subject_dir, index)
        except DatasetError as exc:
            report.add_error(exc)
            continue
        if not np.array_equal(P_text, cameras.P[index]):  # '%.18e' text is exact
            report.add(dio.camview_path(subject_dir, index), None, f"differs from P[{index}]")
    known = {os.path.basename(p) for p in (matrices, params)}
    known |= {f"CamView{i}_P3x4.txt" for i in range(len(cameras))}
    report.explain(os.path.join(subject_dir, "Cameras"), known)
    if listed is not None:
        _compare_manifest_cameras(subject_dir, cameras, listed, report)
    return cameras


def _compare_manifest_cameras(subject_dir, cameras, listed, report):
    path = os.path.join(os.path.dirname(subject_dir), MANIFEST_NAME)
    subject = os.path.basename(subject_dir)
    entries = listed["cameras"]
    if len(entries) != len(cameras):
        report.add(path, f"subjects.{subject}.cameras", f"{len(entries)} cameras, files have "
                   f"{len(cameras)}")  # fmt: skip
        return
    for index, entry in enumerate(entries):
        field = f"subjects.{subject}.cameras[{index}]"
        # JSON numbers written by Python round-trip float64 exactly: any difference is a change.
        same = np.array_equal(np.asarray(entry["K"], dtype=float), cameras.K[index])
        if not same or not np.array_equal(np.asarray(entry["RT"], dtype=float), cameras.RT[index]):
            report.add(path, field, "K/RT differ from matrices")
        if entry["name"] != cameras.names[index]:
            report.add(path, f"{field}.name", f"{entry['name']!r} where the camera files have "
                       f"{cameras.names[index]!r}")  # fmt: skip
        if [entry["res_w"], entry["res_h"]] != cameras.res[index].tolist():
            report.add(path, field, "res_w/res_h differ from the camera parameters")


_ACTION_FOLDERS = ("D3_Positions", "D2_Positions", "Occlusions", "Persons")


def _action_names(subject_dir, report):
    actions = set()
    for kind in _ACTION_FOLDERS:
        folder = os.path.join(subject_dir, kind)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if os.path.isdir(os.path.join(folder, name)) and not TEMPORARY.match(name):
                    actions.add(name)
                else:
                    report.unexplained(os.path.join(folder, name))
    for folder in ("D3_Positions", "Occlusions"):
        if not os.path.isdir(os.path.join(subject_dir, folder)):
            report.add(os.path.join(subject_dir, folder), None, "required folder is missing")
    # FacePoints/ (COCO's face points) and the image files of docs/COCO.md.
    known = {*_ACTION_FOLDERS, "Cameras", "Videos", "FacePoints", "Frames", "Masks", "Depth"}
    report.explain(subject_dir, known)
    videos = os.path.join(subject_dir, "Videos")
    if os.path.isdir(videos):
        # <Action>_<camera>.mp4 as published; <Action>_<camera>.qa.mp4 is the optional QA video.
        pattern = re.compile(r"^(?P<action>.+)_\d+(?:\.qa)?\.(mp4|avi|mkv|mov)$")
        for name in sorted(os.listdir(videos)):
            match = pattern.match(name)
            if not match or match["action"] not in actions:
                report.unexplained(os.path.join(videos, name))
    return sorted(actions)
